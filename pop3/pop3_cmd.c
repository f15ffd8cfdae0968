/* SPDX-License-Identifier: ISC */
/*
 * The TRANSACTION commands (RFC 1939 section 5) and QUIT.
 *
 * All of them work on the snapshot taken at login, so message numbers and
 * sizes stay put for the whole session.  DELE only marks; QUIT sends the
 * marked uids to the mailstore writer and answers +OK only once that
 * transaction is committed, so a client that saw "+OK" may forget the
 * messages.  Messages another session removed meanwhile are simply skipped
 * by the expunge.
 *
 * Handlers are guard clauses: pop3_get_msg() parses and checks the message
 * number and sends the -ERR itself, so a handler only acts and replies +OK.
 */
#include "autoconfig.h"

#include <stdlib.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "pop3/pop3_session.h"

/*
 * The message numbered n, or NULL after replying -ERR: no such message,
 * or marked deleted (RFC 1939 forbids referring to those).
 */
static struct pop3_msg *
pop3_lookup_msg(struct pop3_session *s, uint32_t n)
{
	struct pop3_msg *m;

	if (n == 0 || n > s->n_msgs) {
		pop3_reply(s, "-ERR No such message");
		return NULL;
	}
	m = &s->msgs[n - 1];
	if (m->deleted) {
		pop3_reply(s, "-ERR Message is deleted");
		return NULL;
	}
	return m;
}

/* The one message-number argument of LIST n, UIDL n, RETR, DELE. */
static struct pop3_msg *
pop3_get_msg(struct pop3_session *s, const char *args, size_t len)
{
	uint32_t n;

	if (pop3_parse_number(args, len, &n) < 0) {
		pop3_reply_bad(s, "-ERR Invalid message number");
		return NULL;
	}
	return pop3_lookup_msg(s, n);
}

static size_t
pop3_msg_index(const struct pop3_session *s, const struct pop3_msg *m)
{
	return (size_t)(m - s->msgs);
}

/* Count and size of the messages not marked deleted. */
static void
pop3_totals(const struct pop3_session *s, size_t *count_r, uint64_t *bytes_r)
{
	size_t i;

	*count_r = 0;
	*bytes_r = 0;
	for (i = 0; i < s->n_msgs; i++) {
		if (s->msgs[i].deleted)
			continue;
		(*count_r)++;
		*bytes_r += s->msgs[i].size;
	}
}

void
pop3_cmd_stat(struct pop3_session *s, const char *args, size_t len)
{
	uint64_t bytes;
	size_t count;

	pop3_totals(s, &count, &bytes);
	pop3_reply(s, "+OK %zu %llu", count, (unsigned long long)bytes);
}

void
pop3_cmd_list(struct pop3_session *s, const char *args, size_t len)
{
	struct pop3_msg *m;
	uint64_t bytes;
	size_t count;

	if (args == NULL || len == 0) {
		pop3_totals(s, &count, &bytes);
		pop3_reply(s, "+OK %zu messages (%llu octets)", count,
		    (unsigned long long)bytes);
		pop3_stream_listing_start(s, POP3_STREAM_LIST);
		return;
	}
	if ((m = pop3_get_msg(s, args, len)) == NULL)
		return;
	pop3_reply(s, "+OK %zu %llu", pop3_msg_index(s, m) + 1,
	    (unsigned long long)m->size);
}

void
pop3_cmd_uidl(struct pop3_session *s, const char *args, size_t len)
{
	struct pop3_msg *m;

	if (args == NULL || len == 0) {
		pop3_reply(s, "+OK Unique-ID listing follows");
		pop3_stream_listing_start(s, POP3_STREAM_UIDL);
		return;
	}
	if ((m = pop3_get_msg(s, args, len)) == NULL)
		return;
	/* "<uidvalidity>.<uid>" names the message as IMAP does, so it stays
	 * the same across sessions and protocols. */
	pop3_reply(s, "+OK %zu %lu.%lu", pop3_msg_index(s, m) + 1,
	    (unsigned long)s->uidvalidity, (unsigned long)m->uid);
}

