/* SPDX-License-Identifier: ISC */
/*
 * POP3 sessions (RFC 1939): accept, the command table, the input loop and
 * teardown.
 *
 * Everything runs on the event loop.  The session reads command lines from
 * its conn and dispatches them one at a time; a command that must wait
 * (a password check on the auth worker, the expunge at QUIT on the mailstore
 * writer, a TLS handshake, a big RETR draining to a slow client) sets a flag
 * or s->stream, which stops the loop, and pipelined commands stay in the
 * input buffer until the wait is over and pop3_resume() runs them.
 *
 * Every exit (QUIT, timeout, I/O error, too many bad commands, shutdown)
 * ends in pop3_session_free().  The one subtle case is a connection that
 * dies while the QUIT expunge is on the writer thread: the job's callback
 * still holds the session as its argument, so the conn is closed at once
 * but the session itself lives until that callback has run.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/auth.h"
#include "common/conn.h"
#include "common/linebuf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "pop3/pop3.h"
#include "pop3/pop3_session.h"

#define AUTHZ	POP3_STATE_BIT(POP3_STATE_AUTHORIZATION)
#define TRANS	POP3_STATE_BIT(POP3_STATE_TRANSACTION)

struct pop3_cmd {
	const char	*name;
	unsigned	 states;	/* POP3_STATE_BIT() mask */
	pop3_cmd_fn	*fn;
};

/* The dispatcher checks the state mask, so handlers never do. */
static const struct pop3_cmd pop3_cmds[] = {
	{ "CAPA", AUTHZ | TRANS,	pop3_cmd_capa },
	{ "NOOP", TRANS,		pop3_cmd_noop },
	{ "QUIT", AUTHZ | TRANS,	pop3_cmd_quit },
	{ "STLS", AUTHZ,		pop3_cmd_stls },
	{ "USER", AUTHZ,		pop3_cmd_user },
	{ "PASS", AUTHZ,		pop3_cmd_pass },
	{ "AUTH", AUTHZ,		pop3_cmd_auth },
	{ "STAT", TRANS,		pop3_cmd_stat },
	{ "LIST", TRANS,		pop3_cmd_list },
	{ "UIDL", TRANS,		pop3_cmd_uidl },
	{ "RETR", TRANS,		pop3_cmd_retr },
	{ "TOP",  TRANS,		pop3_cmd_top },
	{ "DELE", TRANS,		pop3_cmd_dele },
	{ "RSET", TRANS,		pop3_cmd_rset },
};

static TAILQ_HEAD(, pop3_session) pop3_sessions =
    TAILQ_HEAD_INITIALIZER(pop3_sessions);

static void pop3_input(struct pop3_session *s);
static void pop3_vreply(struct pop3_session *s, const char *fmt, va_list ap)
    PR_PRINTF(2, 0);

static const char *
pop3_strstate(enum pop3_state state)
{
	switch (state) {
	case POP3_STATE_AUTHORIZATION:
		return "AUTHORIZATION";
	case POP3_STATE_TRANSACTION:
		return "TRANSACTION";
	case POP3_STATE_UPDATE:
		return "UPDATE";
	}
	return "?";
}

void
pop3_enter_state(struct pop3_session *s, enum pop3_state state)
{
	log_debug(POP3_LOG "state %s -> %s", POP3_LOG_ARGS(s),
	    pop3_strstate(s->state), pop3_strstate(state));
	s->state = state;
}

static void
pop3_vreply(struct pop3_session *s, const char *fmt, va_list ap)
{
	char buf[512];
	int n;

	/* Replies are our own short texts; truncation could only cut a
	 * human-readable tail, never a number a client parses. */
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	conn_write(s->conn, buf, (size_t)n < sizeof(buf) ? (size_t)n :
	    sizeof(buf) - 1);
	conn_write(s->conn, "\r\n", 2);
}

void
pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->flags & (POP3_F_CLOSING | POP3_F_CONN_GONE))
		return;
	va_start(ap, fmt);
	pop3_vreply(s, fmt, ap);
	va_end(ap);
}

void
pop3_reply_bad(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->flags & (POP3_F_CLOSING | POP3_F_CONN_GONE))
		return;
	if (++s->bad_count >= POP3_BAD_MAX) {
		pop3_close(s, "too-many-bad-commands",
		    "-ERR Too many bad commands, closing connection.");
		return;
	}
	va_start(ap, fmt);
	pop3_vreply(s, fmt, ap);
	va_end(ap);
}

void
pop3_close(struct pop3_session *s, const char *reason, const char *reply)
{
	if (s->flags & (POP3_F_CLOSING | POP3_F_CONN_GONE))
		return;
	if (reply != NULL)
		pop3_reply(s, "%s", reply);
	s->flags |= POP3_F_CLOSING;
	s->close_reason = reason;
	pop3_stream_free(&s->stream);
	conn_want_writable(s->conn, false);
	conn_close_after_flush(s->conn);
}

