/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the mailstore, part two: delivery and expunge through the
 * writer thread.  One stored copy per message whatever the number of
 * recipients, consecutive UIDs, APPEND-style and queued targets, a 5 MB
 * message spilled to the spool and read back byte for byte, what happens
 * when the spool is gone, message cleanup on expunge and user deletion,
 * and group commit.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailstore/ms.h"
#include "tests/unit/check_mailstore.h"

/* ------------------------------------------------------------- delivery */

static ms_id hook_ids[64];
static size_t hook_n, hook_calls;

static void
on_change(void *arg, const ms_id *ids, size_t n)
{
	size_t i;

	hook_calls++;
	for (i = 0; i < n && hook_n < 64; i++)
		hook_ids[hook_n++] = ids[i];
}

static bool
hook_saw(ms_id id)
{
	size_t i;

	for (i = 0; i < hook_n; i++)
		if (hook_ids[i] == id)
			return true;
	return false;
}

START_TEST(test_delivery_three)
{
	ms_id users[4], inbox[3];
	struct done done[3];
	struct ms_msg *v;
	size_t n, i, k;
	unsigned char *bytes, want[1000];

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	users[0] = t_add_user("alice@d.test");
	users[1] = t_add_user("bob@d.test");
	users[2] = t_add_user("carol@d.test");
	users[3] = users[0];		/* alice twice: stored once for her */
	for (i = 0; i < 3; i++)
		inbox[i] = t_inbox_of(users[i]);
	ms_set_change_hook(ms, on_change, NULL);

	memset(done, 0, sizeof(done));
	for (k = 0; k < 3; k++)
		t_deliver(users, 4, 100 + k, 1000, &done[k]);
	ck_assert(hook_calls >= 1);
	for (i = 0; i < 3; i++)
		ck_assert(hook_saw(inbox[i]));

	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 3);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM message_data"), 3);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_messages"), 9);
	for (k = 0; k < 3; k++) {
		ck_assert_int_gt(done[k].r.message_id, 0);
		ck_assert_uint_eq(done[k].r.uid, k + 1);
	}
	for (i = 0; i < 3; i++) {
		struct ms_mailbox_info mb;

		ck_assert_int_eq(ms_mailbox_messages(ms, inbox[i], &v, &n), MS_OK);
		ck_assert_uint_eq(n, 3);
		for (k = 0; k < 3; k++) {
			ck_assert_uint_eq(v[k].uid, k + 1);
			ck_assert_int_eq(v[k].message_id, done[k].r.message_id);
			ck_assert_uint_eq(v[k].size, 1000);
			ck_assert_uint_eq(v[k].flags, 0);
			ck_assert_int_gt(v[k].internaldate, 0);
			if (k > 0)
				ck_assert_uint_gt(v[k].modseq, v[k - 1].modseq);
		}
		free(v);
		ck_assert_int_eq(ms_mailbox_find(ms, users[i], "INBOX", &mb), MS_OK);
		ck_assert_uint_eq(mb.uidnext, 4);
		ck_assert_uint_eq(mb.messages, 3);
		ck_assert_uint_eq(mb.unseen, 3);
		ck_assert_uint_eq(mb.bytes, 3000);
		if (i == 0)
			ck_assert_uint_eq(done[0].r.uidvalidity, mb.uidvalidity);
	}
	t_fill(want, sizeof(want), 101);
	bytes = t_read_all(done[1].r.message_id, 1000);
	ck_assert_mem_eq(bytes, want, 1000);
	free(bytes);
}
END_TEST

