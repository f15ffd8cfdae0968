/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the mailstore, part one, and the suite: address syntax
 * tables, opening and migrating, the admin functions and their errors,
 * passwords, recipient resolution, and jobs without a writer thread.
 * check_mailstore_writer.c tests delivery and expunge through the writer
 * thread, check_mailstore_model.c the reference model and the faults.
 *
 * Every test gets a real SQLite database in a fresh temporary directory.
 * Some checks count rows through a second, plain SQLite connection: the
 * point of those tests is what the store wrote.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailstore/ms.h"
#include "mailstore/ms_addr.h"
#include "mailstore/ms_authcache.h"
#include "mailstore/ms_internal.h"
#include "tests/unit/check_mailstore.h"

/* -------------------------------------------------------- address syntax */

static const struct {
	const char	*in;
	bool		 catchall;
	const char	*out;		/* NULL: refused */
} addr_cases[] = {
	{ "alice@example.com", false, "alice@example.com" },
	{ "Alice.Smith@Example.COM", false, "alice.smith@example.com" },
	{ "a+tag@d.test", false, "a+tag@d.test" },
	{ "o'brien!x#y$z%&*/=?^_`{|}~-@d.test", false,
	  "o'brien!x#y$z%&*/=?^_`{|}~-@d.test" },
	{ "j\xc3\xbcrgen@d.test", false, "j\xc3\xbcrgen@d.test" },
	{ "x@sub-1.d_x.test", false, "x@sub-1.d_x.test" },
	{ "@d.test", true, "@d.test" },
	{ "@D.Test", true, "@d.test" },
	{ "@d.test", false, NULL },
	{ "", false, NULL },
	{ "@", true, NULL },
	{ "alice", false, NULL },
	{ "alice@", false, NULL },
	{ "a@b@c.test", false, NULL },
	{ "a b@d.test", false, NULL },
	{ "a\tb@d.test", false, NULL },
	{ "a\x7f@d.test", false, NULL },
	{ "a\x01@d.test", false, NULL },
	{ "\"a\"@d.test", false, NULL },
	{ "a(b)@d.test", false, NULL },
	{ "a,b@d.test", false, NULL },
	{ ".a@d.test", false, NULL },
	{ "a.@d.test", false, NULL },
	{ "a..b@d.test", false, NULL },
	{ "a@.d.test", false, NULL },
	{ "a@d.test.", false, NULL },
	{ "a@d..test", false, NULL },
	{ "a@[127.0.0.1]", false, NULL },
	{ "a@d test", false, NULL },
	{ "a@d+x.test", false, NULL },
};

START_TEST(test_addr_table)
{
	char *out;
	size_t i;

	for (i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		out = ms_addr_normalize(addr_cases[i].in, addr_cases[i].catchall);
		if (addr_cases[i].out == NULL)
			ck_assert_msg(out == NULL, "case %zu accepted", i);
		else {
			ck_assert_msg(out != NULL, "case %zu refused", i);
			ck_assert_str_eq(out, addr_cases[i].out);
		}
		free(out);
	}
}
END_TEST

START_TEST(test_addr_limits)
{
	char local[80], domain[300], addr[400], *out;
	size_t i;

	/* 64-byte local part: fine; 65: refused. */
	memset(local, 'a', 64);
	local[64] = '\0';
	snprintf(addr, sizeof(addr), "%s@d.test", local);
	out = ms_addr_normalize(addr, false);
	ck_assert_ptr_nonnull(out);
	free(out);
	snprintf(addr, sizeof(addr), "%sa@d.test", local);
	ck_assert_ptr_null(ms_addr_normalize(addr, false));

	/* 63-byte label: fine; 64: refused. */
	memset(domain, 'b', 63);
	strcpy(domain + 63, ".test");
	out = ms_domain_normalize(domain);
	ck_assert_ptr_nonnull(out);
	free(out);
	memset(domain, 'b', 64);
	strcpy(domain + 64, ".test");
	ck_assert_ptr_null(ms_domain_normalize(domain));

	/* Whole address over 254 bytes: refused even with short labels. */
	for (i = 0; i + 2 < 240; i += 2)
		memcpy(domain + i, "c.", 2);
	strcpy(domain + i, "test");
	snprintf(addr, sizeof(addr), "%.20s@%s", local, domain);
	ck_assert_uint_gt(strlen(addr), 254);
	ck_assert_ptr_null(ms_addr_normalize(addr, false));
}
END_TEST

