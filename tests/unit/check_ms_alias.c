/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the mailbox aliases (mailstore/ms_alias.c and
 * schema/005_mailbox_aliases.sql): creating, listing, finding,
 * subscribing and deleting an alias through the writer; the answers for
 * taken names, foreign mailboxes and names that cannot be an alias; the
 * triggers that keep alias and mailbox names apart whatever writes them;
 * an alias following its mailbox through a rename and going with it, or
 * with its user; a create hit by an injected fault at each step; and a
 * version 4 database with users in it migrated to version 5.
 *
 * Fixtures and helpers are those of the other mailstore tests
 * (check_mailstore_util.c).
 */
#include "autoconfig.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailstore/ms.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"
#include "tests/unit/check_mailstore.h"

/* ------------------------------------------------------------ recorders */

static size_t hook_calls;

static void
on_change(void *arg, const ms_id *ids, size_t n)
{
	(void)arg;
	(void)ids;
	hook_calls += n;
}

/* Up to 8 aliases of a user, as "name>id+" (subscribed) or "name>id-". */
struct alias_seen {
	size_t	 n;
	char	 text[512];
};

static void
collect_alias(void *arg, const struct ms_mailbox_alias *a)
{
	struct alias_seen *seen = arg;
	size_t len = strlen(seen->text);

	seen->n++;
	snprintf(seen->text + len, sizeof(seen->text) - len, "%s>%lld%c;",
	    a->name, (long long)a->mailbox_id, a->subscribed ? '+' : '-');
}

static const char *
aliases_of(ms_id user)
{
	static struct alias_seen seen;

	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(ms_mailbox_alias_list(ms, user, collect_alias, &seen),
	    MS_OK);
	return seen.text;
}

/* ------------------------------------------------------------- helpers */

/* Each runs one job, drains, and checks the callback ran exactly once,
 * with the aliased mailbox on success and 0 otherwise. */
static int
alias_create(ms_id user, const char *name, ms_id mailbox)
{
	struct folder_done d = { 0 };

	ms_mailbox_alias_create(ms, user, name, mailbox, t_on_folder, &d);
	ms_drain(ms);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.id, d.status == MS_OK ? mailbox : 0);
	return d.status;
}

static int
alias_delete(ms_id user, const char *name, ms_id *mailbox_r)
{
	struct folder_done d = { 0 };

	ms_mailbox_alias_delete(ms, user, name, t_on_folder, &d);
	ms_drain(ms);
	ck_assert_int_eq(d.calls, 1);
	if (d.status != MS_OK)
		ck_assert_int_eq(d.id, 0);
	if (mailbox_r != NULL)
		*mailbox_r = d.id;
	return d.status;
}

static int
alias_subscribe(ms_id user, const char *name, bool on)
{
	struct folder_done d = { 0 };

	ms_mailbox_alias_subscribe(ms, user, name, on, t_on_folder, &d);
	ms_drain(ms);
	ck_assert_int_eq(d.calls, 1);
	return d.status;
}

/* The mailbox called name, or 0. */
static ms_id
mb_id(ms_id user, const char *name)
{
	struct ms_mailbox_info info;
	int status = ms_mailbox_find(ms, user, name, &info);

	ck_assert(status == MS_OK || status == MS_NOT_FOUND);
	return status == MS_OK ? info.id : 0;
}

static bool
mb_subscribed(ms_id user, const char *name)
{
	struct ms_mailbox_info info;

	ck_assert_int_eq(ms_mailbox_find(ms, user, name, &info), MS_OK);
	return info.subscribed;
}

static uint32_t
mb_messages(ms_id user, const char *name)
{
	struct ms_mailbox_info info;

	ck_assert_int_eq(ms_mailbox_find(ms, user, name, &info), MS_OK);
	return info.messages;
}

/* One message into a mailbox, committed. */
static void
store_into(ms_id mailbox)
{
	static const char msg[] = "Subject: x\r\n\r\nbody\r\n";
	struct ms_delivery *d = ms_delivery_new(ms);
	struct done done = { 0 };

	ck_assert_int_eq(ms_delivery_write(d, msg, sizeof(msg) - 1), 0);
	ms_delivery_add_mailbox(d, mailbox, 0, NULL, 0);
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.r.status, MS_OK);
}

