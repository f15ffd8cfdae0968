/* SPDX-License-Identifier: ISC */
/*
 * IMAP sessions (RFC 3501): accept, the command table, the input loop and
 * teardown.
 *
 * A command arrives as lines and literals.  The input loop collects its
 * wire bytes in cmdbuf: each line, and after a line ending in "{n}" (or
 * the non-synchronizing "{n+}", RFC 7888) exactly n raw bytes, until a
 * line without a literal announcement completes it; then the parser turns
 * cmdbuf into an argument tree and the command table picks the handler.
 * The one exception is the message literal of APPEND, which can be far
 * bigger than any command: it is recognised from the command prefix
 * before its first byte arrives and streamed into the mailstore instead.
 * A command that cannot be accepted (too long, a literal too big, the
 * wrong state for APPEND) is refused; when the client already sends its
 * literal without waiting ({n+}) the bytes are read and dropped first, so
 * the stream stays in step.
 *
 * Everything runs on the event loop.  Every exit (LOGOUT, timeout, I/O
 * error, too many bad commands, shutdown) ends in imap_session_free().
 * A connection can die while a mailstore job holds the session as its
 * callback argument: the conn is closed at once and the session itself
 * lives until the last such callback has run (s->jobs).
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>

#include "common/auth.h"
#include "common/conn.h"
#include "common/linebuf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap.h"
#include "imap-lite/imap_session.h"

#define NA	IMAP_NOT_AUTH
#define AU	IMAP_AUTH
#define SE	IMAP_SELECTED
#define NOEXP	IMAP_CMD_NO_EXPUNGE

/* The dispatcher checks the state mask, so handlers never do. */
static const struct imap_cmd_def imap_cmds[] = {
	{ "CAPABILITY",	NA | AU | SE,	0,	imap_cmd_capability },
	{ "NOOP",	NA | AU | SE,	0,	imap_cmd_noop },
	{ "LOGOUT",	NA | AU | SE,	0,	imap_cmd_logout },
	{ "ID",		NA | AU | SE,	0,	imap_cmd_id },
	{ "STARTTLS",	NA,		0,	imap_cmd_starttls },
	{ "AUTHENTICATE", NA,		0,	imap_cmd_authenticate },
	{ "LOGIN",	NA,		0,	imap_cmd_login },
	{ "ENABLE",	AU | SE,	0,	imap_cmd_enable },
	{ "NAMESPACE",	AU | SE,	0,	imap_cmd_namespace },
	{ "SELECT",	AU | SE,	0,	imap_cmd_select },
	{ "EXAMINE",	AU | SE,	0,	imap_cmd_select },
	{ "CREATE",	AU | SE,	0,	imap_cmd_create },
	{ "DELETE",	AU | SE,	0,	imap_cmd_delete },
	{ "RENAME",	AU | SE,	0,	imap_cmd_rename },
	{ "SUBSCRIBE",	AU | SE,	0,	imap_cmd_subscribe },
	{ "UNSUBSCRIBE", AU | SE,	0,	imap_cmd_subscribe },
	{ "LIST",	AU | SE,	0,	imap_cmd_list },
	{ "LSUB",	AU | SE,	0,	imap_cmd_lsub },
	{ "STATUS",	AU | SE,	0,	imap_cmd_status },
	{ "APPEND",	AU | SE,	0,	imap_cmd_append },
	{ "IDLE",	AU | SE,	0,	imap_cmd_idle },
	{ "CHECK",	SE,		0,	imap_cmd_check },
	{ "CLOSE",	SE,		0,	imap_cmd_close },
	{ "UNSELECT",	SE,		0,	imap_cmd_unselect },
	{ "EXPUNGE",	SE,		0,	imap_cmd_expunge },
	{ "SEARCH",	SE,		NOEXP,	imap_cmd_search },
	{ "FETCH",	SE,		NOEXP,	imap_cmd_fetch },
	{ "STORE",	SE,		NOEXP,	imap_cmd_store },
	{ "COPY",	SE,		0,	imap_cmd_copy },
	{ "MOVE",	SE,		0,	imap_cmd_copy },
	{ "UID SEARCH",	SE,		0,	imap_cmd_search },
	{ "UID FETCH",	SE,		0,	imap_cmd_fetch },
	{ "UID STORE",	SE,		0,	imap_cmd_store },
	{ "UID COPY",	SE,		0,	imap_cmd_copy },
	{ "UID MOVE",	SE,		0,	imap_cmd_copy },
	{ "UID EXPUNGE", SE,		0,	imap_cmd_uid_expunge },
};

