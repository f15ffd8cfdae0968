/* SPDX-License-Identifier: ISC */
/*
 * imap_loadgen: the client of the IMAP benchmark's "mix" workload.
 *
 * On a small machine a client written in Python spends more CPU per IMAP
 * command than an efficient server does, so the client, not the server,
 * sets the measured rate.  This program runs the same workload as the mix
 * mode of imap_load.py from one process and one thread: every session is a
 * non-blocking socket in one epoll set, a response costs a read and a scan
 * for line ends, and only the latency samples grow as commands complete.
 *
 * Each of --clients sessions logs in as its own user (user 1..clients from
 * --user-fmt), asks CAPABILITY (for LITERAL+), and waits.  Once all are
 * logged in (or failed), the run starts for all at once and each session
 * repeats, one command at a time:
 *
 *   SELECT INBOX
 *   FETCH 1:min(20,EXISTS) (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])
 *   FETCH n BODY.PEEK[]                      n random in 1..EXISTS
 *   STORE n +FLAGS (\Seen)
 *   SEARCH UNSEEN
 *   APPEND INBOX {size}                      LITERAL+ when offered
 *   UID STORE <APPENDUID> +FLAGS.SILENT (\Deleted)
 *   EXPUNGE
 *
 * A command counts when its tagged OK arrives within --duration seconds of
 * the start; a NO or BAD, a protocol error, a closed connection or a
 * timeout ends that session and counts as one error, as in imap_load.py.
 * A session finishes the cycle it is in when the time is up (uncounted, so
 * the mailbox keeps its size) and logs out.  One JSON object with the keys
 * imap_load.py's mix mode prints goes to stdout; error texts to stderr.
 *
 * The benchmark script compiles this file on its own (cc -O2), outside
 * the project's build, so it uses only the C library and Linux's epoll.
 */
#define _GNU_SOURCE

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define INBUF_SIZE	(256 * 1024)	/* per session; also the longest line */
#define HEAD_MAX	512		/* first line kept of a response with literals */
#define MAX_CLIENTS	10000
#define ERRORS_SHOWN	5		/* error texts printed to stderr */
#define TICK_MS		100		/* how often timeouts are checked */

enum mix_kind {
	MIX_SELECT,
	MIX_FETCH_HEADERS,
	MIX_FETCH_BODY,
	MIX_STORE,
	MIX_SEARCH,
	MIX_APPEND,
	MIX_STORE_DELETED,
	MIX_EXPUNGE,
	MIX_KINDS
};

/* the JSON names, those of imap_load.py's CMDS, in cycle order */
static const char *const mix_kind_names[MIX_KINDS] = {
	"select", "fetch_headers", "fetch_body", "store", "search", "append",
	"store_deleted", "expunge",
};

enum session_step {
	STEP_CONNECT,		/* TCP connect in progress */
	STEP_GREETING,		/* waiting for "* OK" */
	STEP_LOGIN,
	STEP_CAPABILITY,
	STEP_READY,		/* logged in, waiting for the common start */
	STEP_CYCLE,		/* a cycle command (s->kind) in flight */
	STEP_LOGOUT,
	STEP_DONE,		/* logged out, socket closed */
	STEP_FAILED,		/* error counted, socket closed */
};

struct options {
	const char *host;
	const char *port;
	const char *user_fmt;		/* one %d: the user number */
	const char *password;
	unsigned clients;
	double duration;		/* seconds counted */
	unsigned size;			/* bytes of the APPENDed message */
	unsigned seed;
	double timeout;			/* seconds per command, and for connect */
	bool no_literal_plus;		/* always synchronizing literals */
};

struct latencies {
	double *v;			/* seconds, in completion order */
	size_t n, cap;
};

struct loadgen;

struct session {
	struct loadgen *lg;
	int fd;
	unsigned user;			/* user number, 1..clients */
	enum session_step step;
	enum mix_kind kind;		/* in STEP_CYCLE: the command in flight */
	bool literal_plus;		/* use {n+} for APPEND */
	bool wait_cont;			/* APPEND announced {n}, waiting for '+' */
	bool want_write;		/* EPOLLOUT armed */
	unsigned tagno;
	char tag[16];
	size_t tag_len;
	unsigned long exists;		/* from the last "* n EXISTS" */
	unsigned long msgno;		/* this cycle's FETCH body and STORE target */
	unsigned long appended_uid;	/* from [APPENDUID v uid] */
	uint64_t rnd;			/* splitmix64 state */
	double sent_at;			/* monotonic seconds */
	double deadline;		/* for the command in flight */