static const struct {
	const char *in, *out;
} detail_cases[] = {
	{ "alice+tag@d.test", "alice@d.test" },
	{ "alice+a+b@d.test", "alice@d.test" },
	{ "alice+@d.test", "alice@d.test" },
	{ "alice@d.test", NULL },
	{ "+tag@d.test", NULL },
	{ "alice.+tag@d.test", NULL },
	{ "alice@d+x.test", NULL },
};

START_TEST(test_addr_detail)
{
	char *out;
	size_t i;

	for (i = 0; i < sizeof(detail_cases) / sizeof(detail_cases[0]); i++) {
		out = ms_addr_strip_detail(detail_cases[i].in);
		if (detail_cases[i].out == NULL)
			ck_assert_msg(out == NULL, "case %zu stripped", i);
		else {
			ck_assert_msg(out != NULL, "case %zu kept", i);
			ck_assert_str_eq(out, detail_cases[i].out);
		}
		free(out);
	}
	out = ms_addr_catchall("alice@d.test");
	ck_assert_str_eq(out, "@d.test");
	free(out);
	ck_assert_str_eq(ms_addr_domain("alice@d.test"), "d.test");
}
END_TEST

/* ----------------------------------------------------------- open/schema */

START_TEST(test_open_schema)
{
	struct ms_store *second;
	sqlite3 *db;
	char *err = NULL;

	ck_assert_int_ge(t_side_count("PRAGMA user_version"), 1);
	ck_assert_int_eq(t_side_count(
	    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
	    " ('domains', 'users', 'aliases', 'mailboxes', 'messages',"
	    "  'message_data', 'mailbox_messages', 'outbound_queue')"), 8);
	/* The file is in WAL mode for good; a second opener is fine. */
	ck_assert_int_eq(t_side_count(
	    "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	ck_assert_int_eq(ms_open(dbpath, &second, &err), MS_OK);
	ms_close(&second);

	/* A database from a newer program is refused, not damaged. */
	db = t_side_open();
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 9999", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(ms_open(dbpath, &second, &err), MS_ERROR);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	free(err);
	ck_assert_int_eq(t_side_count("PRAGMA user_version"), 9999);
}
END_TEST

/* One value from a query on the database at path. */
static long long
count_on(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * A version 2 database with mail in it, migrated: the stored counters
 * start from what the rows say, and removing rows still deletes the
 * messages nothing refers to (version 3 replaced that trigger).
 */
START_TEST(test_migrate_counters)
{
	static const char rows[] =
	    "INSERT INTO domains (id, name) VALUES (1, 'd.test');"
	    "INSERT INTO users (id, domain_id, address, password_hash,"
	    " created_at) VALUES (1, 1, 'alice@d.test', 'x', 0);"
	    "INSERT INTO mailboxes (id, user_id, name, uidvalidity, uidnext)"
	    " VALUES (1, 1, 'INBOX', 7, 4), (2, 1, 'Work', 8, 2),"
	    " (3, 1, 'Empty', 9, 1);"
	    "INSERT INTO messages (id, size, received_at) VALUES (1, 100, 0),"
	    " (2, 250, 0), (3, 4000, 0);"
	    "INSERT INTO message_data (message_id, data) VALUES (1, x'00'),"
	    " (2, x'00'), (3, x'00');"
	    "INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags,"
	    " internaldate, modseq) VALUES (1, 1, 1, 1, 0, 1), (1, 2, 2, 0, 0, 2),"
	    " (1, 3, 3, 2, 0, 3), (2, 1, 3, 0, 0, 1);";
	static const struct {
		const char *name;
		uint32_t messages, unseen;
		uint64_t bytes;
	} want[] = {
		{ "INBOX", 3, 2, 4350 },
		{ "Work", 1, 1, 4000 },
		{ "Empty", 0, 0, 0 },
	};
	struct ms_mailbox_info info;
	struct ms_store *old;
	struct status_done done = { 0 };
	char path[PATH_MAX], *err = NULL;
	uint32_t uid = 3;
	sqlite3 *db;
	size_t i;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/v2.db", tmpdir),
	    (int)sizeof(path));
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL,
	    NULL), SQLITE_OK);
	for (i = 0; i < ms_migrations_count && ms_migrations[i].version <= 2;
	    i++)
		ck_assert_int_eq(sqlite3_exec(db, ms_migrations[i].sql, NULL,
		    NULL, NULL), SQLITE_OK);
	ck_assert_uint_eq(i, 2);
	ck_assert_int_eq(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 2", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	ck_assert_int_eq(ms_open(path, &old, &err), MS_OK);
	ck_assert_int_ge(count_on(path, "PRAGMA user_version"), 3);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq(ms_mailbox_find(old, 1, want[i].name, &info),
		    MS_OK);
		ck_assert_uint_eq(info.messages, want[i].messages);
		ck_assert_uint_eq(info.unseen, want[i].unseen);
		ck_assert_uint_eq(info.bytes, want[i].bytes);
	}
	/* Message 3 is in both mailboxes: it goes with its last row. */
	ms_expunge_uids(old, 1, &uid, 1, t_on_status, &done);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.status, MS_OK);
	ck_assert_int_eq(count_on(path, "SELECT count(*) FROM messages"), 3);
	uid = 1;
	ms_expunge_uids(old, 2, &uid, 1, t_on_status, &done);
	ck_assert_int_eq(done.status, MS_OK);
	ck_assert_int_eq(count_on(path, "SELECT count(*) FROM messages"), 2);
	ck_assert_int_eq(count_on(path,
	    "SELECT count(*) FROM message_data WHERE message_id = 3"), 0);
	ck_assert_int_eq(ms_mailbox_find(old, 1, "INBOX", &info), MS_OK);
	ck_assert_uint_eq(info.messages, 2);
	ck_assert_uint_eq(info.bytes, 350);
	ck_assert_int_eq(ms_mailbox_find(old, 1, "Work", &info), MS_OK);
	ck_assert_uint_eq(info.messages, 0);
	ck_assert_uint_eq(info.bytes, 0);
	ms_close(&old);
}
END_TEST

