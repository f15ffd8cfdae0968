/* SPDX-License-Identifier: ISC */
/*
 * Commands that change messages of the selected mailbox: STORE (with
 * CONDSTORE's UNCHANGEDSINCE, RFC 7162), COPY and MOVE (RFC 6851) with
 * UIDPLUS's COPYUID (RFC 4315), EXPUNGE, UID EXPUNGE and the expunge of
 * CLOSE.
 *
 * Each is one writer job.  The session's view is updated from the job's
 * result, not re-read, and the untagged responses are written from it:
 * FETCH for stored flags, EXPUNGE for what MOVE and EXPUNGE removed.  The
 * same change then comes back through the change hook and finds the view
 * already up to date, so the client hears of it once.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_session.h"
#include "mailstore/ms_imap.h"

/* The uids of the live (not expunged) messages a set names, ascending,
 * in the arena; with deleted_only, only those flagged \Deleted. */
static uint32_t *
msg_uids(struct imap_session *s, const struct imap_seqset *set, bool uid,
    bool deleted_only, size_t *n_r)
{
	const struct imap_view *v = s->view;
	struct imap_view_iter it;
	uint32_t *uids;
	size_t idx, n = 0;

	uids = imap_arena_alloc(&s->arena, (v->n > 0 ? v->n : 1) *
	    sizeof(*uids));
	if (set == NULL) {
		for (idx = 0; idx < v->n; idx++)
			if (!(v->msgs[idx].flags & IMAP_MSG_EXPUNGED) &&
			    (!deleted_only ||
			    (v->msgs[idx].flags & MS_FLAG_DELETED)))
				uids[n++] = v->msgs[idx].uid;
	} else {
		imap_view_iter_init(&it, set, uid);
		while (imap_view_iter_next(v, &it, &idx))
			if (!(v->msgs[idx].flags & IMAP_MSG_EXPUNGED) &&
			    (!deleted_only ||
			    (v->msgs[idx].flags & MS_FLAG_DELETED)))
				uids[n++] = v->msgs[idx].uid;
	}
	*n_r = n;
	return uids;
}

/* ------------------------------------------------------------- STORE */

struct store_op {
	uint32_t	*uids;
	size_t		 n;
	bool		 silent;
	bool		 uid;		/* UID STORE: MODIFIED lists uids */
};

/* uids -> the set to show in [MODIFIED]: uids, or message numbers. */
static void
store_modified(struct imap_session *s, const uint32_t *uids, size_t n,
    bool uid, struct imap_buf *b)
{
	uint32_t *seqs;
	size_t i, k = 0;
	ssize_t idx;

	if (uid) {
		imap_buf_uidset(b, uids, n);
		return;
	}
	seqs = imap_arena_alloc(&s->arena, (n > 0 ? n : 1) * sizeof(*seqs));
	for (i = 0; i < n; i++)
		if ((idx = imap_view_find(s->view, uids[i])) >= 0)
			seqs[k++] = (uint32_t)idx + 1;
	imap_buf_uidset(b, seqs, k);
}

static bool
uid_in(const uint32_t *v, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == uid;
}