/* A formatted string, valid until the next call. */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static const char *
fmt(const char *f, ...)
{
	static char buf[256];
	va_list ap;

	va_start(ap, f);
	ck_assert_int_lt(vsnprintf(buf, sizeof(buf), f, ap), (int)sizeof(buf));
	va_end(ap);
	return buf;
}

/* alice@d.test and bob@d.test, each with the default folders. */
static void
two_users(ms_id *alice_r, ms_id *bob_r)
{
	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	*alice_r = t_add_user("alice@d.test");
	if (bob_r != NULL)
		*bob_r = t_add_user("bob@d.test");
}

/* --------------------------------------------------------------- tests */

START_TEST(test_create)
{
	static const char *const invalid[] = {
		"INBOX", "inbox", "Inbox/Sent", "Sent Items/Old", "a%", "a*",
		"/Sent", "", "a\tb", "\xc3(",
	};
	ms_id alice, bob, sent, bob_sent, id;
	bool subscribed = false;
	size_t i;

	two_users(&alice, &bob);
	sent = mb_id(alice, "Sent");
	bob_sent = mb_id(bob, "Sent");
	ck_assert_str_eq(aliases_of(alice), "");
	ck_assert_int_eq(ms_mailbox_alias_find(ms, alice, "Sent Items", &id,
	    NULL), MS_NOT_FOUND);

	hook_calls = 0;
	ms_set_change_hook(ms, on_change, NULL);
	ck_assert_int_eq(alias_create(alice, "Sent Items", sent), MS_OK);
	/* Nothing an open view shows has changed. */
	ck_assert_uint_eq(hook_calls, 0);
	ck_assert_int_eq(ms_mailbox_alias_find(ms, alice, "Sent Items", &id,
	    &subscribed), MS_OK);
	ck_assert_int_eq(id, sent);
	ck_assert(subscribed);
	ck_assert_int_eq(ms_mailbox_alias_find(ms, alice, "sent items", NULL,
	    NULL), MS_NOT_FOUND);
	ck_assert_str_eq(aliases_of(alice), fmt("Sent Items>%lld+;",
	    (long long)sent));
	/* No mailbox was made for it. */
	ck_assert_int_eq(mb_id(alice, "Sent Items"), 0);

	/* Taken names: the alias itself, a mailbox. */
	ck_assert_int_eq(alias_create(alice, "Sent Items", sent), MS_EXISTS);
	ck_assert_int_eq(alias_create(alice, "Sent Items",
	    mb_id(alice, "Trash")), MS_EXISTS);
	ck_assert_int_eq(alias_create(alice, "Drafts", sent), MS_EXISTS);
	/* Only the user's own mailboxes. */
	ck_assert_int_eq(alias_create(alice, "Gesendet", bob_sent),
	    MS_NOT_FOUND);
	ck_assert_int_eq(alias_create(alice, "Gesendet", 0), MS_NOT_FOUND);
	ck_assert_int_eq(alias_create(9999, "Gesendet", sent), MS_NOT_FOUND);
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		ck_assert_msg(alias_create(alice, invalid[i], sent) ==
		    MS_INVALID, "\"%s\" accepted", invalid[i]);

	/* Per user: bob has none, and may have the same name. */
	ck_assert_str_eq(aliases_of(bob), "");
	ck_assert_int_eq(ms_mailbox_alias_find(ms, bob, "Sent Items", NULL,
	    NULL), MS_NOT_FOUND);
	ck_assert_int_eq(alias_create(bob, "Sent Items", bob_sent), MS_OK);
	ck_assert_int_eq(alias_create(alice, "Gesendete Elemente", sent),
	    MS_OK);
	ck_assert_str_eq(aliases_of(alice), fmt("Gesendete Elemente>%lld+;"
	    "Sent Items>%lld+;", (long long)sent, (long long)sent));
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_aliases"),
	    3);
}
END_TEST

