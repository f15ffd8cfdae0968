/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the mailstore functions IMAP uses (mailstore/ms_imap.h):
 * mailbox name and keyword rules as tables; folder create, delete, rename
 * (hierarchies and INBOX) and subscriptions; flag stores with modseqs and
 * UNCHANGEDSINCE; copy and move with their UID maps; changes since a
 * modseq with tombstones, and their pruning (through the writer and at
 * start-up); the stored mailbox counters against a count of the rows; the
 * MIME cache; the change hook; and a copy and a prune hit by an injected
 * fault at every step, which must change all or nothing.
 *
 * Everything goes through the writer thread on a real ev_loop, with the
 * fixtures of check_mailstore_util.c; some checks read the database
 * through a second plain connection, because what was written is the
 * point.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailstore/ms.h"
#include "mailstore/ms_imap.h"
#include "tests/unit/check_mailstore.h"

/* ------------------------------------------------------------ recorders */

#define HOOK_MAX	64

static ms_id hook_ids[HOOK_MAX];
static size_t hook_n;

static void
on_change(void *arg, const ms_id *ids, size_t n)
{
	size_t i;

	(void)arg;
	for (i = 0; i < n && hook_n < HOOK_MAX; i++)
		hook_ids[hook_n++] = ids[i];
}

static void
hook_reset(void)
{
	hook_n = 0;
	ms_set_change_hook(ms, on_change, NULL);
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

/* The id of a mailbox, or 0 when there is none by that name. */
static ms_id
mb_id(ms_id user, const char *name)
{
	struct ms_mailbox_info info;
	int status = ms_mailbox_find(ms, user, name, &info);

	ck_assert(status == MS_OK || status == MS_NOT_FOUND);
	return status == MS_OK ? info.id : 0;
}

static struct ms_mailbox_info
mb_info(ms_id user, const char *name)
{
	struct ms_mailbox_info info;

	ck_assert_int_eq(ms_mailbox_find(ms, user, name, &info), MS_OK);
	return info;
}

/* Flags results copied out of the callback (its arrays die with it). */
#define RES_MAX	32

struct flags_done {
	int	 calls;
	int	 status;
	struct ms_flag_change changed[RES_MAX];
	char	 kw[RES_MAX][128];
	size_t	 n_changed;
	uint32_t modified[RES_MAX];
	size_t	 n_modified;
};

static void
on_flags(void *arg, const struct ms_flags_result *r)
{
	struct flags_done *d = arg;
	size_t i;

	d->calls++;
	d->status = r->status;
	ck_assert_uint_le(r->n_changed, RES_MAX);
	ck_assert_uint_le(r->n_modified, RES_MAX);
	d->n_changed = r->n_changed;
	for (i = 0; i < r->n_changed; i++) {
		d->changed[i] = r->changed[i];
		snprintf(d->kw[i], sizeof(d->kw[i]), "%s", r->changed[i].keywords);
		d->changed[i].keywords = d->kw[i];
	}
	d->n_modified = r->n_modified;
	if (r->n_modified > 0)
		memcpy(d->modified, r->modified, r->n_modified * sizeof(uint32_t));
}

static void
flags_store(struct flags_done *d, ms_id mb, const uint32_t *uids, size_t n,
    enum ms_flag_op op, uint32_t flags, const char *kw, uint64_t since)
{
	memset(d, 0, sizeof(*d));
	ms_flags_store(ms, mb, uids, n, op, flags, kw, since, on_flags, d);
	ms_drain(ms);
	ck_assert_int_eq(d->calls, 1);
}

struct copy_done {
	int	 calls;
	int	 status;
	uint32_t uidvalidity;
	uint32_t src[RES_MAX];
	uint32_t dst[RES_MAX];
	size_t	 n;
};

static void
on_copy(void *arg, const struct ms_copy_result *r)
{
	struct copy_done *d = arg;

	d->calls++;
	d->status = r->status;
	d->uidvalidity = r->dst_uidvalidity;
	ck_assert_uint_le(r->n, RES_MAX);
	d->n = r->n;
	if (r->n > 0) {
		memcpy(d->src, r->src_uids, r->n * sizeof(uint32_t));
		memcpy(d->dst, r->dst_uids, r->n * sizeof(uint32_t));
	}
}

static void
copy(struct copy_done *d, ms_id src, const uint32_t *uids, size_t n,
    ms_id dst, bool move)
{
	memset(d, 0, sizeof(*d));
	ms_messages_copy(ms, src, uids, n, dst, move, on_copy, d);
	ms_drain(ms);
	ck_assert_int_eq(d->calls, 1);
}

/* An APPEND-style message into mailbox mb; returns its uid. */
static uint32_t
append(ms_id mb, unsigned flags, const char *kw, int64_t date, uint64_t seed,
    ms_id *message_id_r)
{
	unsigned char buf[300];
	struct ms_delivery *d = ms_delivery_new(ms);
	struct done done = { 0 };

	t_fill(buf, sizeof(buf), seed);
	ck_assert_int_eq(ms_delivery_write(d, buf, sizeof(buf)), 0);
	ms_delivery_add_mailbox(d, mb, flags, kw, date);
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.r.status, MS_OK);
	if (message_id_r != NULL)
		*message_id_r = done.r.message_id;
	return done.r.uid;
}

/* A snapshot of ms_mailbox_changes(). */
struct change_list {
	struct ms_msg	 msg[RES_MAX];
	char		 kw[RES_MAX][128];
	size_t		 n;
	uint32_t	 gone[RES_MAX];
	size_t		 ngone;
};

static void
on_changed(void *arg, const struct ms_msg *m, const char *keywords)
{
	struct change_list *c = arg;

	ck_assert_uint_lt(c->n, RES_MAX);
	ck_assert_ptr_nonnull(keywords);
	c->msg[c->n] = *m;
	snprintf(c->kw[c->n], sizeof(c->kw[0]), "%s", keywords);
	c->n++;
}

static void
on_expunged(void *arg, uint32_t uid)
{
	struct change_list *c = arg;

	ck_assert_uint_lt(c->ngone, RES_MAX);
	c->gone[c->ngone++] = uid;
}

static void
changes(ms_id mb, uint64_t since, struct change_list *c)
{
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(ms_mailbox_changes(ms, mb, since, on_changed,
	    on_expunged, c), MS_OK);
}

static uint64_t
modseq_of(ms_id mb)
{
	uint64_t hms = 0;

	ck_assert_int_eq(ms_mailbox_state(ms, mb, NULL, &hms, NULL), MS_OK);
	return hms;
}

static ms_id
setup_alice(void)
{
	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	return t_add_user("alice@d.test");
}

/* --------------------------------------------------------- pure tables */

static const struct {
	const char	*in;
	const char	*out;		/* NULL: refused */
} name_cases[] = {
	{ "Work", "Work" },
	{ "INBOX", "INBOX" },
	{ "inbox", "INBOX" },
	{ "InBoX", "INBOX" },
	{ "inbox/Sub", "INBOX/Sub" },
	{ "Inbox/inbox", "INBOX/inbox" },
	{ "INBOXES", "INBOXES" },
	{ "inboxes", "inboxes" },
	{ "a/inbox", "a/inbox" },
	{ "Work/2026/Q1", "Work/2026/Q1" },
	{ "Gesendete Elemente", "Gesendete Elemente" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac" },
	{ "\xf0\x9f\x93\xa7 mail", "\xf0\x9f\x93\xa7 mail" },
	{ "a.b&c~d", "a.b&c~d" },
	{ "", NULL },
	{ "/", NULL },
	{ "/a", NULL },
	{ "a/", NULL },
	{ "a//b", NULL },
	{ "a*", NULL },
	{ "a%b", NULL },
	{ "a\tb", NULL },
	{ "a\nb", NULL },
	{ "a\x7f", NULL },
	{ "a\xc2\x85", NULL },		/* U+0085, a C1 control */
	{ "\xc3", NULL },		/* truncated */
	{ "\xc3(", NULL },
	{ "\xc0\xaf", NULL },		/* overlong '/' */
	{ "\xe0\x80\xaf", NULL },	/* overlong */
	{ "\xed\xa0\x80", NULL },	/* surrogate */
	{ "\xf4\x90\x80\x80", NULL },	/* beyond U+10FFFF */
	{ "\xff", NULL },
	{ "\x80", NULL },
};

START_TEST(test_name_table)
{
	char *out;
	size_t i;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		out = ms_mailbox_name_normalize(name_cases[i].in);
		if (name_cases[i].out == NULL)
			ck_assert_msg(out == NULL, "case %zu accepted", i);
		else {
			ck_assert_msg(out != NULL, "case %zu refused", i);
			ck_assert_str_eq(out, name_cases[i].out);
		}
		free(out);
	}
}
END_TEST

