/* SPDX-License-Identifier: ISC */
/*
 * Fixtures and helpers of the mailstore unit tests: a fresh temporary
 * directory with a database and a spool per test, a plain SQLite
 * connection for counting rows, reproducible message contents, and
 * delivery/expunge shorthands with completion recorders.
 */
#include "autoconfig.h"

#include <check.h>
#include <dirent.h>
#include <ev.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "mailstore/ms_imap.h"
#include "tests/unit/check_mailstore.h"

char tmpdir[PATH_MAX];
char dbpath[PATH_MAX];
char spooldir[PATH_MAX];
struct ms_store *ms;
struct ev_loop *loop;

/* ------------------------------------------------------------ fixtures */

static void
rm_tree(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (lstat(path, &sb) == -1)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (snprintf(sub, sizeof(sub), "%s/%s", path,
			    de->d_name) < (int)sizeof(sub))
				rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

void
t_store_open(void)
{
	char *err = NULL;

	ck_assert_int_eq(ms_open(dbpath, &ms, &err), MS_OK);
	ck_assert_ptr_null(err);
}

void
t_setup(void)
{
	const char *base = getenv("TMPDIR");

	log_init("check_mailstore", false);
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_ms.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_lt(snprintf(dbpath, sizeof(dbpath), "%s/mail.db", tmpdir),
	    (int)sizeof(dbpath));
	ck_assert_int_lt(snprintf(spooldir, sizeof(spooldir), "%s/spool",
	    tmpdir), (int)sizeof(spooldir));
	ck_assert_int_eq(mkdir(spooldir, 0700), 0);
	t_store_open();
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
}

void
t_setup_writer(void)
{
	t_setup();
	ck_assert_int_eq(ms_start_writer(ms, loop, spooldir), MS_OK);
}

void
t_teardown(void)
{
	ms_close(&ms);
	ck_assert_ptr_null(ms);
	ev_loop_destroy(loop);
	rm_tree(tmpdir);
}

/* A plain connection for counting rows and holding the write lock. */
sqlite3 *
t_side_open(void)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

long long
t_side_count(const char *sql)
{
	sqlite3 *db = t_side_open();
	sqlite3_stmt *st;
	long long n;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state;

void
t_rng_seed(uint64_t seed)
{
	rng_state = seed != 0 ? seed : 1;
}

uint64_t
t_rng(void)
{
	/* xorshift64*: reproducible from the seed printed on failure. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

uint64_t
t_rng_below(uint64_t n)
{
	return t_rng() % n;
}

/* Deterministic bytes for message number seed, so a model needs to keep
 * only (seed, size) to check what the store returns. */
void
t_fill(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(x >> 56);
	}
}

unsigned char *
t_read_all(ms_id message_id, uint64_t size)
{
	unsigned char *buf = malloc(size + 1);
	uint64_t off = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	/* An odd chunk size, so reads straddle SQLite's overflow pages. */
	while ((n = ms_message_read(ms, message_id, off, buf + off,
	    size - off < 7001 ? (size_t)(size - off) + 1 : 7001)) > 0)
		off += (uint64_t)n;
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(off, size);
	return buf;
}

void
t_on_delivered(void *arg, const struct ms_delivery_result *r)
{
	struct done *d = arg;

	d->calls++;
	d->r = *r;
}

void
t_on_status(void *arg, int status)
{
	struct status_done *d = arg;

	d->calls++;
	d->status = status;
}

ms_id
t_add_user(const char *addr)
{
	ms_id id = 0;

	ck_assert_int_eq(ms_user_add(ms, addr, "secret"), MS_OK);
	ck_assert_int_eq(ms_user_lookup(ms, addr, &id), MS_OK);
	ck_assert_int_gt(id, 0);
	return id;
}

ms_id
t_inbox_of(ms_id user)
{
	struct ms_mailbox_info mb;

	ck_assert_int_eq(ms_mailbox_find(ms, user, "INBOX", &mb), MS_OK);
	return mb.id;
}

uint32_t
t_uidnext_of(ms_id user)
{
	struct ms_mailbox_info mb;

	ck_assert_int_eq(ms_mailbox_find(ms, user, "INBOX", &mb), MS_OK);
	return mb.uidnext;
}

/* Queue a message of len bytes from seed to users (and remote, if set). */
void
t_queue_delivery(const ms_id *users, size_t n, const char *remote,
    uint64_t seed, size_t len, struct done *done)
{
	struct ms_delivery *d = ms_delivery_new(ms);
	unsigned char *buf = malloc(len + 1);
	size_t i, off, piece;

	ck_assert_ptr_nonnull(buf);
	t_fill(buf, len, seed);
	/* Lines of varying length, as SMTP DATA would write them. */
	for (off = 0; off < len; off += piece) {
		piece = 1 + (size_t)((seed + off) % 997);
		if (piece > len - off)
			piece = len - off;
		ck_assert_int_eq(ms_delivery_write(d, buf + off, piece), 0);
	}
	ck_assert_uint_eq(ms_delivery_size(d), len);
	free(buf);
	ms_delivery_set_sender(d, "sender@outside.test");
	for (i = 0; i < n; i++)
		ms_delivery_add_local(d, users[i]);
	if (remote != NULL)
		ms_delivery_add_remote(d, remote);
	ms_delivery_commit(d, t_on_delivered, done);
}

void
t_deliver(const ms_id *users, size_t n, uint64_t seed, size_t len,
    struct done *done)
{
	t_queue_delivery(users, n, NULL, seed, len, done);
	ms_drain(ms);
	ck_assert_int_eq(done->calls, 1);
	ck_assert_int_eq(done->r.status, MS_OK);
}

void
t_expunge(ms_id mailbox, const uint32_t *uids, size_t n, int want)
{
	struct status_done sd = { 0 };

	ms_expunge_uids(ms, mailbox, uids, n, t_on_status, &sd);
	ms_drain(ms);
	ck_assert_int_eq(sd.calls, 1);
	ck_assert_int_eq(sd.status, want);
}


void
t_collect_queue(void *arg, const struct ms_queue_entry *e)
{
	struct queue_seen *s = arg;

	s->n++;
	snprintf(s->rcpt, sizeof(s->rcpt), "%s from %s", e->recipient, e->sender);
	s->message_id = e->message_id;
	ck_assert_uint_eq(e->attempts, 0);
	ck_assert_int_gt(e->queued_at, 0);
}

/* ------------------------------------------------------- folder jobs */

void
t_on_folder(void *arg, int status, ms_id mailbox_id)
{
	struct folder_done *d = arg;

	d->calls++;
	d->status = status;
	d->id = mailbox_id;
}

/* Each runs one job through the writer, drains, and checks that the
 * callback ran exactly once. */
int
t_mb_create(ms_id user, const char *name, const char *special, ms_id *id_r)
{
	struct folder_done d = { 0 };

	ms_mailbox_create(ms, user, name, special, t_on_folder, &d);
	ms_drain(ms);
	ck_assert_int_eq(d.calls, 1);
	if (d.status == MS_OK)
		ck_assert_int_gt(d.id, 0);
	else
		ck_assert_int_eq(d.id, 0);
	if (id_r != NULL)
		*id_r = d.id;
	return d.status;
}

int
t_mb_delete(ms_id user, const char *name)
{
	struct folder_done d = { 0 };

	ms_mailbox_delete(ms, user, name, t_on_folder, &d);
	ms_drain(ms);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.id, 0);
	return d.status;
}

int
t_mb_rename(ms_id user, const char *from, const char *to, ms_id *id_r)
{
	struct folder_done d = { 0 };

	ms_mailbox_rename(ms, user, from, to, t_on_folder, &d);
	ms_drain(ms);
	ck_assert_int_eq(d.calls, 1);
	if (id_r != NULL)
		*id_r = d.id;
	return d.status;
}

int
t_mb_subscribe(ms_id user, const char *name, bool on)
{
	struct folder_done d = { 0 };

	ms_mailbox_subscribe(ms, user, name, on, t_on_folder, &d);
	ms_drain(ms);
	ck_assert_int_eq(d.calls, 1);
	return d.status;
}