	char *msg;			/* this session's APPEND message */
	size_t msg_len;

	char *in;			/* INBUF_SIZE bytes */
	size_t in_len;
	uint64_t lit_left;		/* bytes of a literal still to skip */
	bool in_resp;			/* a response with literals in progress */
	char head[HEAD_MAX];		/* its first line, maybe truncated */
	size_t head_len;

	char *out;			/* queued output, out_off..out_len unsent */
	size_t out_len, out_off, out_cap;
};

struct loadgen {
	struct options opt;
	int ep;
	struct addrinfo *addr;
	struct session *sessions;
	unsigned ready;			/* sessions in STEP_READY */
	unsigned finished;		/* sessions DONE or FAILED */
	bool started;
	double start, stop;		/* monotonic seconds */
	uint64_t count[MIX_KINDS];
	struct latencies lat[MIX_KINDS];
	unsigned errors;
	char error_text[ERRORS_SHOWN][256];
};

static void session_fail(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void session_cmd(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void __attribute__((noreturn))
die(const char *msg)
{
	fprintf(stderr, "imap_loadgen: %s\n", msg);
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory");
	return p;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: small, fast and good enough to pick message numbers */
static uint64_t
rnd_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * User name number n from a template with exactly one "%d" ("%%" is a
 * percent sign).  The template comes from the environment, so it is
 * expanded here rather than handed to printf as a format.
 */
static int
user_name(const char *fmt, unsigned n, char *buf, size_t size)
{
	size_t o = 0;
	int digits = 0;
	char num[16];

	snprintf(num, sizeof(num), "%u", n);
	for (const char *p = fmt; *p != '\0'; p++) {
		const char *add = p;
		size_t len = 1;

		if (*p == '%') {
			p++;
			if (*p == 'd' && digits++ == 0) {
				add = num;
				len = strlen(num);
			} else if (*p != '%')
				return -1;
		}
		if (o + len >= size)
			return -1;
		memcpy(buf + o, add, len);
		o += len;
	}
	buf[o] = '\0';
	return digits == 1 ? 0 : -1;
}

/* s as an IMAP quoted string into buf; -1 if it cannot be quoted or fit */
static int
imap_quote(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	if (size < 3)
		return -1;
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n')
			return -1;
		if (o + 4 > size)
			return -1;
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return 0;
}

/*
 * A plain text message of about size bytes with CRLF line ends, shaped
 * like imap_load.py's make_message() so both clients APPEND the same.
 */
static char *
make_message(unsigned size, unsigned seq, uint64_t *rnd, size_t *len_r)
{
	static const char line[] =
	    "The quick brown fox jumps over the lazy dog, benchmark text line.\r\n";
	const size_t line_len = sizeof(line) - 1;
	char head[512];
	size_t head_len, lines, len;
	char *m;
	int n;

	n = snprintf(head, sizeof(head),
	    "From: Bench Sender <sender%u@bench.test>\r\n"
	    "To: user@bench.test\r\n"
	    "Subject: benchmark message %u %08" PRIx32 "\r\n"
	    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
	    "Message-ID: <%u.%08" PRIx32 "@bench.test>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
	    seq % 97, seq, (uint32_t)rnd_next(rnd), seq, (uint32_t)rnd_next(rnd));
	if (n < 0 || (size_t)n >= sizeof(head))
		die("message header too long");
	head_len = (size_t)n;
	lines = size > head_len ? (size - head_len) / line_len : 0;
	if (lines == 0)
		lines = 1;
	len = head_len + lines * line_len;
	m = xrealloc(NULL, len);
	memcpy(m, head, head_len);
	for (size_t i = 0; i < lines; i++)
		memcpy(m + head_len + i * line_len, line, line_len);
	*len_r = len;
	return m;
}

/* --- output ------------------------------------------------------------ */

static void
session_watch(struct session *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(s->lg->ep, EPOLL_CTL_MOD, s->fd, &ev) == -1)
		die("epoll_ctl");
}

static void
out_append(struct session *s, const void *p, size_t len)
{
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	if (s->out_len + len > s->out_cap) {
		s->out_cap = (s->out_len + len) * 2;
		s->out = xrealloc(s->out, s->out_cap);
	}
	memcpy(s->out + s->out_len, p, len);
	s->out_len += len;
}

/*
 * Writes what is queued.  A command is usually taken whole by the kernel,
 * so EPOLLOUT is armed only for the rest of a short write.
 */
static void
out_flush(struct session *s)
{
	if (s->fd == -1)
		return;
	while (s->out_off < s->out_len) {
		ssize_t n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off,
		    MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1) {
			session_fail(s, "write: %s", strerror(errno));
			return;
		}
		s->out_off += (size_t)n;
	}
	if ((s->out_off < s->out_len) != s->want_write) {
		s->want_write = !s->want_write;
		session_watch(s, EPOLLIN | (s->want_write ? EPOLLOUT : 0));
	}
}

/* Sends "TAG <command>\r\n" with a new tag and starts its clock. */
static void
session_cmd(struct session *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	s->tag_len = (size_t)snprintf(s->tag, sizeof(s->tag), "a%u", ++s->tagno);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		die("command too long");
	out_append(s, s->tag, s->tag_len);
	out_append(s, " ", 1);
	out_append(s, buf, (size_t)n);
	out_append(s, "\r\n", 2);
	s->sent_at = now_s();
	s->deadline = s->sent_at + s->lg->opt.timeout;
	out_flush(s);
}

/* APPEND: with LITERAL+ in one write, otherwise the message waits for '+' */
static void
session_append(struct session *s)
{
	if (s->literal_plus) {
		session_cmd(s, "APPEND INBOX {%zu+}", s->msg_len);
		out_append(s, s->msg, s->msg_len);
		out_append(s, "\r\n", 2);
		out_flush(s);
	} else {
		s->wait_cont = true;
		session_cmd(s, "APPEND INBOX {%zu}", s->msg_len);
	}
}

/* --- session life ------------------------------------------------------ */

static void
session_close(struct session *s, enum session_step step)
{
	if (s->step == STEP_READY)
		s->lg->ready--;
	if (s->fd != -1) {
		close(s->fd);	/* also leaves the epoll set */
		s->fd = -1;
	}
	s->step = step;
	s->lg->finished++;
}

static void
session_fail(struct session *s, const char *fmt, ...)
{
	struct loadgen *lg = s->lg;
	va_list ap;

	if (s->step == STEP_DONE || s->step == STEP_FAILED)
		return;
	if (lg->errors < ERRORS_SHOWN) {
		char *t = lg->error_text[lg->errors];
		int n = snprintf(t, sizeof(lg->error_text[0]), "client %u: ", s->user);

		va_start(ap, fmt);
		vsnprintf(t + n, sizeof(lg->error_text[0]) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	lg->errors++;
	session_close(s, STEP_FAILED);
}

static void
session_connect(struct session *s)
{
	const struct addrinfo *ai = s->lg->addr;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
	int one = 1;

	s->step = STEP_CONNECT;
	s->deadline = now_s() + s->lg->opt.timeout;
	s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (s->fd == -1) {
		session_fail(s, "socket: %s", strerror(errno));
		return;
	}
	/* one small command at a time: Nagle would add delays, not save packets */
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS) {
		session_fail(s, "connect: %s", strerror(errno));
		return;
	}
	if (epoll_ctl(s->lg->ep, EPOLL_CTL_ADD, s->fd, &ev) == -1)
		die("epoll_ctl");
	s->want_write = true;
}

/* The common start: every session still alive sends its first SELECT. */
static void
loadgen_start(struct loadgen *lg)
{
	lg->started = true;
	lg->start = now_s();
	lg->stop = lg->start + lg->opt.duration;
	for (unsigned i = 0; i < lg->opt.clients; i++) {
		struct session *s = &lg->sessions[i];

		if (s->step != STEP_READY)
			continue;
		lg->ready--;
		s->step = STEP_CYCLE;
		s->kind = MIX_SELECT;
		session_cmd(s, "SELECT INBOX");
	}
}

static void
record(struct loadgen *lg, enum mix_kind k, double latency)
{
	struct latencies *l = &lg->lat[k];

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = latency;
	lg->count[k]++;
}

/* [APPENDUID uidvalidity uid] in a tagged OK; 0 if there is none */
static unsigned long
appenduid(const char *line, size_t len)
{
	static const char key[] = "[APPENDUID ";
	const char *p = memmem(line, len, key, sizeof(key) - 1);
	const char *end = line + len;
	unsigned long uid = 0;

	if (p == NULL)
		return 0;
	p += sizeof(key) - 1;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == end || *p++ != ' ')
		return 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (uid > 0xffffffffUL)
			return 0;
		uid = uid * 10 + (unsigned long)(*p - '0');
	}
	return p < end && *p == ']' ? uid : 0;
}