/* Announcements above this are refused as malformed outright. */
#define IMAP_LITERAL_ANY	((uint64_t)1 << 40)
/* Command buffers bigger than this are released after each command. */
#define IMAP_KEEP_BUFFER	4096

static TAILQ_HEAD(, imap_session) imap_sessions =
    TAILQ_HEAD_INITIALIZER(imap_sessions);

/*
 * Sessions in IDLE.  One timer for all of them, running while any IMAP
 * session exists, looks at them every few seconds:
 * - every imap_idle_keepalive seconds each gets "* OK Still here", so
 *   that NATs and firewalls that drop quiet connections (phones, home
 *   routers) keep the connection, and a client that vanished is noticed
 *   when the write fails, not hours later;
 * - the autologout timer (imap_timeout) counts from the start of the IDLE:
 *   the keepalive is output and would otherwise reset the connection's
 *   own inactivity timer forever.
 * The start of an IDLE is taken when the timer first sees it, so both run
 * up to one tick late; a tick is at most IDLE_TICK_MAX seconds.
 */
#define IDLE_TICK_MAX	5.0

static ev_timer idle_tick;
static struct ev_loop *idle_tick_loop;

static double
idle_tick_interval(const struct config *cfg)
{
	double t = IDLE_TICK_MAX;

	if (cfg->imap_idle_keepalive > 0 && cfg->imap_idle_keepalive / 4 < t)
		t = cfg->imap_idle_keepalive / 4;
	if (cfg->imap_timeout / 4 < t)
		t = cfg->imap_timeout / 4;
	return t;
}

static void
idle_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	static const char still_here[] = "* OK Still here\r\n";
	const struct pr_server *srv = w->data;
	struct imap_session *s;
	ev_tstamp now = ev_now(loop);

	(void)revents;
	/* A reload may have changed the settings. */
	w->repeat = idle_tick_interval(srv->cfg);
	TAILQ_FOREACH(s, &imap_sessions, entry) {
		const struct config *cfg = s->srv->cfg;

		if (!(s->flags & IMAP_F_IDLE) ||
		    (s->flags & (IMAP_F_CLOSING | IMAP_F_CONN_GONE)))
			continue;
		if (s->idle_since == 0) {
			s->idle_since = now;
			s->idle_ping = now + cfg->imap_idle_keepalive;
		} else if (now - s->idle_since >= cfg->imap_timeout) {
			imap_close(s, "timeout", "Autologout; idle for too long.");
		} else if (cfg->imap_idle_keepalive > 0 && now >= s->idle_ping) {
			/* Straight to the connection: the session keeps no
			 * response buffer while it idles. */
			conn_write(s->conn, still_here, sizeof(still_here) - 1);
			s->idle_ping = now + cfg->imap_idle_keepalive;
		}
	}
}

static void
idle_tick_start(struct pr_server *srv)
{
	if (idle_tick_loop == srv->loop && ev_is_active(&idle_tick))
		return;
	idle_tick_loop = srv->loop;
	ev_init(&idle_tick, idle_tick_cb);
	idle_tick.data = srv;
	idle_tick.repeat = idle_tick_interval(srv->cfg);
	ev_timer_again(srv->loop, &idle_tick);
}

/* With the last session: a timer must not outlive the loop it runs on
 * (tests make one loop each), nor keep a shutting-down daemon's loop
 * busy. */
static void
idle_tick_stop(void)
{
	if (idle_tick_loop != NULL && TAILQ_EMPTY(&imap_sessions)) {
		ev_timer_stop(idle_tick_loop, &idle_tick);
		idle_tick_loop = NULL;
	}
}

static void imap_input(struct imap_session *s);

static const char *
imap_strstate(enum imap_state state)
{
	switch (state) {
	case IMAP_STATE_NOT_AUTH:
		return "NOT_AUTH";
	case IMAP_STATE_AUTH:
		return "AUTH";
	case IMAP_STATE_SELECTED:
		return "SELECTED";
	case IMAP_STATE_LOGOUT:
		return "LOGOUT";
	}
	return "?";
}