START_TEST(test_name_length)
{
	char name[MS_MAILBOX_NAME_MAX + 2], *out;

	memset(name, 'x', MS_MAILBOX_NAME_MAX);
	name[MS_MAILBOX_NAME_MAX] = '\0';
	out = ms_mailbox_name_normalize(name);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, name);
	free(out);
	name[MS_MAILBOX_NAME_MAX] = 'x';
	name[MS_MAILBOX_NAME_MAX + 1] = '\0';
	ck_assert_ptr_null(ms_mailbox_name_normalize(name));
}
END_TEST

static const struct {
	const char	*stored;
	enum ms_flag_op	 op;
	const char	*arg;
	int		 status;
	const char	*out;		/* NULL: no keyword */
} kw_cases[] = {
	{ NULL, MS_FLAGS_ADD, NULL, MS_OK, NULL },
	{ NULL, MS_FLAGS_ADD, "", MS_OK, NULL },
	{ NULL, MS_FLAGS_ADD, "  ", MS_OK, NULL },
	{ NULL, MS_FLAGS_ADD, "$Label1", MS_OK, "$Label1" },
	{ NULL, MS_FLAGS_REPLACE, "b a B A c", MS_OK, "b a c" },
	{ "a", MS_FLAGS_ADD, "b  c", MS_OK, "a b c" },
	{ "a b", MS_FLAGS_ADD, "B c A", MS_OK, "a b c" },
	{ "a b c", MS_FLAGS_REMOVE, "B", MS_OK, "a c" },
	{ "a b c", MS_FLAGS_REMOVE, "x A C b", MS_OK, NULL },
	{ "a b c", MS_FLAGS_REPLACE, "c a", MS_OK, "c a" },
	{ "a b c", MS_FLAGS_REPLACE, NULL, MS_OK, NULL },
	{ "a A a", MS_FLAGS_ADD, NULL, MS_OK, "a" },
	{ "a", MS_FLAGS_ADD, "\\Seen", MS_INVALID, NULL },
	{ "a", MS_FLAGS_ADD, "b(", MS_INVALID, NULL },
	{ "a", MS_FLAGS_ADD, "b\"", MS_INVALID, NULL },
	{ "a", MS_FLAGS_ADD, "b]", MS_INVALID, NULL },
	{ "a", MS_FLAGS_ADD, "b{", MS_INVALID, NULL },
	{ "a", MS_FLAGS_ADD, "b*", MS_INVALID, NULL },
	{ "a", MS_FLAGS_ADD, "b%", MS_INVALID, NULL },
	{ "a", MS_FLAGS_REMOVE, "b\tc", MS_INVALID, NULL },
	{ "a", MS_FLAGS_REPLACE, "caf\xc3\xa9", MS_INVALID, NULL },
};

START_TEST(test_keyword_table)
{
	char *out;
	size_t i;
	int status;

	for (i = 0; i < sizeof(kw_cases) / sizeof(kw_cases[0]); i++) {
		status = ms_keywords_apply(kw_cases[i].stored, kw_cases[i].op,
		    kw_cases[i].arg, &out);
		ck_assert_msg(status == kw_cases[i].status, "case %zu", i);
		ck_assert_msg(ms_keywords_valid(kw_cases[i].arg) ==
		    (kw_cases[i].status == MS_OK), "case %zu valid", i);
		if (kw_cases[i].out == NULL)
			ck_assert_msg(out == NULL, "case %zu: \"%s\"", i, out);
		else {
			ck_assert_msg(out != NULL, "case %zu empty", i);
			ck_assert_str_eq(out, kw_cases[i].out);
		}
		free(out);
	}
}
END_TEST

/* ------------------------------------------------------------- folders */

START_TEST(test_count_above)
{
	ms_id alice, inbox, archive;
	uint32_t uids[5], count, i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	archive = mb_info(alice, "Archive").id;
	for (i = 0; i < 5; i++)
		uids[i] = append(inbox, 0, NULL, 1000000000, i, NULL);
	(void)append(archive, 0, NULL, 1000000000, 9, NULL);
	ck_assert_int_eq(ms_mailbox_count_above(ms, inbox, 0, &count), MS_OK);
	ck_assert_uint_eq(count, 5);
	ck_assert_int_eq(ms_mailbox_count_above(ms, inbox, uids[1], &count),
	    MS_OK);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(ms_mailbox_count_above(ms, inbox, uids[4], &count),
	    MS_OK);
	ck_assert_uint_eq(count, 0);
	/* Other mailboxes do not count. */
	ck_assert_int_eq(ms_mailbox_count_above(ms, archive, 0, &count), MS_OK);
	ck_assert_uint_eq(count, 1);
}
END_TEST

/* The \Recent mark: 0 for a new mailbox, raised by set_recent, never
 * lowered (two sessions' updates may land in either order).  The update
 * waits for another change to commit with (or for the writer's stop). */
START_TEST(test_set_recent)
{
	ms_id alice, inbox, id;
	uint32_t uids[3], i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	for (i = 0; i < 3; i++)
		uids[i] = append(inbox, 0, NULL, 1000000000, i, NULL);
	ck_assert_uint_eq(mb_info(alice, "INBOX").recent_uid, 0);
	ms_mailbox_set_recent(ms, inbox, uids[1]);
	ms_drain(ms);
	ck_assert_uint_eq(mb_info(alice, "INBOX").recent_uid, 0);
	ck_assert_int_eq(t_mb_create(alice, "R1", NULL, &id), MS_OK);
	ck_assert_uint_eq(mb_info(alice, "INBOX").recent_uid, uids[1]);
	ms_mailbox_set_recent(ms, inbox, uids[0]);
	ck_assert_int_eq(t_mb_create(alice, "R2", NULL, &id), MS_OK);
	ck_assert_uint_eq(mb_info(alice, "INBOX").recent_uid, uids[1]);
	ms_mailbox_set_recent(ms, inbox, uids[2]);
	/* Closing the store (the writer stops) runs what is left. */
	ms_close(&ms);
	t_store_open();
	ck_assert_uint_eq(mb_info(alice, "INBOX").recent_uid, uids[2]);
	/* Other mailboxes keep theirs. */
	ck_assert_uint_eq(mb_info(alice, "Archive").recent_uid, 0);
}
END_TEST

