/* SPDX-License-Identifier: ISC */
/*
 * The \Recent mark of a mailbox, kept across restarts.
 *
 * imap-lite's view registry decides what is recent while the daemon runs
 * and holds the answer in memory; the row only has to catch up, so that
 * the first session after a restart is told about mail that arrived
 * before anyone looked.  Hence a deferred writer job: it rides along with
 * the next commit of some other change (a SELECT costs no fsync), or runs
 * when the writer stops; a crash before then only means some messages
 * are announced as recent once more.  Its UPDATE only ever raises the
 * mark (jobs from two sessions may land in either order) and it touches
 * no mailbox for the change hook: sessions would see nothing new.
 */
#include "autoconfig.h"

#include <stdlib.h>

#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"

struct ms_recent {
	struct ms_job	 job;		/* must be first */
	ms_id		 mailbox_id;
	uint32_t	 uid;
};

static int
recent_run(struct ms_store *conn, struct ms_job *job)
{
	static const char sql[] =
	    "UPDATE mailboxes SET recent_uid = ?2"
	    " WHERE id = ?1 AND recent_uid < ?2";
	struct ms_recent *r = (struct ms_recent *)job;
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, r->mailbox_id);
	sqlite3_bind_int64(st, 2, r->uid);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

static void
recent_complete(struct ms_job *job)
{
	(void)job;
}

static void
recent_free(struct ms_job *job)
{
	free(job);
}

static const struct ms_job_kind recent_kind = {
	.name = "recent mark",
	.run = recent_run,
	.complete = recent_complete,
	.free = recent_free,
};

void
ms_mailbox_set_recent(struct ms_store *ms, ms_id mailbox_id, uint32_t uid)
{
	struct ms_recent *r = xcalloc(1, sizeof(*r));

	r->job.kind = &recent_kind;
	r->mailbox_id = mailbox_id;
	r->uid = uid;
	ms_job_defer(ms, &r->job);
}
