/* SPDX-License-Identifier: ISC */
/*
 * Mailbox commands: SELECT and EXAMINE (with the CONDSTORE parameter),
 * CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, and the
 * commands that end or poll a selection: CHECK, CLOSE, UNSELECT
 * (RFC 3691), EXPUNGE and IDLE (RFC 2177).
 *
 * Folder changes are writer jobs: the command waits for the commit before
 * it answers, so a client that CREATEs and then APPENDs never races its
 * own folder into existence.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conn.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_session.h"
#include "mailstore/ms_imap.h"

/* ------------------------------------------------------------- SELECT */

static bool
select_params(struct imap_session *s, const struct imap_arg *arg)
{
	size_t i;

	if (arg->type != IMAP_ARG_LIST)
		return false;
	for (i = 0; i < arg->n; i++) {
		if (arg->list[i].type != IMAP_ARG_ATOM ||
		    strcasecmp(arg->list[i].str, "CONDSTORE") != 0)
			return false;
		s->flags |= IMAP_F_CONDSTORE;
	}
	return true;
}

void
imap_cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	bool examine = strcmp(cmd->name, "EXAMINE") == 0;
	struct ms_mailbox_info mb;
	const char *name, *error;
	struct imap_view *v;
	size_t i;
	int rc;

	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    (cmd->nargs == 2 && !select_params(s, &cmd->args[1]))) {
		imap_cmd_bad(s, "Invalid %s arguments", cmd->name);
		return;
	}
	if ((name = imap_mailbox_arg(s, &cmd->args[0], &error)) == NULL) {
		imap_cmd_fail(s, error);
		return;
	}
	/* Even a failed SELECT leaves nothing selected (RFC 3501 6.3.1). */
	if (s->view != NULL) {
		imap_view_close(&s->view);
		imap_enter_state(s, IMAP_STATE_AUTH);
	}
	rc = imap_mailbox_find(s, name, &mb);
	if (rc == MS_OK)
		rc = imap_view_open(s, &mb, examine, &s->view);
	if (rc == MS_NOT_FOUND) {
		imap_cmd_done(s, "NO [NONEXISTENT] Mailbox does not exist.");
		return;
	}
	if (rc != MS_OK) {
		imap_cmd_done(s, "NO [SERVERBUG] Cannot open the mailbox.");
		return;
	}
	v = s->view;
	imap_enter_state(s, IMAP_STATE_SELECTED);
	imap_view_send_flags(s);
	imap_buf_printf(&s->out, "* %zu EXISTS\r\n* %zu RECENT\r\n", v->n,
	    v->n_recent);
	for (i = 0; i < v->n; i++) {
		if (!(v->msgs[i].flags & MS_FLAG_SEEN)) {
			imap_buf_printf(&s->out, "* OK [UNSEEN %zu] First "
			    "unseen.\r\n", i + 1);
			break;
		}
	}
	imap_buf_printf(&s->out, "* OK [UIDVALIDITY %u] UIDs valid.\r\n"
	    "* OK [UIDNEXT %u] Predicted next UID.\r\n"
	    "* OK [HIGHESTMODSEQ %llu] Highest.\r\n", v->uidvalidity,
	    v->uidnext, (unsigned long long)v->modseq);
	log_debug(IMAP_LOG "event=select mailbox=%lld messages=%zu",
	    IMAP_LOG_ARGS(s), (long long)mb.id, v->n);
	imap_cmd_done(s, "OK [%s] %s completed.", examine ? "READ-ONLY" :
	    "READ-WRITE", cmd->name);
}

/* --------------------------------------------------- folder jobs */