void
pop3_suspend(struct pop3_session *s)
{
	conn_pause_input(s->conn, true);
}

void
pop3_resume(struct pop3_session *s)
{
	if (s->flags & (POP3_F_CLOSING | POP3_F_CONN_GONE))
		return;
	conn_pause_input(s->conn, false);
	pop3_input(s);
}

bool
pop3_plaintext_ok(const struct pop3_session *s)
{
	return (s->flags & POP3_F_TLS) || s->allow_plaintext;
}

const char *
pop3_log_user(const char *user, char *buf, size_t size)
{
	size_t i;

	if (user == NULL)
		return "-";
	/* A user name is client input: keep log lines one line of
	 * key=value text whatever it contains. */
	for (i = 0; user[i] != '\0' && i + 1 < size && i < 64; i++) {
		unsigned char c = (unsigned char)user[i];

		buf[i] = (c > ' ' && c < 0x7f && c != '=') ? (char)c : '?';
	}
	buf[i] = '\0';
	return buf;
}

static const struct pop3_cmd *
pop3_cmd_find(const char *kw)
{
	size_t i;

	for (i = 0; i < sizeof(pop3_cmds) / sizeof(pop3_cmds[0]); i++)
		if (strcmp(pop3_cmds[i].name, kw) == 0)
			return &pop3_cmds[i];
	return NULL;
}

static void
pop3_dispatch(struct pop3_session *s, const char *line, size_t len)
{
	char kw[POP3_KEYWORD_MAX + 1];
	const struct pop3_cmd *cmd;
	const char *args;
	size_t args_len;

	if (pop3_parse_command(line, len, kw, &args, &args_len) < 0 ||
	    (cmd = pop3_cmd_find(kw)) == NULL) {
		pop3_reply_bad(s, "-ERR Unknown command");
		return;
	}
	if ((cmd->states & POP3_STATE_BIT(s->state)) == 0) {
		pop3_reply_bad(s, "-ERR Command not valid in this state");
		return;
	}
	/* The SASL state is only needed until login; release it here rather
	 * than inside the auth callback that completed the login. */
	if (s->state != POP3_STATE_AUTHORIZATION && s->auth != NULL)
		auth_session_free(&s->auth);
	/* Arguments are not logged: PASS carries a password. */
	log_debug(POP3_LOG "cmd=%s", POP3_LOG_ARGS(s), cmd->name);
	cmd->fn(s, args, args_len);
}

/* Conditions under which the next command line must stay buffered. */
static bool
pop3_waiting(const struct pop3_session *s)
{
	return (s->flags & (POP3_F_TLS_PENDING | POP3_F_AUTH_WAIT |
	    POP3_F_EXPUNGE_WAIT | POP3_F_CLOSING | POP3_F_CONN_GONE)) ||
	    s->stream != NULL;
}

/* A line that cannot be a SASL response ends a running AUTH exchange. */
static void
pop3_sasl_drop(struct pop3_session *s)
{
	if (s->flags & POP3_F_SASL_CONT) {
		s->flags &= ~POP3_F_SASL_CONT;
		auth_abort(s->auth);
	}
}

/*
 * Run buffered command lines until the buffer is empty or a command has to
 * wait.  Replies to pipelined commands accumulate in the output buffer and
 * go out together when the loop returns to libev.
 */
static void
pop3_input(struct pop3_session *s)
{
	struct linebuf *lb;

	if (pop3_waiting(s))
		return;
	if (s->srv->shutting_down) {
		pop3_close(s, "shutdown", "-ERR Server shutting down.");
		return;
	}
	lb = conn_input(s->conn);
	while (!pop3_waiting(s)) {
		enum linebuf_result r;
		enum linebuf_eol eol;
		const char *line;
		size_t len;

		r = linebuf_next_line(lb, &line, &len, &eol);
		if (r == LINEBUF_NEED_MORE)
			break;
		if (r == LINEBUF_TOO_LONG) {
			pop3_sasl_drop(s);
			pop3_reply_bad(s, "-ERR Line too long");
			continue;
		}
		if (memchr(line, '\0', len) != NULL) {
			pop3_sasl_drop(s);
			pop3_reply_bad(s, "-ERR NUL byte in command");
			continue;
		}
		if (s->flags & POP3_F_SASL_CONT)
			pop3_auth_continue(s, line, len);
		else
			pop3_dispatch(s, line, len);
	}
	linebuf_shrink(lb);
}

static void
pop3_greet(struct pop3_session *s)
{
	if (s->srv->shutting_down) {
		pop3_close(s, "shutdown", "-ERR Server shutting down.");
		return;
	}
	pop3_reply(s, "+OK Postroom ready.");
}

/*
 * TLS is up, either right after accept (POP3S) or after STLS.  After STLS
 * nothing said in plaintext may carry over (RFC 2595 section 4): conn has
 * already dropped pipelined input, and a USER given before is forgotten.
 */