void
imap_enter_state(struct imap_session *s, enum imap_state state)
{
	log_debug(IMAP_LOG "state %s -> %s", IMAP_LOG_ARGS(s),
	    imap_strstate(s->state), imap_strstate(state));
	s->state = state;
}

struct ms_store *
imap_store(const struct imap_session *s)
{
	return s->srv->ms;
}

bool
imap_plaintext_ok(const struct imap_session *s)
{
	return (s->flags & IMAP_F_TLS) || s->allow_plaintext;
}

const char *
imap_log_text(const char *text, char *buf, size_t size)
{
	size_t i;

	if (text == NULL)
		return "-";
	/* Client text: keep log lines one line of key=value whatever it
	 * contains. */
	for (i = 0; text[i] != '\0' && i + 1 < size && i < 64; i++) {
		unsigned char c = (unsigned char)text[i];

		buf[i] = (c > ' ' && c < 0x7f && c != '=') ? (char)c : '?';
	}
	buf[i] = '\0';
	return buf;
}

/* ------------------------------------------------------------ output */

static bool
imap_silent(const struct imap_session *s)
{
	return (s->flags & (IMAP_F_CLOSING | IMAP_F_CONN_GONE)) != 0;
}

void
imap_flush(struct imap_session *s)
{
	if (s->out.len > 0 && !imap_silent(s))
		conn_write(s->conn, s->out.data, s->out.len);
	s->out.len = 0;
}

static void imap_vline(struct imap_session *s, const char *prefix,
    const char *fmt, va_list ap) PR_PRINTF(3, 0);

/* One response line: prefix, text, CRLF.  Built in s->out, so a long
 * response code (COPYUID of many messages) is never cut. */
static void
imap_vline(struct imap_session *s, const char *prefix, const char *fmt,
    va_list ap)
{
	if (imap_silent(s))
		return;
	imap_flush(s);
	imap_buf_str(&s->out, prefix);
	imap_buf_vprintf(&s->out, fmt, ap);
	imap_buf_add(&s->out, "\r\n", 2);
	imap_flush(s);
}

void
imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_vline(s, "* ", fmt, ap);
	va_end(ap);
}

void
imap_close(struct imap_session *s, const char *reason, const char *bye)
{
	if (imap_silent(s))
		return;
	if (bye != NULL)
		imap_untagged(s, "BYE %s", bye);
	s->flags |= IMAP_F_CLOSING;
	s->close_reason = reason;
	imap_fetch_free(&s->fetch);
	imap_search_free(&s->search);
	conn_want_writable(s->conn, false);
	conn_close_after_flush(s->conn);
}

/* A client error: past the limit the session ends instead. */
static bool
imap_count_bad(struct imap_session *s)
{
	if (++s->bad_count < IMAP_BAD_MAX)
		return true;
	imap_close(s, "too-many-bad-commands", "Too many invalid commands.");
	return false;
}

/* ----------------------------------------------------- command lifetime */

static void
imap_resume(struct imap_session *s)
{
	if (imap_silent(s))
		return;
	conn_pause_input(s->conn, false);
	/* Inside the input loop the loop itself carries on. */
	if (!(s->flags & IMAP_F_IN_INPUT))
		imap_input(s);
}

/* Forget the command: its tag, arguments and buffers. */
static void
imap_cmd_release(struct imap_session *s)
{
	XFREE(s->tag);
	s->cmd = NULL;
	imap_arena_free(&s->arena);
	s->cmd_len = 0;
	if (s->cmd_cap > IMAP_KEEP_BUFFER) {
		XFREE(s->cmdbuf);
		s->cmd_cap = 0;
	}
	imap_buf_free(&s->out);
}

static void imap_cmd_vfinish(struct imap_session *s, bool bad, const char *fmt,
    va_list ap) PR_PRINTF(3, 0);

