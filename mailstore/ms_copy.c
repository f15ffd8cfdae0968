/* SPDX-License-Identifier: ISC */
/*
 * IMAP COPY and MOVE (RFC 3501 6.4.7, RFC 6851) on the writer thread, and
 * the row copier that renaming INBOX uses too.
 *
 * A copy adds mailbox_messages rows pointing at the same messages row: the
 * bytes are stored once however many folders hold them.  The copies get
 * consecutive UIDs in the destination, in source-UID order, so UIDPLUS can
 * answer with two ranges, and each its own modseq; flags, keywords and the
 * internal date come along (RFC 3501 asks for the internal date, clients
 * expect the flags).  A move then expunges the originals with tombstones,
 * in the same savepoint: a failure anywhere leaves both mailboxes as they
 * were.  The new rows are inserted before the old ones go, so the
 * schema's trigger never sees the message unreferenced and never deletes
 * it.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"

/* One source row, read before anything is written (source and
 * destination may be the same mailbox). */
struct row {
	uint32_t	 uid;
	ms_id		 message_id;
	int		 flags;
	char		*keywords;
	int64_t		 internaldate;
};

static int
cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

size_t
ms_uids_sorted(const uint32_t *v, size_t n, uint32_t **out_r)
{
	uint32_t *out;
	size_t i, k = 0;

	*out_r = NULL;
	if (n == 0)
		return 0;
	out = xreallocarray(NULL, n, sizeof(*out));
	memcpy(out, v, n * sizeof(*out));
	qsort(out, n, sizeof(*out), cmp_uid);
	for (i = 0; i < n; i++)
		if (k == 0 || out[k - 1] != out[i])
			out[k++] = out[i];
	*out_r = out;
	return k;
}

void
ms_copy_map_clear(struct ms_copy_map *map)
{
	free(map->src);
	free(map->dst);
	*map = (struct ms_copy_map){ 0 };
}

static void
rows_free(struct row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].keywords);
	free(rows);
}

/* The rows of uids that exist in src, ascending. */
static int
read_rows(struct ms_store *conn, ms_id src, const uint32_t *uids, size_t n,
    struct row **rows_r, size_t *nrows_r)
{
	static const char sql[] =
	    "SELECT message_id, flags, keywords, internaldate"
	    " FROM mailbox_messages WHERE mailbox_id = ?1 AND uid = ?2";
	struct row *rows = NULL;
	const char *kw;
	sqlite3_stmt *st;
	size_t i, k = 0;
	int rc;

	if (n > 0)
		rows = xcalloc(n, sizeof(*rows));
	for (i = 0; i < n; i++) {
		if ((st = ms_stmt(conn, sql)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, src);
		sqlite3_bind_int64(st, 2, uids[i]);
		rc = ms_step(conn, st);
		if (rc == SQLITE_ROW) {
			kw = (const char *)sqlite3_column_text(st, 2);
			rows[k++] = (struct row){
				.uid = uids[i],
				.message_id = sqlite3_column_int64(st, 0),
				.flags = sqlite3_column_int(st, 1),
				.keywords = kw != NULL ? xstrdup(kw) : NULL,
				.internaldate = sqlite3_column_int64(st, 3),
			};
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto fail;
	}
	*rows_r = rows;
	*nrows_r = k;
	return MS_OK;
fail:
	rows_free(rows, k);
	return MS_ERROR;
}

/*
 * Reserve k UIDs and k modseqs in dst with one UPDATE; *uid_r and
 * *modseq_r get the first of each.
 */
static int
reserve(struct ms_store *conn, ms_id dst, size_t k, uint32_t *uid_r,
    uint64_t *modseq_r, uint32_t *uidvalidity_r)
{
	static const char sql[] =
	    "UPDATE mailboxes SET uidnext = uidnext + ?2,"
	    " highestmodseq = highestmodseq + ?2 WHERE id = ?1"
	    " RETURNING uidnext - ?2, highestmodseq - ?2 + 1, uidvalidity";
	sqlite3_stmt *st;
	sqlite3_int64 first = 0, modseq = 0;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, dst);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)k);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW) {
		first = sqlite3_column_int64(st, 0);
		modseq = sqlite3_column_int64(st, 1);
		*uidvalidity_r = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return MS_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return MS_ERROR;
	if (first < 1 || first + (sqlite3_int64)k - 1 > UINT32_MAX) {
		log_warnx("mailstore: mailbox %lld: UIDs exhausted",
		    (long long)dst);
		return MS_ERROR;
	}
	*uid_r = (uint32_t)first;
	*modseq_r = (uint64_t)modseq;
	return MS_OK;
}

