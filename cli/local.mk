bin_PROGRAMS += postroom
postroom_SOURCES = cli/postroom.c \
	cli/cli_password.c cli/cli_password.h \
	server/privdrop.c server/privdrop.h
postroom_LDADD = libmailstore.a libcommon.a $(POSTROOM_LIBS)