START_TEST(test_create)
{
	struct ms_mailbox_info info;
	ms_id alice, id, a, ab;

	alice = setup_alice();
	hook_reset();
	ck_assert_int_eq(t_mb_create(alice, "Work", NULL, &id), MS_OK);
	info = mb_info(alice, "Work");
	ck_assert_int_eq(info.id, id);
	ck_assert(info.subscribed);
	ck_assert_ptr_null(info.special_use);
	ck_assert_uint_eq(info.uidnext, 1);
	ck_assert_uint_gt(info.uidvalidity, 0);
	ck_assert(hook_saw(id));

	/* Existing names, INBOX in any case. */
	ck_assert_int_eq(t_mb_create(alice, "Work", NULL, NULL), MS_EXISTS);
	ck_assert_int_eq(t_mb_create(alice, "inbox", NULL, NULL), MS_EXISTS);
	ck_assert_int_eq(t_mb_create(alice, "Sent", NULL, NULL), MS_EXISTS);
	/* Names compare exactly otherwise. */
	ck_assert_int_eq(t_mb_create(alice, "work", NULL, NULL), MS_OK);

	/* Missing parents are made, every level a real mailbox. */
	hook_reset();
	ck_assert_int_eq(t_mb_create(alice, "a/b/c", NULL, &id), MS_OK);
	a = mb_id(alice, "a");
	ab = mb_id(alice, "a/b");
	ck_assert_int_gt(a, 0);
	ck_assert_int_gt(ab, 0);
	ck_assert_int_eq(mb_id(alice, "a/b/c"), id);
	ck_assert(mb_info(alice, "a/b").subscribed);
	ck_assert(hook_saw(a) && hook_saw(ab) && hook_saw(id));
	ck_assert_int_eq(t_mb_create(alice, "a/b", NULL, NULL), MS_EXISTS);
	ck_assert_int_eq(t_mb_create(alice, "a/x", NULL, &id), MS_OK);
	ck_assert_int_eq(mb_id(alice, "a"), a);
	ck_assert_uint_ne(mb_info(alice, "a/x").uidvalidity,
	    mb_info(alice, "a/b").uidvalidity);

	/* A child of INBOX, spelt in lower case, lands under INBOX. */
	ck_assert_int_eq(t_mb_create(alice, "inbox/Lists", NULL, &id), MS_OK);
	ck_assert_int_eq(mb_id(alice, "INBOX/Lists"), id);
	ck_assert_int_eq(mb_id(alice, "inbox/Lists"), 0);

	/* Special use: canonical spelling; unknown ones refused. */
	ck_assert_int_eq(t_mb_create(alice, "Flagged mail", "\\flagged", &id),
	    MS_OK);
	ck_assert_str_eq(mb_info(alice, "Flagged mail").special_use,
	    "\\Flagged");
	ck_assert_int_eq(t_mb_create(alice, "Odd", "\\Odd", NULL), MS_INVALID);
	ck_assert_int_eq(mb_id(alice, "Odd"), 0);

	/* Bad names and no such user. */
	ck_assert_int_eq(t_mb_create(alice, "a//b", NULL, NULL), MS_INVALID);
	ck_assert_int_eq(t_mb_create(alice, "x*", NULL, NULL), MS_INVALID);
	ck_assert_int_eq(t_mb_create(alice, "/x", NULL, NULL), MS_INVALID);
	ck_assert_int_eq(t_mb_create(alice, "\xc3", NULL, NULL), MS_INVALID);
	ck_assert_int_eq(t_mb_create(alice + 1000, "Work", NULL, NULL),
	    MS_NOT_FOUND);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailboxes"),
	    6 + 2 + 3 + 1 + 1 + 1);
}
END_TEST

START_TEST(test_delete)
{
	struct copy_done cd;
	ms_id alice, bob, work, trash, kept;
	uint32_t uid = 1;

	alice = setup_alice();
	bob = t_add_user("bob@d.test");
	ck_assert_int_eq(t_mb_create(alice, "Work", NULL, &work), MS_OK);
	ck_assert_int_eq(t_mb_create(alice, "a/b", NULL, NULL), MS_OK);

	/* Messages only Work holds go with it; one bob has a copy of
	 * stays.  Work has a tombstone too. */
	append(work, 0, NULL, 0, 1, &kept);
	append(work, 0, NULL, 0, 2, NULL);
	append(work, 0, NULL, 0, 3, NULL);
	copy(&cd, work, &uid, 1, t_inbox_of(bob), false);
	ck_assert_int_eq(cd.status, MS_OK);
	uid = 2;
	t_expunge(work, &uid, 1, MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 2);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 1);

	hook_reset();
	ck_assert_int_eq(t_mb_delete(alice, "Work"), MS_OK);
	ck_assert(hook_saw(work));
	ck_assert_int_eq(mb_id(alice, "Work"), 0);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM message_data"), 1);
	ck_assert_int_eq(t_side_count("SELECT id FROM messages"), kept);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 0);
	ck_assert_int_eq(t_mb_delete(alice, "Work"), MS_NOT_FOUND);

	/* INBOX never; parents not while they have children. */
	ck_assert_int_eq(t_mb_delete(alice, "INBOX"), MS_INVALID);
	ck_assert_int_eq(t_mb_delete(alice, "inbox"), MS_INVALID);
	ck_assert_int_eq(t_mb_delete(alice, "a"), MS_NOT_EMPTY);
	ck_assert_int_gt(mb_id(alice, "a"), 0);
	ck_assert_int_eq(t_mb_delete(alice, "a/b"), MS_OK);
	ck_assert_int_eq(t_mb_delete(alice, "a"), MS_OK);
	/* A special-use folder may go; it can be created again. */
	trash = mb_id(alice, "Trash");
	ck_assert_int_eq(t_mb_delete(alice, "Trash"), MS_OK);
	ck_assert_int_eq(t_mb_create(alice, "Trash", "\\Trash", NULL), MS_OK);
	ck_assert_int_ne(mb_id(alice, "Trash"), trash);
	ck_assert_int_eq(t_mb_delete(alice, "x//y"), MS_INVALID);
	/* Bob's mailboxes are not alice's. */
	ck_assert_int_eq(t_mb_delete(bob, "a"), MS_NOT_FOUND);
}
END_TEST

