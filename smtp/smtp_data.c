/* SPDX-License-Identifier: ISC */
/*
 * Message bodies: DATA (dot-stuffed, ended by <CRLF>.<CRLF>) and BDAT
 * chunks (RFC 3030, exact byte counts), streamed into a mailstore delivery
 * as they arrive, so a message is never held whole in memory here.
 *
 * The bytes go through the pure body parser (smtp_parse.c), which finds
 * the end of DATA, undoes dot-stuffing and notices bare CR/LF.  Whatever is
 * wrong with a body (too big, bare line ends under bare_lf = reject, spool
 * failure) is only recorded while it streams in: the client is answered
 * once the whole body has been read, since until then it is not listening.
 * A good body is committed through the mailstore's writer thread; input
 * stays paused until the commit callback has given the final answer.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/conn.h"
#include "common/linebuf.h"
#include "common/xmalloc.h"
#include "smtp/smtp_session.h"

/* Body mode: a bigger input buffer and the DATA timeout, or back to the
 * command-line limit and the command timeout. */
static void
smtp_body_io(struct smtp_session *s, bool body)
{
	const struct config *cfg = smtp_cfg(s);

	linebuf_set_cap(conn_input(s->conn), body ? SMTP_BODY_INPUT_CAP : cfg->max_line);
	conn_set_timeout(s->conn, body ? cfg->data_timeout : cfg->smtp_timeout);
}

/* RFC 5322 date-time in local time, with English names whatever the
 * locale: "Sun, 23 Nov 2025 01:20:00 +0100". */
