/* SPDX-License-Identifier: ISC */
/*
 * Folder management for IMAP (RFC 3501 6.3.3-6.3.7) on the writer thread:
 * CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE, one job kind with an
 * operation code.
 *
 * Names are checked and put in their stored form (ms_names.c) when the job
 * is submitted; the job itself only deals with the database.  The
 * hierarchy lives in the names alone: "a/b" is a child of "a" because of
 * its prefix.  Every level that is named exists as a real mailbox (CREATE
 * and RENAME make missing parents, DELETE refuses a mailbox with
 * children), so there are no \Noselect placeholders and a folder with
 * messages never turns into one.  Children of name are found with a range
 * on the (user_id, name) index: every name starting with "name/" sorts at
 * or after "name/" and before "name0", '0' being the byte after '/'.
 *
 * A rename keeps the mailboxes' ids, UIDVALIDITY and messages, so nothing
 * a client cached becomes wrong, except for INBOX: INBOX cannot go away,
 * so renaming it creates the new mailbox and moves the messages there
 * (new UIDs under a new UIDVALIDITY), leaving INBOX empty.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"
#include "mailstore/ms_internal.h"

enum folder_op {
	FOLDER_CREATE,
	FOLDER_DELETE,
	FOLDER_RENAME,
	FOLDER_SUBSCRIBE,
};

struct ms_folder {
	struct ms_job	 job;		/* must be first */
	enum folder_op	 op;
	ms_id		 user_id;
	char		*name;		/* stored form; NULL if invalid */
	char		*to;		/* RENAME: stored form; NULL if invalid */
	const char	*special_use;	/* CREATE: canonical spelling or NULL */
	bool		 subscribe;	/* SUBSCRIBE: on or off */
	bool		 invalid;	/* refuse with MS_INVALID */
	ms_id		 result_id;	/* created or renamed mailbox */
	ms_folder_done_fn *cb;
	void		*cb_arg;
};

/* The RFC 6154 special uses, in their canonical spelling. */
static const char *const special_uses[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent",
	"\\Trash",
};

static const char *
special_use_canonical(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(special_uses) / sizeof(special_uses[0]); i++)
		if (strcasecmp(s, special_uses[i]) == 0)
			return special_uses[i];
	return NULL;
}

/* --------------------------------------------------------- lookups */

static int
find_id(struct ms_store *conn, ms_id user_id, const char *name, ms_id *id_r)
{
	static const char sql[] =
	    "SELECT id FROM mailboxes WHERE user_id = ?1 AND name = ?2";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW && id_r != NULL)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