START_TEST(test_rename_tree)
{
	struct ms_mailbox_info before, after;
	char longname[MS_MAILBOX_NAME_MAX + 1];
	ms_id alice, a, ab, abc, ax, z, id;
	struct ms_msg *v;
	sqlite3 *db;
	size_t n;

	alice = setup_alice();
	ck_assert_int_eq(t_mb_create(alice, "a/b/c", NULL, &abc), MS_OK);
	ck_assert_int_eq(t_mb_create(alice, "a/x", NULL, &ax), MS_OK);
	ck_assert_int_eq(t_mb_create(alice, "ab", NULL, NULL), MS_OK);
	a = mb_id(alice, "a");
	ab = mb_id(alice, "a/b");
	append(ab, MS_FLAG_SEEN, "k", 0, 1, NULL);
	append(ab, 0, NULL, 0, 2, NULL);
	before = mb_info(alice, "a/b");

	hook_reset();
	ck_assert_int_eq(t_mb_rename(alice, "a", "z/y", &id), MS_OK);
	ck_assert_int_eq(id, a);
	ck_assert_int_eq(mb_id(alice, "z/y"), a);
	ck_assert_int_eq(mb_id(alice, "z/y/b"), ab);
	ck_assert_int_eq(mb_id(alice, "z/y/b/c"), abc);
	ck_assert_int_eq(mb_id(alice, "z/y/x"), ax);
	z = mb_id(alice, "z");
	ck_assert_int_gt(z, 0);
	ck_assert(mb_info(alice, "z").subscribed);
	ck_assert_int_eq(mb_id(alice, "a"), 0);
	ck_assert_int_eq(mb_id(alice, "a/b"), 0);
	ck_assert_int_eq(mb_id(alice, "a/b/c"), 0);
	/* "ab" only shares a prefix: not a child. */
	ck_assert_int_gt(mb_id(alice, "ab"), 0);
	ck_assert(hook_saw(a) && hook_saw(ab) && hook_saw(abc) &&
	    hook_saw(ax) && hook_saw(z));
	/* Same mailbox, same messages, same UIDVALIDITY. */
	after = mb_info(alice, "z/y/b");
	ck_assert_uint_eq(after.uidvalidity, before.uidvalidity);
	ck_assert_uint_eq(after.uidnext, before.uidnext);
	ck_assert_uint_eq(after.messages, 2);
	ck_assert_int_eq(ms_mailbox_messages(ms, ab, &v, &n), MS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(v[0].flags, MS_FLAG_SEEN);
	free(v);

	/* Errors change nothing. */
	ck_assert_int_eq(t_mb_rename(alice, "nope", "x", NULL), MS_NOT_FOUND);
	ck_assert_int_eq(t_mb_rename(alice, "z/y", "ab", NULL), MS_EXISTS);
	ck_assert_int_eq(t_mb_rename(alice, "z/y", "z/y", NULL), MS_EXISTS);
	ck_assert_int_eq(t_mb_rename(alice, "z/y", "INBOX", NULL), MS_EXISTS);
	ck_assert_int_eq(t_mb_rename(alice, "z/y", "z/y/b/new", NULL),
	    MS_INVALID);
	ck_assert_int_eq(t_mb_rename(alice, "z/y", "bad/", NULL), MS_INVALID);
	ck_assert_int_eq(t_mb_rename(alice, "z//y", "q", NULL), MS_INVALID);
	/* A child's new name would collide (an orphan made behind the
	 * store's back, as an older version or a repair might leave). */
	db = t_side_open();
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO mailboxes (user_id,"
	    " name, uidvalidity) SELECT user_id, 'q/x', 7 FROM mailboxes"
	    " WHERE name = 'INBOX'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(t_mb_rename(alice, "z/y", "q", NULL), MS_EXISTS);
	ck_assert_int_eq(mb_id(alice, "q"), 0);
	ck_assert_int_eq(mb_id(alice, "z/y/x"), ax);
	/* A child's new name would be too long. */
	memset(longname, 'l', MS_MAILBOX_NAME_MAX - 2);
	longname[MS_MAILBOX_NAME_MAX - 2] = '\0';
	ck_assert_int_eq(t_mb_rename(alice, "z/y", longname, NULL), MS_INVALID);
	ck_assert_int_eq(mb_id(alice, "z/y"), a);
	ck_assert_int_eq(t_mb_rename(alice, "z/y/x", longname, &id), MS_OK);
	ck_assert_int_eq(id, ax);

	/* A leaf, back to the top level; parents stay. */
	ck_assert_int_eq(t_mb_rename(alice, "z/y/b/c", "c", &id), MS_OK);
	ck_assert_int_eq(id, abc);
	ck_assert_int_eq(mb_id(alice, "z/y/b"), ab);
	/* Special use and subscription travel with the mailbox. */
	ck_assert_int_eq(t_mb_subscribe(alice, "Sent", false), MS_OK);
	ck_assert_int_eq(t_mb_rename(alice, "Sent", "Sent Items", NULL), MS_OK);
	ck_assert_str_eq(mb_info(alice, "Sent Items").special_use, "\\Sent");
	ck_assert(!mb_info(alice, "Sent Items").subscribed);
}
END_TEST

START_TEST(test_rename_inbox)
{
	struct ms_mailbox_info before, after, old;
	struct change_list c;
	struct ms_msg *v;
	ms_id alice, inbox, child, oldid, id, msgs[3];
	uint64_t hms;
	size_t n, i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	append(inbox, MS_FLAG_SEEN, "$Work", 1000000000, 1, &msgs[0]);
	append(inbox, 0, NULL, 1000000001, 2, &msgs[1]);
	append(inbox, MS_FLAG_FLAGGED | MS_FLAG_ANSWERED, "a b", 1000000002, 3,
	    &msgs[2]);
	ck_assert_int_eq(t_mb_create(alice, "INBOX/child", NULL, &child),
	    MS_OK);
	before = mb_info(alice, "INBOX");
	hms = before.highestmodseq;

	hook_reset();
	ck_assert_int_eq(t_mb_rename(alice, "inbox", "Old/Mail", &oldid),
	    MS_OK);
	ck_assert_int_ne(oldid, inbox);
	ck_assert(hook_saw(inbox) && hook_saw(oldid));
	ck_assert_int_eq(mb_id(alice, "Old/Mail"), oldid);
	ck_assert_int_gt(mb_id(alice, "Old"), 0);

	/* INBOX: still there, same UIDVALIDITY, empty, children kept. */
	after = mb_info(alice, "INBOX");
	ck_assert_int_eq(after.id, inbox);
	ck_assert_uint_eq(after.uidvalidity, before.uidvalidity);
	ck_assert_uint_eq(after.messages, 0);
	ck_assert_uint_eq(after.uidnext, 4);
	ck_assert_uint_gt(after.highestmodseq, hms);
	ck_assert_int_eq(mb_id(alice, "INBOX/child"), child);
	changes(inbox, hms, &c);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(c.ngone, 3);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(c.gone[i], i + 1);

	/* The new mailbox: the messages (stored once), flags, keywords
	 * and dates, new UIDs from 1 under its own UIDVALIDITY. */
	old = mb_info(alice, "Old/Mail");
	ck_assert_uint_ne(old.uidvalidity, before.uidvalidity);
	ck_assert_uint_eq(old.messages, 3);
	ck_assert_uint_eq(old.unseen, 2);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 3);
	changes(oldid, 0, &c);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.ngone, 0);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(c.msg[i].uid, i + 1);
		ck_assert_int_eq(c.msg[i].message_id, msgs[i]);
		ck_assert_int_eq(c.msg[i].internaldate, 1000000000 + (int64_t)i);
		ck_assert_uint_eq(c.msg[i].size, 300);
	}
	ck_assert_uint_eq(c.msg[0].flags, MS_FLAG_SEEN);
	ck_assert_str_eq(c.kw[0], "$Work");
	ck_assert_uint_eq(c.msg[1].flags, 0);
	ck_assert_str_eq(c.kw[1], "");
	ck_assert_uint_eq(c.msg[2].flags, MS_FLAG_FLAGGED | MS_FLAG_ANSWERED);
	ck_assert_str_eq(c.kw[2], "a b");

	/* New mail still goes to INBOX, UIDs never reused. */
	ck_assert_uint_eq(append(inbox, 0, NULL, 0, 4, NULL), 4);
	/* Renaming an empty INBOX works too; to an existing name not. */
	ck_assert_int_eq(t_mb_rename(alice, "INBOX", "Old/Mail", NULL),
	    MS_EXISTS);
	ck_assert_int_eq(t_mb_rename(alice, "INBOX", "INBOX/older", &id),
	    MS_OK);
	ck_assert_int_eq(ms_mailbox_messages(ms, id, &v, &n), MS_OK);
	ck_assert_uint_eq(n, 1);
	free(v);
	ck_assert_int_eq(ms_mailbox_messages(ms, inbox, &v, &n), MS_OK);
	ck_assert_uint_eq(n, 0);
	free(v);
}
END_TEST

START_TEST(test_subscribe)
{
	ms_id alice, bob;

	alice = setup_alice();
	bob = t_add_user("bob@d.test");
	ck_assert(mb_info(alice, "Junk").subscribed);
	hook_reset();
	ck_assert_int_eq(t_mb_subscribe(alice, "Junk", false), MS_OK);
	ck_assert(!mb_info(alice, "Junk").subscribed);
	ck_assert(mb_info(bob, "Junk").subscribed);
	ck_assert(hook_saw(mb_id(alice, "Junk")));
	/* Idempotent both ways. */
	ck_assert_int_eq(t_mb_subscribe(alice, "Junk", false), MS_OK);
	ck_assert(!mb_info(alice, "Junk").subscribed);
	ck_assert_int_eq(t_mb_subscribe(alice, "Junk", true), MS_OK);
	ck_assert(mb_info(alice, "Junk").subscribed);
	ck_assert_int_eq(t_mb_subscribe(alice, "inbox", false), MS_OK);
	ck_assert(!mb_info(alice, "INBOX").subscribed);
	ck_assert_int_eq(t_mb_subscribe(alice, "junk", true), MS_NOT_FOUND);
	ck_assert_int_eq(t_mb_subscribe(alice, "a%", true), MS_INVALID);
}
END_TEST

/* Without a writer thread (CLI, tests) jobs complete before returning. */
START_TEST(test_folder_sync)
{
	struct folder_done d = { 0 };
	ms_id alice = setup_alice();

	ms_mailbox_create(ms, alice, "Now", NULL, t_on_folder, &d);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_int_eq(mb_id(alice, "Now"), d.id);
	ms_mailbox_delete(ms, alice, "Now", t_on_folder, &d);
	ck_assert_int_eq(d.calls, 2);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_int_eq(mb_id(alice, "Now"), 0);
}
END_TEST

/* --------------------------------------------------------------- flags */