static void
folder_done(void *arg, int status, ms_id mailbox_id)
{
	struct imap_session *s = arg;

	if (imap_job_end(s))
		return;
	switch (status) {
	case MS_OK:
		/* The selected mailbox went away with DELETE: unselect it
		 * rather than have the next sync say BYE. */
		if (s->op_mailbox_id != 0 && s->view != NULL &&
		    s->view->mailbox_id == s->op_mailbox_id) {
			imap_view_close(&s->view);
			imap_enter_state(s, IMAP_STATE_AUTH);
		}
		imap_cmd_done(s, "OK %s completed.", s->cmd->name);
		break;
	case MS_EXISTS:
		imap_cmd_done(s, "NO [ALREADYEXISTS] Mailbox already exists.");
		break;
	case MS_NOT_FOUND:
		imap_cmd_done(s, "NO [NONEXISTENT] Mailbox does not exist.");
		break;
	case MS_NOT_EMPTY:
		imap_cmd_done(s, "NO [INUSE] Mailbox has children; delete "
		    "them first.");
		break;
	case MS_INVALID:
		imap_cmd_done(s, "NO [CANNOT] Not possible for this mailbox.");
		break;
	default:
		imap_cmd_done(s, "NO [SERVERBUG] Internal error, try again "
		    "later.");
		break;
	}
	s->op_mailbox_id = 0;
}

/* Start a folder job; the reply comes from folder_done(). */
static void
folder_wait(struct imap_session *s)
{
	imap_job_begin(s);
	imap_cmd_wait(s);
}

/* The one argument of CREATE/DELETE/SUBSCRIBE, or NULL (replied). */
static const char *
one_mailbox(struct imap_session *s, const struct imap_command *cmd)
{
	const char *name, *error;

	if (cmd->nargs != 1) {
		imap_cmd_bad(s, "%s takes one mailbox name", cmd->name);
		return NULL;
	}
	if ((name = imap_mailbox_arg(s, &cmd->args[0], &error)) == NULL)
		imap_cmd_fail(s, error);
	return name;
}

void
imap_cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	enum imap_mailbox_via via;
	struct ms_mailbox_info mb;
	const char *name;
	int rc;

	if ((name = one_mailbox(s, cmd)) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		imap_cmd_done(s, "NO [ALREADYEXISTS] INBOX always exists.");
		return;
	}
	if (!imap_mailbox_name_ok(name)) {
		imap_cmd_done(s, "NO [CANNOT] Invalid mailbox name.");
		return;
	}
	rc = imap_mailbox_resolve(s, name, &mb, &via);
	if (rc == MS_OK && via != IMAP_MAILBOX_MAPPED) {
		imap_cmd_done(s, "NO [ALREADYEXISTS] Mailbox already exists.");
		return;
	}
	if (rc == MS_ERROR) {
		imap_cmd_done(s, "NO [SERVERBUG] Internal error, try again "
		    "later.");
		return;
	}
	/* A client's own name for a special folder: record it as an alias
	 * of that folder, listed from now on, rather than a second one. */
	if (rc == MS_OK) {
		log_info(IMAP_LOG "event=create-alias user_id=%lld "
		    "mailbox=%lld use=%s", IMAP_LOG_ARGS(s),
		    (long long)s->user_id, (long long)mb.id, mb.special_use);
		folder_wait(s);
		ms_mailbox_alias_create(imap_store(s), s->user_id, name, mb.id,
		    folder_done, s);
		return;
	}
	if (imap_mailbox_under_alias(s, name)) {
		imap_cmd_done(s, "NO [CANNOT] An alias cannot have children.");
		return;
	}
	folder_wait(s);
	ms_mailbox_create(imap_store(s), s->user_id, name, NULL, folder_done, s);
}

void
imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	enum imap_mailbox_via via;
	struct ms_mailbox_info mb;
	const char *name;

	if ((name = one_mailbox(s, cmd)) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		imap_cmd_done(s, "NO [CANNOT] INBOX cannot be deleted.");
		return;
	}
	/* Exact names only: an alias never leads to deleting Trash.  An
	 * alias the client created goes away alone; the folder stays, and
	 * stays selected if it is. */
	if (imap_mailbox_resolve(s, name, &mb, &via) != MS_OK ||
	    via == IMAP_MAILBOX_MAPPED) {
		imap_cmd_done(s, "NO [NONEXISTENT] Mailbox does not exist.");
		return;
	}
	if (via == IMAP_MAILBOX_ALIAS) {
		folder_wait(s);
		ms_mailbox_alias_delete(imap_store(s), s->user_id, name,
		    folder_done, s);
		return;
	}
	s->op_mailbox_id = mb.id;
	folder_wait(s);
	ms_mailbox_delete(imap_store(s), s->user_id, name, folder_done, s);
}