/*
 * The next command of the cycle once the previous one got its OK.  The
 * cycle is the one of imap_load.py's mix_client(), command for command.
 */
static void
cycle_next(struct session *s, const char *line, size_t len)
{
	struct loadgen *lg = s->lg;
	unsigned long hi;

	switch (s->kind) {
	case MIX_SELECT:
		hi = s->exists < 20 ? (s->exists ? s->exists : 1) : 20;
		s->kind = MIX_FETCH_HEADERS;
		session_cmd(s, "FETCH 1:%lu (FLAGS BODY.PEEK[HEADER.FIELDS "
		    "(FROM SUBJECT DATE)])", hi);
		break;
	case MIX_FETCH_HEADERS:
		s->msgno = 1 + rnd_next(&s->rnd) % (s->exists ? s->exists : 1);
		s->kind = MIX_FETCH_BODY;
		session_cmd(s, "FETCH %lu BODY.PEEK[]", s->msgno);
		break;
	case MIX_FETCH_BODY:
		s->kind = MIX_STORE;
		session_cmd(s, "STORE %lu +FLAGS (\\Seen)", s->msgno);
		break;
	case MIX_STORE:
		s->kind = MIX_SEARCH;
		session_cmd(s, "SEARCH UNSEEN");
		break;
	case MIX_SEARCH:
		s->kind = MIX_APPEND;
		session_append(s);
		break;
	case MIX_APPEND:
		if ((s->appended_uid = appenduid(line, len)) == 0) {
			session_fail(s, "APPEND without APPENDUID: %.*s", (int)len, line);
			break;
		}
		s->kind = MIX_STORE_DELETED;
		session_cmd(s, "UID STORE %lu +FLAGS.SILENT (\\Deleted)", s->appended_uid);
		break;
	case MIX_STORE_DELETED:
		s->kind = MIX_EXPUNGE;
		session_cmd(s, "EXPUNGE");
		break;
	case MIX_EXPUNGE:
	case MIX_KINDS:
		if (now_s() < lg->stop) {
			s->kind = MIX_SELECT;
			session_cmd(s, "SELECT INBOX");
		} else {
			s->step = STEP_LOGOUT;
			session_cmd(s, "LOGOUT");
		}
		break;
	}
}

