/* SPDX-License-Identifier: ISC */
/*
 * SMTP sessions: accepting a connection, the one event callback, the
 * read-and-dispatch loop, the command table, and the one teardown path.
 *
 * The conn layer hands us events; on input we take complete lines (or body
 * bytes in DATA/BDAT) out of the buffer and act on them in order until the
 * buffer is empty, which is all PIPELINING needs.  While an answer from
 * another thread is due (an AUTH step, a delivery commit) input is paused
 * and the loop stops; the callback resumes it, and conn redelivers the
 * bytes still buffered.  Every way out ends in smtp_session_free(), which
 * runs once per connection from the CONN_EV_CLOSED event.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/auth.h"
#include "common/conn.h"
#include "common/linebuf.h"
#include "common/xmalloc.h"
#include "smtp/smtp.h"
#include "smtp/smtp_session.h"

static LIST_HEAD(, smtp_session) smtp_sessions =
    LIST_HEAD_INITIALIZER(smtp_sessions);

#define ST(x)		SMTP_STATE_BIT(SMTP_STATE_##x)
#define ST_ANY		(ST(INIT) | ST(HELO) | ST(MAIL) | ST(RCPT) | ST(CHUNKING))
#define ST_NOBDAT	(ST(INIT) | ST(HELO) | ST(MAIL) | ST(RCPT))

#define CMD_SECRET	0x01	/* arguments carry credentials: never log */
#define CMD_OWN_UTF8	0x02	/* handler reports bad UTF-8 itself */

/*
 * The command table.  The dispatcher checks the state mask, so no handler
 * re-checks its place in the dialogue; seq_error is the 503 text for the
 * states left out.
 */
static const struct smtp_command {
	const char	*verb;
	unsigned	 states;
	unsigned	 flags;
	const char	*seq_error;
	smtp_cmd_fn	*fn;
} smtp_commands[] = {
	{ "EHLO", ST_ANY, 0, NULL, smtp_cmd_ehlo },
	{ "HELO", ST_ANY, 0, NULL, smtp_cmd_helo },
	{ "MAIL", ST(HELO), CMD_OWN_UTF8, "Nested MAIL command", smtp_cmd_mail },
	{ "RCPT", ST(MAIL) | ST(RCPT), CMD_OWN_UTF8, "Need MAIL before RCPT",
	    smtp_cmd_rcpt },
	{ "DATA", ST(MAIL) | ST(RCPT), 0, "Need MAIL before DATA", smtp_cmd_data },
	{ "BDAT", ST_ANY, 0, NULL, smtp_cmd_bdat },
	{ "RSET", ST_ANY, 0, NULL, smtp_cmd_rset },
	{ "NOOP", ST_ANY, 0, NULL, smtp_cmd_noop },
	{ "QUIT", ST_ANY, 0, NULL, smtp_cmd_quit },
	{ "HELP", ST_ANY, 0, NULL, smtp_cmd_help },
	{ "STARTTLS", ST(INIT) | ST(HELO), 0,
	    "STARTTLS not allowed during a mail transaction", smtp_cmd_starttls },
	{ "AUTH", ST(HELO), CMD_SECRET,
	    "AUTH not allowed during a mail transaction", smtp_cmd_auth },
	{ "VRFY", ST_NOBDAT, 0, NULL, smtp_cmd_vrfy },
	{ "EXPN", ST_NOBDAT, 0, NULL, smtp_cmd_expn },
};

static const char *const smtp_state_names[SMTP_STATE_COUNT] = {
	[SMTP_STATE_TLS] = "tls",
	[SMTP_STATE_INIT] = "init",
	[SMTP_STATE_HELO] = "helo",
	[SMTP_STATE_MAIL] = "mail",
	[SMTP_STATE_RCPT] = "rcpt",
	[SMTP_STATE_CHUNKING] = "chunking",
	[SMTP_STATE_DATA] = "data",
	[SMTP_STATE_BDAT] = "bdat",
	[SMTP_STATE_AUTH] = "auth",
	[SMTP_STATE_COMMIT] = "commit",
	[SMTP_STATE_QUIT] = "quit",
};

const char *
smtp_strstate(enum smtp_state st)
{
	return st < SMTP_STATE_COUNT ? smtp_state_names[st] : "?";
}

void
smtp_enter_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state == st)
		return;
	log_debug("smtp id=%016" PRIx64 " state %s -> %s", s->id,
	    smtp_strstate(s->state), smtp_strstate(st));
	s->state = st;
}

