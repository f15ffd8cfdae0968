/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the mailstore, part three: a reference model (random
 * deliveries and expunges through the writer thread, checked against an
 * in-memory model, also after reopening the database) and fault
 * injection (a failing step loses exactly its own job, or the whole batch
 * when it hits BEGIN or COMMIT, and never anything else).
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailstore/ms.h"
#include "tests/unit/check_mailstore.h"

/* --------------------------------------------------------- the model */

struct model_msg {
	uint32_t uid;
	uint64_t seed;		/* content: t_fill(seed), and the message key */
	size_t	 size;
};

struct model_box {
	ms_id		 user;
	ms_id		 mailbox;
	uint32_t	 uidnext;
	struct model_msg *v;
	size_t		 n;
};

#define MODEL_MAX_SEEDS	4096

struct model {
	struct model_box box[3];
	unsigned	 refs[MODEL_MAX_SEEDS];	/* per seed: mailboxes + queue */
	ms_id		 message_id[MODEL_MAX_SEEDS];
	bool		 verified[MODEL_MAX_SEEDS];
	size_t		 queued;
};

static void
model_init(struct model *m)
{
	static const char *const names[3] = {
		"alice@d.test", "bob@d.test", "carol@d.test"
	};
	size_t i;

	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(ms_domain_add(ms, "d.test"), MS_OK);
	for (i = 0; i < 3; i++) {
		m->box[i].user = t_add_user(names[i]);
		m->box[i].mailbox = t_inbox_of(m->box[i].user);
		m->box[i].uidnext = 1;
	}
}

static void
model_add(struct model *m, size_t b, uint64_t seed, size_t size)
{
	struct model_box *box = &m->box[b];

	box->v = realloc(box->v, (box->n + 1) * sizeof(*box->v));
	ck_assert_ptr_nonnull(box->v);
	box->v[box->n++] = (struct model_msg){ box->uidnext++, seed, size };
	m->refs[seed]++;
}

static void
model_expunge(struct model *m, size_t b, const uint32_t *uids, size_t n)
{
	struct model_box *box = &m->box[b];
	size_t i, k, out = 0;

	for (i = 0; i < box->n; i++) {
		for (k = 0; k < n && uids[k] != box->v[i].uid; k++)
			;
		if (k < n)
			m->refs[box->v[i].seed]--;
		else
			box->v[out++] = box->v[i];
	}
	box->n = out;
}

/* The store must hold exactly what the model says. */
static void
model_check(struct model *m)
{
	struct ms_mailbox_info info;
	struct queue_seen qs = { 0 };
	unsigned char *got, *want;
	struct model_msg *mm;
	struct ms_msg *v;
	size_t b, i, n, live = 0;

	for (b = 0; b < 3; b++) {
		ck_assert_int_eq(ms_mailbox_messages(ms, m->box[b].mailbox, &v, &n),
		    MS_OK);
		ck_assert_uint_eq(n, m->box[b].n);
		for (i = 0; i < n; i++) {
			mm = &m->box[b].v[i];
			ck_assert_uint_eq(v[i].uid, mm->uid);
			ck_assert_uint_eq(v[i].size, mm->size);
			/* One stored copy per message, shared by mailboxes. */
			if (m->message_id[mm->seed] == 0)
				m->message_id[mm->seed] = v[i].message_id;
			ck_assert_int_eq(v[i].message_id, m->message_id[mm->seed]);
			if (!m->verified[mm->seed]) {
				got = t_read_all(v[i].message_id, mm->size);
				want = malloc(mm->size + 1);
				ck_assert_ptr_nonnull(want);
				t_fill(want, mm->size, mm->seed);
				ck_assert(memcmp(got, want, mm->size) == 0);
				free(got);
				free(want);
				m->verified[mm->seed] = true;
			}
		}
		free(v);
		ck_assert_int_eq(ms_mailbox_find(ms, m->box[b].user, "INBOX",
		    &info), MS_OK);
		ck_assert_uint_eq(info.uidnext, m->box[b].uidnext);
		ck_assert_uint_eq(info.messages, m->box[b].n);
	}
	for (i = 0; i < MODEL_MAX_SEEDS; i++)
		live += m->refs[i] > 0;
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM messages"), live);
	ck_assert_int_eq(t_side_count("SELECT count(*) FROM message_data"), live);
	ck_assert_int_eq(ms_queue_list(ms, t_collect_queue, &qs), MS_OK);
	ck_assert_uint_eq(qs.n, m->queued);
}