/* ---------------------------------------------------------------- admin */

static void
collect_name(void *arg, const char *name)
{
	char *buf = arg;

	strcat(buf, name);
	strcat(buf, ";");
}

START_TEST(test_domains)
{
	char list[512] = "";

	ck_assert_int_eq(ms_domain_add(ms, "Example.COM"), MS_OK);
	ck_assert_int_eq(ms_domain_add(ms, "example.com"), MS_EXISTS);
	ck_assert_int_eq(ms_domain_add(ms, "b.test"), MS_OK);
	ck_assert_int_eq(ms_domain_add(ms, "bad domain"), MS_INVALID);
	ck_assert_int_eq(ms_domain_add(ms, "a@b.test"), MS_INVALID);
	ck_assert_int_eq(ms_domain_add(ms, ""), MS_INVALID);
	ck_assert_int_eq(ms_domain_list(ms, collect_name, list), MS_OK);
	ck_assert_str_eq(list, "b.test;example.com;");
	ck_assert(ms_domain_is_local(ms, "EXAMPLE.com"));
	ck_assert(!ms_domain_is_local(ms, "other.test"));

	ck_assert_int_eq(ms_domain_del(ms, "nope.test"), MS_NOT_FOUND);
	ck_assert_int_eq(ms_user_add(ms, "u@example.com", "pw"), MS_OK);
	ck_assert_int_eq(ms_domain_del(ms, "example.com"), MS_NOT_EMPTY);
	ck_assert_int_eq(ms_user_del(ms, "u@example.com"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "x@example.com", "y@far.test"), MS_OK);
	ck_assert_int_eq(ms_domain_del(ms, "example.com"), MS_NOT_EMPTY);
	ck_assert_int_eq(ms_alias_del(ms, "x@example.com", NULL), MS_OK);
	ck_assert_int_eq(ms_domain_del(ms, "EXAMPLE.COM"), MS_OK);
	list[0] = '\0';
	ck_assert_int_eq(ms_domain_list(ms, collect_name, list), MS_OK);
	ck_assert_str_eq(list, "b.test;");
}
END_TEST

