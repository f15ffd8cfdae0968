/* SPDX-License-Identifier: ISC */
/*
 * Storing a delivery, on the writer thread, inside the job's savepoint:
 *
 *   1. map every target to a mailbox (a user's INBOX), dropping duplicates;
 *   2. one messages row and one message_data row, whatever the number of
 *      targets; the blob is created zero-filled at its final size and
 *      written through the incremental blob API in 64 KB pieces, from the
 *      spill file and then the memory buffer, so a big message never has
 *      to sit whole in memory;
 *   3. per mailbox, the next UID and a new modseq (++highestmodseq), taken
 *      from the mailbox row in the same statement that bumps them, and
 *      the keywords in their canonical form;
 *   4. per remote address, an outbound_queue row.
 * Any failure returns an error and the writer rolls the savepoint back, so
 * a message is stored for every target or for none.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_delivery.h"
#include "mailstore/ms_imap.h"

#define CHUNK	(64 * 1024)

/* A resolved mailbox target. */
struct placement {
	ms_id		 mailbox_id;
	unsigned	 flags;
	const char	*keywords;
	int64_t		 internaldate;
};

static int
user_inbox(struct ms_store *conn, ms_id user_id, ms_id *mailbox_id_r)
{
	static const char sql[] =
	    "SELECT id FROM mailboxes WHERE user_id = ?1 AND name = 'INBOX'";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, user_id);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW)
		*mailbox_id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return MS_OK;
	/* The user was deleted after RCPT was accepted. */
	return rc == SQLITE_DONE ? MS_NOT_FOUND : MS_ERROR;
}

static int
place(struct ms_store *conn, struct ms_delivery *d, int64_t now,
    struct placement **v_r, size_t *n_r)
{
	struct placement *v = xcalloc(d->ntargets, sizeof(*v));
	const struct ms_target *t;
	size_t n = 0, i, j;
	ms_id mb;
	int status;

	for (i = 0; i < d->ntargets; i++) {
		t = &d->targets[i];
		if (t->kind == MS_TARGET_REMOTE)
			continue;
		mb = t->id;
		if (t->kind == MS_TARGET_USER &&
		    (status = user_inbox(conn, t->id, &mb)) != MS_OK) {
			free(v);
			return status;
		}
		for (j = 0; j < n && v[j].mailbox_id != mb; j++)
			;
		if (j < n)
			continue;
		v[n++] = (struct placement){
			.mailbox_id = mb,
			.flags = t->kind == MS_TARGET_MAILBOX ? t->flags : 0,
			.keywords = t->kind == MS_TARGET_MAILBOX ? t->keywords : NULL,
			.internaldate = t->kind == MS_TARGET_MAILBOX &&
			    t->internaldate != 0 ? t->internaldate : now,
		};
	}
	*v_r = v;
	*n_r = n;
	return MS_OK;
}

static int
blob_write(struct ms_store *conn, sqlite3_blob *blob, const void *p, size_t n,
    uint64_t off)
{
	/* The fault seam counts blob writes as steps too. */
	if (ms_fault_now(conn)) {
		log_warnx("mailstore: injected I/O error on a blob write");
		return MS_ERROR;
	}
	if (sqlite3_blob_write(blob, p, (int)n, (int)off) != SQLITE_OK)
		return ms_sql_error(conn, "blob write");
	return MS_OK;
}

/* Fill the zero-filled blob: the spill file's bytes, then the buffer's. */
static int
store_bytes(struct ms_store *conn, struct ms_delivery *d, ms_id message_id)
{
	sqlite3_blob *blob;
	unsigned char *chunk = NULL;
	uint64_t off = 0;
	size_t n;
	ssize_t r;
	int status = MS_ERROR;

	if (sqlite3_blob_open(conn->db, "main", "message_data", "data",
	    message_id, 1, &blob) != SQLITE_OK)
		return ms_sql_error(conn, "blob open");
	if (d->file_len > 0)
		chunk = xmalloc(CHUNK);
	while (off < d->file_len) {
		n = d->file_len - off < CHUNK ? (size_t)(d->file_len - off) : CHUNK;
		r = pread(d->fd, chunk, n, (off_t)off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_warn("mailstore: spool read");
			goto out;
		}
		if (blob_write(conn, blob, chunk, (size_t)r, off) != MS_OK)
			goto out;
		off += (uint64_t)r;
	}
	for (n = 0; n < d->buf_len; n += CHUNK) {
		size_t len = d->buf_len - n < CHUNK ? d->buf_len - n : CHUNK;

		if (blob_write(conn, blob, d->buf + n, len, off + n) != MS_OK)
			goto out;
	}
	status = MS_OK;
out:
	free(chunk);
	if (sqlite3_blob_close(blob) != SQLITE_OK && status == MS_OK)
		status = ms_sql_error(conn, "blob close");
	return status;
}

