# Unit tests (Check) link only the objects under test, plus log/xmalloc.
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
UNIT_BASE = common/log.c common/xmalloc.c

check_PROGRAMS += tests/unit/check_linebuf
tests_unit_check_linebuf_SOURCES = tests/unit/check_linebuf.c common/linebuf.c $(UNIT_BASE)
tests_unit_check_linebuf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_linebuf_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/unit/check_conn
tests_unit_check_conn_SOURCES = tests/unit/check_conn.c common/conn.c common/linebuf.c common/tls.c $(UNIT_BASE)
tests_unit_check_conn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_conn_LDADD = $(CHECK_LIBS) $(OPENSSL_LIBS) $(EV_LIBS)

check_PROGRAMS += tests/unit/check_config
tests_unit_check_config_SOURCES = tests/unit/check_config.c common/config.c \
	common/config_addr.c $(UNIT_BASE)
tests_unit_check_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_config_LDADD = $(CHECK_LIBS) $(INIH_LIBS)

check_PROGRAMS += tests/unit/check_iptable
tests_unit_check_iptable_SOURCES = tests/unit/check_iptable.c server/iptable.c $(UNIT_BASE)
tests_unit_check_iptable_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_iptable_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/unit/check_mailstore
tests_unit_check_mailstore_SOURCES = tests/unit/check_mailstore.c \
	tests/unit/check_mailstore_util.c tests/unit/check_mailstore_writer.c \
	tests/unit/check_mailstore_model.c tests/unit/check_mailstore.h
tests_unit_check_mailstore_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_mailstore_LDADD = libmailstore.a libcommon.a $(CHECK_LIBS) $(POSTROOM_LIBS)

check_PROGRAMS += tests/unit/check_mailstore_imap
tests_unit_check_mailstore_imap_SOURCES = tests/unit/check_mailstore_imap.c \
	tests/unit/check_mailstore_util.c tests/unit/check_mailstore.h
tests_unit_check_mailstore_imap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_mailstore_imap_LDADD = libmailstore.a libcommon.a $(CHECK_LIBS) $(POSTROOM_LIBS)

check_PROGRAMS += tests/unit/check_ms_alias
tests_unit_check_ms_alias_SOURCES = tests/unit/check_ms_alias.c \
	tests/unit/check_mailstore_util.c tests/unit/check_mailstore.h
tests_unit_check_ms_alias_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_ms_alias_LDADD = libmailstore.a libcommon.a $(CHECK_LIBS) $(POSTROOM_LIBS)

check_PROGRAMS += tests/unit/check_smtp_parse
tests_unit_check_smtp_parse_SOURCES = tests/unit/check_smtp_parse.c smtp/smtp_parse.c \
	smtp/smtp_parse_body.c
tests_unit_check_smtp_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_smtp_parse_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/unit/check_pop3_parse
tests_unit_check_pop3_parse_SOURCES = tests/unit/check_pop3_parse.c pop3/pop3_parse.c $(UNIT_BASE)
tests_unit_check_pop3_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_pop3_parse_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/unit/check_pop3_session
tests_unit_check_pop3_session_SOURCES = tests/unit/check_pop3_session.c \
	tests/unit/session_harness.c tests/unit/session_harness.h
tests_unit_check_pop3_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_pop3_session_LDADD = libpop3.a libmailstore.a libcommon.a $(CHECK_LIBS) $(POSTROOM_LIBS)

check_PROGRAMS += tests/unit/check_auth
tests_unit_check_auth_SOURCES = tests/unit/check_auth.c
tests_unit_check_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_auth_LDADD = libcommon.a libmailstore.a libcommon.a $(CHECK_LIBS) $(POSTROOM_LIBS)

check_PROGRAMS += tests/unit/check_imap_parser
tests_unit_check_imap_parser_SOURCES = tests/unit/check_imap_parser.c $(UNIT_BASE)
tests_unit_check_imap_parser_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_imap_parser_LDADD = libimapparse.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/check_imap_mime
tests_unit_check_imap_mime_SOURCES = tests/unit/check_imap_mime.c $(UNIT_BASE)
tests_unit_check_imap_mime_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_imap_mime_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMIME_CORPUS_DIR='"$(abs_top_srcdir)/tests/unit/mime-corpus"'
tests_unit_check_imap_mime_LDADD = libimapparse.a $(CHECK_LIBS)
EXTRA_DIST += tests/unit/mime-corpus

check_PROGRAMS += tests/unit/check_imap_casefold
tests_unit_check_imap_casefold_SOURCES = tests/unit/check_imap_casefold.c \
	tests/unit/check_imap_casefold_vectors.h $(UNIT_BASE)
tests_unit_check_imap_casefold_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_imap_casefold_LDADD = libimapparse.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/check_imap_response
tests_unit_check_imap_response_SOURCES = tests/unit/check_imap_response.c \
	imap-lite/imap_response.c $(UNIT_BASE)
tests_unit_check_imap_response_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_imap_response_LDADD = $(CHECK_LIBS)

check_PROGRAMS += tests/unit/check_imap_session
tests_unit_check_imap_session_SOURCES = tests/unit/check_imap_session.c \
	tests/unit/check_imap_session_msg.c tests/unit/check_imap_session_mbox.c \
	tests/unit/check_imap_session.h \
	tests/unit/session_harness.c tests/unit/session_harness.h
tests_unit_check_imap_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_imap_session_LDADD = libimap.a libimapparse.a libmailstore.a libcommon.a \
	$(CHECK_LIBS) $(POSTROOM_LIBS)

TESTS += $(check_PROGRAMS)

# Integration tests: the real postroomd on free loopback ports, driven by
# independent clients (python3 smtplib/poplib, curl, swaks).
TESTS += tests/integration/run.sh
EXTRA_DIST += tests/integration
EXTRA_DIST += tests/fuzz
AM_TESTS_ENVIRONMENT = top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir); export top_builddir top_srcdir;