struct user_seen {
	char	 list[512];
	uint64_t messages, bytes;
};

static void
collect_user(void *arg, const struct ms_user_info *u)
{
	struct user_seen *s = arg;

	strcat(s->list, u->address);
	strcat(s->list, ";");
	s->messages += u->messages;
	s->bytes += u->bytes;
}

START_TEST(test_users)
{
	struct user_seen seen = { "", 0, 0 };
	ms_id id = 0, id2 = 0;
	char *addr;

	ck_assert_int_eq(ms_user_add(ms, "alice@d.test", "pw"), MS_NOT_FOUND);
	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	ck_assert_int_eq(ms_domain_add(ms, "e.test"), MS_OK);
	ck_assert_int_eq(ms_user_add(ms, "Alice@D.test", "pw"), MS_OK);
	ck_assert_int_eq(ms_user_add(ms, "alice@d.test", "other"), MS_EXISTS);
	ck_assert_int_eq(ms_user_add(ms, "bob@e.test", "pw"), MS_OK);
	ck_assert_int_eq(ms_user_add(ms, "no at sign", "pw"), MS_INVALID);
	ck_assert_int_eq(ms_user_add(ms, "x@d.test", ""), MS_INVALID);
	ck_assert_int_eq(ms_user_add(ms, "@d.test", "pw"), MS_INVALID);

	ck_assert_int_eq(ms_user_lookup(ms, "ALICE@d.TEST", &id), MS_OK);
	ck_assert_int_eq(ms_user_lookup(ms, "bob@e.test", &id2), MS_OK);
	ck_assert_int_ne(id, id2);
	ck_assert_int_eq(ms_user_lookup(ms, "carol@d.test", &id2), MS_NOT_FOUND);
	ck_assert_int_eq(ms_user_lookup(ms, "bad", &id2), MS_INVALID);
	addr = ms_user_address(ms, id);
	ck_assert_str_eq(addr, "alice@d.test");
	free(addr);
	ck_assert_ptr_null(ms_user_address(ms, id + id2 + 100));

	ck_assert_int_eq(ms_user_list(ms, NULL, collect_user, &seen), MS_OK);
	ck_assert_str_eq(seen.list, "alice@d.test;bob@e.test;");
	seen.list[0] = '\0';
	ck_assert_int_eq(ms_user_list(ms, "E.test", collect_user, &seen), MS_OK);
	ck_assert_str_eq(seen.list, "bob@e.test;");
	ck_assert_int_eq(ms_user_list(ms, "zz.test", collect_user, &seen),
	    MS_NOT_FOUND);

	ck_assert_int_eq(ms_user_set_password(ms, "nobody@d.test", "x"),
	    MS_NOT_FOUND);
	ck_assert_int_eq(ms_user_del(ms, "nobody@d.test"), MS_NOT_FOUND);
	ck_assert_int_eq(ms_user_del(ms, "ALICE@d.test"), MS_OK);
	ck_assert_int_eq(ms_user_lookup(ms, "alice@d.test", &id2), MS_NOT_FOUND);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailboxes"), 6);
}
END_TEST

static void
collect_alias(void *arg, const char *source, const char *target)
{
	char *buf = arg;

	strcat(buf, source);
	strcat(buf, ">");
	strcat(buf, target);
	strcat(buf, ";");
}

