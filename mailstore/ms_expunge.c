/* SPDX-License-Identifier: ISC */
/*
 * The expunge job: remove uids from one mailbox (POP3 QUIT after DELE,
 * IMAP EXPUNGE) on the writer thread.  Removing a mailbox_messages row
 * fires the schema's trigger that deletes the message, and by cascade its
 * bytes, once nothing refers to it any more, so this file does not care
 * whether the message lives on in another mailbox or in the queue.
 *
 * An expunge is a change the mailbox's modseq records (RFC 7162), and each
 * removed uid leaves a tombstone in expunged with that modseq, so sessions
 * can learn what vanished since the modseq they last saw.  Deleting a
 * mailbox or a user takes its tombstones along (ON DELETE CASCADE).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mailstore/ms_internal.h"

struct ms_expunge {
	struct ms_job	 job;		/* must be first */
	ms_id		 mailbox_id;
	uint32_t	*uids;
	size_t		 n;
	ms_done_fn	*cb;
	void		*cb_arg;
};

/*
 * The mailbox's modseq is bumped first, even when nothing goes: the
 * UPDATE tells whether the mailbox exists, the tombstones need the new
 * value, and a spare modseq number costs nothing.
 */
int
ms_expunge_rows(struct ms_store *conn, ms_id mailbox_id,
    const uint32_t *uids, size_t n, size_t *removed_r)
{
	static const char sql_bump[] =
	    "UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
	    " WHERE id = ?1 RETURNING highestmodseq";
	static const char sql_del[] =
	    "DELETE FROM mailbox_messages WHERE mailbox_id = ?1 AND uid = ?2";
	/* REPLACE: UIDs are never reused, but a tombstone must never be
	 * the reason an expunge fails. */
	static const char sql_tomb[] =
	    "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq)"
	    " VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st;
	sqlite3_int64 modseq = 0;
	size_t i;
	int rc, changes;

	*removed_r = 0;
	if ((st = ms_stmt(conn, sql_bump)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW)
		modseq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return MS_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return MS_ERROR;

	for (i = 0; i < n; i++) {
		if ((st = ms_stmt(conn, sql_del)) == NULL)
			return MS_ERROR;
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, uids[i]);
		rc = ms_step(conn, st);
		changes = sqlite3_changes(conn->db);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return MS_ERROR;
		if (changes == 0)
			continue;
		(*removed_r)++;
		if ((st = ms_stmt(conn, sql_tomb)) == NULL)
			return MS_ERROR;
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, uids[i]);
		sqlite3_bind_int64(st, 3, modseq);
		rc = ms_step(conn, st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return MS_ERROR;
	}
	return MS_OK;
}

static int
expunge_run(struct ms_store *conn, struct ms_job *job)
{
	struct ms_expunge *e = (struct ms_expunge *)job;
	size_t removed;
	int status;

	status = ms_expunge_rows(conn, e->mailbox_id, e->uids, e->n, &removed);
	if (status == MS_OK && removed > 0)
		ms_job_touch(job, e->mailbox_id);
	return status;
}

static void
expunge_complete(struct ms_job *job)
{
	struct ms_expunge *e = (struct ms_expunge *)job;

	if (e->cb != NULL)
		e->cb(e->cb_arg, job->status);
}

static void
expunge_free(struct ms_job *job)
{
	struct ms_expunge *e = (struct ms_expunge *)job;

	free(e->uids);
	free(e);
}

static const struct ms_job_kind expunge_kind = {
	.name = "expunge",
	.run = expunge_run,
	.complete = expunge_complete,
	.free = expunge_free,
};

void
ms_expunge_uids(struct ms_store *ms, ms_id mailbox_id,
    const uint32_t *uids, size_t n, ms_done_fn *cb, void *arg)
{
	struct ms_expunge *e = xcalloc(1, sizeof(*e));

	e->job.kind = &expunge_kind;
	e->mailbox_id = mailbox_id;
	e->uids = xreallocarray(NULL, n, sizeof(*uids));
	if (n > 0)
		memcpy(e->uids, uids, n * sizeof(*uids));
	e->n = n;
	e->cb = cb;
	e->cb_arg = arg;
	ms_job_submit(ms, &e->job);
}