START_TEST(test_delivery_targets)
{
	struct ms_delivery *d;
	struct done done = { 0 };
	struct ms_mailbox_info sent;
	struct ms_msg *v;
	size_t n;
	ms_id alice, bob;

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	alice = t_add_user("alice@d.test");
	bob = t_add_user("bob@d.test");
	ck_assert_int_eq(ms_mailbox_find(ms, alice, "Sent", &sent), MS_OK);

	/* APPEND-style: given mailbox, flags, date; plus the queue. */
	d = ms_delivery_new(ms);
	ck_assert_int_eq(ms_delivery_write(d, "Subject: x\r\n\r\nhi\r\n", 18), 0);
	ms_delivery_set_sender(d, "alice@d.test");
	ms_delivery_add_mailbox(d, sent.id, MS_FLAG_SEEN | MS_FLAG_ANSWERED,
	    "$Forwarded", 1000000000);
	ms_delivery_add_remote(d, "x@far.test");
	ms_delivery_add_remote(d, "X@far.test");
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.r.status, MS_OK);
	ck_assert_uint_eq(done.r.uidvalidity, sent.uidvalidity);
	ck_assert_uint_eq(done.r.uid, 1);
	ck_assert_int_eq(ms_mailbox_messages(ms, sent.id, &v, &n), MS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].flags, MS_FLAG_SEEN | MS_FLAG_ANSWERED);
	ck_assert_int_eq(v[0].internaldate, 1000000000);
	free(v);
	ck_assert_int_eq(ms_mailbox_find(ms, alice, "Sent", &sent), MS_OK);
	ck_assert_uint_eq(sent.unseen, 0);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM outbound_queue"
	    " WHERE sender = 'alice@d.test'"), 1);

	/* No target at all: refused, nothing stored. */
	memset(&done, 0, sizeof(done));
	d = ms_delivery_new(ms);
	ck_assert_int_eq(ms_delivery_write(d, "x", 1), 0);
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.r.status, MS_INVALID);
	ck_assert_int_eq(done.r.message_id, 0);

	/* A recipient deleted between RCPT and the commit: the whole
	 * message fails, for bob too. */
	memset(&done, 0, sizeof(done));
	d = ms_delivery_new(ms);
	ck_assert_int_eq(ms_delivery_write(d, "y", 1), 0);
	ms_delivery_add_local(d, bob);
	ms_delivery_add_local(d, alice);
	ck_assert_int_eq(ms_user_del(ms, "alice@d.test"), MS_OK);
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.r.status, MS_NOT_FOUND);
	ck_assert_int_eq(ms_mailbox_messages(ms, t_inbox_of(bob), &v, &n), MS_OK);
	ck_assert_uint_eq(n, 0);
	free(v);
	ck_assert_uint_eq(t_uidnext_of(bob), 1);
	/* The queued copy survived alice's deletion. */
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);

	/* Aborting a delivery leaves no trace. */
	d = ms_delivery_new(ms);
	ck_assert_int_eq(ms_delivery_write(d, "z", 1), 0);
	ms_delivery_add_local(d, bob);
	ms_delivery_abort(&d);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);
}
END_TEST

/* Five megabytes written in uneven pieces spill to the spool file and
 * come back identical, whatever the read chunking. */
START_TEST(test_big_message)
{
	const size_t len = 5 * 1024 * 1024;
	unsigned char *want, *got;
	struct ms_delivery *d;
	struct done done = { 0 };
	struct ms_msg *v;
	size_t n, off, piece;
	ms_id alice, bob;
	unsigned char c;

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	alice = t_add_user("alice@d.test");
	bob = t_add_user("bob@d.test");
	want = malloc(len);
	ck_assert_ptr_nonnull(want);
	t_fill(want, len, 77);
	t_rng_seed(77);
	d = ms_delivery_new(ms);
	for (off = 0; off < len; off += piece) {
		/* Mostly lines, sometimes a piece bigger than the buffer. */
		piece = t_rng_below(20) == 0 ? MS_DELIVERY_MEM_MAX + 1 +
		    (size_t)t_rng_below(70000) : 1 + (size_t)t_rng_below(1000);
		if (piece > len - off)
			piece = len - off;
		ck_assert_int_eq(ms_delivery_write(d, want + off, piece), 0);
	}
	ck_assert_uint_eq(ms_delivery_size(d), len);
	ms_delivery_add_local(d, alice);
	ms_delivery_add_local(d, bob);
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.r.status, MS_OK);

	ck_assert_int_eq(ms_mailbox_messages(ms, t_inbox_of(bob), &v, &n), MS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].size, len);
	ck_assert_int_eq(v[0].message_id, done.r.message_id);
	free(v);
	got = t_read_all(done.r.message_id, len);
	ck_assert(memcmp(got, want, len) == 0);
	free(got);
	/* Reads at and past the end, and of no message. */
	ck_assert_int_eq(ms_message_read(ms, done.r.message_id, len, &c, 1), 0);
	ck_assert_int_eq(ms_message_read(ms, done.r.message_id, len + 9, &c, 1), 0);
	ck_assert_int_eq(ms_message_read(ms, done.r.message_id, len - 1, &c, 1), 1);
	ck_assert_uint_eq(c, want[len - 1]);
	ck_assert_int_eq(ms_message_read(ms, done.r.message_id + 1000, 0, &c, 1),
	    -1);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);
	/* The spill file was anonymous: nothing is left in the spool. */
	ck_assert_int_eq(rmdir(spooldir), 0);
	free(want);
}
END_TEST