/* Whatever writes a mailbox name, it cannot be an alias's, and back. */
START_TEST(test_names_apart)
{
	ms_id alice, bob, sent;
	sqlite3 *db;

	two_users(&alice, &bob);
	sent = mb_id(alice, "Sent");
	ck_assert_int_eq(alias_create(alice, "Sent Items", sent), MS_OK);
	ck_assert_int_eq(t_mb_create(alice, "Sent Items", NULL, NULL),
	    MS_EXISTS);
	/* A missing parent would have the name. */
	ck_assert_int_eq(t_mb_create(alice, "Sent Items/2026", NULL, NULL),
	    MS_EXISTS);
	ck_assert_int_eq(mb_id(alice, "Sent Items"), 0);
	ck_assert_int_eq(mb_id(alice, "Sent Items/2026"), 0);
	ck_assert_int_eq(t_mb_rename(alice, "Drafts", "Sent Items", NULL),
	    MS_EXISTS);
	ck_assert_int_ne(mb_id(alice, "Drafts"), 0);
	ck_assert_int_eq(t_mb_create(alice, "Work", NULL, NULL), MS_OK);
	ck_assert_int_eq(t_mb_rename(alice, "Work", "Sent Items/Work", NULL),
	    MS_EXISTS);
	ck_assert_int_ne(mb_id(alice, "Work"), 0);
	/* Another user's names are theirs. */
	ck_assert_int_eq(t_mb_create(bob, "Sent Items", NULL, NULL), MS_OK);
	ck_assert_int_eq(alias_create(bob, "Sent Items", mb_id(bob, "Sent")),
	    MS_EXISTS);

	/* The schema itself refuses, for any writer. */
	db = t_side_open();
	ck_assert_int_eq(sqlite3_exec(db, fmt("INSERT INTO mailbox_aliases"
	    " (user_id, name, mailbox_id) VALUES (%lld, 'Sent', %lld)",
	    (long long)alice, (long long)sent), NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	ck_assert_int_eq(sqlite3_exec(db, fmt("INSERT INTO mailbox_aliases"
	    " (user_id, name, mailbox_id) VALUES (%lld, 'Junk Mail', %lld)",
	    (long long)bob, (long long)sent), NULL, NULL, NULL),
	    SQLITE_CONSTRAINT);
	ck_assert_int_eq(sqlite3_exec(db, fmt("UPDATE mailbox_aliases"
	    " SET name = 'Trash' WHERE user_id = %lld", (long long)alice), NULL, NULL, NULL), SQLITE_CONSTRAINT);
	ck_assert_int_eq(sqlite3_exec(db, fmt("UPDATE mailbox_aliases"
	    " SET subscribed = 0 WHERE user_id = %lld", (long long)alice), NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_aliases"),
	    1);
}
END_TEST

START_TEST(test_subscribe)
{
	ms_id alice, bob, sent;
	bool on = true;

	two_users(&alice, &bob);
	sent = mb_id(alice, "Sent");
	ck_assert_int_eq(alias_create(alice, "Sent Items", sent), MS_OK);
	ck_assert_int_eq(alias_create(bob, "Sent Items", mb_id(bob, "Sent")),
	    MS_OK);
	ck_assert_int_eq(alias_subscribe(alice, "Sent Items", false), MS_OK);
	ck_assert_int_eq(ms_mailbox_alias_find(ms, alice, "Sent Items", NULL,
	    &on), MS_OK);
	ck_assert(!on);
	/* The folder and the other user's alias keep theirs. */
	ck_assert(mb_subscribed(alice, "Sent"));
	ck_assert_str_eq(aliases_of(bob), fmt("Sent Items>%lld+;",
	    (long long)mb_id(bob, "Sent")));
	/* Idempotent both ways. */
	ck_assert_int_eq(alias_subscribe(alice, "Sent Items", false), MS_OK);
	ck_assert_str_eq(aliases_of(alice), fmt("Sent Items>%lld-;",
	    (long long)sent));
	ck_assert_int_eq(alias_subscribe(alice, "Sent Items", true), MS_OK);
	ck_assert_int_eq(alias_subscribe(alice, "Sent Items", true), MS_OK);
	ck_assert_str_eq(aliases_of(alice), fmt("Sent Items>%lld+;",
	    (long long)sent));
	/* Mailboxes are not aliases. */
	ck_assert_int_eq(alias_subscribe(alice, "Sent", false), MS_NOT_FOUND);
	ck_assert(mb_subscribed(alice, "Sent"));
	ck_assert_int_eq(alias_subscribe(alice, "sent items", false),
	    MS_NOT_FOUND);
	ck_assert_int_eq(alias_subscribe(alice, "a%", false), MS_INVALID);
}
END_TEST

/* Deleting an alias leaves its mailbox and messages alone. */
START_TEST(test_delete)
{
	ms_id alice, sent, id = 0;

	two_users(&alice, NULL);
	sent = mb_id(alice, "Sent");
	store_into(sent);
	ck_assert_int_eq(alias_create(alice, "Sent Items", sent), MS_OK);
	ck_assert_int_eq(alias_delete(alice, "Sent Items", &id), MS_OK);
	ck_assert_int_eq(id, sent);
	ck_assert_str_eq(aliases_of(alice), "");
	ck_assert_int_eq(mb_id(alice, "Sent"), sent);
	ck_assert_uint_eq(mb_messages(alice, "Sent"), 1);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);
	ck_assert_int_eq(alias_delete(alice, "Sent Items", NULL),
	    MS_NOT_FOUND);
	/* A mailbox's name does not delete the mailbox here. */
	ck_assert_int_eq(alias_delete(alice, "Sent", NULL), MS_NOT_FOUND);
	ck_assert_int_eq(mb_id(alice, "Sent"), sent);
	ck_assert_int_eq(alias_delete(alice, "INBOX", NULL), MS_INVALID);
	/* Created again after a delete. */
	ck_assert_int_eq(alias_create(alice, "Sent Items", sent), MS_OK);
}
END_TEST

/* By id: through a rename of the mailbox; gone with it or its user. */
START_TEST(test_follow)
{
	ms_id alice, bob, sent, trash;

	two_users(&alice, &bob);
	sent = mb_id(alice, "Sent");
	trash = mb_id(alice, "Trash");
	store_into(sent);
	ck_assert_int_eq(alias_create(alice, "Sent Items", sent), MS_OK);
	ck_assert_int_eq(alias_create(alice, "Deleted Items", trash), MS_OK);
	ck_assert_int_eq(alias_create(bob, "Sent Items", mb_id(bob, "Sent")),
	    MS_OK);

	ck_assert_int_eq(t_mb_rename(alice, "Sent", "Outbox/Old", NULL), MS_OK);
	ck_assert_int_eq(mb_id(alice, "Outbox/Old"), sent);
	ck_assert_str_eq(aliases_of(alice), fmt("Deleted Items>%lld+;"
	    "Sent Items>%lld+;", (long long)trash, (long long)sent));
	/* The old name is free for a mailbox; the alias stays. */
	ck_assert_int_eq(t_mb_create(alice, "Sent", NULL, NULL), MS_OK);
	ck_assert_int_eq(alias_create(alice, "Sent Items", mb_id(alice,
	    "Sent")), MS_EXISTS);

	ck_assert_int_eq(t_mb_delete(alice, "Outbox/Old"), MS_OK);
	ck_assert_int_eq(ms_mailbox_alias_find(ms, alice, "Sent Items", NULL,
	    NULL), MS_NOT_FOUND);
	ck_assert_str_eq(aliases_of(alice), fmt("Deleted Items>%lld+;",
	    (long long)trash));
	/* Free for a mailbox once its alias has gone. */
	ck_assert_int_eq(t_mb_create(alice, "Sent Items", NULL, NULL), MS_OK);

	ck_assert_int_eq(ms_user_del(ms, "alice@d.test"), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_aliases"),
	    1);
	ck_assert_int_eq(ms_user_del(ms, "bob@d.test"), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_aliases"),
	    0);
}
END_TEST

/* Without a writer thread (CLI, tests) jobs complete before returning. */
START_TEST(test_sync)
{
	struct folder_done d = { 0 };
	ms_id alice, sent;

	two_users(&alice, NULL);
	sent = mb_id(alice, "Sent");

	ms_mailbox_alias_create(ms, alice, "Sent Items", sent, t_on_folder, &d);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_int_eq(d.id, sent);
	ms_mailbox_alias_subscribe(ms, alice, "Sent Items", false, t_on_folder,
	    &d);
	ck_assert_int_eq(d.calls, 2);
	ck_assert_int_eq(d.status, MS_OK);
	ms_mailbox_alias_delete(ms, alice, "Sent Items", t_on_folder, &d);
	ck_assert_int_eq(d.calls, 3);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_int_eq(ms_mailbox_alias_find(ms, alice, "Sent Items", NULL,
	    NULL), MS_NOT_FOUND);
}
END_TEST

/* A failed step anywhere in a create leaves no alias; then it works. */
START_TEST(test_create_fault)
{
	int n, status = MS_ERROR, failed = 0;
	ms_id alice, sent;

	two_users(&alice, NULL);
	sent = mb_id(alice, "Sent");

	for (n = 1; n <= 20 && status != MS_OK; n++) {
		ms_test_fail_step(ms, n);
		status = alias_create(alice, "Sent Items", sent);
		ms_test_fail_step(ms, 0);
		if (status != MS_OK) {
			ck_assert_int_eq(status, MS_ERROR);
			ck_assert_int_eq(t_side_count(
			    "SELECT count(*) FROM mailbox_aliases"), 0);
			failed++;
		}
	}
	ck_assert_int_eq(status, MS_OK);
	ck_assert_int_ge(failed, 3);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_aliases"),
	    1);
}
END_TEST

/*
 * A version 4 database with a user in it, opened by this version: 005 is
 * applied, the user's folders are untouched, and aliases work on them.
 */
START_TEST(test_migrate)
{
	static const char rows[] =
	    "INSERT INTO domains (id, name) VALUES (1, 'd.test');"
	    "INSERT INTO users (id, domain_id, address, password_hash,"
	    " created_at) VALUES (1, 1, 'alice@d.test', 'x', 0);"
	    "INSERT INTO mailboxes (id, user_id, name, special_use,"
	    " uidvalidity, subscribed) VALUES (1, 1, 'INBOX', NULL, 7, 1),"
	    " (2, 1, 'Sent', '\\Sent', 8, 1), (3, 1, 'Work', NULL, 9, 0);";
	struct folder_done d = { 0 };
	struct ms_mailbox_info info;
	struct alias_seen seen = { 0 };
	struct ms_store *old;
	char path[PATH_MAX], *err = NULL;
	sqlite3 *db;
	size_t i;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/v4.db", tmpdir),
	    (int)sizeof(path));
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	for (i = 0; i < ms_migrations_count && ms_migrations[i].version <= 4;
	    i++)
		ck_assert_int_eq(sqlite3_exec(db, ms_migrations[i].sql, NULL,
		    NULL, NULL), SQLITE_OK);
	ck_assert_uint_eq(i, 4);
	ck_assert_int_eq(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 4", NULL,
	    NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "SELECT * FROM mailbox_aliases",
	    NULL, NULL, NULL), SQLITE_ERROR);
	sqlite3_close(db);

	ck_assert_int_eq(ms_open(path, &old, &err), MS_OK);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "SELECT * FROM mailbox_aliases",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(ms_mailbox_find(old, 1, "Sent", &info), MS_OK);
	ck_assert_int_eq(info.id, 2);
	ck_assert_str_eq(info.special_use, "\\Sent");
	ck_assert(info.subscribed);
	ck_assert_int_eq(ms_mailbox_alias_list(old, 1, collect_alias, &seen),
	    MS_OK);
	ck_assert_uint_eq(seen.n, 0);

	ms_mailbox_alias_create(old, 1, "Sent Items", 2, t_on_folder, &d);
	ck_assert_int_eq(d.status, MS_OK);
	ms_mailbox_alias_create(old, 1, "Work", 2, t_on_folder, &d);
	ck_assert_int_eq(d.status, MS_EXISTS);
	ck_assert_int_eq(ms_mailbox_alias_list(old, 1, collect_alias, &seen),
	    MS_OK);
	ck_assert_str_eq(seen.text, "Sent Items>2+;");
	ms_mailbox_delete(old, 1, "Sent", t_on_folder, &d);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_int_eq(ms_mailbox_alias_find(old, 1, "Sent Items", NULL,
	    NULL), MS_NOT_FOUND);
	ms_close(&old);
}
END_TEST

/* ------------------------------------------------------------- suite */

static Suite *
ms_alias_suite(void)
{
	Suite *s = suite_create("ms_alias");
	TCase *tc;

	tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, t_setup_writer, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_names_apart);
	tcase_add_test(tc, test_subscribe);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_follow);
	tcase_add_test(tc, test_create_fault);
	suite_add_tcase(s, tc);

	tc = tcase_create("no_writer");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sync);
	tcase_add_test(tc, test_migrate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ms_alias_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