static void
imap_cmd_vfinish(struct imap_session *s, bool bad, const char *fmt, va_list ap)
{
	bool resume = (s->flags & IMAP_F_BUSY) != 0;
	char *prefix;

	imap_flush(s);
	/* Untagged updates ride on the end of every command that ran in the
	 * selected state; EXPUNGE only where RFC 3501 7.4.1 allows it. */
	if (!bad && s->cmd != NULL && s->state == IMAP_STATE_SELECTED &&
	    s->view != NULL && !imap_silent(s))
		(void)imap_view_sync(s, !(s->cmd->flags & IMAP_CMD_NO_EXPUNGE));
	if (!bad || imap_count_bad(s)) {
		prefix = xasprintf("%s %s", s->tag != NULL ? s->tag : "*",
		    bad ? "BAD " : "");
		imap_vline(s, prefix, fmt, ap);
		free(prefix);
	}
	imap_cmd_release(s);
	s->flags &= ~(IMAP_F_BUSY | IMAP_F_IDLE | IMAP_F_SASL);
	s->idle_since = 0;
	if (resume)
		imap_resume(s);
}

void
imap_cmd_done(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_cmd_vfinish(s, false, fmt, ap);
	va_end(ap);
}

void
imap_cmd_bad(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_cmd_vfinish(s, true, fmt, ap);
	va_end(ap);
}

void
imap_cmd_fail(struct imap_session *s, const char *text)
{
	if (strncmp(text, "BAD ", 4) == 0)
		imap_cmd_bad(s, "%s", text + 4);
	else
		imap_cmd_done(s, "%s", text);
}

void
imap_cmd_compact(struct imap_session *s)
{
	imap_arena_free(&s->arena);
	XFREE(s->cmdbuf);
	s->cmd_len = s->cmd_cap = 0;
	imap_buf_free(&s->out);
}

void
imap_cmd_wait(struct imap_session *s)
{
	s->flags |= IMAP_F_BUSY;
	conn_pause_input(s->conn, true);
}

void
imap_cmd_resume(struct imap_session *s)
{
	s->flags &= ~IMAP_F_BUSY;
	imap_resume(s);
}

void
imap_job_begin(struct imap_session *s)
{
	s->jobs++;
}

bool
imap_job_end(struct imap_session *s)
{
	s->jobs--;
	if (s->flags & IMAP_F_CONN_GONE) {
		if (s->jobs == 0)
			imap_session_free(s, NULL);
		return true;
	}
	/* Closing (timeout, shutdown): the result has nobody to go to. */
	return (s->flags & IMAP_F_CLOSING) != 0;
}

/* ------------------------------------------------------------- input */

static const struct imap_cmd_def *
imap_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(imap_cmds) / sizeof(imap_cmds[0]); i++)
		if (strcmp(imap_cmds[i].name, name) == 0)
			return &imap_cmds[i];
	return NULL;
}

/* The tag at the start of a command's bytes, for replies to commands that
 * never reach the parser; "*" when there is no usable one. */
static char *
imap_peek_tag(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 64; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == ' ')
			break;
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\+", c) != NULL)
			return xstrdup("*");
	}
	if (i == 0 || i == 64 || i == len)
		return xstrdup("*");
	return xstrndup(buf, i);
}

static void
imap_cmd_add(struct imap_session *s, const void *p, size_t n)
{
	if (s->cmd_len + n > s->cmd_cap) {
		size_t cap = s->cmd_cap > 0 ? s->cmd_cap : 256;

		while (cap < s->cmd_len + n)
			cap *= 2;
		s->cmdbuf = xreallocarray(s->cmdbuf, cap, 1);
		s->cmd_cap = cap;
	}
	memcpy(s->cmdbuf + s->cmd_len, p, n);
	s->cmd_len += n;
}

/*
 * Refuse the command being read with a tagged reply (text starts with
 * "BAD" or "NO").  With a non-synchronizing literal on its way, the client
 * sends it anyway: drop size bytes and the rest of the command, and reply
 * only then so the replies stay in order.
 */
static void imap_refuse(struct imap_session *s, uint64_t size, bool nonsync,
    const char *fmt, ...) PR_PRINTF(4, 5);

static void
imap_refuse(struct imap_session *s, uint64_t size, bool nonsync,
    const char *fmt, ...)
{
	char text[512];
	va_list ap;
	bool bad;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (s->tag == NULL)
		s->tag = imap_peek_tag(s->cmdbuf, s->cmd_len);
	bad = strncmp(text, "BAD", 3) == 0;
	if (!nonsync || size == 0) {
		s->cmd = NULL;
		imap_cmd_fail(s, text);
		return;
	}
	free(s->discard_reply);
	s->discard_reply = xasprintf("%s %s", s->tag, text);
	s->flags |= IMAP_F_DISCARD;
	s->in_mode = IMAP_IN_DISCARD;
	s->literal_left = size;
	imap_cmd_release(s);
	if (bad)
		(void)imap_count_bad(s);
}