const struct config *
smtp_cfg(const struct smtp_session *s)
{
	return s->srv->cfg;
}

enum smtp_state
smtp_idle_state(const struct smtp_session *s)
{
	return s->helo != NULL ? SMTP_STATE_HELO : SMTP_STATE_INIT;
}

/* ------------------------------------------------------------- output */

/* Copy client text for a debug line: controls become '?', long text is
 * cut.  Debug lines only; info lines carry parsed, validated values. */
static const char *
smtp_printable(char *buf, size_t size, const char *p, size_t len)
{
	size_t i;

	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	buf[len] = '\0';
	return buf;
}

static void smtp_vreply(struct smtp_session *s, const char *fmt, va_list ap)
    PR_PRINTF(2, 0);

static void
smtp_vreply(struct smtp_session *s, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	if (s->conn == NULL)
		return;
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	if (n < 0)
		return;
	/* Truncation is harmless: the text part of a reply is advisory. */
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)(sizeof(buf) - 3);
	log_debug("smtp id=%016" PRIx64 " > %s", s->id, buf);
	buf[n++] = '\r';
	buf[n++] = '\n';
	conn_write(s->conn, buf, (size_t)n);
}

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
}

void
smtp_reply_bad(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
	if (++s->bad_cmds >= SMTP_MAX_BAD_COMMANDS && s->state != SMTP_STATE_QUIT) {
		smtp_reply(s, "421 4.7.0 %s Too many errors", smtp_cfg(s)->hostname);
		smtp_close(s, "too many errors");
	}
}

void
smtp_log(struct smtp_session *s, const char *fmt, ...)
{
	char buf[1536];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_info("smtp id=%016" PRIx64 " ip=%s %s", s->id, s->ip, buf);
}

/* ------------------------------------------------------- session life */

void
smtp_close(struct smtp_session *s, const char *reason)
{
	if (s->state == SMTP_STATE_QUIT || s->conn == NULL)
		return;
	s->close_reason = reason;
	smtp_enter_state(s, SMTP_STATE_QUIT);
	conn_close_after_flush(s->conn);
}

void
smtp_pause(struct smtp_session *s, bool paused)
{
	if (paused)
		s->flags |= SMTP_F_PAUSED;
	else
		s->flags &= ~SMTP_F_PAUSED;
	if (s->conn != NULL)
		conn_pause_input(s->conn, paused);
}

void
smtp_tx_free(struct smtp_tx **txp)
{
	struct smtp_tx *tx = *txp;
	size_t i;

	if (tx == NULL)
		return;
	for (i = 0; i < tx->nrcpt; i++)
		free(tx->rcpt[i].addr);
	free(tx->rcpt);
	ms_rcpt_list_free(&tx->targets);
	ms_delivery_abort(&tx->delivery);
	free(tx->from);
	free(tx);
	*txp = NULL;
}

void
smtp_tx_reset(struct smtp_session *s)
{
	smtp_tx_free(&s->tx);
	smtp_enter_state(s, smtp_idle_state(s));
}

void
smtp_command_done(struct smtp_session *s)
{
	if (!s->srv->shutting_down || s->conn == NULL)
		return;
	if (s->state == SMTP_STATE_INIT || s->state == SMTP_STATE_HELO) {
		smtp_reply(s, "421 4.3.2 %s Service shutting down",
		    smtp_cfg(s)->hostname);
		smtp_close(s, "shutdown");
	}
}

/* The last free, once no callback can refer to the session any more. */
static void
smtp_session_release(struct smtp_session *s)
{
	smtp_tx_free(&s->tx);
	free(s->helo);
	free(s->user);
	free(s);
}

/*
 * The one teardown: log, forget the auth exchange, close the socket and
 * release the connection slot.  A delivery whose commit is still running
 * keeps a pointer to us, so the memory then lives on until its callback
 * (smtp_session_commit_dead) runs.
 */
static void
smtp_session_free(struct smtp_session *s, const char *reason)
{
	smtp_log(s, "event=disconnect reason=%s state=%s cmds=%u msgs=%u bad=%u",
	    reason, smtp_strstate(s->state), s->ncmds, s->nmsgs, s->bad_cmds);
	LIST_REMOVE(s, entry);
	auth_session_free(&s->auth);
	conn_free(&s->conn);
	server_session_closed(s->srv, s->ip);
	if (s->flags & SMTP_F_COMMITTING) {
		s->flags |= SMTP_F_DEAD;
		return;
	}
	smtp_session_release(s);
}