void
imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	enum imap_mailbox_via via;
	struct ms_mailbox_info from, taken;
	const char *from_name, *to, *error;

	if (cmd->nargs != 2) {
		imap_cmd_bad(s, "RENAME takes two mailbox names");
		return;
	}
	if ((from_name = imap_mailbox_arg(s, &cmd->args[0], &error)) == NULL ||
	    (to = imap_mailbox_arg(s, &cmd->args[1], &error)) == NULL) {
		imap_cmd_fail(s, error);
		return;
	}
	if (!imap_mailbox_name_ok(to) || strcmp(to, "INBOX") == 0) {
		imap_cmd_done(s, "NO [CANNOT] Invalid new mailbox name.");
		return;
	}
	/* Exact names only, as for DELETE: renaming "Sent Items" must not
	 * take the real Sent folder away. */
	if (imap_mailbox_resolve(s, from_name, &from, &via) != MS_OK ||
	    via == IMAP_MAILBOX_MAPPED) {
		imap_cmd_done(s, "NO [NONEXISTENT] Mailbox does not exist.");
		return;
	}
	/* An alias only names another folder: renaming it would rename
	 * nothing the client could see as its own. */
	if (via == IMAP_MAILBOX_ALIAS) {
		imap_cmd_done(s, "NO [CANNOT] An alias cannot be renamed.");
		return;
	}
	/* The new name must not be taken, not even as an alias. */
	if (imap_mailbox_find(s, to, &taken) == MS_OK) {
		imap_cmd_done(s, "NO [ALREADYEXISTS] Mailbox already exists.");
		return;
	}
	if (imap_mailbox_under_alias(s, to)) {
		imap_cmd_done(s, "NO [CANNOT] An alias cannot have children.");
		return;
	}
	folder_wait(s);
	ms_mailbox_rename(imap_store(s), s->user_id, from.name, to,
	    folder_done, s);
}

void
imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	bool subscribe = strcmp(cmd->name, "SUBSCRIBE") == 0;
	enum imap_mailbox_via via;
	struct ms_mailbox_info mb;
	const char *name;

	if ((name = one_mailbox(s, cmd)) == NULL)
		return;
	if (imap_mailbox_resolve(s, name, &mb, &via) != MS_OK) {
		/* Only existing mailboxes carry a subscription here. */
		if (subscribe)
			imap_cmd_done(s, "NO [NONEXISTENT] Mailbox does not "
			    "exist.");
		else
			imap_cmd_done(s, "OK UNSUBSCRIBE completed.");
		return;
	}
	folder_wait(s);
	/* A listed alias has its own subscription; the folder keeps its. */
	if (via == IMAP_MAILBOX_ALIAS)
		ms_mailbox_alias_subscribe(imap_store(s), s->user_id, name,
		    subscribe, folder_done, s);
	else
		ms_mailbox_subscribe(imap_store(s), s->user_id, mb.name,
		    subscribe, folder_done, s);
}

/* ------------------------------------------------------------- STATUS */