void
imap_cmd_refuse_literal(struct imap_session *s, uint64_t size, bool nonsync,
    const char *text)
{
	imap_refuse(s, size, nonsync, "%s", text);
}

/* A line of a refused command, after its dropped literal. */
static void
imap_discard_line(struct imap_session *s, const char *line, size_t len)
{
	uint64_t size;
	bool nonsync;

	if (imap_line_literal(line, len, IMAP_LITERAL_ANY, &size,
	    &nonsync) == 1 && nonsync && size > 0) {
		s->in_mode = IMAP_IN_DISCARD;
		s->literal_left = size;
		return;
	}
	s->flags &= ~IMAP_F_DISCARD;
	if (s->discard_reply != NULL && !imap_silent(s)) {
		conn_write(s->conn, s->discard_reply, strlen(s->discard_reply));
		conn_write(s->conn, "\r\n", 2);
	}
	XFREE(s->discard_reply);
}

static void
imap_dispatch(struct imap_session *s)
{
	const struct imap_cmd_def *def;
	struct imap_command cmd;
	const char *error = "Syntax error";
	enum imap_parse_result r;

	r = imap_parse_command(s->cmdbuf, s->cmd_len, &s->arena, &cmd, &error);
	if (r == IMAP_PARSE_BAD_TAG) {
		s->tag = xstrdup("*");
		imap_cmd_bad(s, "%s", error);
		return;
	}
	s->tag = xstrdup(cmd.tag != NULL ? cmd.tag : "*");
	if (r != IMAP_PARSE_OK) {
		imap_cmd_bad(s, "%s", error);
		return;
	}
	if ((def = imap_cmd_find(cmd.name)) == NULL) {
		imap_cmd_bad(s, "Unknown command %s", cmd.name);
		return;
	}
	if ((def->states & IMAP_STATE_BIT(s->state)) == 0) {
		imap_cmd_bad(s, "%s", s->state == IMAP_STATE_NOT_AUTH ?
		    "Log in first" : s->state == IMAP_STATE_AUTH ?
		    "Select a mailbox first" : "Command not valid in this state");
		return;
	}
	s->cmd = def;
	/* The SASL state is only needed until login; release it here rather
	 * than inside the auth callback that completed the login. */
	if (s->state != IMAP_STATE_NOT_AUTH && s->auth != NULL)
		auth_session_free(&s->auth);
	/* Arguments are not logged: LOGIN carries a password. */
	log_debug(IMAP_LOG "cmd=%s tag=%s", IMAP_LOG_ARGS(s), def->name,
	    s->tag);
	def->fn(s, &cmd);
}

/*
 * The command line just added ends in a literal announcement: is it the
 * message of an APPEND?  Then parse the command so far and hand it over.
 * Returns true if the literal was taken care of.
 */
static bool
imap_try_append(struct imap_session *s, const char *line, size_t len,
    uint64_t size, bool nonsync)
{
	const struct imap_cmd_def *def;
	struct imap_command cmd;
	const char *brace, *error, *p = s->cmdbuf;
	size_t prefix_len, i;

	/* Cheap test first: the second word of the command is APPEND. */
	for (i = 0; i < s->cmd_len && p[i] != ' '; i++)
		;
	if (s->cmd_len - i < 8 || strncasecmp(p + i + 1, "APPEND ", 7) != 0)
		return false;
	brace = memrchr(line, '{', len);
	if (brace == NULL)
		return false;
	prefix_len = s->cmd_len - (len - (size_t)(brace - line));
	while (prefix_len > 0 && (p[prefix_len - 1] == ' ' ||
	    p[prefix_len - 1] == '~'))
		prefix_len--;
	if (imap_parse_command(p, prefix_len, &s->arena, &cmd, &error) !=
	    IMAP_PARSE_OK || strcmp(cmd.name, "APPEND") != 0 ||
	    !imap_append_is_message(&cmd)) {
		imap_arena_free(&s->arena);
		return false;
	}
	def = imap_cmd_find("APPEND");
	s->tag = xstrdup(cmd.tag);
	if ((def->states & IMAP_STATE_BIT(s->state)) == 0) {
		imap_refuse(s, size, nonsync, "BAD %s",
		    s->state == IMAP_STATE_NOT_AUTH ? "Log in first" :
		    "Command not valid in this state");
		return true;
	}
	s->cmd = def;
	log_debug(IMAP_LOG "cmd=APPEND tag=%s size=%llu", IMAP_LOG_ARGS(s),
	    s->tag, (unsigned long long)size);
	imap_append_begin(s, &cmd, size, nonsync);
	return true;
}