static int
user_exists(struct ms_store *conn, ms_id user_id)
{
	static const char sql[] = "SELECT 1 FROM users WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

/* MS_OK if name has at least one child, MS_NOT_FOUND if none. */
static int
has_children(struct ms_store *conn, ms_id user_id, const char *name)
{
	static const char sql[] =
	    "SELECT 1 FROM mailboxes WHERE user_id = ?1"
	    " AND name >= ?2 || '/' AND name < ?2 || '0' LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

/*
 * Create every missing level above name ("a" and "a/b" for "a/b/c"),
 * subscribed like the mailbox itself, so the client sees the hierarchy it
 * asked for (RFC 3501 6.3.3 and 6.3.5).
 */
static int
make_parents(struct ms_store *conn, struct ms_job *job, ms_id user_id,
    const char *name)
{
	const char *slash;
	char *prefix;
	ms_id id;
	int status = MS_OK;

	for (slash = strchr(name, '/'); slash != NULL && status == MS_OK;
	    slash = strchr(slash + 1, '/')) {
		prefix = xstrndup(name, (size_t)(slash - name));
		status = find_id(conn, user_id, prefix, NULL);
		if (status == MS_NOT_FOUND) {
			status = ms_mailbox_insert(conn, user_id, prefix, NULL,
			    true, &id);
			if (status == MS_OK)
				ms_job_touch(job, id);
		}
		free(prefix);
	}
	return status;
}

/* ---------------------------------------------------------- operations */

static int
folder_create(struct ms_store *conn, struct ms_folder *f)
{
	int status;

	if ((status = user_exists(conn, f->user_id)) != MS_OK)
		return status;
	status = find_id(conn, f->user_id, f->name, NULL);
	if (status != MS_NOT_FOUND)
		return status == MS_OK ? MS_EXISTS : status;
	if ((status = make_parents(conn, &f->job, f->user_id, f->name)) != MS_OK)
		return status;
	status = ms_mailbox_insert(conn, f->user_id, f->name, f->special_use,
	    true, &f->result_id);
	if (status == MS_OK)
		ms_job_touch(&f->job, f->result_id);
	return status;
}

static int
folder_delete(struct ms_store *conn, struct ms_folder *f)
{
	static const char sql[] = "DELETE FROM mailboxes WHERE id = ?1";
	sqlite3_stmt *st;
	ms_id id;
	int status, rc;

	if (strcmp(f->name, "INBOX") == 0)
		return MS_INVALID;
	if ((status = find_id(conn, f->user_id, f->name, &id)) != MS_OK)
		return status;
	status = has_children(conn, f->user_id, f->name);
	if (status != MS_NOT_FOUND)
		return status == MS_OK ? MS_NOT_EMPTY : status;
	/* The rows and tombstones go by cascade, the messages nothing else
	 * refers to by the schema's triggers. */
	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, id);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return MS_ERROR;
	ms_job_touch(&f->job, id);
	return MS_OK;
}

/* Every uid of a mailbox, ascending (malloc'ed). */
static int
all_uids(struct ms_store *conn, ms_id mailbox_id, uint32_t **v_r, size_t *n_r)
{
	static const char sql[] =
	    "SELECT uid FROM mailbox_messages WHERE mailbox_id = ?1 ORDER BY uid";
	uint32_t *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	while ((rc = ms_step(conn, st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return MS_ERROR;
	}
	*v_r = v;
	*n_r = n;
	return MS_OK;
}

/* RFC 3501 6.3.5: INBOX's messages go to the new mailbox, INBOX stays
 * (empty), and INBOX's children are not renamed. */
static int
rename_inbox(struct ms_store *conn, struct ms_folder *f, ms_id inbox)
{
	struct ms_copy_map map;
	uint32_t *uids = NULL;
	size_t n = 0;
	int status;

	if ((status = make_parents(conn, &f->job, f->user_id, f->to)) != MS_OK)
		return status;
	status = ms_mailbox_insert(conn, f->user_id, f->to, NULL, true,
	    &f->result_id);
	if (status != MS_OK)
		return status;
	if ((status = all_uids(conn, inbox, &uids, &n)) != MS_OK)
		return status;
	status = ms_copy_rows(conn, inbox, uids, n, f->result_id, true, &map);
	ms_copy_map_clear(&map);
	free(uids);
	if (status != MS_OK)
		return status;
	ms_job_touch(&f->job, inbox);
	ms_job_touch(&f->job, f->result_id);
	return MS_OK;
}

struct renamed {
	ms_id	 id;
	char	*name;		/* the new name */
};

static void
renamed_free(struct renamed *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* The mailbox and its children with their new names. */
static int
rename_list(struct ms_store *conn, struct ms_folder *f, struct renamed **v_r,
    size_t *n_r)
{
	static const char sql[] =
	    "SELECT id, name FROM mailboxes WHERE user_id = ?1 AND (name = ?2"
	    " OR (name >= ?2 || '/' AND name < ?2 || '0'))";
	size_t n = 0, cap = 0, fromlen = strlen(f->name);
	struct renamed *v = NULL;
	const char *old;
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, f->user_id);
	sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
	while ((rc = ms_step(conn, st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		old = (const char *)sqlite3_column_text(st, 1);
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].name = xasprintf("%s%s", f->to, old + fromlen);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		renamed_free(v, n);
		return MS_ERROR;
	}
	*v_r = v;
	*n_r = n;
	return MS_OK;
}

static int
set_name(struct ms_store *conn, ms_id id, const char *name)
{
	static const char sql[] = "UPDATE mailboxes SET name = ?2 WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return MS_OK;
	/* Checked before, so only a concurrent writer could get here. */
	return (rc & 0xff) == SQLITE_CONSTRAINT ? MS_EXISTS : MS_ERROR;
}

/*
 * Every new name is checked before the first one is written, so a rename
 * either moves the whole subtree or nothing (the savepoint would undo a
 * half-done one anyway, but this way the answer is MS_EXISTS, not an
 * error).
 */
static int
folder_rename(struct ms_store *conn, struct ms_folder *f)
{
	size_t fromlen = strlen(f->name), n = 0, i;
	struct renamed *v = NULL;
	ms_id from_id;
	int status;

	if ((status = find_id(conn, f->user_id, f->name, &from_id)) != MS_OK)
		return status;
	status = find_id(conn, f->user_id, f->to, NULL);
	if (status != MS_NOT_FOUND)
		return status == MS_OK ? MS_EXISTS : status;
	if (strcmp(f->name, "INBOX") == 0)
		return rename_inbox(conn, f, from_id);
	/* Into its own subtree: "a" -> "a/b". */
	if (strncmp(f->to, f->name, fromlen) == 0 && f->to[fromlen] == '/')
		return MS_INVALID;

	if ((status = rename_list(conn, f, &v, &n)) != MS_OK)
		return status;
	for (i = 0; i < n && status == MS_OK; i++) {
		if (strlen(v[i].name) > MS_MAILBOX_NAME_MAX)
			status = MS_INVALID;
		else if ((status = find_id(conn, f->user_id, v[i].name,
		    NULL)) != MS_NOT_FOUND)
			status = status == MS_OK ? MS_EXISTS : status;
		else
			status = MS_OK;
	}
	if (status == MS_OK)
		status = make_parents(conn, &f->job, f->user_id, f->to);
	for (i = 0; i < n && status == MS_OK; i++) {
		if ((status = set_name(conn, v[i].id, v[i].name)) == MS_OK)
			ms_job_touch(&f->job, v[i].id);
	}
	renamed_free(v, n);
	if (status == MS_OK)
		f->result_id = from_id;
	return status;
}

static int
folder_subscribe(struct ms_store *conn, struct ms_folder *f)
{
	static const char sql[] =
	    "UPDATE mailboxes SET subscribed = ?3"
	    " WHERE user_id = ?1 AND name = ?2 RETURNING id";
	sqlite3_stmt *st;
	ms_id id = 0;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, f->user_id);
	sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->subscribe);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return MS_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return MS_ERROR;
	ms_job_touch(&f->job, id);
	return MS_OK;
}

/* ------------------------------------------------------------- the job */

static int
folder_run(struct ms_store *conn, struct ms_job *job)
{
	struct ms_folder *f = (struct ms_folder *)job;

	f->result_id = 0;
	if (f->invalid)
		return MS_INVALID;
	switch (f->op) {
	case FOLDER_CREATE:
		return folder_create(conn, f);
	case FOLDER_DELETE:
		return folder_delete(conn, f);
	case FOLDER_RENAME:
		return folder_rename(conn, f);
	case FOLDER_SUBSCRIBE:
		return folder_subscribe(conn, f);
	}
	return MS_INVALID;
}

static void
folder_complete(struct ms_job *job)
{
	struct ms_folder *f = (struct ms_folder *)job;

	if (f->cb != NULL)
		f->cb(f->cb_arg, job->status,
		    job->status == MS_OK ? f->result_id : 0);
}

static void
folder_free(struct ms_job *job)
{
	struct ms_folder *f = (struct ms_folder *)job;

	free(f->name);
	free(f->to);
	free(f);
}

static const struct ms_job_kind folder_kind = {
	.name = "folder",
	.run = folder_run,
	.complete = folder_complete,
	.free = folder_free,
};

static struct ms_folder *
folder_new(enum folder_op op, ms_id user_id, const char *name,
    ms_folder_done_fn *cb, void *arg)
{
	struct ms_folder *f = xcalloc(1, sizeof(*f));

	f->job.kind = &folder_kind;
	f->op = op;
	f->user_id = user_id;
	f->name = ms_mailbox_name_normalize(name);
	f->invalid = f->name == NULL;
	f->cb = cb;
	f->cb_arg = arg;
	return f;
}

void
ms_mailbox_create(struct ms_store *ms, ms_id user_id, const char *name,
    const char *special_use, ms_folder_done_fn *cb, void *arg)
{
	struct ms_folder *f = folder_new(FOLDER_CREATE, user_id, name, cb, arg);

	if (special_use != NULL &&
	    (f->special_use = special_use_canonical(special_use)) == NULL)
		f->invalid = true;
	ms_job_submit(ms, &f->job);
}

void
ms_mailbox_delete(struct ms_store *ms, ms_id user_id, const char *name,
    ms_folder_done_fn *cb, void *arg)
{
	ms_job_submit(ms, &folder_new(FOLDER_DELETE, user_id, name, cb,
	    arg)->job);
}

void
ms_mailbox_rename(struct ms_store *ms, ms_id user_id, const char *from,
    const char *to, ms_folder_done_fn *cb, void *arg)
{
	struct ms_folder *f = folder_new(FOLDER_RENAME, user_id, from, cb, arg);

	if ((f->to = ms_mailbox_name_normalize(to)) == NULL)
		f->invalid = true;
	ms_job_submit(ms, &f->job);
}

void
ms_mailbox_subscribe(struct ms_store *ms, ms_id user_id, const char *name,
    bool subscribe, ms_folder_done_fn *cb, void *arg)
{
	struct ms_folder *f = folder_new(FOLDER_SUBSCRIBE, user_id, name, cb,
	    arg);

	f->subscribe = subscribe;
	ms_job_submit(ms, &f->job);
}