START_TEST(test_aliases)
{
	char list[512] = "";

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "a@nowhere.test", "b@d.test"),
	    MS_NOT_FOUND);
	ck_assert_int_eq(ms_alias_add(ms, "Sales@D.test", "Bob@Far.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "sales@d.test", "bob@far.test"),
	    MS_EXISTS);
	ck_assert_int_eq(ms_alias_add(ms, "sales@d.test", "carol@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "@d.test", "carol@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "x@d.test", "x@d.test"), MS_INVALID);
	ck_assert_int_eq(ms_alias_add(ms, "x@d.test", "@d.test"), MS_INVALID);
	ck_assert_int_eq(ms_alias_add(ms, "x y@d.test", "a@d.test"), MS_INVALID);
	ck_assert_int_eq(ms_alias_list(ms, "d.test", collect_alias, list), MS_OK);
	ck_assert_str_eq(list, "@d.test>carol@d.test;sales@d.test>bob@far.test;"
	    "sales@d.test>carol@d.test;");
	ck_assert_int_eq(ms_alias_list(ms, "no.test", collect_alias, list),
	    MS_NOT_FOUND);

	ck_assert_int_eq(ms_alias_del(ms, "sales@d.test", "nobody@d.test"),
	    MS_NOT_FOUND);
	ck_assert_int_eq(ms_alias_del(ms, "sales@d.test", "BOB@far.test"), MS_OK);
	ck_assert_int_eq(ms_alias_del(ms, "sales@d.test", NULL), MS_OK);
	ck_assert_int_eq(ms_alias_del(ms, "sales@d.test", NULL), MS_NOT_FOUND);
	list[0] = '\0';
	ck_assert_int_eq(ms_alias_list(ms, NULL, collect_alias, list), MS_OK);
	ck_assert_str_eq(list, "@d.test>carol@d.test;");
}
END_TEST

START_TEST(test_password)
{
	char *h1, *h2;
	ms_id id = 0, got = 0;

	h1 = ms_password_hash("correct horse");
	h2 = ms_password_hash("correct horse");
	ck_assert_ptr_nonnull(h1);
	ck_assert_ptr_nonnull(h2);
	ck_assert_int_eq(strncmp(h1, "$y$", 3), 0);
	ck_assert_str_ne(h1, h2);		/* salted */
	ck_assert(ms_password_verify("correct horse", h1));
	ck_assert(ms_password_verify("correct horse", h2));
	ck_assert(!ms_password_verify("correct horsE", h1));
	ck_assert(!ms_password_verify("", h1));
	ck_assert(!ms_password_verify("correct horse", ""));
	ck_assert(!ms_password_verify("correct horse", "*0"));
	free(h1);
	free(h2);

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	id = t_add_user("alice@d.test");
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM users"
	    " WHERE password_hash LIKE '$y$%' AND password_hash <> 'secret'"), 1);
	ck_assert_int_eq(ms_user_check_password(ms, "Alice@d.test", "secret",
	    &got), MS_OK);
	ck_assert_int_eq(got, id);
	ck_assert_int_eq(ms_user_check_password(ms, "alice@d.test", "Secret",
	    &got), MS_INVALID);
	ck_assert_int_eq(ms_user_check_password(ms, "bob@d.test", "secret",
	    &got), MS_NOT_FOUND);
	ck_assert_int_eq(ms_user_set_password(ms, "alice@d.test", "new one"),
	    MS_OK);
	ck_assert_int_eq(ms_user_check_password(ms, "alice@d.test", "secret",
	    &got), MS_INVALID);
	ck_assert_int_eq(ms_user_check_password(ms, "alice@d.test", "new one",
	    &got), MS_OK);
}
END_TEST

/* The cache of successful checks: it must only answer yes for the exact
 * password that succeeded against the exact stored hash. */
START_TEST(test_authcache)
{
	ms_authcache_clear();
	ck_assert(!ms_authcache_check(7, "$y$hashA", "pw"));
	ms_authcache_add(7, "$y$hashA", "pw");
	ck_assert(ms_authcache_check(7, "$y$hashA", "pw"));
	ck_assert(!ms_authcache_check(7, "$y$hashA", "pW"));
	ck_assert(!ms_authcache_check(7, "$y$hashB", "pw"));	/* changed */
	ck_assert(!ms_authcache_check(8, "$y$hashA", "pw"));	/* other user */
	ck_assert(!ms_authcache_check(0, "$y$hashA", "pw"));
	ms_authcache_add(7 + 1024, "$y$hashC", "x");		/* same slot */
	ck_assert(!ms_authcache_check(7, "$y$hashA", "pw"));
	ck_assert(ms_authcache_check(7 + 1024, "$y$hashC", "x"));
	ms_authcache_clear();
	ck_assert(!ms_authcache_check(7 + 1024, "$y$hashC", "x"));
}
END_TEST

