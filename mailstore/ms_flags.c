/* SPDX-License-Identifier: ISC */
/*
 * IMAP STORE (RFC 3501 6.4.6) with CONDSTORE's UNCHANGEDSINCE (RFC 7162
 * 3.1.3) on the writer thread.
 *
 * The job works in three passes inside its savepoint: read each row and
 * work out its new flags and keywords (rows changed since UNCHANGEDSINCE
 * are set aside, rows that would not change are dropped), reserve one
 * modseq per changed row with a single UPDATE of the mailbox, and write
 * the rows.  So a STORE on 1:* of a big mailbox costs one mailbox update,
 * and highestmodseq still grows by exactly the number of rows changed,
 * each with its own modseq.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"

#define FLAG_MASK	(MS_FLAG_SEEN | MS_FLAG_ANSWERED | MS_FLAG_FLAGGED | \
			 MS_FLAG_DELETED | MS_FLAG_DRAFT)

struct ms_flags {
	struct ms_job	 job;		/* must be first */
	ms_id		 mailbox_id;
	uint32_t	*uids;		/* ascending, unique */
	size_t		 n;
	enum ms_flag_op	 op;
	uint32_t	 flags;
	char		*keywords;	/* the argument, or NULL */
	uint64_t	 unchangedsince;	/* 0: none */
	bool		 invalid;	/* bad flags or keywords: refuse */
	struct ms_flag_change *changed;	/* the result */
	char		**kw;		/* changed[i].keywords, owned */
	size_t		 n_changed;
	uint32_t	*modified;
	size_t		 n_modified;
	ms_flags_done_fn *cb;
	void		*cb_arg;
};

static uint32_t
apply_flags(uint32_t old, enum ms_flag_op op, uint32_t arg)
{
	switch (op) {
	case MS_FLAGS_ADD:
		return old | arg;
	case MS_FLAGS_REMOVE:
		return old & ~arg;
	case MS_FLAGS_REPLACE:
	default:
		return arg;
	}
}

static void
results_clear(struct ms_flags *f)
{
	size_t i;

	for (i = 0; i < f->n_changed; i++)
		free(f->kw[i]);
	free(f->kw);
	free(f->changed);
	free(f->modified);
	f->kw = NULL;
	f->changed = NULL;
	f->modified = NULL;
	f->n_changed = f->n_modified = 0;
}

/*
 * Pass one for a row: note it in modified or changed, or not at all.
 * The stored keywords are compared in canonical form, so a row whose
 * list would come out the same is left alone.
 */
static void
plan_row(struct ms_flags *f, uint32_t uid, uint32_t flags,
    const char *keywords, uint64_t modseq)
{
	char *now, *next;
	uint32_t nflags;

	if (f->unchangedsince != 0 && modseq > f->unchangedsince) {
		f->modified[f->n_modified++] = uid;
		return;
	}
	nflags = apply_flags(flags & FLAG_MASK, f->op, f->flags);
	/* Both calls succeed: the argument was checked on submission and
	 * the stored list is not checked. */
	ms_keywords_apply(keywords, MS_FLAGS_ADD, NULL, &now);
	ms_keywords_apply(keywords, f->op, f->keywords, &next);
	if (nflags == flags && (now == NULL ? next == NULL :
	    next != NULL && strcmp(now, next) == 0)) {
		free(now);
		free(next);
		return;
	}
	free(now);
	f->kw[f->n_changed] = next != NULL ? next : xstrdup("");
	f->changed[f->n_changed] = (struct ms_flag_change){
		.uid = uid,
		.flags = nflags,
		.keywords = f->kw[f->n_changed],
	};
	f->n_changed++;
}

static int
plan(struct ms_store *conn, struct ms_flags *f)
{
	static const char sql[] =
	    "SELECT flags, keywords, modseq FROM mailbox_messages"
	    " WHERE mailbox_id = ?1 AND uid = ?2";
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < f->n; i++) {
		if ((st = ms_stmt(conn, sql)) == NULL)
			return MS_ERROR;
		sqlite3_bind_int64(st, 1, f->mailbox_id);
		sqlite3_bind_int64(st, 2, f->uids[i]);
		rc = ms_step(conn, st);
		if (rc == SQLITE_ROW)
			plan_row(f, f->uids[i],
			    (uint32_t)sqlite3_column_int(st, 0),
			    (const char *)sqlite3_column_text(st, 1),
			    (uint64_t)sqlite3_column_int64(st, 2));
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return MS_ERROR;
	}
	return MS_OK;
}