/* A tagged OK for the command in flight. */
static void
session_ok(struct session *s, const char *line, size_t len)
{
	struct loadgen *lg = s->lg;
	double now;

	switch (s->step) {
	case STEP_LOGIN:
		s->step = STEP_CAPABILITY;
		session_cmd(s, "CAPABILITY");
		break;
	case STEP_CAPABILITY:
		s->step = STEP_READY;
		lg->ready++;
		break;
	case STEP_CYCLE:
		now = now_s();
		if (now <= lg->stop)
			record(lg, s->kind, now - s->sent_at);
		cycle_next(s, line, len);
		break;
	case STEP_LOGOUT:
		session_close(s, STEP_DONE);
		break;
	default:
		session_fail(s, "tagged reply in step %d", (int)s->step);
		break;
	}
}

static bool
has_prefix_ci(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(p, prefix, n) == 0;
}

/* "* n EXISTS": updates s->exists, like imap_load.py's Session.cmd() */
static void
untagged(struct session *s, const char *line, size_t len)
{
	const char *p = line + 2, *end = line + len;
	unsigned long n = 0;

	if (s->step == STEP_CAPABILITY && !s->lg->opt.no_literal_plus &&
	    has_prefix_ci(line + 2, len - 2, "CAPABILITY ")) {
		for (const char *q = line; q + 9 <= end; q++)
			if (has_prefix_ci(q, (size_t)(end - q), " LITERAL+"))
				s->literal_plus = true;
		return;
	}
	if (p == end || *p < '0' || *p > '9')
		return;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (n > 0xffffffffUL)
			return;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if ((size_t)(end - p) == 7 && strncasecmp(p, " EXISTS", 7) == 0)
		s->exists = n;
}

