/* SPDX-License-Identifier: ISC */
/*
 * Mailbox aliases (schema/005_mailbox_aliases.sql): the second names that
 * clients ignoring SPECIAL-USE create for special folders, recorded per
 * user so that IMAP can list them with a subscription of their own.
 *
 * Reads run on the caller's connection; creating, deleting and
 * (un)subscribing an alias are writer jobs of one kind with an operation
 * code, like the folder jobs of ms_folder.c, and answer through the same
 * ms_folder_done_fn.  None of them changes a message, a flag or a
 * mailbox's state, so they touch nothing for the change hook: an open
 * view has nothing new to show.
 *
 * The schema's triggers keep alias and mailbox names apart and the alias
 * on its own user's mailbox; the jobs check the same things first so that
 * the usual answers come without relying on a constraint error, and the
 * triggers cover every other writer.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"

enum alias_op {
	ALIAS_CREATE,
	ALIAS_DELETE,
	ALIAS_SUBSCRIBE,
};

struct ms_alias_job {
	struct ms_job	 job;		/* must be first */
	enum alias_op	 op;
	ms_id		 user_id;
	char		*name;		/* stored form; NULL if invalid */
	ms_id		 mailbox_id;	/* CREATE: in; all: the alias's */
	bool		 subscribe;	/* SUBSCRIBE: on or off */
	ms_folder_done_fn *cb;
	void		*cb_arg;
};

/* ------------------------------------------------------------- reads */