START_TEST(test_flags)
{
	struct flags_done f;
	struct change_list c;
	ms_id alice, inbox;
	uint32_t uids[6] = { 4, 1, 2, 2, 99, 3 };	/* unsorted, dup, gone */
	uint32_t first3[3] = { 3, 1, 2 };
	uint64_t hms, last;
	size_t i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(append(inbox, 0, NULL, 0, i, NULL), i + 1);
	hms = modseq_of(inbox);
	changes(inbox, 0, &c);
	for (i = 0; i < 4; i++)
		ck_assert_uint_le(c.msg[i].modseq, hms);

	/* +FLAGS \Seen on 1 and 2: two rows, two new modseqs. */
	hook_reset();
	flags_store(&f, inbox, uids + 1, 2, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL, 0);
	ck_assert_int_eq(f.status, MS_OK);
	ck_assert_uint_eq(f.n_changed, 2);
	ck_assert_uint_eq(f.n_modified, 0);
	ck_assert_uint_eq(f.changed[0].uid, 1);
	ck_assert_uint_eq(f.changed[1].uid, 2);
	ck_assert_uint_eq(f.changed[0].flags, MS_FLAG_SEEN);
	ck_assert_str_eq(f.changed[0].keywords, "");
	ck_assert_uint_gt(f.changed[0].modseq, hms);
	ck_assert_uint_gt(f.changed[1].modseq, f.changed[0].modseq);
	ck_assert_uint_eq(modseq_of(inbox), hms + 2);
	ck_assert_uint_eq(f.changed[1].modseq, hms + 2);
	ck_assert(hook_saw(inbox));
	ck_assert_uint_eq(mb_info(alice, "INBOX").unseen, 2);

	/* The same again changes nothing: no modseq, no report, no hook. */
	hook_reset();
	hms = modseq_of(inbox);
	flags_store(&f, inbox, uids + 1, 2, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL, 0);
	ck_assert_int_eq(f.status, MS_OK);
	ck_assert_uint_eq(f.n_changed, 0);
	ck_assert_uint_eq(modseq_of(inbox), hms);
	ck_assert_uint_eq(hook_n, 0);

	/* Keywords: added case-insensitively once, in order. */
	flags_store(&f, inbox, uids, 6, MS_FLAGS_ADD, 0, "$Label1 foo", 0);
	ck_assert_uint_eq(f.n_changed, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(f.changed[i].uid, i + 1);
		ck_assert_str_eq(f.changed[i].keywords, "$Label1 foo");
	}
	ck_assert_uint_eq(f.changed[0].flags, MS_FLAG_SEEN);
	ck_assert_uint_eq(f.changed[3].flags, 0);
	flags_store(&f, inbox, uids + 1, 1, MS_FLAGS_ADD, 0, "FOO bar $label1", 0);
	ck_assert_uint_eq(f.n_changed, 1);
	ck_assert_str_eq(f.changed[0].keywords, "$Label1 foo bar");
	flags_store(&f, inbox, uids + 1, 1, MS_FLAGS_ADD, 0, "Bar", 0);
	ck_assert_uint_eq(f.n_changed, 0);
	flags_store(&f, inbox, uids + 1, 1, MS_FLAGS_REMOVE, MS_FLAG_DRAFT, "FOO",
	    0);
	ck_assert_uint_eq(f.n_changed, 1);
	ck_assert_str_eq(f.changed[0].keywords, "$Label1 bar");
	ck_assert_uint_eq(f.changed[0].flags, MS_FLAG_SEEN);

	/* REPLACE: exactly these flags and keywords. */
	last = modseq_of(inbox);
	flags_store(&f, inbox, first3, 3, MS_FLAGS_REPLACE,
	    MS_FLAG_FLAGGED | MS_FLAG_DELETED, "x", 0);
	ck_assert_uint_eq(f.n_changed, 3);
	changes(inbox, last, &c);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.ngone, 0);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(c.msg[i].uid, i + 1);
		ck_assert_uint_eq(c.msg[i].flags,
		    MS_FLAG_FLAGGED | MS_FLAG_DELETED);
		ck_assert_str_eq(c.kw[i], "x");
		ck_assert_uint_eq(c.msg[i].modseq, f.changed[i].modseq);
		ck_assert_uint_gt(c.msg[i].modseq, last);
	}
	flags_store(&f, inbox, uids, 6, MS_FLAGS_REPLACE, 0, NULL, 0);
	ck_assert_uint_eq(f.n_changed, 4);
	changes(inbox, 0, &c);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(c.msg[i].flags, 0);
		ck_assert_str_eq(c.kw[i], "");
	}
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_messages"
	    " WHERE keywords IS NOT NULL"), 0);

	/* Errors: bad keyword, unknown flag bit, no such mailbox. */
	hms = modseq_of(inbox);
	flags_store(&f, inbox, uids, 6, MS_FLAGS_ADD, 0, "ok \\Seen", 0);
	ck_assert_int_eq(f.status, MS_INVALID);
	ck_assert_uint_eq(f.n_changed, 0);
	flags_store(&f, inbox, uids, 6, MS_FLAGS_ADD, 0x100, NULL, 0);
	ck_assert_int_eq(f.status, MS_INVALID);
	flags_store(&f, inbox + 1000, uids, 6, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL, 0);
	ck_assert_int_eq(f.status, MS_NOT_FOUND);
	ck_assert_uint_eq(modseq_of(inbox), hms);
	/* No uids at all: fine, nothing happens. */
	flags_store(&f, inbox, NULL, 0, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL, 0);
	ck_assert_int_eq(f.status, MS_OK);
	ck_assert_uint_eq(f.n_changed, 0);
}
END_TEST

START_TEST(test_unchangedsince)
{
	struct flags_done f;
	struct change_list c;
	ms_id alice, inbox;
	uint32_t uids[3] = { 1, 2, 3 };
	uint64_t m1, m2;
	size_t i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	for (i = 0; i < 3; i++)
		append(inbox, 0, NULL, 0, i, NULL);
	changes(inbox, 0, &c);
	m1 = c.msg[0].modseq;
	/* Another session flags message 2 after we read it. */
	flags_store(&f, inbox, uids + 1, 1, MS_FLAGS_ADD, MS_FLAG_FLAGGED, NULL, 0);
	m2 = f.changed[0].modseq;
	ck_assert_uint_gt(m2, c.msg[2].modseq);

	/* UNCHANGEDSINCE m(3): 1 and 3 change, 2 is reported modified. */
	flags_store(&f, inbox, uids, 3, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL,
	    c.msg[2].modseq);
	ck_assert_int_eq(f.status, MS_OK);
	ck_assert_uint_eq(f.n_changed, 2);
	ck_assert_uint_eq(f.changed[0].uid, 1);
	ck_assert_uint_eq(f.changed[1].uid, 3);
	ck_assert_uint_eq(f.n_modified, 1);
	ck_assert_uint_eq(f.modified[0], 2);
	changes(inbox, m2, &c);
	ck_assert_uint_eq(c.n, 2);
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.msg[1].flags, MS_FLAG_FLAGGED);

	/* Equal to the row's modseq: allowed (RFC 7162 uses "greater"). */
	flags_store(&f, inbox, uids + 1, 1, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL,
	    c.msg[1].modseq);
	ck_assert_uint_eq(f.n_changed, 1);
	ck_assert_uint_eq(f.n_modified, 0);
	/* Below every row: all refused, none written. */
	flags_store(&f, inbox, uids, 3, MS_FLAGS_REPLACE, 0, NULL, m1 - 1);
	ck_assert_uint_eq(f.n_changed, 0);
	ck_assert_uint_eq(f.n_modified, 3);
	changes(inbox, 0, &c);
	for (i = 0; i < 3; i++)
		ck_assert(c.msg[i].flags & MS_FLAG_SEEN);
}
END_TEST

/* ---------------------------------------------------------- copy, move */