static void
session_login(struct session *s)
{
	char user[256], quser[520], qpass[520];

	if (user_name(s->lg->opt.user_fmt, s->user, user, sizeof(user)) == -1 ||
	    imap_quote(user, quser, sizeof(quser)) == -1 ||
	    imap_quote(s->lg->opt.password, qpass, sizeof(qpass)) == -1)
		die("cannot quote the user name or password");
	s->step = STEP_LOGIN;
	session_cmd(s, "LOGIN %s %s", quser, qpass);
}

/*
 * One complete response: its first line without CRLF (of a response
 * carrying literals, the part before the first literal, at most HEAD_MAX
 * bytes).  Decides by the first bytes: greeting, continuation, untagged,
 * or the tagged completion of the command in flight.
 */
static void
session_response(struct session *s, const char *line, size_t len)
{
	const char *st;
	size_t st_len;

	if (s->step == STEP_GREETING) {
		if (has_prefix_ci(line, len, "* OK"))
			session_login(s);
		else
			session_fail(s, "greeting: %.*s", (int)len, line);
		return;
	}
	if (len >= 1 && line[0] == '+') {
		if (!s->wait_cont) {
			session_fail(s, "unexpected continuation: %.*s", (int)len, line);
			return;
		}
		s->wait_cont = false;
		out_append(s, s->msg, s->msg_len);
		out_append(s, "\r\n", 2);
		out_flush(s);
		return;
	}
	if (len >= 2 && line[0] == '*' && line[1] == ' ') {
		untagged(s, line, len);
		return;
	}
	if (len <= s->tag_len || memcmp(line, s->tag, s->tag_len) != 0 ||
	    line[s->tag_len] != ' ') {
		session_fail(s, "unexpected response: %.*s", (int)len, line);
		return;
	}
	st = line + s->tag_len + 1;
	st_len = len - s->tag_len - 1;
	s->wait_cont = false;
	if (s->step == STEP_LOGOUT ||
	    (has_prefix_ci(st, st_len, "OK") && (st_len == 2 || st[2] == ' ')))
		session_ok(s, line, len);
	else
		session_fail(s, "%s: %.*s", s->step == STEP_CYCLE ?
		    mix_kind_names[s->kind] : "login", (int)len, line);
}

/* "{n}" at the end of a line: the size of the literal that follows */
static bool
literal_size(const char *line, size_t len, uint64_t *size_r)
{
	size_t i;
	uint64_t n = 0;

	if (len < 3 || line[len - 1] != '}')
		return false;
	i = len - 1;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == 0 || line[i - 1] != '{' || i == len - 1 || len - 1 - i > 15)
		return false;
	for (; i < len - 1; i++)
		n = n * 10 + (uint64_t)(line[i] - '0');
	*size_r = n;
	return true;
}

/*
 * Splits the input into responses.  A response is a line, or a line
 * ending in "{n}", n bytes of literal and the rest of the response (which
 * may announce another literal).  Only a response's first line tells this
 * client anything, so literals are skipped where they lie, without being
 * copied.  Stops early when the session ends.
 */