/* The spill path is really taken: with the spool gone, the buffer takes
 * exactly MS_DELIVERY_MEM_MAX bytes and the next one fails, for good. */
START_TEST(test_spill_failure)
{
	unsigned char *buf = calloc(1, MS_DELIVERY_MEM_MAX);
	struct ms_delivery *d;
	struct done done = { 0 };
	ms_id alice;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	alice = t_add_user("alice@d.test");
	ck_assert_int_eq(rmdir(spooldir), 0);

	d = ms_delivery_new(ms);
	ck_assert_int_eq(ms_delivery_write(d, buf, MS_DELIVERY_MEM_MAX - 1), 0);
	ck_assert_int_eq(ms_delivery_write(d, buf, 1), 0);
	ck_assert_int_eq(ms_delivery_write(d, buf, 1), -1);
	ck_assert_int_eq(ms_delivery_write(d, buf, 1), -1);
	ms_delivery_add_local(d, alice);
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.r.status, MS_ERROR);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 0);
	ck_assert_uint_eq(t_uidnext_of(alice), 1);
	free(buf);
}
END_TEST

START_TEST(test_expunge)
{
	ms_id users[2], ibox_a, ibox_b;
	struct done d1 = { 0 }, d2 = { 0 }, d3 = { 0 };
	struct ms_mailbox_info before, after;
	struct queue_seen qs = { 0 };
	uint32_t uids[4];
	struct ms_msg *v;
	size_t n;

	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	users[0] = t_add_user("alice@d.test");
	users[1] = t_add_user("bob@d.test");
	ibox_a = t_inbox_of(users[0]);
	ibox_b = t_inbox_of(users[1]);
	t_deliver(users, 2, 1, 500, &d1);		/* alice uid 1, bob uid 1 */
	t_deliver(users, 1, 2, 600, &d2);		/* alice uid 2 */
	t_queue_delivery(users, 1, "far@far.test", 3, 700, &d3);	/* alice uid 3 */
	ms_drain(ms);
	ck_assert_int_eq(d3.r.status, MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 3);

	ck_assert_int_eq(ms_mailbox_find(ms, users[0], "INBOX", &before), MS_OK);
	uids[0] = 1;
	uids[1] = 99;			/* never existed: ignored */
	t_expunge(ibox_a, uids, 2, MS_OK);
	ck_assert_int_eq(ms_mailbox_find(ms, users[0], "INBOX", &after), MS_OK);
	ck_assert_uint_gt(after.highestmodseq, before.highestmodseq);
	ck_assert_uint_eq(after.messages, 2);
	ck_assert_uint_eq(after.uidnext, 4);	/* UIDs are never reused */
	/* Bob still has message 1. */
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 3);
	t_expunge(ibox_b, uids, 1, MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 2);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM message_data"), 2);
	ck_assert_int_eq(ms_message_read(ms, d1.r.message_id, 0, uids, 1), -1);

	/* Message 3 is also queued: expunging alice's copy keeps it. */
	uids[0] = 2;
	uids[1] = 3;
	uids[2] = 3;
	t_expunge(ibox_a, uids, 3, MS_OK);
	ck_assert_int_eq(ms_mailbox_messages(ms, ibox_a, &v, &n), MS_OK);
	ck_assert_uint_eq(n, 0);
	free(v);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);
	ck_assert_int_eq(t_side_count("SELECT id FROM messages"), d3.r.message_id);
	ck_assert_int_eq(ms_queue_list(ms, t_collect_queue, &qs), MS_OK);
	ck_assert_uint_eq(qs.n, 1);
	ck_assert_str_eq(qs.rcpt, "far@far.test from sender@outside.test");
	ck_assert_int_eq(qs.message_id, d3.r.message_id);

	/* Already gone: still fine.  No such mailbox: NOT_FOUND. */
	t_expunge(ibox_a, uids, 3, MS_OK);
	t_expunge(ibox_a + ibox_b + 100, uids, 1, MS_NOT_FOUND);
	ck_assert_int_eq(ms_mailbox_messages(ms, ibox_a + ibox_b + 100, &v, &n),
	    MS_NOT_FOUND);

	/* Deleting a user deletes the messages only it referred to. */
	memset(&d1, 0, sizeof(d1));
	t_deliver(users + 1, 1, 4, 800, &d1);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 2);
	ck_assert_int_eq(ms_user_del(ms, "bob@d.test"), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM message_data"), 1);
}
END_TEST