START_TEST(test_copy_move)
{
	struct change_list c;
	struct copy_done d;
	struct flags_done f;
	ms_id alice, bob, inbox, archive, trash, bob_inbox, msgs[5];
	uint32_t want[5] = { 5, 1, 2, 3, 3 }, one = 2, uids[5];
	uint64_t hms;
	size_t i;

	alice = setup_alice();
	bob = t_add_user("bob@d.test");
	inbox = t_inbox_of(alice);
	archive = mb_id(alice, "Archive");
	trash = mb_id(alice, "Trash");
	bob_inbox = t_inbox_of(bob);
	for (i = 0; i < 5; i++)
		append(inbox, i == 0 ? MS_FLAG_SEEN : 0, i == 2 ? "k1 K2" : NULL,
		    1200000000 + (int64_t)i, i, &msgs[i]);
	flags_store(&f, inbox, want, 1, MS_FLAGS_ADD, MS_FLAG_ANSWERED, "late", 0);
	t_expunge(inbox, &one, 1, MS_OK);

	/* COPY 5,1,2,3,3 -> Archive: 2 is gone; UIDs 1..3 in source order. */
	hook_reset();
	hms = modseq_of(archive);
	copy(&d, inbox, want, 5, archive, false);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_uint_eq(d.uidvalidity, mb_info(alice, "Archive").uidvalidity);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_uint_eq(d.src[0], 1);
	ck_assert_uint_eq(d.src[1], 3);
	ck_assert_uint_eq(d.src[2], 5);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(d.dst[i], i + 1);
	ck_assert(hook_saw(archive));
	ck_assert(!hook_saw(inbox));
	ck_assert_uint_eq(modseq_of(archive), hms + 3);
	/* Stored once; flags, keywords, dates kept. */
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 4);
	changes(archive, 0, &c);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(c.msg[0].message_id, msgs[0]);
	ck_assert_uint_eq(c.msg[0].flags, MS_FLAG_SEEN);
	ck_assert_int_eq(c.msg[0].internaldate, 1200000000);
	ck_assert_int_eq(c.msg[1].message_id, msgs[2]);
	ck_assert_str_eq(c.kw[1], "k1 K2");
	ck_assert_int_eq(c.msg[2].message_id, msgs[4]);
	ck_assert_uint_eq(c.msg[2].flags, MS_FLAG_ANSWERED);
	ck_assert_str_eq(c.kw[2], "late");
	ck_assert_int_eq(c.msg[2].internaldate, 1200000004);
	ck_assert_uint_gt(c.msg[1].modseq, c.msg[0].modseq);
	ck_assert_uint_gt(c.msg[2].modseq, c.msg[1].modseq);
	/* The source is untouched. */
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 4);

	/* Again: the next UIDs. */
	copy(&d, inbox, want, 2, archive, false);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.src[0], 1);
	ck_assert_uint_eq(d.dst[0], 4);
	ck_assert_uint_eq(d.dst[1], 5);

	/* MOVE 1,3 -> Trash: gone from INBOX with tombstones. */
	hook_reset();
	hms = modseq_of(inbox);
	uids[0] = 3;
	uids[1] = 1;
	copy(&d, inbox, uids, 2, trash, true);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.src[0], 1);
	ck_assert_uint_eq(d.src[1], 3);
	ck_assert_uint_eq(d.dst[0], 1);
	ck_assert_uint_eq(d.dst[1], 2);
	ck_assert(hook_saw(trash) && hook_saw(inbox));
	changes(inbox, hms, &c);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(c.ngone, 2);
	ck_assert_uint_eq(c.gone[0], 1);
	ck_assert_uint_eq(c.gone[1], 3);
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.msg[0].uid, 4);
	changes(trash, 0, &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.msg[0].message_id, msgs[0]);
	ck_assert_uint_eq(c.msg[0].flags, MS_FLAG_SEEN);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 4);

	/* Across users too (the store does not mind), and the refcount:
	 * message 1 lives in Archive (twice), Trash and bob's INBOX. */
	uids[0] = 1;
	copy(&d, trash, uids, 1, bob_inbox, false);
	ck_assert_uint_eq(d.n, 1);
	uids[0] = 1;
	uids[1] = 4;
	t_expunge(archive, uids, 2, MS_OK);
	t_expunge(trash, uids, 1, MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 4);
	t_expunge(bob_inbox, uids, 1, MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 3);
	ck_assert_int_eq(ms_message_read(ms, msgs[0], 0, uids, 1), -1);

	/* Nothing that exists: OK, empty, still names the UIDVALIDITY. */
	hook_reset();
	uids[0] = 1;
	uids[1] = 2;
	uids[2] = 3;
	copy(&d, inbox, uids, 3, archive, true);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(d.uidvalidity, mb_info(alice, "Archive").uidvalidity);
	ck_assert_uint_eq(hook_n, 0);
	/* No such mailbox, either side. */
	copy(&d, inbox, want, 5, archive + 1000, false);
	ck_assert_int_eq(d.status, MS_NOT_FOUND);
	ck_assert_uint_eq(d.n, 0);
	copy(&d, inbox + 1000, want, 5, archive, false);
	ck_assert_int_eq(d.status, MS_NOT_FOUND);
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 2);
}
END_TEST

/* MOVE within one mailbox: new UIDs at the end, the old ones gone. */
START_TEST(test_move_same_mailbox)
{
	struct change_list c;
	struct copy_done d;
	uint32_t uids[2] = { 1, 2 };
	ms_id alice, inbox;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	append(inbox, MS_FLAG_SEEN, NULL, 0, 1, NULL);
	append(inbox, 0, NULL, 0, 2, NULL);
	copy(&d, inbox, uids, 2, inbox, true);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_uint_eq(d.dst[0], 3);
	ck_assert_uint_eq(d.dst[1], 4);
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.msg[0].uid, 3);
	ck_assert_uint_eq(c.msg[0].flags, MS_FLAG_SEEN);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 2);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 2);
}
END_TEST

/*
 * A fault at every step of a copy (_i 0) or move (_i 1), one run per
 * step: each run either does all of it or leaves both mailboxes exactly
 * as they were.
 */
static void
snapshot(ms_id mb, char *buf, size_t len)
{
	struct change_list c;
	uint32_t uidnext;
	uint64_t hms;
	size_t i, off;

	ck_assert_int_eq(ms_mailbox_state(ms, mb, &uidnext, &hms, NULL), MS_OK);
	changes(mb, 0, &c);
	off = (size_t)snprintf(buf, len, "%u %llu:", uidnext,
	    (unsigned long long)hms);
	for (i = 0; i < c.n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %u/%u/%s",
		    c.msg[i].uid, c.msg[i].flags, c.kw[i]);
	ck_assert_uint_lt(off, len);
}

START_TEST(test_copy_fault)
{
	char src0[512], dst0[512], src1[512], dst1[512];
	struct copy_done d;
	uint32_t uids[3] = { 1, 2, 3 };
	ms_id alice, inbox, archive;
	long long tombs, msgs;
	int n, failed = 0;
	bool move = _i == 1;
	size_t i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	archive = mb_id(alice, "Archive");
	for (i = 0; i < 3; i++)
		append(inbox, (unsigned)i, i == 1 ? "kw" : NULL, 0, i, NULL);
	append(archive, 0, NULL, 0, 9, NULL);
	snapshot(inbox, src0, sizeof(src0));
	snapshot(archive, dst0, sizeof(dst0));
	msgs = t_side_count("SELECT count(*) FROM messages");

	for (n = 1; n < 100; n++) {
		ms_test_fail_step(ms, n);
		copy(&d, inbox, uids, 3, archive, move);
		ms_test_fail_step(ms, 0);
		snapshot(inbox, src1, sizeof(src1));
		snapshot(archive, dst1, sizeof(dst1));
		tombs = t_side_count("SELECT count(*) FROM expunged");
		if (d.status == MS_OK)
			break;
		ck_assert_int_eq(d.status, MS_ERROR);
		ck_assert_uint_eq(d.n, 0);
		ck_assert_str_eq(src1, src0);
		ck_assert_str_eq(dst1, dst0);
		ck_assert_int_eq(tombs, 0);
		failed++;
	}
	/* BEGIN, SAVEPOINT, four reads, the reserve, three inserts, (the
	 * expunge's seven steps,) RELEASE, COMMIT: each one failed once. */
	ck_assert_int_ge(failed, move ? 19 : 12);
	ck_assert_int_eq(d.status, MS_OK);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_uint_eq(d.dst[0], 2);
	ck_assert_uint_eq(d.dst[2], 4);
	ck_assert_str_ne(dst1, dst0);
	ck_assert_uint_eq(mb_info(alice, "Archive").messages, 4);
	if (move) {
		ck_assert_str_ne(src1, src0);
		ck_assert_uint_eq(mb_info(alice, "INBOX").messages, 0);
		ck_assert_int_eq(tombs, 3);
	} else {
		ck_assert_str_eq(src1, src0);
		ck_assert_uint_eq(mb_info(alice, "INBOX").messages, 3);
		ck_assert_int_eq(tombs, 0);
	}
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), msgs);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM mailbox_messages"),
	    move ? 4 : 7);
}
END_TEST

/* ------------------------------------------------ sync, tombstones, MIME */