static void
imap_command_line(struct imap_session *s, const char *line, size_t len)
{
	uint64_t size = 0;
	bool nonsync = false;
	int lit;

	lit = imap_line_literal(line, len, IMAP_LITERAL_ANY, &size, &nonsync);
	if (s->cmd_len + len > IMAP_MAX_COMMAND) {
		imap_cmd_add(s, line, len < 64 ? len : 64);
		imap_refuse(s, lit == 1 ? size : 0, nonsync,
		    "BAD [TOOBIG] Command too long");
		return;
	}
	imap_cmd_add(s, line, len);
	if (lit != 1) {
		imap_dispatch(s);
		return;
	}
	if (imap_try_append(s, line, len, size, nonsync))
		return;
	if (s->cmd_len + 2 + size > IMAP_MAX_COMMAND) {
		imap_refuse(s, size, nonsync, "BAD [TOOBIG] Literal too big");
		return;
	}
	imap_cmd_add(s, "\r\n", 2);
	if (size > 0) {
		s->in_mode = IMAP_IN_LITERAL;
		s->literal_left = size;
	}
	if (!nonsync && !imap_silent(s))
		conn_printf(s->conn, "+ Ready for literal data\r\n");
}

/* A line that cannot be used: over-long or holding a NUL byte.  Whatever
 * was going on with the client (a command being read, SASL, IDLE) ends
 * with a BAD. */
static void
imap_line_error(struct imap_session *s, const char *text)
{
	if (s->flags & IMAP_F_SASL) {
		auth_abort(s->auth);
		imap_cmd_bad(s, "%s", text);
	} else if (s->flags & IMAP_F_IDLE) {
		imap_cmd_bad(s, "%s", text);
	} else if (s->append != NULL) {
		imap_append_free(&s->append);
		imap_cmd_bad(s, "%s", text);
	} else if (s->flags & IMAP_F_DISCARD) {
		imap_discard_line(s, "", 0);
	} else {
		if (s->tag == NULL)
			s->tag = imap_peek_tag(s->cmdbuf, s->cmd_len);
		imap_cmd_bad(s, "%s", text);
	}
}

static void
imap_input_line(struct imap_session *s, const char *line, size_t len)
{
	if (memchr(line, '\0', len) != NULL) {
		/* Name the command's tag when the line starts one. */
		if (s->cmd_len == 0 && !(s->flags & (IMAP_F_SASL | IMAP_F_IDLE |
		    IMAP_F_DISCARD)) && s->append == NULL)
			s->tag = imap_peek_tag(line, len);
		imap_line_error(s, "NUL byte in command");
		return;
	}
	if (s->flags & IMAP_F_SASL)
		imap_auth_sasl_line(s, line, len);
	else if (s->flags & IMAP_F_IDLE)
		imap_idle_line(s, line, len);
	else if (s->flags & IMAP_F_DISCARD)
		imap_discard_line(s, line, len);
	else if (s->append != NULL)
		imap_append_end(s, line, len);
	else
		imap_command_line(s, line, len);
}

/* Literal bytes: into cmdbuf, into the APPEND delivery, or dropped.
 * False when nothing is buffered. */
static bool
imap_input_literal(struct imap_session *s, struct linebuf *lb)
{
	const char *p;
	size_t n, max = IMAP_CHUNK * 2;

	if (s->literal_left < max)
		max = (size_t)s->literal_left;
	if (linebuf_next_chunk(lb, max, &p, &n) != LINEBUF_OK)
		return false;
	s->literal_left -= n;
	switch (s->in_mode) {
	case IMAP_IN_LITERAL:
		imap_cmd_add(s, p, n);
		break;
	case IMAP_IN_APPEND:
		imap_append_data(s, p, n);
		break;
	case IMAP_IN_DISCARD:
	case IMAP_IN_LINE:
		break;
	}
	if (s->literal_left == 0)
		s->in_mode = IMAP_IN_LINE;
	return true;
}