/* ----------------------------------------------------------- group commit */

static void
queue_many(const ms_id *users, size_t nusers, size_t count, struct done *done)
{
	size_t i;

	for (i = 0; i < count; i++)
		t_queue_delivery(users + i % nusers, 1, NULL, i, 200 + i, &done[i]);
}

START_TEST(test_group_commit)
{
	enum { N = 200 };
	struct done *done = calloc(N, sizeof(*done));
	struct ms_msg *v;
	uint64_t c0, c1;
	ms_id users[2];
	sqlite3 *lock;
	size_t i, n;

	ck_assert_ptr_nonnull(done);
	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	users[0] = t_add_user("alice@d.test");
	users[1] = t_add_user("bob@d.test");

	/* While another connection holds the write lock, 200 deliveries
	 * pile up behind the writer's BEGIN: one transaction takes them. */
	lock = t_side_open();
	ck_assert_int_eq(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	c0 = ms_stats_commits(ms);
	queue_many(users, 2, N, done);
	ck_assert_int_eq(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(lock);
	ms_drain(ms);
	c1 = ms_stats_commits(ms);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(done[i].calls, 1);
		ck_assert_int_eq(done[i].r.status, MS_OK);
		ck_assert_uint_eq(done[i].r.uid, i / 2 + 1);
	}
	ck_assert_uint_eq(c1 - c0, 1);

	/* Unforced: the writer commits while the loop queues, and still
	 * batches most of them. */
	memset(done, 0, N * sizeof(*done));
	queue_many(users, 2, N, done);
	ms_drain(ms);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(done[i].r.status, MS_OK);
	ck_assert_uint_lt(ms_stats_commits(ms) - c1, N / 4);

	ck_assert_int_eq(ms_mailbox_messages(ms, t_inbox_of(users[0]), &v, &n), MS_OK);
	ck_assert_uint_eq(n, N);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(v[i].uid, i + 1);
	free(v);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 2 * N);
	free(done);
}
END_TEST


/* A callback may itself drain (a session closing down, say) while the
 * rest of its batch still waits to be completed. */
struct nested {
	struct done	 done;
	bool		 drained;
};

static void
on_delivered_drain(void *arg, const struct ms_delivery_result *r)
{
	struct nested *n = arg;

	t_on_delivered(&n->done, r);
	ms_drain(ms);
	n->drained = true;
}

START_TEST(test_drain_in_callback)
{
	struct nested nest[3];
	struct ms_delivery *d;
	sqlite3 *lock;
	ms_id alice;
	size_t i;

	memset(nest, 0, sizeof(nest));
	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	alice = t_add_user("alice@d.test");
	/* One batch of three: the first callback drains the other two. */
	lock = t_side_open();
	ck_assert_int_eq(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 0; i < 3; i++) {
		d = ms_delivery_new(ms);
		ck_assert_int_eq(ms_delivery_write(d, "x\r\n", 3), 0);
		ms_delivery_add_local(d, alice);
		ms_delivery_commit(d, on_delivered_drain, &nest[i]);
	}
	ck_assert_int_eq(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(lock);
	ms_drain(ms);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(nest[i].done.calls, 1);
		ck_assert_int_eq(nest[i].done.r.status, MS_OK);
		ck_assert_uint_eq(nest[i].done.r.uid, i + 1);
		ck_assert(nest[i].drained);
	}
}
END_TEST

TCase *
check_mailstore_writer_tcase(void)
{
	TCase *tc = tcase_create("writer");

	tcase_add_checked_fixture(tc, t_setup_writer, t_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_delivery_three);
	tcase_add_test(tc, test_delivery_targets);
	tcase_add_test(tc, test_big_message);
	tcase_add_test(tc, test_spill_failure);
	tcase_add_test(tc, test_expunge);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_drain_in_callback);
	return tc;
}
