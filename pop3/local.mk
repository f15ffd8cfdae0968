noinst_LIBRARIES += libpop3.a
libpop3_a_SOURCES = \
	pop3/pop3.h \
	pop3/pop3_parse.c pop3/pop3_parse.h \
	pop3/pop3_session.c pop3/pop3_session.h \
	pop3/pop3_auth.c \
	pop3/pop3_cmd.c \
	pop3/pop3_stream.c