START_TEST(test_changes)
{
	struct change_list c;
	struct flags_done f;
	uint32_t uidnext, uidvalidity, uids[2] = { 2, 3 };
	ms_id alice, inbox;
	uint64_t hms, h1;
	size_t i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	ck_assert_int_eq(ms_mailbox_state(ms, inbox, &uidnext, &hms,
	    &uidvalidity), MS_OK);
	ck_assert_uint_eq(uidnext, 1);
	ck_assert_uint_eq(uidvalidity, mb_info(alice, "INBOX").uidvalidity);
	ck_assert_uint_eq(hms, mb_info(alice, "INBOX").highestmodseq);
	ck_assert_int_eq(ms_mailbox_state(ms, inbox + 1000, &uidnext, &hms,
	    &uidvalidity), MS_NOT_FOUND);
	ck_assert_int_eq(ms_mailbox_changes(ms, inbox + 1000, 0, on_changed,
	    on_expunged, &c), MS_NOT_FOUND);

	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n + c.ngone, 0);
	for (i = 0; i < 4; i++)
		append(inbox, 0, i == 0 ? "$Junk" : NULL, 0, i, NULL);
	/* Every delivery is a new modseq, strictly increasing with UIDs. */
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(c.msg[i].uid, i + 1);
		ck_assert_uint_gt(c.msg[i].modseq, hms);
		if (i > 0)
			ck_assert_uint_gt(c.msg[i].modseq, c.msg[i - 1].modseq);
	}
	ck_assert_str_eq(c.kw[0], "$Junk");
	ck_assert_uint_eq(modseq_of(inbox), c.msg[3].modseq);
	ck_assert_int_eq(ms_mailbox_state(ms, inbox, &uidnext, NULL, NULL),
	    MS_OK);
	ck_assert_uint_eq(uidnext, 5);

	/* Since a modseq: only what came after it. */
	h1 = c.msg[1].modseq;
	changes(inbox, h1, &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.msg[0].uid, 3);
	changes(inbox, modseq_of(inbox), &c);
	ck_assert_uint_eq(c.n + c.ngone, 0);

	/* Flag change and expunge after h: both show, the tombstone once;
	 * a full listing (since 0) shows no tombstones. */
	h1 = modseq_of(inbox);
	flags_store(&f, inbox, uids, 1, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL, 0);
	t_expunge(inbox, uids + 1, 1, MS_OK);
	ck_assert_uint_gt(modseq_of(inbox), f.changed[0].modseq);
	changes(inbox, h1, &c);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.msg[0].uid, 2);
	ck_assert_uint_eq(c.msg[0].flags, MS_FLAG_SEEN);
	ck_assert_uint_eq(c.ngone, 1);
	ck_assert_uint_eq(c.gone[0], 3);
	changes(inbox, f.changed[0].modseq, &c);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(c.ngone, 1);
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.ngone, 0);
	/* NULL callbacks are allowed. */
	ck_assert_int_eq(ms_mailbox_changes(ms, inbox, 1, NULL, NULL, NULL),
	    MS_OK);

	/* A user's deletion takes the tombstones along. */
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 1);
	ck_assert_int_eq(ms_user_del(ms, "alice@d.test"), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 0);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 0);
}
END_TEST

/* ------------------------------------------------- counters, tombstones */

/* Mailboxes whose stored counters differ from a count of their rows. */
static long long
counters_wrong(void)
{
	return t_side_count("SELECT count(*) FROM mailboxes mb WHERE"
	    " message_count <> (SELECT count(*) FROM mailbox_messages mm"
	    "  WHERE mm.mailbox_id = mb.id)"
	    " OR unseen_count <> (SELECT count(*) FROM mailbox_messages mm"
	    "  WHERE mm.mailbox_id = mb.id AND (mm.flags & 1) = 0)"
	    " OR byte_count <> (SELECT coalesce(sum(m.size), 0)"
	    "  FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id"
	    "  WHERE mm.mailbox_id = mb.id)");
}

static void
check_counts(ms_id user, const char *name, uint32_t messages,
    uint32_t unseen, uint64_t bytes)
{
	struct ms_mailbox_info mb = mb_info(user, name);

	ck_assert_uint_eq(mb.messages, messages);
	ck_assert_uint_eq(mb.unseen, unseen);
	ck_assert_uint_eq(mb.bytes, bytes);
	ck_assert_int_eq(counters_wrong(), 0);
}

static void
on_user(void *arg, const struct ms_user_info *u)
{
	*(struct ms_user_info *)arg = *u;
}

/* append() stores 300 bytes a message. */
START_TEST(test_counters)
{
	struct ms_user_info u = { 0 };
	struct flags_done f;
	struct copy_done cd;
	uint32_t uids[3] = { 1, 2, 3 };
	ms_id alice, inbox, work, renamed;
	size_t i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	ck_assert_int_eq(t_mb_create(alice, "Work", NULL, &work), MS_OK);
	check_counts(alice, "INBOX", 0, 0, 0);
	for (i = 0; i < 4; i++)
		append(inbox, i == 0 ? MS_FLAG_SEEN : 0, NULL, 0, i, NULL);
	check_counts(alice, "INBOX", 4, 3, 1200);

	/* Only a change of \Seen moves unseen; repeats change nothing. */
	flags_store(&f, inbox, uids + 1, 2, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL, 0);
	check_counts(alice, "INBOX", 4, 1, 1200);
	flags_store(&f, inbox, uids, 3, MS_FLAGS_ADD, MS_FLAG_FLAGGED, NULL, 0);
	check_counts(alice, "INBOX", 4, 1, 1200);
	flags_store(&f, inbox, uids, 1, MS_FLAGS_REPLACE, 0, NULL, 0);
	check_counts(alice, "INBOX", 4, 2, 1200);

	/* A copy counts in both; a move leaves the source. */
	copy(&cd, inbox, uids, 2, work, false);
	ck_assert_int_eq(cd.status, MS_OK);
	check_counts(alice, "Work", 2, 1, 600);
	check_counts(alice, "INBOX", 4, 2, 1200);
	copy(&cd, inbox, uids + 2, 1, work, true);
	ck_assert_int_eq(cd.status, MS_OK);
	check_counts(alice, "Work", 3, 1, 900);
	check_counts(alice, "INBOX", 3, 2, 900);

	/* Expunging a shared message and an unshared one. */
	t_expunge(inbox, uids, 2, MS_OK);
	check_counts(alice, "INBOX", 1, 1, 300);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 4);

	/* Renaming INBOX moves its rows; deleting Work drops them. */
	ck_assert_int_eq(t_mb_rename(alice, "INBOX", "Old", &renamed), MS_OK);
	check_counts(alice, "INBOX", 0, 0, 0);
	check_counts(alice, "Old", 1, 1, 300);
	ck_assert_int_eq(t_mb_delete(alice, "Work"), MS_OK);
	ck_assert_int_eq(counters_wrong(), 0);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);

	/* The CLI's user listing sums the same counters. */
	ck_assert_int_eq(ms_user_list(ms, NULL, on_user, &u), MS_OK);
	ck_assert_uint_eq(u.messages, 1);
	ck_assert_uint_eq(u.bytes, 300);
	ck_assert_int_eq(ms_user_del(ms, "alice@d.test"), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 0);
	ck_assert_int_eq(counters_wrong(), 0);
}
END_TEST

struct prune_done {
	int	 calls;
	int	 rc;
};

static void
on_prune(void *arg, int rc)
{
	struct prune_done *p = arg;

	p->calls++;
	p->rc = rc;
}

static int
prune(ms_id mb, uint64_t below)
{
	struct prune_done p = { 0 };

	ck_assert_int_eq(ms_tombstones_prune(ms, mb, below, on_prune, &p),
	    MS_OK);
	ms_drain(ms);
	ck_assert_int_eq(p.calls, 1);
	return p.rc;
}

static long long
tombstones_of(ms_id mb)
{
	char sql[128];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM expunged WHERE mailbox_id = %lld",
	    (long long)mb);
	return t_side_count(sql);
}

/* Expunge uids one at a time; each gets its own modseq in mods[]. */
static void
expunge_each(ms_id mb, const uint32_t *uids, size_t n, uint64_t *mods)
{
	size_t i;

	for (i = 0; i < n; i++) {
		t_expunge(mb, &uids[i], 1, MS_OK);
		mods[i] = modseq_of(mb);
	}
}

