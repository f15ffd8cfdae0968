sbin_PROGRAMS += postroomd
postroomd_SOURCES = \
	server/postroomd.c \
	server/reload.c server/reload.h \
	server/setup.c server/setup.h \
	server/listen.c server/listen.h \
	server/sessions.c server/sessions.h \
	server/iptable.c server/iptable.h \
	server/privdrop.c server/privdrop.h
postroomd_LDADD = libsmtp.a libpop3.a libimap.a libimapparse.a libmailstore.a libcommon.a $(POSTROOM_LIBS)