/* Between two commands: nothing half read (IDLE counts, the client only
 * waits there). */
static bool
imap_between_commands(const struct imap_session *s)
{
	return s->in_mode == IMAP_IN_LINE && s->cmd_len == 0 &&
	    s->append == NULL && !(s->flags & (IMAP_F_DISCARD | IMAP_F_BUSY));
}

static bool
imap_waiting(const struct imap_session *s)
{
	return (s->flags & (IMAP_F_TLS_PENDING | IMAP_F_BUSY |
	    IMAP_F_CLOSING | IMAP_F_CONN_GONE)) != 0;
}

/*
 * Run buffered input until the buffer is empty or a command has to wait.
 * Replies to pipelined commands accumulate in the output buffer and go
 * out together when the loop returns to libev.
 */
static void
imap_input(struct imap_session *s)
{
	struct linebuf *lb;

	if (imap_waiting(s))
		return;
	lb = conn_input(s->conn);
	s->flags |= IMAP_F_IN_INPUT;
	while (!imap_waiting(s)) {
		enum linebuf_result r;
		enum linebuf_eol eol;
		const char *line;
		size_t len;

		/* SIGTERM: a command being received (an APPEND) is
		 * finished first; nothing new is started. */
		if (s->srv->shutting_down && imap_between_commands(s)) {
			imap_close(s, "shutdown", "Server shutting down.");
			break;
		}
		if (s->in_mode != IMAP_IN_LINE) {
			if (!imap_input_literal(s, lb))
				break;
			continue;
		}
		r = linebuf_next_line(lb, &line, &len, &eol);
		if (r == LINEBUF_NEED_MORE)
			break;
		if (r == LINEBUF_TOO_LONG) {
			/* A client waits for its tag: read it off the start
			 * of the line when the line starts a command. */
			if (s->tag == NULL && s->cmd_len == 0 &&
			    s->append == NULL && !(s->flags & (IMAP_F_SASL |
			    IMAP_F_IDLE | IMAP_F_DISCARD)))
				s->tag = imap_peek_tag(line, len);
			imap_line_error(s, "[TOOBIG] Command line too long");
			continue;
		}
		imap_input_line(s, line, len);
	}
	s->flags &= ~IMAP_F_IN_INPUT;
	if (!(s->flags & IMAP_F_CONN_GONE))
		linebuf_shrink(lb);
}

/* ------------------------------------------------------ connection events */

static void
imap_greet(struct imap_session *s)
{
	if (s->srv->shutting_down) {
		imap_close(s, "shutdown", "Server shutting down.");
		return;
	}
	imap_buf_str(&s->out, "* OK [CAPABILITY ");
	imap_capabilities(s, &s->out);
	imap_buf_str(&s->out, "] Postroom ready.\r\n");
	imap_flush(s);
	imap_buf_free(&s->out);
}

/*
 * TLS is up, either right after accept (IMAPS) or after STARTTLS.  After
 * STARTTLS nothing said in plaintext carries over: conn has dropped
 * pipelined input, and the client asks for the capabilities again.
 */
static void
imap_tls_ready(struct imap_session *s)
{
	s->flags &= ~IMAP_F_TLS_PENDING;
	s->flags |= IMAP_F_TLS;
	log_info(IMAP_LOG "event=tls version=%s cipher=%s", IMAP_LOG_ARGS(s),
	    conn_tls_version(s->conn), conn_tls_cipher(s->conn));
	if (s->role == ROLE_IMAPS)
		imap_greet(s);
	imap_input(s);
}

static void
imap_conn_event(struct conn *c, enum conn_event ev, void *arg)
{
	struct imap_session *s = arg;

	switch (ev) {
	case CONN_EV_INPUT:
		imap_input(s);
		break;
	case CONN_EV_WRITABLE:
		if (s->fetch != NULL)
			imap_fetch_continue(s);
		break;
	case CONN_EV_TIMEOUT:
		/* RFC 3501 5.4: the autologout timer (imap_timeout, 30
		 * minutes by default) runs in IDLE too; a client re-issues
		 * IDLE before it expires. */
		imap_close(s, "timeout", "Autologout; idle for too long.");
		break;
	case CONN_EV_TLS_READY:
		imap_tls_ready(s);
		break;
	case CONN_EV_CLOSED:
		imap_session_free(s, s->close_reason != NULL ?
		    s->close_reason : conn_close_reason(c));
		return;
	}
}