int
ms_mailbox_alias_list(struct ms_store *ms, ms_id user_id,
    void (*fn)(void *arg, const struct ms_mailbox_alias *a), void *arg)
{
	static const char sql[] =
	    "SELECT name, mailbox_id, subscribed FROM mailbox_aliases"
	    " WHERE user_id = ?1 ORDER BY name";
	struct ms_mailbox_alias a;
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	while ((rc = ms_step(ms, st)) == SQLITE_ROW) {
		a = (struct ms_mailbox_alias){
			.name = (const char *)sqlite3_column_text(st, 0),
			.mailbox_id = sqlite3_column_int64(st, 1),
			.subscribed = sqlite3_column_int(st, 2) != 0,
		};
		fn(arg, &a);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

int
ms_mailbox_alias_find(struct ms_store *ms, ms_id user_id, const char *name,
    ms_id *mailbox_id_r, bool *subscribed_r)
{
	static const char sql[] =
	    "SELECT mailbox_id, subscribed FROM mailbox_aliases"
	    " WHERE user_id = ?1 AND name = ?2";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	if (rc == SQLITE_ROW) {
		if (mailbox_id_r != NULL)
			*mailbox_id_r = sqlite3_column_int64(st, 0);
		if (subscribed_r != NULL)
			*subscribed_r = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

/* ---------------------------------------------------------- operations */

/* Step a bound query once: MS_OK if it gave a row, else MS_NOT_FOUND. */
static int
row_found(struct ms_store *conn, sqlite3_stmt *st)
{
	int rc = ms_step(conn, st);

	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

/* MS_OK if mailbox_id is one of user_id's mailboxes, else MS_NOT_FOUND. */
static int
mailbox_owned(struct ms_store *conn, ms_id user_id, ms_id mailbox_id)
{
	static const char sql[] =
	    "SELECT 1 FROM mailboxes WHERE user_id = ?1 AND id = ?2";
	sqlite3_stmt *st;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, mailbox_id);
	return row_found(conn, st);
}

/* MS_OK if a mailbox or an alias of user_id is called name. */
static int
name_taken(struct ms_store *conn, ms_id user_id, const char *name)
{
	static const char sql[] =
	    "SELECT 1 FROM mailboxes WHERE user_id = ?1 AND name = ?2"
	    " UNION ALL SELECT 1 FROM mailbox_aliases"
	    " WHERE user_id = ?1 AND name = ?2";
	sqlite3_stmt *st;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return row_found(conn, st);
}

static int
alias_create(struct ms_store *conn, struct ms_alias_job *a)
{
	static const char sql[] =
	    "INSERT INTO mailbox_aliases (user_id, name, mailbox_id)"
	    " VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st;
	int status, rc;

	if ((status = mailbox_owned(conn, a->user_id, a->mailbox_id)) != MS_OK)
		return status;
	status = name_taken(conn, a->user_id, a->name);
	if (status != MS_NOT_FOUND)
		return status == MS_OK ? MS_EXISTS : status;
	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, a->user_id);
	sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, a->mailbox_id);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return MS_OK;
	return (rc & 0xff) == SQLITE_CONSTRAINT ? MS_EXISTS : MS_ERROR;
}

/* DELETE and SUBSCRIBE: one statement on the alias row (at most one, by
 * the UNIQUE constraint), which returns the mailbox id; no row means no
 * such alias. */
static int
alias_change(struct ms_store *conn, struct ms_alias_job *a)
{
	static const char sql_delete[] =
	    "DELETE FROM mailbox_aliases WHERE user_id = ?1 AND name = ?2"
	    " RETURNING mailbox_id";
	static const char sql_subscribe[] =
	    "UPDATE mailbox_aliases SET subscribed = ?3"
	    " WHERE user_id = ?1 AND name = ?2 RETURNING mailbox_id";
	sqlite3_stmt *st;
	int rc;

	st = ms_stmt(conn, a->op == ALIAS_DELETE ? sql_delete : sql_subscribe);
	if (st == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, a->user_id);
	sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
	if (a->op == ALIAS_SUBSCRIBE)
		sqlite3_bind_int(st, 3, a->subscribe);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW)
		a->mailbox_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

/* ------------------------------------------------------------- the job */

static int
alias_run(struct ms_store *conn, struct ms_job *job)
{
	struct ms_alias_job *a = (struct ms_alias_job *)job;

	if (a->name == NULL)
		return MS_INVALID;
	if (a->op == ALIAS_CREATE)
		return alias_create(conn, a);
	return alias_change(conn, a);
}

static void
alias_complete(struct ms_job *job)
{
	struct ms_alias_job *a = (struct ms_alias_job *)job;

	if (a->cb != NULL)
		a->cb(a->cb_arg, job->status,
		    job->status == MS_OK ? a->mailbox_id : 0);
}

static void
alias_free(struct ms_job *job)
{
	struct ms_alias_job *a = (struct ms_alias_job *)job;

	free(a->name);
	free(a);
}

static const struct ms_job_kind alias_kind = {
	.name = "mailbox alias",
	.run = alias_run,
	.complete = alias_complete,
	.free = alias_free,
};

/*
 * A job for name in its stored form.  An alias is one level and never
 * INBOX, whatever the caller checked: a name that could not be one
 * leaves name NULL and the job answers MS_INVALID.
 */
static void
alias_submit(struct ms_store *ms, enum alias_op op, ms_id user_id,
    const char *name, ms_id mailbox_id, bool subscribe,
    ms_folder_done_fn *cb, void *arg)
{
	struct ms_alias_job *a = xcalloc(1, sizeof(*a));

	a->job.kind = &alias_kind;
	a->op = op;
	a->user_id = user_id;
	a->mailbox_id = mailbox_id;
	a->subscribe = subscribe;
	a->cb = cb;
	a->cb_arg = arg;
	a->name = ms_mailbox_name_normalize(name);
	if (a->name != NULL && (strchr(a->name, '/') != NULL ||
	    strcmp(a->name, "INBOX") == 0)) {
		free(a->name);
		a->name = NULL;
	}
	ms_job_submit(ms, &a->job);
}

void
ms_mailbox_alias_create(struct ms_store *ms, ms_id user_id, const char *name,
    ms_id mailbox_id, ms_folder_done_fn *cb, void *arg)
{
	alias_submit(ms, ALIAS_CREATE, user_id, name, mailbox_id, true, cb,
	    arg);
}

void
ms_mailbox_alias_delete(struct ms_store *ms, ms_id user_id, const char *name,
    ms_folder_done_fn *cb, void *arg)
{
	alias_submit(ms, ALIAS_DELETE, user_id, name, 0, false, cb, arg);
}

void
ms_mailbox_alias_subscribe(struct ms_store *ms, ms_id user_id,
    const char *name, bool subscribe, ms_folder_done_fn *cb, void *arg)
{
	alias_submit(ms, ALIAS_SUBSCRIBE, user_id, name, 0, subscribe, cb,
	    arg);
}