void
smtp_session_commit_dead(struct smtp_session *s)
{
	smtp_session_release(s);
}

/* --------------------------------------------------------- dispatching */

static const struct smtp_command *
smtp_find_command(const char *verb, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++) {
		if (strlen(smtp_commands[i].verb) == len &&
		    strncasecmp(smtp_commands[i].verb, verb, len) == 0)
			return &smtp_commands[i];
	}
	return NULL;
}

static const char *
smtp_sequence_error(const struct smtp_command *cmd, enum smtp_state st)
{
	if (st == SMTP_STATE_INIT && (cmd->states & ST(HELO)))
		return "Send EHLO/HELO first";
	if (st == SMTP_STATE_CHUNKING)
		return "Command not allowed between BDAT chunks";
	return cmd->seq_error != NULL ? cmd->seq_error : "Bad sequence of commands";
}

/*
 * One command line.  The checks that apply to every command live here, in
 * this order: shutdown, forbidden bytes, unknown verb, UTF-8, sequence.
 * The handler gets a NUL-terminated copy of the arguments because the line
 * itself points into the input buffer, which a handler may change
 * (STARTTLS empties it).
 */
static void
smtp_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	const struct smtp_command *cmd;
	struct smtp_cmdline cl;
	char dbg[128], *args;

	s->ncmds++;
	if (s->srv->shutting_down) {
		smtp_reply(s, "421 4.3.2 %s Service shutting down",
		    smtp_cfg(s)->hostname);
		smtp_close(s, "shutdown");
		return;
	}
	/* NUL and a CR inside the line are never valid in a command, and a
	 * NUL would cut the copy below short. */
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL) {
		smtp_reply_bad(s, "500 5.5.2 Invalid character in command");
		return;
	}
	if (smtp_parse_cmdline(line, len, &cl) == -1) {
		smtp_reply_bad(s, "500 5.5.2 Syntax error, command unrecognized");
		return;
	}
	cmd = smtp_find_command(cl.verb, cl.verb_len);
	if (log_debug_enabled()) {
		if (cmd != NULL && (cmd->flags & CMD_SECRET))
			log_debug("smtp id=%016" PRIx64 " < %s ********", s->id,
			    cmd->verb);
		else
			log_debug("smtp id=%016" PRIx64 " < %s", s->id,
			    smtp_printable(dbg, sizeof(dbg), line, len));
	}
	if (cmd == NULL) {
		smtp_reply_bad(s, "500 5.5.2 Unrecognized command");
		return;
	}
	if (!(cmd->flags & CMD_OWN_UTF8) && !smtp_utf8_valid(cl.args, cl.args_len)) {
		smtp_reply_bad(s, "501 5.5.2 Invalid UTF-8 in command");
		return;
	}
	if (!(cmd->states & SMTP_STATE_BIT(s->state))) {
		smtp_reply_bad(s, "503 5.5.1 %s", smtp_sequence_error(cmd, s->state));
		return;
	}
	args = xstrndup(cl.args, cl.args_len);
	cmd->fn(s, args, cl.args_len);
	if (cmd->flags & CMD_SECRET)
		explicit_bzero(args, cl.args_len);
	free(args);
}

/*
 * Consume what is buffered: body bytes in DATA/BDAT, response lines during
 * AUTH, commands otherwise.  Stops when input is exhausted, paused, or the
 * session is past reading (TLS handshake, commit, closing).
 */
static void
smtp_input(struct smtp_session *s)
{
	struct linebuf *lb = conn_input(s->conn);
	enum linebuf_result r;
	enum linebuf_eol eol;
	const char *line;
	size_t len = 0;

	for (;;) {
		if (s->flags & SMTP_F_PAUSED)
			return;
		switch (s->state) {
		case SMTP_STATE_DATA:
			if (!smtp_data_input(s))
				return;
			continue;
		case SMTP_STATE_BDAT:
			if (!smtp_bdat_input(s))
				return;
			continue;
		case SMTP_STATE_TLS:
		case SMTP_STATE_COMMIT:
		case SMTP_STATE_QUIT:
			return;
		default:
			break;
		}
		r = linebuf_next_line(lb, &line, &len, &eol);
		if (r == LINEBUF_NEED_MORE) {
			/* Back from a body, the cap may still be the bigger
			 * body one if commands were pipelined behind it. */
			if (lb->cap != smtp_cfg(s)->max_line)
				linebuf_set_cap(lb, smtp_cfg(s)->max_line);
			return;
		}
		if (s->state == SMTP_STATE_AUTH) {
			smtp_auth_line(s, r == LINEBUF_OK ? line : "",
			    r == LINEBUF_OK ? len : 0, r == LINEBUF_TOO_LONG);
			continue;
		}
		if (r == LINEBUF_TOO_LONG) {
			s->ncmds++;
			smtp_reply_bad(s, "500 5.5.2 Line too long");
			continue;
		}
		/* A command ended by a bare LF is taken as it is (eol is
		 * ignored): only the message body is sensitive to it. */
		smtp_dispatch(s, line, len);
	}
}

