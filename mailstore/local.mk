noinst_LIBRARIES += libmailstore.a
libmailstore_a_SOURCES = \
	mailstore/ms.h \
	mailstore/ms_store.c mailstore/ms_internal.h \
	mailstore/ms_addr.c mailstore/ms_addr.h \
	mailstore/ms_admin.c \
	mailstore/ms_password.c \
	mailstore/ms_authcache.c mailstore/ms_authcache.h \
	mailstore/ms_resolve.c \
	mailstore/ms_mailbox.c \
	mailstore/ms_delivery.c mailstore/ms_delivery.h \
	mailstore/ms_delivery_job.c \
	mailstore/ms_expunge.c \
	mailstore/ms_writer.c \
	mailstore/ms_imap.h \
	mailstore/ms_names.c \
	mailstore/ms_folder.c \
	mailstore/ms_flags.c \
	mailstore/ms_copy.c \
	mailstore/ms_sync.c \
	mailstore/ms_tombstones.c \
	mailstore/ms_recent.c \
	mailstore/ms_alias.c
nodist_libmailstore_a_SOURCES = schema/schema_sql.c
BUILT_SOURCES += schema/schema_sql.c
CLEANFILES += schema/schema_sql.c
# List every migration here, in order.
SCHEMA_FILES = $(srcdir)/schema/001_initial.sql \
	$(srcdir)/schema/002_imap.sql \
	$(srcdir)/schema/003_counters.sql \
	$(srcdir)/schema/004_recent.sql \
	$(srcdir)/schema/005_mailbox_aliases.sql
EXTRA_DIST += schema/gen_schema.sh $(SCHEMA_FILES)
# The numbered SQL files are embedded in the binary so the daemon and the
# CLI can migrate a data dir without any file installed next to them.
schema/schema_sql.c: $(SCHEMA_FILES) $(srcdir)/schema/gen_schema.sh
	@mkdir -p schema
	$(AM_V_GEN)sh $(srcdir)/schema/gen_schema.sh $(SCHEMA_FILES) > $@.tmp && mv $@.tmp $@