static void
session_input(struct session *s)
{
	size_t off = 0;

	while (s->step != STEP_FAILED && s->step != STEP_DONE) {
		const char *p = s->in + off, *nl;
		size_t avail = s->in_len - off, len;
		uint64_t lit;

		if (s->lit_left > 0) {
			size_t n = avail < s->lit_left ? avail : (size_t)s->lit_left;

			off += n;
			s->lit_left -= n;
			if (s->lit_left > 0)
				break;
			continue;
		}
		if ((nl = memchr(p, '\n', avail)) == NULL) {
			if (off == 0 && s->in_len == INBUF_SIZE)
				session_fail(s, "response line over %d bytes", INBUF_SIZE);
			break;
		}
		off += (size_t)(nl - p) + 1;
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (literal_size(p, len, &lit)) {
			if (!s->in_resp) {
				s->in_resp = true;
				s->head_len = len < HEAD_MAX ? len : HEAD_MAX;
				memcpy(s->head, p, s->head_len);
			}
			s->lit_left = lit;
			continue;
		}
		if (s->in_resp) {
			s->in_resp = false;
			session_response(s, s->head, s->head_len);
		} else
			session_response(s, p, len);
	}
	if (off > 0) {
		memmove(s->in, s->in + off, s->in_len - off);
		s->in_len -= off;
	}
}

static void
session_readable(struct session *s)
{
	ssize_t n;

	n = recv(s->fd, s->in + s->in_len, INBUF_SIZE - s->in_len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n == -1) {
		session_fail(s, "read: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		/* a server may close right after its BYE to LOGOUT */
		if (s->step == STEP_LOGOUT)
			session_close(s, STEP_DONE);
		else
			session_fail(s, "connection closed");
		return;
	}
	s->in_len += (size_t)n;
	session_input(s);
}

static void
session_event(struct session *s, uint32_t events)
{
	/* closed earlier in the same batch of events */
	if (s->fd == -1)
		return;
	if (s->step == STEP_CONNECT) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			session_fail(s, "connect: %s", strerror(err));
			return;
		}
		s->step = STEP_GREETING;
		s->deadline = now_s() + s->lg->opt.timeout;
		s->want_write = false;
		session_watch(s, EPOLLIN);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		session_readable(s);
	if ((events & EPOLLOUT) && s->fd != -1)
		out_flush(s);
}

static void
check_timeouts(struct loadgen *lg, double now)
{
	for (unsigned i = 0; i < lg->opt.clients; i++) {
		struct session *s = &lg->sessions[i];

		if (s->step == STEP_DONE || s->step == STEP_FAILED || s->step == STEP_READY)
			continue;
		if (now > s->deadline)
			session_fail(s, "no reply in %.0f s (%s)", lg->opt.timeout,
			    s->step == STEP_CYCLE ? mix_kind_names[s->kind] : "login");
	}
}

static void
loadgen_loop(struct loadgen *lg)
{
	struct epoll_event ev[64];
	double next_check = now_s() + TICK_MS / 1000.0;

	while (lg->finished < lg->opt.clients) {
		int n = epoll_wait(lg->ep, ev, 64, TICK_MS);
		double now;

		if (n == -1 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++)
			session_event(ev[i].data.ptr, ev[i].events);
		now = now_s();
		if (now >= next_check) {
			check_timeouts(lg, now);
			next_check = now + TICK_MS / 1000.0;
		}
		if (!lg->started && lg->ready + lg->finished == lg->opt.clients)
			loadgen_start(lg);
	}
}

/* --- report ------------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* the q quantile as imap_load.py's pct() picks it, in ms */
static double
pct_ms(const struct latencies *l, double q)
{
	size_t i;

	if (l->n == 0)
		return 0.0;
	i = (size_t)(q * (double)l->n);
	if (i > l->n - 1)
		i = l->n - 1;
	return 1000.0 * l->v[i];
}

