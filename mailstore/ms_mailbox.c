/* SPDX-License-Identifier: ISC */
/*
 * Reads of mailbox content on the event loop's connection: folder lists
 * with their counters, a folder's messages, message bytes, and the
 * outbound queue.
 *
 * Counters (messages, unseen, bytes) are columns of the mailbox row that
 * the schema's triggers keep right (schema/003_counters.sql), so finding a
 * mailbox costs one row whatever its size.  Summing them here instead made
 * every APPEND, COPY and STATUS read the whole mailbox.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_internal.h"

#define MAILBOX_SELECT \
	"SELECT mb.id, mb.name, mb.special_use, mb.uidvalidity, mb.uidnext," \
	" mb.highestmodseq, mb.subscribed, mb.message_count, mb.unseen_count," \
	" mb.byte_count, mb.recent_uid FROM mailboxes mb "

/* Strings point into the statement's row: valid until it steps again. */
static void
row_to_info(sqlite3_stmt *st, struct ms_mailbox_info *mb)
{
	*mb = (struct ms_mailbox_info){
		.id = sqlite3_column_int64(st, 0),
		.name = (const char *)sqlite3_column_text(st, 1),
		.special_use = (const char *)sqlite3_column_text(st, 2),
		.uidvalidity = (uint32_t)sqlite3_column_int64(st, 3),
		.uidnext = (uint32_t)sqlite3_column_int64(st, 4),
		.highestmodseq = (uint64_t)sqlite3_column_int64(st, 5),
		.subscribed = sqlite3_column_int(st, 6) != 0,
		.messages = (uint32_t)sqlite3_column_int64(st, 7),
		.unseen = (uint32_t)sqlite3_column_int64(st, 8),
		.bytes = (uint64_t)sqlite3_column_int64(st, 9),
		.recent_uid = (uint32_t)sqlite3_column_int64(st, 10),
	};
}

static bool
row_exists(struct ms_store *ms, const char *sql, ms_id id)
{
	sqlite3_stmt *st;
	bool found;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return false;
	sqlite3_bind_int64(st, 1, id);
	found = ms_step(ms, st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

int
ms_mailbox_list(struct ms_store *ms, ms_id user_id,
    void (*fn)(void *arg, const struct ms_mailbox_info *mb), void *arg)
{
	/* INBOX first, the rest by name. */
	static const char sql[] = MAILBOX_SELECT
	    "WHERE mb.user_id = ?1 ORDER BY mb.name <> 'INBOX', mb.name";
	static const char sql_user[] = "SELECT 1 FROM users WHERE id = ?1";
	struct ms_mailbox_info mb;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	while ((rc = ms_step(ms, st)) == SQLITE_ROW) {
		row_to_info(st, &mb);
		fn(arg, &mb);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return MS_ERROR;
	if (n == 0 && !row_exists(ms, sql_user, user_id))
		return MS_NOT_FOUND;
	return MS_OK;
}

int
ms_mailbox_find(struct ms_store *ms, ms_id user_id, const char *name,
    struct ms_mailbox_info *info_r)
{
	static const char sql[] = MAILBOX_SELECT
	    "WHERE mb.user_id = ?1 AND mb.name = ?2";
	sqlite3_stmt *st;
	int rc;

	/* RFC 3501: INBOX is case-insensitive, every other name is not. */
	if (strcasecmp(name, "INBOX") == 0)
		name = "INBOX";
	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = ms_step(ms, st);
	if (rc == SQLITE_ROW) {
		row_to_info(st, info_r);
		/* Copies that outlive the statement's reset. */
		free(ms->found_name);
		free(ms->found_special);
		ms->found_name = xstrdup(info_r->name);
		ms->found_special = info_r->special_use != NULL ?
		    xstrdup(info_r->special_use) : NULL;
		info_r->name = ms->found_name;
		info_r->special_use = ms->found_special;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

int
ms_mailbox_messages(struct ms_store *ms, ms_id mailbox_id,
    struct ms_msg **v_r, size_t *n_r)
{
	static const char sql[] =
	    "SELECT mm.uid, mm.message_id, m.size, mm.flags, mm.internaldate,"
	    " mm.modseq FROM mailbox_messages mm"
	    " JOIN messages m ON m.id = mm.message_id"
	    " WHERE mm.mailbox_id = ?1 ORDER BY mm.uid";
	static const char sql_mailbox[] = "SELECT 1 FROM mailboxes WHERE id = ?1";
	struct ms_msg *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, mailbox_id);
	while ((rc = ms_step(ms, st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = (struct ms_msg){
			.uid = (uint32_t)sqlite3_column_int64(st, 0),
			.message_id = sqlite3_column_int64(st, 1),
			.size = (uint64_t)sqlite3_column_int64(st, 2),
			.flags = (uint32_t)sqlite3_column_int(st, 3),
			.internaldate = sqlite3_column_int64(st, 4),
			.modseq = (uint64_t)sqlite3_column_int64(st, 5),
		};
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return MS_ERROR;
	}
	if (n == 0 && !row_exists(ms, sql_mailbox, mailbox_id))
		return MS_NOT_FOUND;
	*v_r = v;
	*n_r = n;
	return MS_OK;
}

/*
 * An open blob handle is an open read transaction: it pins the snapshot it
 * started on, so the WAL cannot be checkpointed past it and grows for as
 * long as a slow client takes to download.  Opening and closing the handle
 * around every chunk costs a b-tree lookup per call and keeps each read
 * transaction as short as one memcpy.
 */
ssize_t
ms_message_read(struct ms_store *ms, ms_id message_id, uint64_t offset,
    void *buf, size_t len)
{
	sqlite3_blob *blob;
	uint64_t size;
	size_t n = 0;
	int rc;

	rc = sqlite3_blob_open(ms->db, "main", "message_data", "data",
	    message_id, 0, &blob);
	if (rc != SQLITE_OK) {
		/* Typically expunged meanwhile by another session. */
		log_debug("mailstore: message %lld: %s", (long long)message_id,
		    sqlite3_errmsg(ms->db));
		sqlite3_blob_close(blob);
		return -1;
	}
	size = (uint64_t)sqlite3_blob_bytes(blob);
	if (offset < size) {
		n = len < size - offset ? len : (size_t)(size - offset);
		if (n > INT_MAX)
			n = INT_MAX;
		rc = sqlite3_blob_read(blob, buf, (int)n, (int)offset);
	}
	if (rc != SQLITE_OK)
		ms_sql_error(ms, "read message");
	sqlite3_blob_close(blob);
	return rc == SQLITE_OK ? (ssize_t)n : -1;
}

int
ms_queue_list(struct ms_store *ms,
    void (*fn)(void *arg, const struct ms_queue_entry *e), void *arg)
{
	static const char sql[] =
	    "SELECT id, message_id, sender, recipient, queued_at, attempts"
	    " FROM outbound_queue ORDER BY id";
	struct ms_queue_entry e;
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	while ((rc = ms_step(ms, st)) == SQLITE_ROW) {
		e = (struct ms_queue_entry){
			.id = sqlite3_column_int64(st, 0),
			.message_id = sqlite3_column_int64(st, 1),
			.sender = (const char *)sqlite3_column_text(st, 2),
			.recipient = (const char *)sqlite3_column_text(st, 3),
			.queued_at = sqlite3_column_int64(st, 4),
			.attempts = (unsigned)sqlite3_column_int(st, 5),
		};
		fn(arg, &e);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}