static void
smtp_timeout(struct smtp_session *s)
{
	/* Waiting on our own side (auth delay, mailstore) is not the
	 * client's fault; conn re-arms the timer. */
	if (s->flags & SMTP_F_PAUSED)
		return;
	if (s->state == SMTP_STATE_TLS) {
		smtp_close(s, "timeout");
		return;
	}
	smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded", smtp_cfg(s)->hostname);
	smtp_close(s, "timeout");
}

static void
smtp_tls_ready(struct smtp_session *s)
{
	smtp_log(s, "event=tls version=%s cipher=%s",
	    conn_tls_version(s->conn), conn_tls_cipher(s->conn));
	if (s->flags & SMTP_F_GREETED)
		smtp_tls_reset(s);
	smtp_enter_state(s, SMTP_STATE_INIT);
	if (!(s->flags & SMTP_F_GREETED))
		smtp_greet(s);
}

static void
smtp_conn_event(struct conn *c, enum conn_event ev, void *arg)
{
	struct smtp_session *s = arg;

	switch (ev) {
	case CONN_EV_INPUT:
		smtp_input(s);
		break;
	case CONN_EV_WRITABLE:
		break;
	case CONN_EV_TIMEOUT:
		smtp_timeout(s);
		break;
	case CONN_EV_TLS_READY:
		smtp_tls_ready(s);
		break;
	case CONN_EV_CLOSED:
		smtp_session_free(s, s->close_reason != NULL ? s->close_reason :
		    conn_close_reason(c));
		break;
	}
}

/* ------------------------------------------------------------ entries */

void
smtp_accept(struct pr_server *srv, int fd, enum listener_role role)
{
	const struct config *cfg = srv->cfg;
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->id = server_session_id();
	s->srv = srv;
	s->role = role;
	s->state = SMTP_STATE_INIT;
	s->conn = conn_new(srv->loop, fd, cfg->max_line, smtp_conn_event, s);
	(void)snprintf(s->ip, sizeof(s->ip), "%s", conn_peer_ip(s->conn));
	LIST_INSERT_HEAD(&smtp_sessions, s, entry);
	conn_set_timeout(s->conn, cfg->smtp_timeout);
	smtp_log(s, "event=connect role=%s port=%d", config_role_name(role),
	    conn_local_port(s->conn));

	if (role == ROLE_SUBMISSIONS) {
		/* Implicit TLS (RFC 8314): the banner comes after the
		 * handshake. */
		s->state = SMTP_STATE_TLS;
		if (srv->tls_ctx == NULL) {
			log_warnx("smtp id=%016" PRIx64 " no TLS context for "
			    "submissions", s->id);
			smtp_close(s, "no tls");
		} else
			conn_start_tls(s->conn, srv->tls_ctx);
	} else
		smtp_greet(s);
	conn_start(s->conn);
}

/*
 * Sessions waiting for the client's next line get the closing reply now;
 * those in the middle of something (a body, a commit, an auth check)
 * finish it and meet the shutting_down check at their next command or in
 * smtp_command_done().
 */
void
smtp_shutdown(struct pr_server *srv)
{
	struct smtp_session *s;

	LIST_FOREACH(s, &smtp_sessions, entry) {
		if (s->srv != srv || (s->flags & SMTP_F_PAUSED))
			continue;
		switch (s->state) {
		case SMTP_STATE_TLS:
			smtp_close(s, "shutdown");
			break;
		case SMTP_STATE_INIT:
		case SMTP_STATE_HELO:
		case SMTP_STATE_MAIL:
		case SMTP_STATE_RCPT:
		case SMTP_STATE_CHUNKING:
		case SMTP_STATE_AUTH:
			smtp_reply(s, "421 4.3.2 %s Service shutting down",
			    srv->cfg->hostname);
			smtp_close(s, "shutdown");
			break;
		default:
			break;
		}
	}
}