/* Reserve k modseqs; *first_r gets the lowest.  k 0 only checks that
 * the mailbox exists. */
static int
reserve(struct ms_store *conn, ms_id mailbox_id, size_t k, uint64_t *first_r)
{
	static const char sql[] =
	    "UPDATE mailboxes SET highestmodseq = highestmodseq + ?2"
	    " WHERE id = ?1 RETURNING highestmodseq - ?2 + 1";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)k);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW)
		*first_r = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

static int
write_rows(struct ms_store *conn, struct ms_flags *f, uint64_t first)
{
	static const char sql[] =
	    "UPDATE mailbox_messages SET flags = ?3, keywords = ?4, modseq = ?5"
	    " WHERE mailbox_id = ?1 AND uid = ?2";
	struct ms_flag_change *c;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < f->n_changed; i++) {
		c = &f->changed[i];
		c->modseq = first + i;
		if ((st = ms_stmt(conn, sql)) == NULL)
			return MS_ERROR;
		sqlite3_bind_int64(st, 1, f->mailbox_id);
		sqlite3_bind_int64(st, 2, c->uid);
		sqlite3_bind_int(st, 3, (int)c->flags);
		if (c->keywords[0] != '\0')
			sqlite3_bind_text(st, 4, c->keywords, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)c->modseq);
		rc = ms_step(conn, st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return MS_ERROR;
	}
	return MS_OK;
}

static int
flags_run(struct ms_store *conn, struct ms_job *job)
{
	struct ms_flags *f = (struct ms_flags *)job;
	uint64_t first;
	int status;

	if (f->invalid)
		return MS_INVALID;
	if (f->n > 0) {
		f->changed = xcalloc(f->n, sizeof(*f->changed));
		f->kw = xcalloc(f->n, sizeof(*f->kw));
		f->modified = xcalloc(f->n, sizeof(*f->modified));
	}
	if ((status = reserve(conn, f->mailbox_id, 0, &first)) != MS_OK)
		return status;
	if ((status = plan(conn, f)) != MS_OK)
		return status;
	if (f->n_changed == 0)
		return MS_OK;
	status = reserve(conn, f->mailbox_id, f->n_changed, &first);
	if (status == MS_OK)
		status = write_rows(conn, f, first);
	if (status == MS_OK)
		ms_job_touch(job, f->mailbox_id);
	return status;
}

static void
flags_complete(struct ms_job *job)
{
	struct ms_flags *f = (struct ms_flags *)job;
	struct ms_flags_result r = { .status = job->status };

	if (job->status == MS_OK) {
		r.changed = f->changed;
		r.n_changed = f->n_changed;
		r.modified = f->modified;
		r.n_modified = f->n_modified;
	}
	if (f->cb != NULL)
		f->cb(f->cb_arg, &r);
}

static void
flags_free(struct ms_job *job)
{
	struct ms_flags *f = (struct ms_flags *)job;

	results_clear(f);
	free(f->uids);
	free(f->keywords);
	free(f);
}

static const struct ms_job_kind flags_kind = {
	.name = "flags",
	.run = flags_run,
	.complete = flags_complete,
	.free = flags_free,
};

void
ms_flags_store(struct ms_store *ms, ms_id mailbox_id, const uint32_t *uids,
    size_t n, enum ms_flag_op op, uint32_t flags, const char *keywords,
    uint64_t unchangedsince, ms_flags_done_fn *cb, void *arg)
{
	struct ms_flags *f = xcalloc(1, sizeof(*f));

	f->job.kind = &flags_kind;
	f->mailbox_id = mailbox_id;
	f->n = ms_uids_sorted(uids, n, &f->uids);
	f->op = op;
	f->flags = flags;
	f->keywords = keywords != NULL ? xstrdup(keywords) : NULL;
	f->unchangedsince = unchangedsince;
	f->invalid = (flags & ~FLAG_MASK) != 0 || !ms_keywords_valid(keywords) ||
	    (op != MS_FLAGS_REPLACE && op != MS_FLAGS_ADD &&
	    op != MS_FLAGS_REMOVE);
	f->cb = cb;
	f->cb_arg = arg;
	ms_job_submit(ms, &f->job);
}