static void
model_free(struct model *m)
{
	size_t b;

	for (b = 0; b < 3; b++)
		free(m->box[b].v);
}

/* A delivery whose callback checks the outcome against the model's
 * prediction of its first UID. */
struct model_done {
	int		 calls;
	int		 status;
	uint32_t	 want_uid;
	uint32_t	 uid;
};

static void
on_model_delivered(void *arg, const struct ms_delivery_result *r)
{
	struct model_done *d = arg;

	d->calls++;
	d->status = r->status;
	d->uid = r->uid;
}

START_TEST(test_reference_model)
{
	enum { OPS = 400 };
	struct model m;
	struct model_done *dd = calloc(OPS, sizeof(*dd));
	struct status_done *sd = calloc(OPS, sizeof(*sd));
	struct ms_delivery *d;
	unsigned char *buf = malloc(400 * 1024);
	uint32_t uids[8];
	size_t op, k, n, b, size, first;
	bool dup[3];

	ck_assert_ptr_nonnull(dd);
	ck_assert_ptr_nonnull(sd);
	ck_assert_ptr_nonnull(buf);
	t_rng_seed(0x5eed0001ULL);
	model_init(&m);
	for (op = 1; op < OPS; op++) {
		uint64_t r = t_rng_below(100);

		if (r < 60) {
			/* Seed = op: unique content per delivery. */
			size = t_rng_below(10) == 0 ?
			    MS_DELIVERY_MEM_MAX - 50 + (size_t)t_rng_below(300 * 1024) :
			    (size_t)t_rng_below(4000);
			t_fill(buf, size, op);
			d = ms_delivery_new(ms);
			for (k = 0; k < size; k += n) {
				n = 1 + (size_t)t_rng_below(3000);
				if (n > size - k)
					n = size - k;
				ck_assert_int_eq(ms_delivery_write(d, buf + k, n), 0);
			}
			memset(dup, 0, sizeof(dup));
			first = 3;
			n = 1 + (size_t)t_rng_below(4);
			for (k = 0; k < n; k++) {
				b = (size_t)t_rng_below(3);
				ms_delivery_add_local(d, m.box[b].user);
				if (first == 3)
					first = b;
				if (!dup[b])
					model_add(&m, b, op, size);
				dup[b] = true;
			}
			if (t_rng_below(5) == 0) {
				ms_delivery_add_remote(d, "out@far.test");
				m.refs[op]++;
				m.queued++;
			}
			dd[op].want_uid = m.box[first].uidnext - 1;
			ms_delivery_commit(d, on_model_delivered, &dd[op]);
		} else if (r < 90) {
			b = (size_t)t_rng_below(3);
			n = (size_t)t_rng_below(8) + 1;
			for (k = 0; k < n; k++) {
				/* Mostly live uids, sometimes gone or future. */
				if (m.box[b].n > 0 && t_rng_below(4) != 0)
					uids[k] = m.box[b].v[t_rng_below(m.box[b].n)].uid;
				else
					uids[k] = (uint32_t)t_rng_below(m.box[b].uidnext + 5) + 1;
			}
			model_expunge(&m, b, uids, n);
			ms_expunge_uids(ms, m.box[b].mailbox, uids, n, t_on_status,
			    &sd[op]);
		} else {
			ms_drain(ms);
			model_check(&m);
		}
	}
	ms_drain(ms);
	model_check(&m);
	for (op = 1; op < OPS; op++) {
		if (dd[op].want_uid != 0) {
			ck_assert_int_eq(dd[op].calls, 1);
			ck_assert_int_eq(dd[op].status, MS_OK);
			ck_assert_uint_eq(dd[op].uid, dd[op].want_uid);
		}
		if (sd[op].calls != 0)
			ck_assert_int_eq(sd[op].status, MS_OK);
	}
	/* And the same after closing and reopening. */
	ms_close(&ms);
	t_store_open();
	memset(m.verified, 0, sizeof(m.verified));
	model_check(&m);
	model_free(&m);
	free(buf);
	free(dd);
	free(sd);
}
END_TEST

