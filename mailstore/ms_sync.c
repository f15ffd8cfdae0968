/* SPDX-License-Identifier: ISC */
/*
 * What an IMAP session reads to stay in step with its mailbox: the
 * mailbox's counters, the rows and tombstones newer than a modseq, and the
 * cached MIME parse of a message.  Reads run on the caller's (the loop's)
 * connection; only storing a MIME parse is a writer job.
 *
 * A session that was told by the change hook that its mailbox changed
 * asks for everything after the highest modseq it has seen: the index on
 * (mailbox_id, modseq) makes that cost the number of changes, not the
 * size of the mailbox.  The changed rows and the tombstones are read in
 * one read transaction, so they describe a single moment even while the
 * writer commits.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"

int
ms_mailbox_state(struct ms_store *ms, ms_id mailbox_id, uint32_t *uidnext_r,
    uint64_t *highestmodseq_r, uint32_t *uidvalidity_r)
{
	static const char sql[] =
	    "SELECT uidnext, highestmodseq, uidvalidity FROM mailboxes"
	    " WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = ms_step(ms, st);
	if (rc == SQLITE_ROW) {
		if (uidnext_r != NULL)
			*uidnext_r = (uint32_t)sqlite3_column_int64(st, 0);
		if (highestmodseq_r != NULL)
			*highestmodseq_r = (uint64_t)sqlite3_column_int64(st, 1);
		if (uidvalidity_r != NULL)
			*uidvalidity_r = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

int
ms_mailbox_count_above(struct ms_store *ms, ms_id mailbox_id, uint32_t uid,
    uint32_t *count_r)
{
	/* A range of the primary key (mailbox_id, uid): the new messages
	 * only, however big the mailbox. */
	static const char sql[] =
	    "SELECT count(*) FROM mailbox_messages"
	    " WHERE mailbox_id = ?1 AND uid > ?2";
	sqlite3_stmt *st;
	int rc;

	*count_r = 0;
	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = ms_step(ms, st);
	if (rc == SQLITE_ROW)
		*count_r = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? MS_OK : MS_ERROR;
}

/*
 * Left to itself, SQLite answers "modseq > ?2 ORDER BY uid" by walking the
 * primary key (mailbox_id, uid), which needs no sort but reads every row
 * of the mailbox: a session syncing after each APPEND into a big selected
 * mailbox then pays for the whole mailbox every time.  The planner cannot
 * know that ?2 is nearly always recent, so the incremental query names the
 * modseq index and sorts the few rows it finds; the full listing (since 0)
 * keeps the primary key, where no sort is needed.
 */