static void
pop3_tls_ready(struct pop3_session *s)
{
	s->flags &= ~POP3_F_TLS_PENDING;
	s->flags |= POP3_F_TLS;
	log_info(POP3_LOG "event=tls version=%s cipher=%s", POP3_LOG_ARGS(s),
	    conn_tls_version(s->conn), conn_tls_cipher(s->conn));
	if (s->role == ROLE_POP3S) {
		pop3_greet(s);
	} else {
		XFREE(s->user);
		if (s->auth != NULL)
			auth_session_free(&s->auth);
		pop3_enter_state(s, POP3_STATE_AUTHORIZATION);
	}
	pop3_input(s);
}

static void
pop3_conn_event(struct conn *c, enum conn_event ev, void *arg)
{
	struct pop3_session *s = arg;

	switch (ev) {
	case CONN_EV_INPUT:
		pop3_input(s);
		break;
	case CONN_EV_WRITABLE:
		if (s->stream != NULL)
			pop3_stream_continue(s);
		break;
	case CONN_EV_TIMEOUT:
		/* conn itself drops a peer that does not read this reply
		 * within another timeout. */
		pop3_close(s, "timeout", "-ERR Disconnected for inactivity.");
		break;
	case CONN_EV_TLS_READY:
		pop3_tls_ready(s);
		break;
	case CONN_EV_CLOSED:
		pop3_session_free(s, s->close_reason != NULL ?
		    s->close_reason : conn_close_reason(c));
		return;
	}
}

void
pop3_session_free(struct pop3_session *s, const char *reason)
{
	char ubuf[80];

	if (!(s->flags & POP3_F_CONN_GONE)) {
		log_info(POP3_LOG "event=disconnect user=%s state=%s reason=%s",
		    POP3_LOG_ARGS(s), pop3_log_user(s->user, ubuf, sizeof(ubuf)),
		    pop3_strstate(s->state), reason != NULL ? reason : "-");
		pop3_stream_free(&s->stream);
		if (s->auth != NULL)
			auth_session_free(&s->auth);
		conn_free(&s->conn);
		s->flags |= POP3_F_CONN_GONE;
	}
	if (s->flags & POP3_F_EXPUNGE_WAIT)
		return;

	TAILQ_REMOVE(&pop3_sessions, s, entry);
	server_session_closed(s->srv, s->ip);
	if (s->tls_ctx != NULL)
		SSL_CTX_free(s->tls_ctx);
	free(s->expunge_uids);
	free(s->msgs);
	free(s->user);
	free(s);
}

size_t
pop3_sessions_memory(void)
{
	const struct pop3_session *s;
	size_t n = 0;

	TAILQ_FOREACH(s, &pop3_sessions, entry) {
		n += sizeof(*s) + s->n_msgs * sizeof(*s->msgs) +
		    pop3_stream_memory(s->stream);
		if (s->conn != NULL)
			n += conn_memory(s->conn);
		if (s->user != NULL)
			n += strlen(s->user) + 1;
	}
	return n;
}

void
pop3_accept(struct pr_server *srv, int fd, enum listener_role role)
{
	struct pop3_session *s;

	s = xcalloc(1, sizeof(*s));
	s->id = server_session_id();
	s->srv = srv;
	s->role = role;
	s->state = POP3_STATE_AUTHORIZATION;
	s->allow_plaintext = srv->cfg->allow_plaintext_auth;
	if (srv->tls_ctx != NULL && SSL_CTX_up_ref(srv->tls_ctx) == 1)
		s->tls_ctx = srv->tls_ctx;
	s->conn = conn_new(srv->loop, fd, POP3_LINE_MAX, pop3_conn_event, s);
	snprintf(s->ip, sizeof(s->ip), "%s", conn_peer_ip(s->conn));
	conn_set_timeout(s->conn, srv->cfg->pop3_timeout);
	TAILQ_INSERT_TAIL(&pop3_sessions, s, entry);

	log_info(POP3_LOG "event=connect role=%s port=%d", POP3_LOG_ARGS(s),
	    config_role_name(role), conn_local_port(s->conn));

	if (role == ROLE_POP3S) {
		if (s->tls_ctx == NULL) {
			log_warnx(POP3_LOG "event=error reason=no-tls-context",
			    POP3_LOG_ARGS(s));
			pop3_close(s, "no-tls-context", NULL);
		} else {
			s->flags |= POP3_F_TLS_PENDING;
			conn_start_tls(s->conn, s->tls_ctx);
		}
	} else {
		pop3_greet(s);
	}
	conn_start(s->conn);
}

/*
 * SIGTERM.  Sessions waiting for the client are told and closed now; the
 * ones in the middle of something (a password check, a QUIT commit, a
 * handshake, a RETR) finish it, and pop3_input() closes them before they
 * read their next command.
 */
void
pop3_shutdown(struct pr_server *srv)
{
	struct pop3_session *s;

	TAILQ_FOREACH(s, &pop3_sessions, entry) {
		if (s->srv != srv || pop3_waiting(s))
			continue;
		pop3_close(s, "shutdown", "-ERR Server shutting down.");
	}
}