/* ------------------------------------------------------------ faults */

/*
 * For n = 1, 2, ...: with the nth writer step set to fail, run a batch of
 * three jobs (a delivery to alice, one to bob and carol, an expunge from
 * alice) and check the store against a model that applies only the jobs
 * reported OK.  Ends when n is past the last step and all three succeed.
 */
START_TEST(test_fault_all_or_nothing)
{
	struct model m;
	struct done pre, da, db;
	struct status_done se;
	uint32_t uid, want_uid;
	uint64_t seed = 1, seed_a, seed_b;
	ms_id bc[2];
	sqlite3 *lock;
	int n, ok, mixed = 0, none = 0;
	bool clean = false;

	model_init(&m);
	bc[0] = m.box[1].user;
	bc[1] = m.box[2].user;
	for (n = 1; n < 300 && !clean; n++) {
		/* A message for this round's expunge to remove. */
		memset(&pre, 0, sizeof(pre));
		t_deliver(&m.box[0].user, 1, seed, 300, &pre);
		model_add(&m, 0, seed++, 300);
		uid = pre.r.uid;
		ck_assert_uint_eq(uid, m.box[0].uidnext - 1);

		/* Hold the write lock so the three jobs form one batch. */
		memset(&da, 0, sizeof(da));
		memset(&db, 0, sizeof(db));
		memset(&se, 0, sizeof(se));
		lock = t_side_open();
		ck_assert_int_eq(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL,
		    NULL, NULL), SQLITE_OK);
		ms_test_fail_step(ms, n);
		seed_a = seed++;
		seed_b = seed++;
		/* A is big enough to spill: its blob writes come from the
		 * file and from memory. */
		t_queue_delivery(&m.box[0].user, 1, NULL, seed_a, 150000, &da);
		t_queue_delivery(bc, 2, "far@far.test", seed_b, 2000, &db);
		ms_expunge_uids(ms, m.box[0].mailbox, &uid, 1, t_on_status, &se);
		ck_assert_int_eq(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(lock);
		ms_drain(ms);
		ms_test_fail_step(ms, 0);

		ck_assert_int_eq(da.calls, 1);
		ck_assert_int_eq(db.calls, 1);
		ck_assert_int_eq(se.calls, 1);
		ok = 0;
		if (da.r.status == MS_OK) {
			want_uid = m.box[0].uidnext;
			model_add(&m, 0, seed_a, 150000);
			ck_assert_uint_eq(da.r.uid, want_uid);
			ok++;
		} else
			ck_assert_int_eq(da.r.message_id, 0);
		if (db.r.status == MS_OK) {
			model_add(&m, 1, seed_b, 2000);
			model_add(&m, 2, seed_b, 2000);
			m.refs[seed_b]++;
			m.queued++;
			ok++;
		}
		if (se.status == MS_OK) {
			model_expunge(&m, 0, &uid, 1);
			ok++;
		}
		/* Whatever failed left nothing behind, the rest is there. */
		model_check(&m);
		if (ok == 3)
			clean = true;
		else if (ok == 0)
			none++;
		else
			mixed++;
	}
	/* The run went past the last step of the batch, saw jobs fail
	 * alone while others committed, and saw whole batches fail. */
	ck_assert(clean);
	ck_assert_int_gt(n, 10);
	ck_assert_int_gt(mixed, 0);
	ck_assert_int_gt(none, 0);
	model_free(&m);
}
END_TEST

/* Without a writer thread (the CLI), jobs run and complete at once. */

TCase *
check_mailstore_model_tcase(void)
{
	TCase *tc = tcase_create("model");

	tcase_add_checked_fixture(tc, t_setup_writer, t_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_reference_model);
	tcase_add_test(tc, test_fault_all_or_nothing);
	return tc;
}
