/* SPDX-License-Identifier: ISC */
/*
 * APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315).
 *
 * The message literal is never part of the command buffer: the input loop
 * recognises it from the command prefix ("tag APPEND mailbox [flags]
 * [date] {n}") and everything is checked before the first message byte is
 * asked for, so a refused APPEND costs the client nothing but the reply.
 * Accepted bytes stream into an ms_delivery (memory up to a small buffer,
 * then a spool file), and the tagged OK goes out only after the writer has
 * committed the message: its uid is then durable and can be announced.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/conn.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_session.h"

struct imap_append {
	struct ms_delivery *d;		/* NULL once handed to the writer */
	uint64_t	 size;		/* announced literal size */
	bool		 failed;	/* a spool write failed */
};

bool
imap_append_is_message(const struct imap_command *prefix)
{
	/* mailbox [flag-list] [date-time]: the mailbox is there. */
	return prefix->nargs >= 1 && prefix->nargs <= 3;
}

void
imap_cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	imap_cmd_bad(s, "APPEND needs the message as a literal");
}

void
imap_append_free(struct imap_append **ap)
{
	struct imap_append *a = *ap;

	if (a == NULL)
		return;
	if (a->d != NULL)
		ms_delivery_abort(&a->d);
	free(a);
	*ap = NULL;
}

/* Check the arguments before the message; NULL text means all good. */
static const char *
append_check(struct imap_session *s, const struct imap_command *prefix,
    uint64_t size, struct ms_mailbox_info *mb, uint32_t *flags_r,
    const char **keywords_r, time_t *date_r)
{
	const struct imap_arg *args = prefix->args;
	const char *name, *error;
	size_t i = 1;
	int rc;

	if ((name = imap_mailbox_arg(s, &args[0], &error)) == NULL)
		return error;
	if (i < prefix->nargs && args[i].type == IMAP_ARG_LIST) {
		if (!imap_flags_parse(&args[i], &s->arena, flags_r, keywords_r,
		    &error))
			return "BAD Invalid flags";
		i++;
	}
	if (i < prefix->nargs) {
		if (args[i].type != IMAP_ARG_QUOTED ||
		    !imap_parse_datetime(args[i].str, date_r))
			return "BAD Invalid date-time";
		i++;
	}
	if (i != prefix->nargs)
		return "BAD Invalid APPEND arguments";
	if (size == 0)
		return "NO Cannot store an empty message.";
	if (size > s->max_message)
		return "NO [TOOBIG] Message too big.";
	rc = imap_mailbox_find(s, name, mb);
	if (rc == MS_NOT_FOUND)
		return "NO [TRYCREATE] Mailbox does not exist.";
	if (rc != MS_OK)
		return "NO [SERVERBUG] Internal error, try again later.";
	return NULL;
}

void
imap_append_begin(struct imap_session *s, const struct imap_command *prefix,
    uint64_t size, bool nonsync)
{
	struct ms_mailbox_info mb;
	struct imap_append *a;
	const char *keywords = NULL, *refusal;
	uint32_t flags = 0;
	time_t date = 0;

	refusal = append_check(s, prefix, size, &mb, &flags, &keywords, &date);
	if (refusal != NULL) {
		/* Reading a huge unwanted {n+} literal would only waste
		 * bandwidth; end the session instead. */
		if (nonsync && size > s->max_message * 2 + IMAP_MAX_COMMAND) {
			imap_buf_printf(&s->out, "%s BAD [TOOBIG] Message too "
			    "big.\r\n", s->tag);
			imap_flush(s);
			imap_close(s, "append-too-big", "[TOOBIG] Message "
			    "too big.");
			return;
		}
		imap_cmd_refuse_literal(s, size, nonsync, refusal);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->size = size;
	a->d = ms_delivery_new(imap_store(s));
	ms_delivery_add_mailbox(a->d, mb.id, flags, keywords, (int64_t)date);
	s->append = a;
	s->in_mode = IMAP_IN_APPEND;
	s->literal_left = size;
	if (!nonsync)
		conn_printf(s->conn, "+ Ready for literal data\r\n");
}

void
imap_append_data(struct imap_session *s, const char *p, size_t n)
{
	struct imap_append *a = s->append;

	/* A failed spool write (disk full) is reported at the end; the
	 * bytes still have to be read to stay in step. */
	if (!a->failed && ms_delivery_write(a->d, p, n) < 0)
		a->failed = true;
}

static void
append_done(void *arg, const struct ms_delivery_result *r)
{
	struct imap_session *s = arg;

	if (imap_job_end(s))
		return;
	switch (r->status) {
	case MS_OK:
		log_info(IMAP_LOG "event=append message=%lld uid=%u",
		    IMAP_LOG_ARGS(s), (long long)r->message_id, r->uid);
		imap_cmd_done(s, "OK [APPENDUID %u %u] APPEND completed.",
		    r->uidvalidity, r->uid);
		break;
	case MS_NOT_FOUND:
		imap_cmd_done(s, "NO [TRYCREATE] Mailbox does not exist.");
		break;
	default:
		imap_cmd_done(s, "NO [SERVERBUG] Cannot store the message, try "
		    "again later.");
		break;
	}
}

void
imap_append_end(struct imap_session *s, const char *line, size_t len)
{
	struct imap_append *a = s->append;
	struct ms_delivery *d;
	uint64_t size;
	bool nonsync;

	if (len > 0) {
		imap_append_free(&s->append);
		/* A second message (MULTIAPPEND) may be on its way. */
		if (imap_line_literal(line, len, UINT64_MAX, &size,
		    &nonsync) == 1)
			imap_cmd_refuse_literal(s, size, nonsync,
			    "BAD Only one message per APPEND");
		else
			imap_cmd_bad(s, "Unexpected data after the message");
		return;
	}
	if (a->failed) {
		imap_append_free(&s->append);
		imap_cmd_done(s, "NO [SERVERBUG] Cannot store the message, try "
		    "again later.");
		return;
	}
	d = a->d;
	a->d = NULL;
	imap_append_free(&s->append);
	imap_job_begin(s);
	imap_cmd_wait(s);
	ms_delivery_commit(d, append_done, s);
}