static int
insert_row(struct ms_store *conn, ms_id dst, const struct row *r,
    uint32_t uid, uint64_t modseq)
{
	static const char sql[] =
	    "INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags,"
	    " keywords, internaldate, modseq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, dst);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, r->message_id);
	sqlite3_bind_int(st, 4, r->flags);
	if (r->keywords != NULL)
		sqlite3_bind_text(st, 5, r->keywords, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, r->internaldate);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)modseq);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

static bool
mailbox_exists(struct ms_store *conn, ms_id id, int *status_r)
{
	static const char sql[] = "SELECT 1 FROM mailboxes WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL) {
		*status_r = MS_ERROR;
		return false;
	}
	sqlite3_bind_int64(st, 1, id);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	*status_r = rc == SQLITE_ROW ? MS_OK :
	    rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
	return rc == SQLITE_ROW;
}

int
ms_copy_rows(struct ms_store *conn, ms_id src, const uint32_t *uids,
    size_t n, ms_id dst, bool move, struct ms_copy_map *map)
{
	struct row *rows = NULL;
	uint64_t modseq;
	uint32_t first;
	size_t nrows = 0, i, removed;
	int status;

	*map = (struct ms_copy_map){ 0 };
	if (!mailbox_exists(conn, src, &status))
		return status;
	if ((status = read_rows(conn, src, uids, n, &rows, &nrows)) != MS_OK)
		return status;
	if (nrows == 0) {
		/* Nothing to copy, but UIDPLUS still names the mailbox. */
		status = reserve(conn, dst, 0, &first, &modseq,
		    &map->uidvalidity);
		goto out;
	}
	status = reserve(conn, dst, nrows, &first, &modseq, &map->uidvalidity);
	if (status != MS_OK)
		goto out;
	map->src = xreallocarray(NULL, nrows, sizeof(*map->src));
	map->dst = xreallocarray(NULL, nrows, sizeof(*map->dst));
	for (i = 0; i < nrows; i++) {
		map->src[i] = rows[i].uid;
		map->dst[i] = first + (uint32_t)i;
		status = insert_row(conn, dst, &rows[i], map->dst[i], modseq + i);
		if (status != MS_OK)
			goto out;
	}
	map->n = nrows;
	if (move)
		status = ms_expunge_rows(conn, src, map->src, nrows, &removed);
out:
	rows_free(rows, nrows);
	if (status != MS_OK)
		ms_copy_map_clear(map);
	return status;
}

/* ------------------------------------------------------------- the job */

struct ms_copy {
	struct ms_job	 job;		/* must be first */
	ms_id		 src;
	ms_id		 dst;
	uint32_t	*uids;		/* ascending, unique */
	size_t		 n;
	bool		 move;
	struct ms_copy_map map;
	ms_copy_done_fn	*cb;
	void		*cb_arg;
};

static int
copy_run(struct ms_store *conn, struct ms_job *job)
{
	struct ms_copy *c = (struct ms_copy *)job;
	int status;

	status = ms_copy_rows(conn, c->src, c->uids, c->n, c->dst, c->move,
	    &c->map);
	if (status != MS_OK || c->map.n == 0)
		return status;
	ms_job_touch(job, c->dst);
	if (c->move)
		ms_job_touch(job, c->src);
	return MS_OK;
}

static void
copy_complete(struct ms_job *job)
{
	struct ms_copy *c = (struct ms_copy *)job;
	struct ms_copy_result r = { .status = job->status };

	/* After a rollback the map describes nothing that exists. */
	if (job->status == MS_OK) {
		r.dst_uidvalidity = c->map.uidvalidity;
		r.src_uids = c->map.src;
		r.dst_uids = c->map.dst;
		r.n = c->map.n;
	}
	if (c->cb != NULL)
		c->cb(c->cb_arg, &r);
}

static void
copy_free(struct ms_job *job)
{
	struct ms_copy *c = (struct ms_copy *)job;

	ms_copy_map_clear(&c->map);
	free(c->uids);
	free(c);
}

static const struct ms_job_kind copy_kind = {
	.name = "copy",
	.run = copy_run,
	.complete = copy_complete,
	.free = copy_free,
};

void
ms_messages_copy(struct ms_store *ms, ms_id src_mailbox_id,
    const uint32_t *uids, size_t n, ms_id dst_mailbox_id, bool move,
    ms_copy_done_fn *cb, void *arg)
{
	struct ms_copy *c = xcalloc(1, sizeof(*c));

	c->job.kind = &copy_kind;
	c->src = src_mailbox_id;
	c->dst = dst_mailbox_id;
	c->n = ms_uids_sorted(uids, n, &c->uids);
	c->move = move;
	c->cb = cb;
	c->cb_arg = arg;
	ms_job_submit(ms, &c->job);
}
