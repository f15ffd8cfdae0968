/* SPDX-License-Identifier: ISC */
/*
 * Pruning the tombstones of expunged uids.
 *
 * A tombstone (ms_expunge.c) exists so that a session with the mailbox
 * selected can learn, by modseq, which of the uids it shows have gone.
 * Once every such session has seen past its modseq it serves nobody, yet
 * nothing else ever removes it: a mailbox that is emptied every day would
 * collect tombstones for as long as it lives.  Clients cannot ask for them
 * across sessions (there is no QRESYNC), so the only readers are the live
 * views, and the view registry, which knows the lowest modseq each
 * mailbox's views have seen, asks for the older ones to go.  At the
 * daemon's start no view exists, so all of them go.
 *
 * A prune is a writer job like any other change, but it touches no
 * mailbox for the change hook: no session would see a difference, and a
 * hook that woke the registry could make it prune again.
 */
#include "autoconfig.h"

#include <assert.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"

struct ms_prune {
	struct ms_job	 job;		/* must be first */
	ms_id		 mailbox_id;	/* 0: every mailbox */
	uint64_t	 below;		/* modseq bound, exclusive */
	void		(*done)(void *arg, int rc);
	void		*arg;
	uint64_t	*pruned_r;	/* NULL, or where to count them */
};

/*
 * ?2 is the bound and ?3 true when it is past what an SQLite integer
 * holds: then every tombstone matches.  The one-mailbox form walks the
 * (mailbox_id, modseq) index; the other reads the whole table, which is
 * what it has to delete from anyway.
 */
static int
prune_run(struct ms_store *conn, struct ms_job *job)
{
	static const char sql_one[] =
	    "DELETE FROM expunged WHERE mailbox_id = ?1"
	    " AND (modseq < ?2 OR ?3)";
	static const char sql_all[] =
	    "DELETE FROM expunged WHERE modseq < ?2 OR ?3";
	struct ms_prune *p = (struct ms_prune *)job;
	bool all = p->below > (uint64_t)INT64_MAX;
	sqlite3_stmt *st;
	int rc, changes;

	st = ms_stmt(conn, p->mailbox_id != 0 ? sql_one : sql_all);
	if (st == NULL)
		return MS_ERROR;
	if (p->mailbox_id != 0)
		sqlite3_bind_int64(st, 1, p->mailbox_id);
	sqlite3_bind_int64(st, 2, all ? INT64_MAX : (sqlite3_int64)p->below);
	sqlite3_bind_int(st, 3, all);
	rc = ms_step(conn, st);
	changes = sqlite3_changes(conn->db);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return MS_ERROR;
	if (p->pruned_r != NULL)
		*p->pruned_r = (uint64_t)changes;
	return MS_OK;
}

static void
prune_complete(struct ms_job *job)
{
	struct ms_prune *p = (struct ms_prune *)job;

	if (p->done != NULL)
		p->done(p->arg, job->status);
}

static void
prune_free(struct ms_job *job)
{
	free(job);
}

static const struct ms_job_kind prune_kind = {
	.name = "tombstone prune",
	.run = prune_run,
	.complete = prune_complete,
	.free = prune_free,
};

static void
prune_submit(struct ms_store *ms, ms_id mailbox_id, uint64_t below,
    void (*done)(void *arg, int rc), void *arg, uint64_t *pruned_r)
{
	struct ms_prune *p = xcalloc(1, sizeof(*p));

	p->job.kind = &prune_kind;
	p->mailbox_id = mailbox_id;
	p->below = below;
	p->done = done;
	p->arg = arg;
	p->pruned_r = pruned_r;
	ms_job_submit(ms, &p->job);
}

int
ms_tombstones_prune(struct ms_store *ms, ms_id mailbox_id,
    uint64_t below_modseq, void (*done)(void *arg, int rc), void *arg)
{
	if (mailbox_id < 0)
		return MS_INVALID;
	prune_submit(ms, mailbox_id, below_modseq, done, arg, NULL);
	return MS_OK;
}

static void
prune_all_done(void *arg, int rc)
{
	*(int *)arg = rc;
}

/* Without a writer thread the job runs at once, in its own transaction,
 * on ms itself: that is what makes this synchronous. */
int
ms_tombstones_prune_all_sync(struct ms_store *ms)
{
	uint64_t pruned = 0;
	int status = MS_ERROR;

	assert(ms->writer == NULL);
	prune_submit(ms, 0, UINT64_MAX, prune_all_done, &status, &pruned);
	if (status != MS_OK) {
		log_warnx("mailstore: cannot prune the tombstones");
		return MS_ERROR;
	}
	if (pruned > 0)
		log_info("mailstore: %llu tombstones of expunged messages pruned",
		    (unsigned long long)pruned);
	return MS_OK;
}