void
imap_session_free(struct imap_session *s, const char *reason)
{
	char ubuf[80];

	if (!(s->flags & IMAP_F_CONN_GONE)) {
		log_info(IMAP_LOG "event=disconnect user=%s state=%s reason=%s",
		    IMAP_LOG_ARGS(s), imap_log_text(s->user, ubuf, sizeof(ubuf)),
		    imap_strstate(s->state), reason != NULL ? reason : "-");
		imap_fetch_free(&s->fetch);
		imap_search_free(&s->search);
		imap_append_free(&s->append);
		if (s->auth != NULL)
			auth_session_free(&s->auth);
		imap_view_close(&s->view);
		conn_free(&s->conn);
		s->flags |= IMAP_F_CONN_GONE;
	}
	if (s->jobs > 0)
		return;

	TAILQ_REMOVE(&imap_sessions, s, entry);
	idle_tick_stop();
	server_session_closed(s->srv, s->ip);
	if (s->tls_ctx != NULL)
		SSL_CTX_free(s->tls_ctx);
	imap_arena_free(&s->arena);
	imap_buf_free(&s->out);
	free(s->discard_reply);
	free(s->cmdbuf);
	free(s->tag);
	free(s->user);
	free(s);
}

size_t
imap_sessions_memory(void)
{
	const struct imap_session *s;
	size_t n = 0;

	TAILQ_FOREACH(s, &imap_sessions, entry) {
		n += sizeof(*s) + s->cmd_cap + s->out.cap + s->arena.used +
		    imap_view_memory(s->view) + imap_fetch_memory(s->fetch);
		if (s->conn != NULL)
			n += conn_memory(s->conn);
		if (s->user != NULL)
			n += strlen(s->user) + 1;
		if (s->tag != NULL)
			n += strlen(s->tag) + 1;
	}
	return n;
}

void
imap_init(struct pr_server *srv)
{
	imap_view_hook_install(srv->ms);
}

void
imap_accept(struct pr_server *srv, int fd, enum listener_role role)
{
	struct imap_session *s;

	imap_init(srv);
	s = xcalloc(1, sizeof(*s));
	s->id = server_session_id();
	s->srv = srv;
	s->role = role;
	s->state = IMAP_STATE_NOT_AUTH;
	s->allow_plaintext = srv->cfg->allow_plaintext_auth;
	s->max_message = srv->cfg->max_message_size;
	if (srv->tls_ctx != NULL && SSL_CTX_up_ref(srv->tls_ctx) == 1)
		s->tls_ctx = srv->tls_ctx;
	s->conn = conn_new(srv->loop, fd, IMAP_LINE_MAX, imap_conn_event, s);
	snprintf(s->ip, sizeof(s->ip), "%s", conn_peer_ip(s->conn));
	conn_set_timeout(s->conn, srv->cfg->imap_timeout);
	TAILQ_INSERT_TAIL(&imap_sessions, s, entry);
	idle_tick_start(srv);

	log_info(IMAP_LOG "event=connect role=%s port=%d", IMAP_LOG_ARGS(s),
	    config_role_name(role), conn_local_port(s->conn));

	if (role == ROLE_IMAPS) {
		if (s->tls_ctx == NULL) {
			log_warnx(IMAP_LOG "event=error reason=no-tls-context",
			    IMAP_LOG_ARGS(s));
			imap_close(s, "no-tls-context", NULL);
		} else {
			s->flags |= IMAP_F_TLS_PENDING;
			conn_start_tls(s->conn, s->tls_ctx);
		}
	} else {
		imap_greet(s);
	}
	conn_start(s->conn);
}

/*
 * SIGTERM.  Sessions waiting for the client between commands (IDLE
 * included) are told and closed now; the ones in the middle of a command,
 * or of receiving one (an APPEND), finish it, and imap_input() closes them
 * before they start the next one.
 */
void
imap_shutdown(struct pr_server *srv)
{
	struct imap_session *s;

	TAILQ_FOREACH(s, &imap_sessions, entry) {
		if (s->srv != srv || imap_waiting(s) ||
		    !imap_between_commands(s))
			continue;
		imap_close(s, "shutdown", "Server shutting down.");
	}
}