static int
read_changed(struct ms_store *ms, ms_id mailbox_id, uint64_t since,
    void (*changed)(void *arg, const struct ms_msg *m, const char *keywords),
    void *arg)
{
	static const char sql_all[] =
	    "SELECT mm.uid, mm.message_id, m.size, mm.flags, mm.internaldate,"
	    " mm.modseq, mm.keywords FROM mailbox_messages mm"
	    " JOIN messages m ON m.id = mm.message_id"
	    " WHERE mm.mailbox_id = ?1 AND mm.modseq > ?2 ORDER BY mm.uid";
	static const char sql_since[] =
	    "SELECT mm.uid, mm.message_id, m.size, mm.flags, mm.internaldate,"
	    " mm.modseq, mm.keywords FROM mailbox_messages mm"
	    " INDEXED BY mailbox_messages_modseq"
	    " JOIN messages m ON m.id = mm.message_id"
	    " WHERE mm.mailbox_id = ?1 AND mm.modseq > ?2 ORDER BY mm.uid";
	struct ms_msg m;
	const char *kw;
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, since > 0 ? sql_since : sql_all)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	while ((rc = ms_step(ms, st)) == SQLITE_ROW) {
		m = (struct ms_msg){
			.uid = (uint32_t)sqlite3_column_int64(st, 0),
			.message_id = sqlite3_column_int64(st, 1),
			.size = (uint64_t)sqlite3_column_int64(st, 2),
			.flags = (uint32_t)sqlite3_column_int(st, 3),
			.internaldate = sqlite3_column_int64(st, 4),
			.modseq = (uint64_t)sqlite3_column_int64(st, 5),
		};
		kw = (const char *)sqlite3_column_text(st, 6);
		if (changed != NULL)
			changed(arg, &m, kw != NULL ? kw : "");
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

/* Same reason as above: without the hint, every tombstone of the
 * mailbox is read to find the few recent ones. */
static int
read_expunged(struct ms_store *ms, ms_id mailbox_id, uint64_t since,
    void (*expunged)(void *arg, uint32_t uid), void *arg)
{
	static const char sql[] =
	    "SELECT uid FROM expunged INDEXED BY expunged_modseq"
	    " WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	while ((rc = ms_step(ms, st)) == SQLITE_ROW)
		if (expunged != NULL)
			expunged(arg, (uint32_t)sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

/*
 * BEGIN (deferred) takes no lock; the first SELECT starts the read
 * transaction the second one shares.  Inside a transaction the caller
 * already holds (tests, the CLI), the reads simply join it.
 */
int
ms_mailbox_changes(struct ms_store *ms, ms_id mailbox_id,
    uint64_t since_modseq,
    void (*changed)(void *arg, const struct ms_msg *m, const char *keywords),
    void (*expunged)(void *arg, uint32_t uid), void *arg)
{
	static const char sql_begin[] = "BEGIN";
	bool own = sqlite3_get_autocommit(ms->db) != 0;
	int status;

	if (own && ms_exec(ms, sql_begin) != MS_OK)
		return MS_ERROR;
	status = ms_mailbox_state(ms, mailbox_id, NULL, NULL, NULL);
	if (status == MS_OK)
		status = read_changed(ms, mailbox_id, since_modseq, changed, arg);
	if (status == MS_OK && since_modseq > 0)
		status = read_expunged(ms, mailbox_id, since_modseq, expunged,
		    arg);
	if (own) {
		/* Only reads happened: ending them cannot lose anything. */
		if (status == MS_OK)
			status = ms_commit(ms);
		ms_rollback(ms);
	}
	return status;
}

/* ------------------------------------------------------------ MIME cache */

char *
ms_message_mime_cache(struct ms_store *ms, ms_id message_id)
{
	static const char sql[] =
	    "SELECT mime_cache FROM messages WHERE id = ?1";
	const char *text;
	sqlite3_stmt *st;
	char *out = NULL;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, message_id);
	if (ms_step(ms, st) == SQLITE_ROW &&
	    (text = (const char *)sqlite3_column_text(st, 0)) != NULL)
		out = xstrdup(text);
	sqlite3_reset(st);
	return out;
}

struct ms_mime_set {
	struct ms_job	 job;		/* must be first */
	ms_id		 message_id;
	char		*cache;
};

/* A message expunged meanwhile simply matches no row.  No mailbox is
 * touched: the cache changes no answer a session has seen. */
static int
mime_set_run(struct ms_store *conn, struct ms_job *job)
{
	static const char sql[] =
	    "UPDATE messages SET mime_cache = ?2 WHERE id = ?1";
	struct ms_mime_set *m = (struct ms_mime_set *)job;
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, m->message_id);
	sqlite3_bind_text(st, 2, m->cache, -1, SQLITE_STATIC);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

static void
mime_set_complete(struct ms_job *job)
{
	/* Best effort: a lost cache entry is computed again next time. */
	(void)job;
}

static void
mime_set_free(struct ms_job *job)
{
	struct ms_mime_set *m = (struct ms_mime_set *)job;

	free(m->cache);
	free(m);
}

static const struct ms_job_kind mime_set_kind = {
	.name = "mime cache",
	.run = mime_set_run,
	.complete = mime_set_complete,
	.free = mime_set_free,
};

void
ms_message_set_mime_cache(struct ms_store *ms, ms_id message_id,
    const char *cache)
{
	struct ms_mime_set *m = xcalloc(1, sizeof(*m));

	m->job.kind = &mime_set_kind;
	m->message_id = message_id;
	m->cache = xstrdup(cache);
	ms_job_submit(ms, &m->job);
}