START_TEST(test_prune)
{
	struct change_list c;
	struct flags_done f;
	struct prune_done none = { 0 };
	uint32_t uids[4] = { 1, 2, 3, 4 }, flagged = 5;
	uint64_t mods[4], wmod, seen;
	ms_id alice, inbox, work;
	size_t i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	ck_assert_int_eq(t_mb_create(alice, "Work", NULL, &work), MS_OK);
	for (i = 0; i < 6; i++)
		append(inbox, 0, NULL, 0, i, NULL);
	append(work, 0, NULL, 0, 10, NULL);
	expunge_each(inbox, uids, 4, mods);
	expunge_each(work, uids, 1, &wmod);
	ck_assert_int_eq(tombstones_of(inbox), 4);

	/* A view that has seen mods[1] loses nothing when everything below
	 * mods[1] + 1 goes: it still learns of uids 3 and 4 and of a flag
	 * change, and a full listing is untouched. */
	seen = mods[1];
	flags_store(&f, inbox, &flagged, 1, MS_FLAGS_ADD, MS_FLAG_SEEN, NULL, 0);
	hook_reset();
	ck_assert_int_eq(prune(inbox, seen + 1), MS_OK);
	ck_assert_uint_eq(hook_n, 0);
	ck_assert_int_eq(tombstones_of(inbox), 2);
	ck_assert_int_eq(tombstones_of(work), 1);
	changes(inbox, seen, &c);
	ck_assert_uint_eq(c.ngone, 2);
	ck_assert_uint_eq(c.gone[0], 3);
	ck_assert_uint_eq(c.gone[1], 4);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.msg[0].uid, 5);
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.ngone, 0);

	/* The bound is exclusive: the tombstone at mods[2] stays. */
	ck_assert_int_eq(prune(inbox, mods[2]), MS_OK);
	ck_assert_int_eq(tombstones_of(inbox), 2);
	changes(inbox, mods[2] - 1, &c);
	ck_assert_uint_eq(c.ngone, 2);
	/* An unknown mailbox has none to lose. */
	ck_assert_int_eq(prune(work + inbox + 100, UINT64_MAX), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 3);

	/* Mailbox 0: every mailbox, below the bound only (modseqs count
	 * per mailbox: Work's few changes stay below INBOX's). */
	ck_assert_uint_lt(wmod, mods[3]);
	ck_assert_int_eq(prune(0, wmod), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 3);
	ck_assert_int_eq(prune(0, mods[3]), MS_OK);
	ck_assert_int_eq(tombstones_of(inbox), 1);
	ck_assert_int_eq(tombstones_of(work), 0);
	ck_assert_int_eq(prune(0, UINT64_MAX), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 0);
	changes(inbox, 1, &c);
	ck_assert_uint_eq(c.ngone, 0);

	/* Refused arguments never reach the writer. */
	ck_assert_int_eq(ms_tombstones_prune(ms, -1, 10, on_prune, &none),
	    MS_INVALID);
	ms_drain(ms);
	ck_assert_int_eq(none.calls, 0);
	ck_assert_int_eq(counters_wrong(), 0);
}
END_TEST

/* A failure at any step reports the error and leaves every tombstone. */
START_TEST(test_prune_fault)
{
	uint32_t uids[2] = { 1, 2 };
	uint64_t mods[2];
	ms_id alice, inbox;
	int n, rc = MS_ERROR, failed = 0;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	append(inbox, 0, NULL, 0, 1, NULL);
	append(inbox, 0, NULL, 0, 2, NULL);
	expunge_each(inbox, uids, 2, mods);
	for (n = 1; n < 20; n++) {
		ms_test_fail_step(ms, n);
		rc = prune(inbox, UINT64_MAX);
		ms_test_fail_step(ms, 0);
		if (rc == MS_OK)
			break;
		ck_assert_int_eq(rc, MS_ERROR);
		ck_assert_int_eq(tombstones_of(inbox), 2);
		failed++;
	}
	/* BEGIN, SAVEPOINT, the DELETE, RELEASE, COMMIT. */
	ck_assert_int_eq(failed, 5);
	ck_assert_int_eq(rc, MS_OK);
	ck_assert_int_eq(tombstones_of(inbox), 0);
}
END_TEST

/* The daemon's start: no writer yet, every tombstone goes, the rest of
 * the mailbox stays as it was. */
START_TEST(test_prune_startup)
{
	struct change_list c;
	uint32_t uids[2] = { 1, 3 };
	uint64_t mods[2], hms;
	ms_id alice, inbox, work;
	size_t i;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	ck_assert_int_eq(t_mb_create(alice, "Work", NULL, &work), MS_OK);
	for (i = 0; i < 4; i++)
		append(inbox, 0, NULL, 0, i, NULL);
	append(work, 0, NULL, 0, 9, NULL);
	expunge_each(inbox, uids, 2, mods);
	expunge_each(work, uids, 1, mods);
	hms = modseq_of(inbox);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 3);

	ms_close(&ms);
	t_store_open();
	ck_assert_int_eq(ms_tombstones_prune_all_sync(ms), MS_OK);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM expunged"), 0);
	ck_assert_uint_eq(modseq_of(inbox), hms);
	changes(inbox, 0, &c);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.msg[0].uid, 2);
	ck_assert_uint_eq(c.msg[1].uid, 4);
	check_counts(alice, "INBOX", 2, 2, 600);
	check_counts(alice, "Work", 0, 0, 0);
	/* Nothing left is fine too. */
	ck_assert_int_eq(ms_tombstones_prune_all_sync(ms), MS_OK);
}
END_TEST

START_TEST(test_delivery_keywords)
{
	struct change_list c;
	struct ms_delivery *d;
	struct done done = { 0 };
	ms_id alice, inbox;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	append(inbox, 0, "$Fwd  b $FWD B", 0, 1, NULL);
	changes(inbox, 0, &c);
	ck_assert_str_eq(c.kw[0], "$Fwd b");
	/* A keyword that is not one fails the whole delivery. */
	d = ms_delivery_new(ms);
	ck_assert_int_eq(ms_delivery_write(d, "x\r\n", 3), 0);
	ms_delivery_add_mailbox(d, inbox, 0, "bad\\kw", 0);
	ms_delivery_commit(d, t_on_delivered, &done);
	ms_drain(ms);
	ck_assert_int_eq(done.calls, 1);
	ck_assert_int_eq(done.r.status, MS_INVALID);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), 1);
}
END_TEST

START_TEST(test_mime_cache)
{
	ms_id alice, inbox, m1, m2;
	char *s;

	alice = setup_alice();
	inbox = t_inbox_of(alice);
	append(inbox, 0, NULL, 0, 1, &m1);
	append(inbox, 0, NULL, 0, 2, &m2);
	ck_assert_ptr_null(ms_message_mime_cache(ms, m1));
	hook_reset();
	ms_message_set_mime_cache(ms, m1, "(\"TEXT\" \"PLAIN\") 1");
	ms_message_set_mime_cache(ms, m1 + m2 + 100, "nobody");
	ms_drain(ms);
	ck_assert_uint_eq(hook_n, 0);
	s = ms_message_mime_cache(ms, m1);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "(\"TEXT\" \"PLAIN\") 1");
	free(s);
	ck_assert_ptr_null(ms_message_mime_cache(ms, m2));
	ck_assert_ptr_null(ms_message_mime_cache(ms, m1 + m2 + 100));
	/* Replaced, not appended; shared by every copy of the message. */
	ms_message_set_mime_cache(ms, m1, "v2");
	ms_drain(ms);
	s = ms_message_mime_cache(ms, m1);
	ck_assert_str_eq(s, "v2");
	free(s);
}
END_TEST

/* ------------------------------------------------------------- suite */

static Suite *
mailstore_imap_suite(void)
{
	Suite *s = suite_create("mailstore_imap");
	TCase *tc;

	tc = tcase_create("tables");
	tcase_add_test(tc, test_name_table);
	tcase_add_test(tc, test_name_length);
	tcase_add_test(tc, test_keyword_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("folders");
	tcase_add_checked_fixture(tc, t_setup_writer, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_count_above);
	tcase_add_test(tc, test_set_recent);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_rename_tree);
	tcase_add_test(tc, test_rename_inbox);
	tcase_add_test(tc, test_subscribe);
	suite_add_tcase(s, tc);

	tc = tcase_create("sync_jobs");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_folder_sync);
	suite_add_tcase(s, tc);

	tc = tcase_create("messages");
	tcase_add_checked_fixture(tc, t_setup_writer, t_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_unchangedsince);
	tcase_add_test(tc, test_copy_move);
	tcase_add_test(tc, test_move_same_mailbox);
	tcase_add_loop_test(tc, test_copy_fault, 0, 2);
	tcase_add_test(tc, test_changes);
	tcase_add_test(tc, test_delivery_keywords);
	tcase_add_test(tc, test_mime_cache);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_prune_fault);
	suite_add_tcase(s, tc);

	tc = tcase_create("startup");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_prune_startup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mailstore_imap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
