noinst_LIBRARIES += libsmtp.a
libsmtp_a_SOURCES = \
	smtp/smtp.h \
	smtp/smtp_parse.c smtp/smtp_parse_body.c smtp/smtp_parse.h \
	smtp/smtp_session.c smtp/smtp_session.h \
	smtp/smtp_cmd.c \
	smtp/smtp_auth.c \
	smtp/smtp_data.c
