/* SPDX-License-Identifier: ISC */
/*
 * The expunge job: remove uids from one mailbox (POP3 QUIT after DELE,
 * IMAP EXPUNGE) on the writer thread.  Removing a mailbox_messages row
 * fires the schema's trigger that deletes the message, and by cascade its
 * bytes, once nothing refers to it any more, so this file does not care
 * whether the message lives on in another mailbox or in the queue.
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

static int
expunge_run(struct ms_store *conn, struct ms_job *job)
{
	static const char sql_del[] =
	    "DELETE FROM mailbox_messages WHERE mailbox_id = ?1 AND uid = ?2";
	/* RFC 7162: an expunge is a change the mailbox's modseq records. */
	static const char sql_bump[] =
	    "UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
	    " WHERE id = ?1";
	struct ms_expunge *e = (struct ms_expunge *)job;
	sqlite3_stmt *st;
	size_t i, removed = 0;
	int rc, changes;

	for (i = 0; i < e->n; i++) {
		if ((st = ms_stmt(conn, sql_del)) == NULL)
			return MS_ERROR;
		sqlite3_bind_int64(st, 1, e->mailbox_id);
		sqlite3_bind_int64(st, 2, e->uids[i]);
		rc = ms_step(conn, st);
		changes = sqlite3_changes(conn->db);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return MS_ERROR;
		removed += (size_t)changes;
	}
	if ((st = ms_stmt(conn, sql_bump)) == NULL)
		return MS_ERROR;
	/* Bumped even when nothing went, which also tells whether the
	 * mailbox exists; a spare modseq number costs nothing. */
	sqlite3_bind_int64(st, 1, e->mailbox_id);
	rc = ms_step(conn, st);
	changes = sqlite3_changes(conn->db);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return MS_ERROR;
	if (changes == 0)
		return MS_NOT_FOUND;
	if (removed > 0)
		ms_job_touch(job, e->mailbox_id);
	return MS_OK;
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