struct mb_seen {
	char		 names[256];
	uint32_t	 uidvalidity[8];
	size_t		 n;
	size_t		 subscribed;
};

static void
collect_mailbox(void *arg, const struct ms_mailbox_info *mb)
{
	struct mb_seen *s = arg;

	strcat(s->names, mb->name);
	if (mb->special_use != NULL)
		strcat(s->names, mb->special_use);
	strcat(s->names, ";");
	ck_assert_uint_eq(mb->uidnext, 1);
	ck_assert_uint_eq(mb->messages, 0);
	if (s->n < 8)
		s->uidvalidity[s->n] = mb->uidvalidity;
	s->n++;
	s->subscribed += mb->subscribed;
}

START_TEST(test_special_use)
{
	struct mb_seen seen = { "", { 0 }, 0, 0 };
	struct ms_mailbox_info mb;
	ms_id alice, bob;
	size_t i, j;

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	alice = t_add_user("alice@d.test");
	bob = t_add_user("bob@d.test");
	ck_assert_int_eq(ms_mailbox_list(ms, alice, collect_mailbox, &seen), MS_OK);
	ck_assert_str_eq(seen.names, "INBOX;Archive\\Archive;Drafts\\Drafts;"
	    "Junk\\Junk;Sent\\Sent;Trash\\Trash;");
	ck_assert_uint_eq(seen.n, 6);
	ck_assert_uint_eq(seen.subscribed, 6);
	for (i = 0; i < 6; i++) {
		ck_assert_uint_ne(seen.uidvalidity[i], 0);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(seen.uidvalidity[i], seen.uidvalidity[j]);
	}
	ck_assert_int_eq(ms_mailbox_find(ms, alice, "inbox", &mb), MS_OK);
	ck_assert_str_eq(mb.name, "INBOX");
	ck_assert_ptr_null(mb.special_use);
	ck_assert_int_eq(ms_mailbox_find(ms, bob, "Sent", &mb), MS_OK);
	ck_assert_str_eq(mb.special_use, "\\Sent");
	ck_assert_int_eq(ms_mailbox_find(ms, bob, "sent", &mb), MS_NOT_FOUND);
	ck_assert_int_eq(ms_mailbox_list(ms, alice + bob + 10, collect_mailbox,
	    &seen), MS_NOT_FOUND);
}
END_TEST

/* ----------------------------------------------------------- resolution */

struct world {
	ms_id alice, bob, carol, dave;
};