static const struct {
	const char *name;
	unsigned bit;
} status_names[] = {
	{ "MESSAGES", IMAP_STATUS_MESSAGES },
	{ "RECENT", IMAP_STATUS_RECENT },
	{ "UIDNEXT", IMAP_STATUS_UIDNEXT },
	{ "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY },
	{ "UNSEEN", IMAP_STATUS_UNSEEN },
	{ "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
	{ "SIZE", IMAP_STATUS_SIZE },
};

bool
imap_status_items(const struct imap_arg *arg, unsigned *items_r)
{
	unsigned items = 0;
	size_t i, j;

	if (arg->type != IMAP_ARG_LIST || arg->n == 0)
		return false;
	for (i = 0; i < arg->n; i++) {
		if (arg->list[i].type != IMAP_ARG_ATOM)
			return false;
		for (j = 0; j < sizeof(status_names) / sizeof(status_names[0]);
		    j++)
			if (strcasecmp(arg->list[i].str, status_names[j].name) == 0)
				break;
		if (j == sizeof(status_names) / sizeof(status_names[0]))
			return false;
		items |= status_names[j].bit;
	}
	*items_r = items;
	return true;
}

void
imap_status_send(struct imap_session *s, const char *name,
    const struct ms_mailbox_info *mb, unsigned items)
{
	struct imap_buf *b = &s->out;
	const char *sep = "";

	imap_buf_str(b, "* STATUS ");
	imap_mailbox_put(s, b, name);
	imap_buf_str(b, " (");
	if (items & IMAP_STATUS_MESSAGES) {
		imap_buf_printf(b, "%sMESSAGES %u", sep, mb->messages);
		sep = " ";
	}
	if (items & IMAP_STATUS_RECENT) {
		imap_buf_printf(b, "%sRECENT %u", sep,
		    imap_view_recent_count(s, mb));
		sep = " ";
	}
	if (items & IMAP_STATUS_UIDNEXT) {
		imap_buf_printf(b, "%sUIDNEXT %u", sep, mb->uidnext);
		sep = " ";
	}
	if (items & IMAP_STATUS_UIDVALIDITY) {
		imap_buf_printf(b, "%sUIDVALIDITY %u", sep, mb->uidvalidity);
		sep = " ";
	}
	if (items & IMAP_STATUS_UNSEEN) {
		imap_buf_printf(b, "%sUNSEEN %u", sep, mb->unseen);
		sep = " ";
	}
	if (items & IMAP_STATUS_HIGHESTMODSEQ) {
		imap_buf_printf(b, "%sHIGHESTMODSEQ %llu", sep,
		    (unsigned long long)mb->highestmodseq);
		sep = " ";
	}
	if (items & IMAP_STATUS_SIZE)
		imap_buf_printf(b, "%sSIZE %llu", sep,
		    (unsigned long long)mb->bytes);
	imap_buf_str(b, ")\r\n");
	imap_flush(s);
}

void
imap_cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	struct ms_mailbox_info mb;
	const char *name, *error;
	unsigned items;
	int rc;

	if (cmd->nargs != 2 || !imap_status_items(&cmd->args[1], &items)) {
		imap_cmd_bad(s, "STATUS takes a mailbox and a list of items");
		return;
	}
	if ((name = imap_mailbox_arg(s, &cmd->args[0], &error)) == NULL) {
		imap_cmd_fail(s, error);
		return;
	}
	rc = imap_mailbox_find(s, name, &mb);
	if (rc != MS_OK) {
		imap_cmd_done(s, rc == MS_NOT_FOUND ? "NO [NONEXISTENT] "
		    "Mailbox does not exist." : "NO [SERVERBUG] Internal error.");
		return;
	}
	if (items & IMAP_STATUS_HIGHESTMODSEQ)
		s->flags |= IMAP_F_CONDSTORE;
	imap_status_send(s, name, &mb, items);
	imap_cmd_done(s, "OK STATUS completed.");
}

/* -------------------------------------------------- ending a selection */

void
imap_cmd_check(struct imap_session *s, const struct imap_command *cmd)
{
	/* Every change is committed before its reply: nothing to do but
	 * the view update of imap_cmd_done(). */
	imap_cmd_done(s, "OK CHECK completed.");
}

void
imap_cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	imap_view_close(&s->view);
	imap_enter_state(s, IMAP_STATE_AUTH);
	imap_cmd_done(s, "OK %s completed.", cmd->name);
}

void
imap_cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	if (s->view->readonly) {
		imap_cmd_unselect(s, cmd);
		return;
	}
	imap_expunge_run(s, NULL, true);
}

void
imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	if (s->view->readonly) {
		imap_cmd_done(s, "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	imap_expunge_run(s, NULL, false);
}

/* --------------------------------------------------------------- IDLE */

void
imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_cmd_bad(s, "IDLE takes no arguments");
		return;
	}
	s->flags |= IMAP_F_IDLE;
	conn_printf(s->conn, "+ idling\r\n");
	if (s->view != NULL)
		(void)imap_view_sync(s, true);
	/* An IDLE can last half an hour, thousands of them at once: keep
	 * nothing but the tag meanwhile. */
	imap_cmd_compact(s);
}

void
imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_cmd_done(s, "OK IDLE terminated.");
	else
		imap_cmd_bad(s, "Expected DONE");
}

void
imap_idle_wake(struct imap_session *s)
{
	if (!(s->flags & IMAP_F_IDLE) || s->view == NULL ||
	    (s->flags & (IMAP_F_CLOSING | IMAP_F_CONN_GONE)))
		return;
	(void)imap_view_sync(s, true);
}