static int
insert_message(struct ms_store *conn, struct ms_delivery *d, int64_t now,
    ms_id *id_r)
{
	static const char sql_msg[] =
	    "INSERT INTO messages (size, received_at, sender) VALUES (?1, ?2, ?3)";
	static const char sql_data[] =
	    "INSERT INTO message_data (message_id, data) VALUES (?1, ?2)";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql_msg)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)d->size);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, d->sender != NULL ? d->sender : "", -1,
	    SQLITE_STATIC);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return MS_ERROR;
	*id_r = sqlite3_last_insert_rowid(conn->db);

	if ((st = ms_stmt(conn, sql_data)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, *id_r);
	sqlite3_bind_zeroblob64(st, 2, d->size);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return MS_ERROR;
	return d->size > 0 ? store_bytes(conn, d, *id_r) : MS_OK;
}

/*
 * Take the mailbox's next UID and modseq and link the message there.  The
 * UPDATE returns the values after the bump, so uidnext - 1 is ours.
 */
static int
link_message(struct ms_store *conn, const struct placement *p,
    ms_id message_id, uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	static const char sql_bump[] =
	    "UPDATE mailboxes SET uidnext = uidnext + 1,"
	    " highestmodseq = highestmodseq + 1 WHERE id = ?1"
	    " RETURNING uidnext - 1, highestmodseq, uidvalidity";
	static const char sql_link[] =
	    "INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags,"
	    " keywords, internaldate, modseq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st;
	sqlite3_int64 uid, modseq;
	char *keywords;
	int rc;

	/* Keywords are stored in their one canonical form (ms_names.c). */
	if (ms_keywords_apply(NULL, MS_FLAGS_REPLACE, p->keywords,
	    &keywords) != MS_OK)
		return MS_INVALID;
	if ((st = ms_stmt(conn, sql_bump)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, p->mailbox_id);
	rc = ms_step(conn, st);
	if (rc == SQLITE_ROW) {
		uid = sqlite3_column_int64(st, 0);
		modseq = sqlite3_column_int64(st, 1);
		*uidvalidity_r = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		free(keywords);
		return MS_NOT_FOUND;
	}
	if (rc != SQLITE_ROW)
		goto fail;
	if (uid < 1 || uid > UINT32_MAX) {
		log_warnx("mailstore: mailbox %lld: UIDs exhausted",
		    (long long)p->mailbox_id);
		goto fail;
	}
	*uid_r = (uint32_t)uid;

	if ((st = ms_stmt(conn, sql_link)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, p->mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, message_id);
	sqlite3_bind_int(st, 4, (int)p->flags);
	if (keywords != NULL)
		sqlite3_bind_text(st, 5, keywords, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, p->internaldate);
	sqlite3_bind_int64(st, 7, modseq);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	free(keywords);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
fail:
	free(keywords);
	return MS_ERROR;
}

static int
queue_remote(struct ms_store *conn, struct ms_delivery *d, ms_id message_id,
    const char *recipient, int64_t now)
{
	static const char sql[] =
	    "INSERT INTO outbound_queue (message_id, sender, recipient,"
	    " queued_at, next_attempt) VALUES (?1, ?2, ?3, ?4, ?4)";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(conn, sql)) == NULL)
		return MS_ERROR;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_text(st, 2, d->sender != NULL ? d->sender : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 3, recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	rc = ms_step(conn, st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

static int
store(struct ms_store *conn, struct ms_delivery *d)
{
	struct ms_delivery_result *res = &d->result;
	struct placement *pl;
	int64_t now = (int64_t)time(NULL);
	uint32_t uidvalidity, uid;
	size_t npl, i;
	int status;

	if ((status = place(conn, d, now, &pl, &npl)) != MS_OK)
		return status;
	if ((status = insert_message(conn, d, now, &res->message_id)) != MS_OK)
		goto out;
	for (i = 0; i < npl; i++) {
		status = link_message(conn, &pl[i], res->message_id,
		    &uidvalidity, &uid);
		if (status != MS_OK)
			goto out;
		if (i == 0) {
			res->uidvalidity = uidvalidity;
			res->uid = uid;
		}
		ms_job_touch(&d->job, pl[i].mailbox_id);
	}
	for (i = 0; i < d->ntargets; i++) {
		if (d->targets[i].kind != MS_TARGET_REMOTE)
			continue;
		status = queue_remote(conn, d, res->message_id,
		    d->targets[i].address, now);
		if (status != MS_OK)
			goto out;
	}
out:
	free(pl);
	return status;
}

static int
delivery_run(struct ms_store *conn, struct ms_job *job)
{
	struct ms_delivery *d = (struct ms_delivery *)job;
	int status;

	if (d->failed)
		status = MS_ERROR;
	else if (d->ntargets == 0)
		status = MS_INVALID;
	else
		status = store(conn, d);
	/* Stored or not, the bytes are no longer needed: free them now
	 * rather than after the whole batch commits. */
	ms_delivery_release_data(d);
	return status;
}

static void
delivery_complete(struct ms_job *job)
{
	struct ms_delivery *d = (struct ms_delivery *)job;

	d->result.status = job->status;
	if (job->status != MS_OK) {
		d->result.message_id = 0;
		d->result.uidvalidity = 0;
		d->result.uid = 0;
	}
	if (d->cb != NULL)
		d->cb(d->cb_arg, &d->result);
}

static void
delivery_free(struct ms_job *job)
{
	ms_delivery_free((struct ms_delivery *)job);
}

const struct ms_job_kind ms_delivery_kind = {
	.name = "delivery",
	.run = delivery_run,
	.complete = delivery_complete,
	.free = delivery_free,
};