/* Was uid changed by the store?  (r->changed is in uid order.) */
static bool
store_changed(const struct ms_flags_result *r, uint32_t uid)
{
	size_t lo = 0, hi = r != NULL ? r->n_changed : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->changed[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return r != NULL && lo < r->n_changed && r->changed[lo].uid == uid;
}

/*
 * Answer a STORE: FETCH for every message it covered (RFC 3501 6.4.6),
 * except the ones UNCHANGEDSINCE refused, then the tagged reply.  With
 * .SILENT only CONDSTORE clients hear of the new modseqs of the messages
 * that changed (RFC 7162 3.1.3).
 */
static void
store_reply(struct imap_session *s, const struct store_op *op,
    const struct ms_flags_result *r, const uint32_t *modified,
    size_t n_modified)
{
	bool condstore = (s->flags & IMAP_F_CONDSTORE) != 0;
	struct imap_view *v = s->view;
	struct imap_buf mod = { 0 };
	size_t i;
	ssize_t idx;

	for (i = 0; i < op->n && (!op->silent || condstore); i++) {
		if (uid_in(modified, n_modified, op->uids[i]) ||
		    (idx = imap_view_find(v, op->uids[i])) < 0 ||
		    (v->msgs[idx].flags & IMAP_MSG_EXPUNGED) ||
		    (op->silent && !store_changed(r, op->uids[i])))
			continue;
		imap_buf_printf(&s->out, "* %zd FETCH (", idx + 1);
		if (op->uid)
			imap_buf_printf(&s->out, "UID %u ", op->uids[i]);
		if (!op->silent) {
			imap_buf_str(&s->out, "FLAGS ");
			imap_view_put_flags(v, &s->out, (size_t)idx);
			if (condstore)
				imap_buf_add(&s->out, " ", 1);
		}
		if (condstore)
			imap_buf_printf(&s->out, "MODSEQ (%llu)",
			    (unsigned long long)imap_view_info(v,
			    (size_t)idx)->modseq);
		imap_buf_str(&s->out, ")\r\n");
		if (s->out.len > IMAP_CHUNK)
			imap_flush(s);
	}
	imap_flush(s);
	if (n_modified == 0) {
		imap_cmd_done(s, "OK STORE completed.");
		return;
	}
	store_modified(s, modified, n_modified, op->uid, &mod);
	imap_cmd_done(s, "OK [MODIFIED %s] Conditional STORE failed.",
	    mod.data);
	imap_buf_free(&mod);
}

static void
store_done(void *arg, const struct ms_flags_result *r)
{
	struct imap_session *s = arg;
	struct store_op *op = s->op;
	size_t i;

	if (imap_job_end(s))
		return;
	if (r->status != MS_OK) {
		imap_cmd_done(s, "NO [SERVERBUG] Cannot store the flags, try "
		    "again later.");
		return;
	}
	for (i = 0; i < r->n_changed; i++)
		imap_view_stored(s->view, &r->changed[i]);
	store_reply(s, op, r, r->modified, r->n_modified);
}

/* "FLAGS", "+FLAGS.SILENT" ... -> operation and silence. */
static bool
store_item(const char *item, enum ms_flag_op *op_r, bool *silent_r)
{
	size_t len = strlen(item);

	*silent_r = len > 7 && strcasecmp(item + len - 7, ".SILENT") == 0;
	if (*silent_r)
		len -= 7;
	*op_r = MS_FLAGS_REPLACE;
	if (item[0] == '+' || item[0] == '-') {
		*op_r = item[0] == '+' ? MS_FLAGS_ADD : MS_FLAGS_REMOVE;
		item++;
		len--;
	}
	return len == 5 && strncasecmp(item, "FLAGS", 5) == 0;
}

void
imap_cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_arg *a = cmd->args, flist;
	struct imap_seqset set;
	struct store_op *op;
	enum ms_flag_op fop;
	const char *error, *keywords;
	uint64_t unchangedsince = 0;
	bool conditional = false;
	uint32_t flags;
	size_t i = 1;

	if (cmd->nargs < 3 || !imap_view_set(s, &a[0], cmd->uid, &set,
	    &error)) {
		imap_cmd_bad(s, "%s", cmd->nargs < 3 ? "STORE takes a set, an "
		    "item and flags" : error);
		return;
	}
	if (a[1].type == IMAP_ARG_LIST) {
		/* (UNCHANGEDSINCE modseq), RFC 7162 3.1.3 */
		if (a[1].n != 2 || a[1].list[0].type != IMAP_ARG_ATOM ||
		    strcasecmp(a[1].list[0].str, "UNCHANGEDSINCE") != 0 ||
		    !imap_arg_number64(&a[1].list[1], &unchangedsince)) {
			imap_cmd_bad(s, "Invalid STORE modifier");
			return;
		}
		conditional = true;
		s->flags |= IMAP_F_CONDSTORE;
		i++;
	}
	op = imap_arena_alloc(&s->arena, sizeof(*op));
	if (i + 1 >= cmd->nargs || a[i].type != IMAP_ARG_ATOM ||
	    !store_item(a[i].str, &fop, &op->silent)) {
		imap_cmd_bad(s, "Invalid STORE data item");
		return;
	}
	/* "+FLAGS \Seen \Deleted" without parentheses is a list too. */
	flist = (struct imap_arg){ .type = IMAP_ARG_LIST, .list = &a[i + 1],
	    .n = cmd->nargs - i - 1 };
	if (!imap_flags_parse(cmd->nargs - i - 1 == 1 ? &a[i + 1] : &flist,
	    &s->arena, &flags, &keywords, &error)) {
		imap_cmd_bad(s, "%s", error);
		return;
	}
	if (s->view->readonly) {
		imap_cmd_done(s, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	op->uid = cmd->uid;
	op->uids = msg_uids(s, &set, cmd->uid, false, &op->n);
	s->op = op;
	/* Every message has a modseq above 0: all of them fail. */
	if (conditional && unchangedsince == 0) {
		store_reply(s, op, NULL, op->uids, op->n);
		return;
	}
	if (op->n == 0) {
		imap_cmd_done(s, "OK STORE completed.");
		return;
	}
	imap_job_begin(s);
	imap_cmd_wait(s);
	ms_flags_store(imap_store(s), s->view->mailbox_id, op->uids, op->n, fop,
	    flags, keywords, unchangedsince, store_done, s);
}

/* ---------------------------------------------------------- COPY, MOVE */

static void
copy_done(void *arg, const struct ms_copy_result *r)
{
	struct imap_session *s = arg;
	bool move = strstr(s->cmd->name, "MOVE") != NULL;
	struct imap_buf code = { 0 };

	if (imap_job_end(s))
		return;
	if (r->status != MS_OK) {
		imap_cmd_done(s, "%s", r->status == MS_NOT_FOUND ?
		    "NO [TRYCREATE] Mailbox does not exist." :
		    "NO [SERVERBUG] Internal error, try again later.");
		return;
	}
	if (r->n > 0) {
		imap_buf_printf(&code, "[COPYUID %u ", r->dst_uidvalidity);
		imap_buf_uidset(&code, r->src_uids, r->n);
		imap_buf_str(&code, " ");
		imap_buf_uidset(&code, r->dst_uids, r->n);
		imap_buf_str(&code, "] ");
	}
	if (move) {
		/* RFC 6851 3.3: COPYUID untagged, before the EXPUNGEs. */
		if (r->n > 0)
			imap_untagged(s, "OK %sMoved.", code.data);
		imap_view_remove(s, r->src_uids, r->n, false);
		imap_cmd_done(s, "OK %s completed.", s->cmd->name);
	} else {
		imap_cmd_done(s, "OK %s%s completed.", code.len > 0 ?
		    code.data : "", s->cmd->name);
	}
	imap_buf_free(&code);
}

void
imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	bool move = strstr(cmd->name, "MOVE") != NULL;
	struct ms_mailbox_info dst;
	struct imap_seqset set;
	const char *name, *error;
	uint32_t *uids;
	size_t n;
	int rc;

	if (cmd->nargs != 2) {
		imap_cmd_bad(s, "%s takes a set and a mailbox", cmd->name);
		return;
	}
	if (!imap_view_set(s, &cmd->args[0], cmd->uid, &set, &error)) {
		imap_cmd_bad(s, "%s", error);
		return;
	}
	if ((name = imap_mailbox_arg(s, &cmd->args[1], &error)) == NULL) {
		imap_cmd_fail(s, error);
		return;
	}
	if (move && s->view->readonly) {
		imap_cmd_done(s, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	rc = imap_mailbox_find(s, name, &dst);
	if (rc != MS_OK) {
		imap_cmd_done(s, "%s", rc == MS_NOT_FOUND ? "NO [TRYCREATE] "
		    "Mailbox does not exist." : "NO [SERVERBUG] Internal "
		    "error, try again later.");
		return;
	}
	uids = msg_uids(s, &set, cmd->uid, false, &n);
	if (n == 0) {
		imap_cmd_done(s, "OK No messages to %s.", move ? "move" :
		    "copy");
		return;
	}
	imap_job_begin(s);
	imap_cmd_wait(s);
	ms_messages_copy(imap_store(s), s->view->mailbox_id, uids, n, dst.id,
	    move, copy_done, s);
}

/* ----------------------------------------------------------- EXPUNGE */

struct expunge_op {
	uint32_t	*uids;
	size_t		 n;
	bool		 silent;	/* CLOSE */
};

/* The end of EXPUNGE / UID EXPUNGE / CLOSE, after the removal. */
static void
expunge_finish(struct imap_session *s, const struct expunge_op *op)
{
	if (op->silent) {
		imap_view_close(&s->view);
		imap_enter_state(s, IMAP_STATE_AUTH);
	}
	imap_cmd_done(s, "OK %s completed.", s->cmd->name);
}

static void
expunge_done(void *arg, int status)
{
	struct imap_session *s = arg;
	struct expunge_op *op = s->op;

	if (imap_job_end(s))
		return;
	if (status != MS_OK) {
		imap_cmd_done(s, "NO [SERVERBUG] Cannot expunge, try again "
		    "later.");
		return;
	}
	log_debug(IMAP_LOG "event=expunge messages=%zu", IMAP_LOG_ARGS(s),
	    op->n);
	if (!op->silent)
		imap_view_remove(s, op->uids, op->n, false);
	expunge_finish(s, op);
}

void
imap_expunge_run(struct imap_session *s, const struct imap_seqset *uids,
    bool silent)
{
	struct expunge_op *op;

	op = imap_arena_alloc(&s->arena, sizeof(*op));
	op->silent = silent;
	op->uids = msg_uids(s, uids, true, true, &op->n);
	s->op = op;
	if (op->n == 0) {
		expunge_finish(s, op);
		return;
	}
	imap_job_begin(s);
	imap_cmd_wait(s);
	ms_expunge_uids(imap_store(s), s->view->mailbox_id, op->uids, op->n,
	    expunge_done, s);
}

void
imap_cmd_uid_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_seqset set;
	const char *error;

	if (cmd->nargs != 1 || !imap_view_set(s, &cmd->args[0], true, &set,
	    &error)) {
		imap_cmd_bad(s, "%s", cmd->nargs != 1 ? "UID EXPUNGE takes a "
		    "set of UIDs" : error);
		return;
	}
	if (s->view->readonly) {
		imap_cmd_done(s, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	imap_expunge_run(s, &set, false);
}