static void
make_world(struct world *w)
{
	char src[64], dst[64];
	int i;

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	ck_assert_int_eq(ms_domain_add(ms, "other.test"), MS_OK);
	w->alice = t_add_user("alice@d.test");
	w->bob = t_add_user("bob@d.test");
	w->carol = t_add_user("carol@d.test");
	w->dave = t_add_user("dave@other.test");
	/* chain1 -> chain2 -> chain3 -> bob */
	ck_assert_int_eq(ms_alias_add(ms, "chain1@d.test", "chain2@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "chain2@d.test", "chain3@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "chain3@d.test", "bob@d.test"), MS_OK);
	/* loop1 <-> loop2, and loop2 also reaches carol. */
	ck_assert_int_eq(ms_alias_add(ms, "loop1@d.test", "loop2@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "loop2@d.test", "loop1@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "ring1@other.test", "ring2@other.test"),
	    MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "ring2@other.test", "ring1@other.test"),
	    MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "loop2@d.test", "carol@d.test"), MS_OK);
	/* team: alice, bob twice (directly and through a chain), outside. */
	ck_assert_int_eq(ms_alias_add(ms, "team@d.test", "alice@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "team@d.test", "bob@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "team@d.test", "chain1@d.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "team@d.test", "Ext@Far.test"), MS_OK);
	ck_assert_int_eq(ms_alias_add(ms, "fwd@d.test", "someone@far.test"), MS_OK);
	/* An alias on a user's own address forwards a copy. */
	ck_assert_int_eq(ms_alias_add(ms, "carol@d.test", "copy@far.test"), MS_OK);
	/* Catch-all of d.test goes to dave in the other domain. */
	ck_assert_int_eq(ms_alias_add(ms, "@d.test", "dave@other.test"), MS_OK);
	/* deep0 -> deep1 -> ... -> deep11 -> alice: 12 levels, too deep;
	 * ok0 -> ... -> ok9 -> alice: 10 levels, fine. */
	for (i = 0; i < 12; i++) {
		snprintf(src, sizeof(src), "deep%d@other.test", i);
		if (i < 11)
			snprintf(dst, sizeof(dst), "deep%d@other.test", i + 1);
		else
			snprintf(dst, sizeof(dst), "alice@d.test");
		ck_assert_int_eq(ms_alias_add(ms, src, dst), MS_OK);
	}
	for (i = 0; i < 10; i++) {
		snprintf(src, sizeof(src), "ok%d@other.test", i);
		if (i < 9)
			snprintf(dst, sizeof(dst), "ok%d@other.test", i + 1);
		else
			snprintf(dst, sizeof(dst), "alice@d.test");
		ck_assert_int_eq(ms_alias_add(ms, src, dst), MS_OK);
	}
}

/* Resolve addr and render the result as "L<id>;" and "R<addr>;" items. */
static int
resolve_str(const char *addr, char *out, size_t outlen)
{
	struct ms_rcpt_list l = { 0 };
	char item[128];
	size_t i;
	int status;

	out[0] = '\0';
	status = ms_resolve_recipient(ms, addr, &l);
	for (i = 0; i < l.n; i++) {
		if (l.v[i].kind == MS_RCPT_LOCAL)
			snprintf(item, sizeof(item), "L%lld=%s;",
			    (long long)l.v[i].user_id, l.v[i].address);
		else
			snprintf(item, sizeof(item), "R%s;", l.v[i].address);
		ck_assert_uint_lt(strlen(out) + strlen(item), outlen);
		strcat(out, item);
	}
	ms_rcpt_list_free(&l);
	ck_assert_ptr_null(l.v);
	return status;
}

START_TEST(test_resolve)
{
	struct world w;
	struct ms_rcpt_list l = { 0 };
	char got[512], want[512];

	make_world(&w);
	ck_assert_int_eq(resolve_str("alice@d.test", got, sizeof(got)), MS_OK);
	snprintf(want, sizeof(want), "L%lld=alice@d.test;", (long long)w.alice);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(resolve_str("ALICE+Lists@D.test", got, sizeof(got)),
	    MS_OK);
	ck_assert_str_eq(got, want);

	ck_assert_int_eq(resolve_str("chain1@d.test", got, sizeof(got)), MS_OK);
	snprintf(want, sizeof(want), "L%lld=bob@d.test;", (long long)w.bob);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(resolve_str("chain2+x@d.test", got, sizeof(got)), MS_OK);
	ck_assert_str_eq(got, want);

	/* A loop ends; what it reaches on the way is kept. */
	ck_assert_int_eq(resolve_str("loop1@d.test", got, sizeof(got)), MS_OK);
	snprintf(want, sizeof(want), "L%lld=carol@d.test;Rcopy@far.test;",
	    (long long)w.carol);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(resolve_str("ring1@other.test", got, sizeof(got)),
	    MS_NOT_FOUND);
	ck_assert_str_eq(got, "");

	ck_assert_int_eq(resolve_str("team@d.test", got, sizeof(got)), MS_OK);
	snprintf(want, sizeof(want), "L%lld=alice@d.test;L%lld=bob@d.test;"
	    "Rext@far.test;", (long long)w.alice, (long long)w.bob);
	ck_assert_str_eq(got, want);

	ck_assert_int_eq(resolve_str("fwd@d.test", got, sizeof(got)), MS_OK);
	ck_assert_str_eq(got, "Rsomeone@far.test;");

	/* Catch-all: only when nothing else matches. */
	ck_assert_int_eq(resolve_str("nobody@d.test", got, sizeof(got)), MS_OK);
	snprintf(want, sizeof(want), "L%lld=dave@other.test;", (long long)w.dave);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(resolve_str("bob@d.test", got, sizeof(got)), MS_OK);
	snprintf(want, sizeof(want), "L%lld=bob@d.test;", (long long)w.bob);
	ck_assert_str_eq(got, want);
	/* other.test has no catch-all. */
	ck_assert_int_eq(resolve_str("nobody@other.test", got, sizeof(got)),
	    MS_NOT_FOUND);

	/* Depth: 10 alias levels resolve, 12 do not. */
	ck_assert_int_eq(resolve_str("ok0@other.test", got, sizeof(got)), MS_OK);
	snprintf(want, sizeof(want), "L%lld=alice@d.test;", (long long)w.alice);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(resolve_str("deep0@other.test", got, sizeof(got)),
	    MS_NOT_FOUND);

	ck_assert_int_eq(resolve_str("alice@far.test", got, sizeof(got)),
	    MS_INVALID);
	ck_assert_int_eq(resolve_str("not an address", got, sizeof(got)),
	    MS_INVALID);

	/* Several RCPTs into one list: a user is listed once, and a
	 * recipient already covered still resolves. */
	ck_assert_int_eq(ms_resolve_recipient(ms, "alice@d.test", &l), MS_OK);
	ck_assert_int_eq(ms_resolve_recipient(ms, "alice+x@d.test", &l), MS_OK);
	ck_assert_int_eq(ms_resolve_recipient(ms, "team@d.test", &l), MS_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(ms_resolve_recipient(ms, "ring1@other.test", &l),
	    MS_NOT_FOUND);
	ck_assert_uint_eq(l.n, 3);
	ms_rcpt_list_free(&l);

	ck_assert(ms_user_may_send_as(ms, w.alice, "alice@d.test"));
	ck_assert(ms_user_may_send_as(ms, w.alice, "Alice+x@d.test"));
	ck_assert(ms_user_may_send_as(ms, w.alice, "team@d.test"));
	ck_assert(ms_user_may_send_as(ms, w.bob, "chain1@d.test"));
	ck_assert(!ms_user_may_send_as(ms, w.bob, "alice@d.test"));
	ck_assert(!ms_user_may_send_as(ms, w.carol, "fwd@d.test"));
	/* The catch-all target may not send as any name in the domain. */
	ck_assert(!ms_user_may_send_as(ms, w.dave, "random@d.test"));
	ck_assert(!ms_user_may_send_as(ms, w.alice, "alice@far.test"));
}
END_TEST

START_TEST(test_sync_jobs)
{
	struct done done = { 0 };
	struct status_done sd = { 0 };
	uint32_t uid;
	ms_id alice;

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	alice = t_add_user("alice@d.test");
	t_queue_delivery(&alice, 1, NULL, 5, 3000, &done);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.r.status, MS_OK);
	ck_assert_uint_eq(done.r.uid, 1);
	ck_assert_uint_eq(ms_stats_commits(ms), 1);

	/* The seam works on the caller's connection too. */
	memset(&done, 0, sizeof(done));
	ms_test_fail_step(ms, 3);
	t_queue_delivery(&alice, 1, NULL, 6, 3000, &done);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.r.status, MS_ERROR);
	ck_assert_uint_eq(t_uidnext_of(alice), 2);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);

	uid = 1;
	ms_expunge_uids(ms, t_inbox_of(alice), &uid, 1, t_on_status, &sd);
	ck_assert_int_eq(sd.calls, 1);
	ck_assert_int_eq(sd.status, MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 0);
	ms_drain(ms);
}
END_TEST

static Suite *
mailstore_suite(void)
{
	Suite *s = suite_create("mailstore");
	TCase *tc;

	tc = tcase_create("addr");
	tcase_add_test(tc, test_addr_table);
	tcase_add_test(tc, test_addr_limits);
	tcase_add_test(tc, test_addr_detail);
	suite_add_tcase(s, tc);

	tc = tcase_create("admin");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_schema);
	tcase_add_test(tc, test_migrate_counters);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_aliases);
	tcase_add_test(tc, test_password);
	tcase_add_test(tc, test_authcache);
	tcase_add_test(tc, test_special_use);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_sync_jobs);
	suite_add_tcase(s, tc);

	suite_add_tcase(s, check_mailstore_writer_tcase());
	suite_add_tcase(s, check_mailstore_model_tcase());
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mailstore_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