static void
report(struct loadgen *lg)
{
	struct rusage ru;
	uint64_t total = 0;
	double cpu;

	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	for (int k = 0; k < MIX_KINDS; k++) {
		total += lg->count[k];
		if (lg->lat[k].n > 0)	/* v is NULL before the first sample */
			qsort(lg->lat[k].v, lg->lat[k].n, sizeof(double), cmp_double);
	}
	printf("{\"mode\": \"mix\", \"client\": \"c\", \"clients\": %u, \"procs\": 1, "
	    "\"duration\": %g, \"commands\": %" PRIu64 ", \"cmds_per_s\": %.1f, "
	    "\"cycles_per_s\": %.1f, \"per_command\": {",
	    lg->opt.clients, lg->opt.duration, total, total / lg->opt.duration,
	    lg->count[MIX_EXPUNGE] / lg->opt.duration);
	for (int k = 0; k < MIX_KINDS; k++)
		printf("%s\"%s\": {\"n\": %" PRIu64 ", \"p50_ms\": %.2f, \"p99_ms\": %.2f}",
		    k ? ", " : "", mix_kind_names[k], lg->count[k],
		    pct_ms(&lg->lat[k], 0.5), pct_ms(&lg->lat[k], 0.99));
	printf("}, \"errors\": %u, \"client_cpu_s\": %.2f}\n", lg->errors, cpu);
	for (unsigned i = 0; i < lg->errors && i < ERRORS_SHOWN; i++)
		fprintf(stderr, "imap_loadgen: %s\n", lg->error_text[i]);
}

/* --- main -------------------------------------------------------------- */

static void __attribute__((noreturn))
usage(FILE *f, int status)
{
	fprintf(f,
	    "usage: imap_loadgen [options]\n"
	    "  --host H, --port P     the IMAP server (127.0.0.1, 143)\n"
	    "  --user-fmt F           user names, %%d the number 1..clients (user%%d@bench.test)\n"
	    "  --password W           every user's password (secret)\n"
	    "  --clients N            sessions, one user each (1)\n"
	    "  --duration S           seconds counted from the common start (10)\n"
	    "  --size B               bytes of the APPENDed message (4096)\n"
	    "  --seed N               for the message numbers fetched (1)\n"
	    "  --timeout S            seconds a command may take (60)\n"
	    "  --no-literal-plus      APPEND with a synchronizing literal even if\n"
	    "                         the server offers LITERAL+\n");
	exit(status);
}

static double
number_arg(const char *name, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "imap_loadgen: bad %s '%s'\n", name, s);
		exit(2);
	}
	return v;
}

static void
parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "user-fmt", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'w' },
		{ "clients", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-literal-plus", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct options){
		.host = "127.0.0.1", .port = "143", .user_fmt = "user%d@bench.test",
		.password = "secret", .clients = 1, .duration = 10.0, .size = 4096,
		.seed = 1, .timeout = 60.0,
	};
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = optarg; break;
		case 'u': o->user_fmt = optarg; break;
		case 'w': o->password = optarg; break;
		case 'c': o->clients = (unsigned)number_arg("--clients", optarg, 1, MAX_CLIENTS); break;
		case 'd': o->duration = number_arg("--duration", optarg, 0.1, 86400); break;
		case 's': o->size = (unsigned)number_arg("--size", optarg, 1, 64 << 20); break;
		case 'r': o->seed = (unsigned)number_arg("--seed", optarg, 0, 1000000); break;
		case 't': o->timeout = number_arg("--timeout", optarg, 0.1, 3600); break;
		case 'n': o->no_literal_plus = true; break;
		case 'H': usage(stdout, 0);
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
}

int
main(int argc, char **argv)
{
	static struct loadgen lg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	char probe[256];
	int rc;

	parse_options(&lg.opt, argc, argv);
	if (user_name(lg.opt.user_fmt, 1, probe, sizeof(probe)) == -1)
		die("--user-fmt needs exactly one %d (and %% for a percent sign)");
	if ((rc = getaddrinfo(lg.opt.host, lg.opt.port, &hints, &lg.addr)) != 0) {
		fprintf(stderr, "imap_loadgen: %s:%s: %s\n", lg.opt.host, lg.opt.port,
		    gai_strerror(rc));
		return 2;
	}
	if ((lg.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	lg.sessions = xrealloc(NULL, lg.opt.clients * sizeof(*lg.sessions));
	for (unsigned i = 0; i < lg.opt.clients; i++) {
		struct session *s = &lg.sessions[i];

		*s = (struct session){
			.lg = &lg, .fd = -1, .user = i + 1,
			.rnd = (uint64_t)lg.opt.seed * 1000 + i + 1,
			.in = xrealloc(NULL, INBUF_SIZE),
		};
		s->msg = make_message(lg.opt.size, s->user, &s->rnd, &s->msg_len);
		session_connect(s);
	}
	loadgen_loop(&lg);
	report(&lg);
	return 0;
}
