/* SPDX-License-Identifier: ISC */
/*
 * Domains, users and aliases: the administrative writes made by the CLI
 * (and by tests), synchronously on the caller's connection.  Each function
 * is one statement or one IMMEDIATE transaction, so the daemon's readers
 * see a user either with all its folders or not at all.
 *
 * Names arrive as typed by an administrator; they are checked and folded to
 * lower case by ms_addr.c before any SQL sees them.  Password hashing runs
 * before the write transaction opens, so the write lock is never held for
 * the tens of milliseconds yescrypt takes.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_addr.h"
#include "mailstore/ms_internal.h"

/* The folders every new user gets, all subscribed (RFC 6154 uses). */
static const struct {
	const char *name;
	const char *special_use;
} default_mailboxes[] = {
	{ "INBOX", NULL },
	{ "Sent", "\\Sent" },
	{ "Drafts", "\\Drafts" },
	{ "Trash", "\\Trash" },
	{ "Junk", "\\Junk" },
	{ "Archive", "\\Archive" },
};

static bool
is_constraint(int rc)
{
	return (rc & 0xff) == SQLITE_CONSTRAINT;
}

/* ------------------------------------------------------------- domains */

int
ms_domain_add(struct ms_store *ms, const char *name)
{
	static const char sql[] = "INSERT INTO domains (name) VALUES (?1)";
	sqlite3_stmt *st;
	char *dom;
	int rc;

	if ((dom = ms_domain_normalize(name)) == NULL)
		return MS_INVALID;
	if ((st = ms_stmt(ms, sql)) == NULL) {
		free(dom);
		return MS_ERROR;
	}
	sqlite3_bind_text(st, 1, dom, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	sqlite3_reset(st);
	free(dom);
	if (rc == SQLITE_DONE)
		return MS_OK;
	return is_constraint(rc) ? MS_EXISTS : MS_ERROR;
}

/*
 * Users and aliases refer to their domain without a cascade, so the
 * foreign key itself refuses to delete a domain still in use: no window
 * between a check and the delete.
 */
int
ms_domain_del(struct ms_store *ms, const char *name)
{
	static const char sql[] = "DELETE FROM domains WHERE name = ?1";
	sqlite3_stmt *st;
	char *dom;
	int rc, changes;

	if ((dom = ms_domain_normalize(name)) == NULL)
		return MS_INVALID;
	if ((st = ms_stmt(ms, sql)) == NULL) {
		free(dom);
		return MS_ERROR;
	}
	sqlite3_bind_text(st, 1, dom, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	changes = sqlite3_changes(ms->db);
	sqlite3_reset(st);
	free(dom);
	if (rc == SQLITE_DONE)
		return changes > 0 ? MS_OK : MS_NOT_FOUND;
	return is_constraint(rc) ? MS_NOT_EMPTY : MS_ERROR;
}

int
ms_domain_list(struct ms_store *ms,
    void (*fn)(void *arg, const char *name), void *arg)
{
	static const char sql[] = "SELECT name FROM domains ORDER BY name";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	while ((rc = ms_step(ms, st)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

bool
ms_domain_is_local(struct ms_store *ms, const char *domain)
{
	char *dom;
	bool local;

	if ((dom = ms_domain_normalize(domain)) == NULL)
		return false;
	local = ms_domain_id(ms, dom) != 0;
	free(dom);
	return local;
}

/* --------------------------------------------------------------- users */

/*
 * UIDVALIDITY is the creation time, bumped past every value in use so two
 * mailboxes created in the same second (or a mailbox deleted and created
 * again) never share one.
 */
int
ms_mailbox_insert(struct ms_store *ms, ms_id user_id, const char *name,
    const char *special_use, bool subscribed, ms_id *id_r)
{
	static const char sql[] =
	    "INSERT INTO mailboxes (user_id, name, special_use, uidvalidity,"
	    " subscribed) VALUES (?1, ?2, ?3,"
	    " max(CAST(strftime('%s', 'now') AS INTEGER),"
	    "     (SELECT coalesce(max(uidvalidity), 0) + 1 FROM mailboxes)),"
	    " ?4)";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (special_use != NULL)
		sqlite3_bind_text(st, 3, special_use, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int(st, 4, subscribed);
	rc = ms_step(ms, st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		if (id_r != NULL)
			*id_r = sqlite3_last_insert_rowid(ms->db);
		return MS_OK;
	}
	return is_constraint(rc) ? MS_EXISTS : MS_ERROR;
}

static int
user_insert(struct ms_store *ms, const char *addr, const char *hash)
{
	static const char sql[] =
	    "INSERT INTO users (domain_id, address, password_hash, created_at)"
	    " VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st;
	ms_id domain_id, user_id;
	size_t i;
	int rc, status;

	if ((domain_id = ms_domain_id(ms, ms_addr_domain(addr))) == 0)
		return MS_NOT_FOUND;
	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, domain_id);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	rc = ms_step(ms, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return is_constraint(rc) ? MS_EXISTS : MS_ERROR;
	user_id = sqlite3_last_insert_rowid(ms->db);
	for (i = 0; i < sizeof(default_mailboxes) / sizeof(default_mailboxes[0]); i++) {
		status = ms_mailbox_insert(ms, user_id, default_mailboxes[i].name,
		    default_mailboxes[i].special_use, true, NULL);
		if (status != MS_OK)
			return status == MS_EXISTS ? MS_ERROR : status;
	}
	return MS_OK;
}

int
ms_user_add(struct ms_store *ms, const char *address, const char *password)
{
	char *addr, *hash;
	int status;

	if (password == NULL || password[0] == '\0')
		return MS_INVALID;
	if ((addr = ms_addr_normalize(address, false)) == NULL)
		return MS_INVALID;
	if ((hash = ms_password_hash(password)) == NULL) {
		free(addr);
		return MS_ERROR;
	}
	if ((status = ms_begin(ms)) == MS_OK) {
		status = user_insert(ms, addr, hash);
		if (status == MS_OK)
			status = ms_commit(ms);
		if (status != MS_OK)
			ms_rollback(ms);
	}
	free(addr);
	free(hash);
	return status;
}

/* Run sql with the normalized address as ?1 (and text2 as ?2 if set);
 * MS_NOT_FOUND when no row changed. */
static int
change_by_address(struct ms_store *ms, const char *sql, const char *address,
    const char *text2)
{
	sqlite3_stmt *st;
	char *addr;
	int rc, changes;

	if ((addr = ms_addr_normalize(address, false)) == NULL)
		return MS_INVALID;
	if ((st = ms_stmt(ms, sql)) == NULL) {
		free(addr);
		return MS_ERROR;
	}
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	if (text2 != NULL)
		sqlite3_bind_text(st, 2, text2, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	changes = sqlite3_changes(ms->db);
	sqlite3_reset(st);
	free(addr);
	if (rc != SQLITE_DONE)
		return MS_ERROR;
	return changes > 0 ? MS_OK : MS_NOT_FOUND;
}

/* The user's mailboxes and their rows go by cascade; the triggers delete
 * messages nothing else refers to. */
int
ms_user_del(struct ms_store *ms, const char *address)
{
	static const char sql[] = "DELETE FROM users WHERE address = ?1";

	return change_by_address(ms, sql, address, NULL);
}

int
ms_user_set_password(struct ms_store *ms, const char *address,
    const char *password)
{
	static const char sql[] =
	    "UPDATE users SET password_hash = ?2 WHERE address = ?1";
	char *hash;
	int status;

	if (password == NULL || password[0] == '\0')
		return MS_INVALID;
	if ((hash = ms_password_hash(password)) == NULL)
		return MS_ERROR;
	status = change_by_address(ms, sql, address, hash);
	free(hash);
	return status;
}

/* ?1 NULL: every domain.  The sums of the mailbox counters, which count
 * every mailbox row, so a message kept in two folders counts twice, as a
 * quota would. */
int
ms_user_list(struct ms_store *ms, const char *domain,
    void (*fn)(void *arg, const struct ms_user_info *u), void *arg)
{
	static const char sql[] =
	    "SELECT u.id, u.address, coalesce(sum(mb.message_count), 0),"
	    " coalesce(sum(mb.byte_count), 0) FROM users u"
	    " LEFT JOIN mailboxes mb ON mb.user_id = u.id"
	    " WHERE ?1 IS NULL OR u.domain_id = ?1"
	    " GROUP BY u.id ORDER BY u.address";
	struct ms_user_info u;
	sqlite3_stmt *st;
	ms_id domain_id = 0;
	char *dom;
	int rc;

	if (domain != NULL) {
		if ((dom = ms_domain_normalize(domain)) == NULL)
			return MS_INVALID;
		domain_id = ms_domain_id(ms, dom);
		free(dom);
		if (domain_id == 0)
			return MS_NOT_FOUND;
	}
	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	if (domain_id != 0)
		sqlite3_bind_int64(st, 1, domain_id);
	else
		sqlite3_bind_null(st, 1);
	while ((rc = ms_step(ms, st)) == SQLITE_ROW) {
		u = (struct ms_user_info){
			.id = sqlite3_column_int64(st, 0),
			.address = (const char *)sqlite3_column_text(st, 1),
			.messages = (uint64_t)sqlite3_column_int64(st, 2),
			.bytes = (uint64_t)sqlite3_column_int64(st, 3),
		};
		fn(arg, &u);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

int
ms_user_lookup(struct ms_store *ms, const char *address, ms_id *user_id_r)
{
	static const char sql[] = "SELECT id FROM users WHERE address = ?1";
	sqlite3_stmt *st;
	char *addr;
	int rc;

	if ((addr = ms_addr_normalize(address, false)) == NULL)
		return MS_INVALID;
	if ((st = ms_stmt(ms, sql)) == NULL) {
		free(addr);
		return MS_ERROR;
	}
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	if (rc == SQLITE_ROW)
		*user_id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	free(addr);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

char *
ms_user_address(struct ms_store *ms, ms_id user_id)
{
	static const char sql[] = "SELECT address FROM users WHERE id = ?1";
	sqlite3_stmt *st;
	char *addr = NULL;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, user_id);
	if (ms_step(ms, st) == SQLITE_ROW)
		addr = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return addr;
}

/* ------------------------------------------------------------- aliases */

int
ms_alias_add(struct ms_store *ms, const char *source, const char *target)
{
	static const char sql[] =
	    "INSERT INTO aliases (domain_id, source, target) VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st;
	char *src, *tgt = NULL;
	ms_id domain_id;
	int rc, status = MS_INVALID;

	if ((src = ms_addr_normalize(source, true)) == NULL ||
	    (tgt = ms_addr_normalize(target, false)) == NULL ||
	    strcmp(src, tgt) == 0)
		goto out;
	status = MS_NOT_FOUND;
	if ((domain_id = ms_domain_id(ms, ms_addr_domain(src))) == 0)
		goto out;
	status = MS_ERROR;
	if ((st = ms_stmt(ms, sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, domain_id);
	sqlite3_bind_text(st, 2, src, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tgt, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		status = MS_OK;
	else if (is_constraint(rc))
		status = MS_EXISTS;
out:
	free(src);
	free(tgt);
	return status;
}

int
ms_alias_del(struct ms_store *ms, const char *source, const char *target)
{
	static const char sql[] =
	    "DELETE FROM aliases WHERE source = ?1 AND (?2 IS NULL OR target = ?2)";
	sqlite3_stmt *st;
	char *src, *tgt = NULL;
	int rc, changes, status = MS_INVALID;

	if ((src = ms_addr_normalize(source, true)) == NULL)
		return MS_INVALID;
	if (target != NULL && (tgt = ms_addr_normalize(target, false)) == NULL)
		goto out;
	status = MS_ERROR;
	if ((st = ms_stmt(ms, sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, src, -1, SQLITE_STATIC);
	if (tgt != NULL)
		sqlite3_bind_text(st, 2, tgt, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	rc = ms_step(ms, st);
	changes = sqlite3_changes(ms->db);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		status = changes > 0 ? MS_OK : MS_NOT_FOUND;
out:
	free(src);
	free(tgt);
	return status;
}

int
ms_alias_list(struct ms_store *ms, const char *domain,
    void (*fn)(void *arg, const char *source, const char *target), void *arg)
{
	static const char sql[] =
	    "SELECT source, target FROM aliases"
	    " WHERE ?1 IS NULL OR domain_id = ?1 ORDER BY source, target";
	sqlite3_stmt *st;
	ms_id domain_id = 0;
	char *dom;
	int rc;

	if (domain != NULL) {
		if ((dom = ms_domain_normalize(domain)) == NULL)
			return MS_INVALID;
		domain_id = ms_domain_id(ms, dom);
		free(dom);
		if (domain_id == 0)
			return MS_NOT_FOUND;
	}
	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	if (domain_id != 0)
		sqlite3_bind_int64(st, 1, domain_id);
	else
		sqlite3_bind_null(st, 1);
	while ((rc = ms_step(ms, st)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}