void
pop3_cmd_retr(struct pop3_session *s, const char *args, size_t len)
{
	struct pop3_msg *m;

	if ((m = pop3_get_msg(s, args, len)) == NULL)
		return;
	if (pop3_stream_message_start(s, pop3_msg_index(s, m), false, 0) < 0) {
		pop3_reply(s, "-ERR Message no longer exists");
		return;
	}
	s->retr_count++;
}

void
pop3_cmd_top(struct pop3_session *s, const char *args, size_t len)
{
	struct pop3_msg *m;
	uint32_t n, lines;

	if (pop3_parse_top(args, len, &n, &lines) < 0) {
		pop3_reply_bad(s, "-ERR Invalid arguments, expected: TOP msg n");
		return;
	}
	if ((m = pop3_lookup_msg(s, n)) == NULL)
		return;
	if (pop3_stream_message_start(s, pop3_msg_index(s, m), true,
	    lines) < 0) {
		pop3_reply(s, "-ERR Message no longer exists");
		return;
	}
	s->top_count++;
}

void
pop3_cmd_dele(struct pop3_session *s, const char *args, size_t len)
{
	struct pop3_msg *m;

	if ((m = pop3_get_msg(s, args, len)) == NULL)
		return;
	m->deleted = true;
	pop3_reply(s, "+OK Marked to be deleted.");
}

void
pop3_cmd_noop(struct pop3_session *s, const char *args, size_t len)
{
	pop3_reply(s, "+OK");
}

void
pop3_cmd_rset(struct pop3_session *s, const char *args, size_t len)
{
	uint64_t bytes;
	size_t count, i;

	for (i = 0; i < s->n_msgs; i++)
		s->msgs[i].deleted = false;
	pop3_totals(s, &count, &bytes);
	pop3_reply(s, "+OK maildrop has %zu messages (%llu octets)", count,
	    (unsigned long long)bytes);
}

/*
 * The writer committed (or failed) the deletions of QUIT.  If the client
 * went away meanwhile the session only waited for this call to be freed.
 */
static void
pop3_expunge_done(void *arg, int status)
{
	struct pop3_session *s = arg;
	size_t n = 0, i;

	s->flags &= ~POP3_F_EXPUNGE_WAIT;
	XFREE(s->expunge_uids);
	for (i = 0; i < s->n_msgs; i++)
		n += s->msgs[i].deleted;
	if (status == MS_OK)
		log_info(POP3_LOG "event=quit retr=%u top=%u dele=%zu",
		    POP3_LOG_ARGS(s), s->retr_count, s->top_count, n);
	else
		log_warnx(POP3_LOG "event=quit retr=%u top=%u dele=%zu "
		    "status=%s", POP3_LOG_ARGS(s), s->retr_count,
		    s->top_count, n, ms_strstatus(status));

	if (s->flags & POP3_F_CONN_GONE) {
		pop3_session_free(s, NULL);
		return;
	}
	if (status == MS_OK)
		pop3_close(s, "quit", "+OK Logging out, messages deleted.");
	else
		pop3_close(s, "quit-expunge-failed",
		    "-ERR [SYS/TEMP] Unable to delete messages, "
		    "try again later");
}

void
pop3_cmd_quit(struct pop3_session *s, const char *args, size_t len)
{
	size_t n = 0, i;

	if (s->state == POP3_STATE_AUTHORIZATION) {
		pop3_close(s, "quit", "+OK Logging out.");
		return;
	}
	pop3_enter_state(s, POP3_STATE_UPDATE);
	for (i = 0; i < s->n_msgs; i++)
		n += s->msgs[i].deleted;
	if (n == 0) {
		log_info(POP3_LOG "event=quit retr=%u top=%u dele=0",
		    POP3_LOG_ARGS(s), s->retr_count, s->top_count);
		pop3_close(s, "quit", "+OK Logging out.");
		return;
	}

	/* The uid array stays ours until the callback, whatever the store
	 * does with it. */
	s->expunge_uids = xcalloc(n, sizeof(*s->expunge_uids));
	n = 0;
	for (i = 0; i < s->n_msgs; i++)
		if (s->msgs[i].deleted)
			s->expunge_uids[n++] = s->msgs[i].uid;
	s->flags |= POP3_F_EXPUNGE_WAIT;
	pop3_suspend(s);
	ms_expunge_uids(s->srv->ms, s->mailbox_id, s->expunge_uids, n,
	    pop3_expunge_done, s);
}