static void
smtp_date(char *buf, size_t size)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;
	long off;

	localtime_r(&now, &tm);
	off = tm.tm_gmtoff / 60;
	(void)snprintf(buf, size, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* The "with" keyword of RFC 3848, UTF8SMTP* variants from RFC 6531. */
static void
smtp_with_protocol(const struct smtp_session *s, char *buf, size_t size)
{
	bool tls = conn_is_tls(s->conn), auth = s->user_id != 0;

	if (!(s->flags & SMTP_F_EHLO)) {
		(void)snprintf(buf, size, "SMTP");
		return;
	}
	(void)snprintf(buf, size, "%s%s%s", s->tx->smtputf8 ? "UTF8SMTP" : "ESMTP",
	    tls ? "S" : "", auth ? "A" : "");
}

/*
 * Return-Path and Received, in front of the body.  The peer is named by
 * its address only: no reverse DNS lookup is made on the event loop.
 */
static int
smtp_write_trace(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	char date[64], proto[16], *tls = NULL, *hdr;
	int r;

	smtp_date(date, sizeof(date));
	smtp_with_protocol(s, proto, sizeof(proto));
	if (conn_is_tls(s->conn))
		tls = xasprintf("\r\n\t(using %s with cipher %s)",
		    conn_tls_version(s->conn), conn_tls_cipher(s->conn));
	hdr = xasprintf("Return-Path: <%s>\r\n"
	    "Received: from %s ([%s%s])\r\n"
	    "\tby %s (Postroom) with %s id %016" PRIx64 "%s%s%s%s;\r\n"
	    "\t%s\r\n",
	    tx->from,
	    s->helo, strchr(s->ip, ':') != NULL ? "IPv6:" : "", s->ip,
	    smtp_cfg(s)->hostname, proto, tx->qid, tls != NULL ? tls : "",
	    tx->nrcpt == 1 ? "\r\n\tfor <" : "",
	    tx->nrcpt == 1 ? tx->rcpt[0].addr : "",
	    tx->nrcpt == 1 ? ">" : "",
	    date);
	r = ms_delivery_write(tx->delivery, hdr, strlen(hdr));
	free(hdr);
	free(tls);
	return r;
}

/* Receives the parser's output: count it, store it while the body is
 * still acceptable, and drop the delivery at the first reason not to. */
static void
smtp_body_sink(void *arg, const char *p, size_t n)
{
	struct smtp_session *s = arg;
	struct smtp_tx *tx = s->tx;

	tx->size += n;
	if (tx->failure != SMTP_TX_OK)
		return;
	if (tx->size > smtp_cfg(s)->max_message_size)
		tx->failure = SMTP_TX_TOO_BIG;
	else if (!tx->dp.normalize && (tx->dp.saw_bare_lf || tx->dp.saw_bare_cr))
		tx->failure = SMTP_TX_BARE_EOL;
	else if (ms_delivery_write(tx->delivery, p, n) == -1)
		tx->failure = SMTP_TX_WRITE;
	if (tx->failure != SMTP_TX_OK)
		ms_delivery_abort(&tx->delivery);
}

/* Open the delivery with its targets and trace headers. */
static void
smtp_body_begin(struct smtp_session *s, bool dot_mode)
{
	struct smtp_tx *tx = s->tx;
	size_t i;

	tx->qid = server_session_id();
	tx->delivery = ms_delivery_new(s->srv->ms);
	ms_delivery_set_sender(tx->delivery, tx->from);
	for (i = 0; i < tx->targets.n; i++) {
		if (tx->targets.v[i].kind == MS_RCPT_LOCAL)
			ms_delivery_add_local(tx->delivery, tx->targets.v[i].user_id);
		else
			ms_delivery_add_remote(tx->delivery, tx->targets.v[i].address);
	}
	for (i = 0; i < tx->nrcpt; i++) {
		if (tx->rcpt[i].remote)
			ms_delivery_add_remote(tx->delivery, tx->rcpt[i].addr);
	}
	smtp_data_parser_init(&tx->dp, dot_mode,
	    smtp_cfg(s)->bare_lf == BARE_LF_NORMALIZE);
	tx->in_body = true;
	if (smtp_write_trace(s) == -1) {
		tx->failure = SMTP_TX_WRITE;
		ms_delivery_abort(&tx->delivery);
	}
}

/*
 * The whole body is in.  If it was refused on the way, say why and end
 * the transaction (returns true); otherwise the caller commits it.
 */
static bool
smtp_body_refused(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx->failure == SMTP_TX_OK && !tx->dp.normalize &&
	    (tx->dp.saw_bare_lf || tx->dp.saw_bare_cr))
		tx->failure = SMTP_TX_BARE_EOL;
	switch (tx->failure) {
	case SMTP_TX_OK:
		return false;
	case SMTP_TX_TOO_BIG:
		smtp_log(s, "event=reject reason=size size=%" PRIu64 " from=<%s>",
		    tx->size, tx->from);
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		break;
	case SMTP_TX_BARE_EOL:
		smtp_log(s, "event=reject reason=bare-eol from=<%s>", tx->from);
		smtp_reply(s, "550 5.6.11 Message contains bare CR or LF");
		break;
	case SMTP_TX_WRITE:
		smtp_log(s, "event=reject reason=spool from=<%s>", tx->from);
		smtp_reply(s, "451 4.3.0 Temporary failure, try again");
		break;
	}
	smtp_tx_reset(s);
	return true;
}

static void
smtp_commit_done(void *arg, const struct ms_delivery_result *r)
{
	struct smtp_session *s = arg;
	struct smtp_tx *tx = s->tx;

	s->flags &= ~SMTP_F_COMMITTING;
	if (r->status == MS_OK)
		smtp_log(s, "event=stored qid=%016" PRIx64 " msgid=%" PRId64
		    " size=%" PRIu64 " nrcpt=%zu from=<%s>", tx->qid,
		    r->message_id, tx->size, tx->nrcpt, tx->from);
	else
		smtp_log(s, "event=store-failed qid=%016" PRIx64 " status=%s "
		    "size=%" PRIu64 " nrcpt=%zu from=<%s>", tx->qid,
		    ms_strstatus(r->status), tx->size, tx->nrcpt, tx->from);
	if (s->flags & SMTP_F_DEAD) {
		smtp_session_commit_dead(s);
		return;
	}
	if (r->status == MS_OK) {
		s->nmsgs++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %016" PRIx64, tx->qid);
	} else
		smtp_reply(s, "451 4.3.0 Temporary failure, try again");
	smtp_tx_reset(s);
	smtp_pause(s, false);
	smtp_command_done(s);
}

/* Hand the message to the writer thread and wait, reading nothing. */
static void
smtp_commit(struct smtp_session *s)
{
	struct ms_delivery *d = s->tx->delivery;

	s->tx->delivery = NULL;
	smtp_enter_state(s, SMTP_STATE_COMMIT);
	smtp_pause(s, true);
	s->flags |= SMTP_F_COMMITTING;
	ms_delivery_commit(d, smtp_commit_done, s);
}

/* ---------------------------------------------------------------- DATA */

void
smtp_cmd_data(struct smtp_session *s, const char *args, size_t len)
{
	if (len != 0) {
		smtp_reply_bad(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	/* With PIPELINING every RCPT may have failed before DATA arrives
	 * (RFC 2920 3.1). */
	if (s->tx->nrcpt == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (s->tx->body == SMTP_BODY_BINARYMIME) {
		smtp_reply_bad(s, "503 5.5.1 BODY=BINARYMIME requires BDAT");
		return;
	}
	smtp_body_begin(s, true);
	smtp_enter_state(s, SMTP_STATE_DATA);
	smtp_body_io(s, true);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

bool
smtp_data_input(struct smtp_session *s)
{
	struct linebuf *lb = conn_input(s->conn);
	const char *p;
	size_t n, used;

	while (linebuf_next_chunk(lb, SIZE_MAX, &p, &n) == LINEBUF_OK) {
		if (smtp_data_parse(&s->tx->dp, p, n, &used, smtp_body_sink, s) == 0)
			continue;
		/* What follows the terminator is the next command. */
		linebuf_unread(lb, n - used);
		smtp_body_io(s, false);
		if (!smtp_body_refused(s))
			smtp_commit(s);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- BDAT */

/*
 * The chunk's bytes follow the command line without waiting for a reply,
 * so even a refused BDAT must read and drop exactly <size> bytes before
 * answering; otherwise message text would be read as commands.
 */
void
smtp_cmd_bdat(struct smtp_session *s, const char *args, size_t len)
{
	uint64_t size;
	bool last;

	if (smtp_parse_bdat(args, len, &size, &last) != SMTP_PARSE_OK) {
		smtp_reply_bad(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	s->chunk_size = s->chunk_left = size;
	s->chunk_last = last;
	s->chunk_error = NULL;
	if (s->tx == NULL)
		s->chunk_error = "503 5.5.1 Need MAIL before BDAT";
	else if (s->tx->nrcpt == 0)
		s->chunk_error = "554 5.5.1 No valid recipients";
	else if (!s->tx->in_body) {
		s->tx->bdat = true;
		smtp_body_begin(s, false);
	}
	smtp_enter_state(s, SMTP_STATE_BDAT);
	smtp_body_io(s, true);
}

static void
smtp_bdat_end(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (s->chunk_error != NULL) {
		/* RFC 3030 2: a failed chunk fails the transaction; any
		 * chunks still in the pipeline meet "Need MAIL". */
		smtp_tx_reset(s);
		smtp_reply_bad(s, "%s", s->chunk_error);
		return;
	}
	if (s->chunk_last)
		smtp_data_parser_finish(&tx->dp, smtp_body_sink, s);
	if (smtp_body_refused(s))
		return;
	if (!s->chunk_last) {
		smtp_enter_state(s, SMTP_STATE_CHUNKING);
		smtp_reply(s, "250 2.0.0 Ok: %" PRIu64 " octets received",
		    s->chunk_size);
		return;
	}
	smtp_commit(s);
}

bool
smtp_bdat_input(struct smtp_session *s)
{
	struct linebuf *lb = conn_input(s->conn);
	const char *p;
	size_t n, used;

	while (s->chunk_left > 0) {
		size_t max = s->chunk_left > SIZE_MAX ? SIZE_MAX : (size_t)s->chunk_left;

		if (linebuf_next_chunk(lb, max, &p, &n) != LINEBUF_OK)
			return false;
		s->chunk_left -= n;
		if (s->chunk_error == NULL)
			(void)smtp_data_parse(&s->tx->dp, p, n, &used,
			    smtp_body_sink, s);
	}
	smtp_body_io(s, false);
	smtp_bdat_end(s);
	return true;
}
