/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/conn.c and common/tls.c.
 *
 * Each test runs a private ev_loop with one conn on one end of a
 * socketpair().  A small echo-like owner answers lines ("echo: <line>")
 * and knows a few commands (PAUSE, QUIT, BIG, STARTTLS, ...).  The test
 * plays the peer on the other end: in plaintext tests through an ev_io
 * watcher in the same loop, in TLS tests from a thread with a blocking
 * client SSL.  Every loop run is bounded by a guard timer, and blocking
 * sockets get SO_RCVTIMEO/SO_SNDTIMEO, so nothing can hang.
 *
 * The owner asserts that it is never called from inside a conn_*() call
 * the test makes (the re-entrancy rule in conn.h).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/conn.h"
#include "common/tls.h"
#include "common/xmalloc.h"

#define BIG_SIZE	(1024 * 1024)	/* the streamed output */
#define CLOSEBIG_SIZE	(200 * 1024)	/* output queued before a close */
#define BURST_LINES	300		/* 1800 bytes in one TLS record */

struct tmpfiles {
	char	dir[256];
	char	sub[300];
	char	cert[320];
	char	key[320];
};

struct fixture {
	struct ev_loop	*loop;
	struct conn	*c;
	int		 peer;		/* the test's end of the socketpair */
	bool		 in_conn_call;	/* the test is inside a conn_*() call */

	/* what the owner saw */
	int		 n_input, n_writable, n_timeout, n_tls_ready, n_closed;
	char		 reason[256];
	char		 lines[8192];	/* "line|" each, "!|" per TOO_LONG */
	bool		 owner_paused;
	bool		 free_on_close;
	size_t		 stream_left;
	size_t		 stream_pos;
	size_t		 max_pending;
	char		 tls_version[32];
	char		 tls_cipher[64];
	SSL_CTX		*ctx;
	struct tmpfiles	 tmp[2];	/* removed by teardown() */

	/* what the peer received (plaintext tests) */
	ev_io		 peer_w;
	char		*peer_buf;
	size_t		 peer_len, peer_size;
	bool		 peer_eof;
};

static struct fixture F;

#define CONN_CALL(expr) do {		\
	F.in_conn_call = true;		\
	expr;				\
	F.in_conn_call = false;		\
} while (0)

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i % 251);
}

/* Where p[0..n) first differs from the pattern, or -1.  (One ck_assert
 * per byte would be slow: Check records every passed assertion.) */
static long
pattern_mismatch(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] != pattern(i))
			return (long)i;
	return -1;
}

/* ---- the owner ---- */

static void
owner_record(const char *p, size_t n)
{
	size_t used = strlen(F.lines);

	ck_assert_uint_lt(used + n + 2, sizeof(F.lines));
	memcpy(F.lines + used, p, n);
	F.lines[used + n] = '|';
	F.lines[used + n + 1] = '\0';
}

static void
owner_stream(void)
{
	unsigned char chunk[16384];
	size_t n;

	while (F.stream_left > 0 &&
	    conn_output_pending(F.c) < CONN_LOW_WATER) {
		n = F.stream_left < sizeof(chunk) ? F.stream_left :
		    sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern(F.stream_pos + i);
		conn_write(F.c, chunk, n);
		F.stream_pos += n;
		F.stream_left -= n;
		if (conn_output_pending(F.c) > F.max_pending)
			F.max_pending = conn_output_pending(F.c);
	}
	if (F.stream_left == 0) {
		conn_want_writable(F.c, false);
		/* Commands that came in behind BIG are answered after it. */
		if (F.owner_paused) {
			F.owner_paused = false;
			conn_pause_input(F.c, false);
		}
	}
}

static bool
line_is(const char *line, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(line, s, len) == 0;
}

static void
owner_input(void)
{
	struct linebuf *lb = conn_input(F.c);
	enum linebuf_result r;
	enum linebuf_eol eol;
	const char *line;
	size_t len;

	while (!F.owner_paused &&
	    (r = linebuf_next_line(lb, &line, &len, &eol)) !=
	    LINEBUF_NEED_MORE) {
		if (r == LINEBUF_TOO_LONG) {
			owner_record("!", 1);
			conn_printf(F.c, "too long\r\n");
			continue;
		}
		owner_record(line, len);
		if (line_is(line, len, "PAUSE")) {
			conn_pause_input(F.c, true);
			F.owner_paused = true;
			return;
		} else if (line_is(line, len, "QUIT")) {
			conn_printf(F.c, "bye\r\n");
			conn_close_after_flush(F.c);
			return;
		} else if (line_is(line, len, "STARTTLS")) {
			conn_printf(F.c, "go ahead\r\n");
			conn_start_tls(F.c, F.ctx);
			return;
		} else if (line_is(line, len, "BIG")) {
			F.stream_left = BIG_SIZE;
			F.stream_pos = 0;
			F.owner_paused = true;
			conn_pause_input(F.c, true);
			conn_want_writable(F.c, true);
			owner_stream();
		} else if (line_is(line, len, "CLOSEBIG")) {
			F.stream_left = CLOSEBIG_SIZE;
			F.stream_pos = 0;
			/* All at once, far beyond the socket buffer. */
			while (F.stream_left > 0) {
				unsigned char b = pattern(F.stream_pos++);

				conn_write(F.c, &b, 1);
				F.stream_left--;
			}
			conn_printf(F.c, "bye\r\n");
			conn_close_after_flush(F.c);
			return;
		} else if (line_is(line, len, "FREE")) {
			conn_free(&F.c);
			return;
		} else
			conn_printf(F.c, "echo: %.*s\r\n", (int)len, line);
	}
}

static void
owner_cb(struct conn *c, enum conn_event ev, void *arg)
{
	ck_assert_ptr_eq(arg, &F);
	ck_assert_ptr_eq(c, F.c);
	ck_assert_msg(!F.in_conn_call, "event %d from inside a conn call",
	    (int)ev);
	ck_assert_int_eq(F.n_closed, 0);

	switch (ev) {
	case CONN_EV_INPUT:
		F.n_input++;
		owner_input();
		break;
	case CONN_EV_WRITABLE:
		F.n_writable++;
		owner_stream();
		break;
	case CONN_EV_TIMEOUT:
		F.n_timeout++;
		break;
	case CONN_EV_TLS_READY:
		F.n_tls_ready++;
		ck_assert(conn_is_tls(c));
		snprintf(F.tls_version, sizeof(F.tls_version), "%s",
		    conn_tls_version(c));
		snprintf(F.tls_cipher, sizeof(F.tls_cipher), "%s",
		    conn_tls_cipher(c));
		break;
	case CONN_EV_CLOSED:
		F.n_closed++;
		snprintf(F.reason, sizeof(F.reason), "%s",
		    conn_close_reason(c));
		if (F.free_on_close)
			conn_free(&F.c);
		break;
	}
}

/* ---- the loop ---- */

typedef bool cond_fn(void);

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	*(bool *)w->data = true;
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* Only there to make ev_run(EVRUN_ONCE) return regularly, so
	 * conditions set by another thread are seen. */
}

/* Run the loop until cond() holds or secs have passed; returns cond(). */
static bool
run_until(cond_fn *cond, double secs)
{
	ev_timer guard, tick;
	bool expired = false;

	ev_timer_init(&guard, guard_cb, secs, 0.);
	guard.data = &expired;
	ev_timer_start(F.loop, &guard);
	ev_timer_init(&tick, tick_cb, 0.005, 0.005);
	ev_timer_start(F.loop, &tick);
	while (!cond() && !expired)
		ev_run(F.loop, EVRUN_ONCE);
	ev_timer_stop(F.loop, &guard);
	ev_timer_stop(F.loop, &tick);
	return cond();
}

static bool
never(void)
{
	return false;
}

static void
run_for(double secs)
{
	(void)run_until(never, secs);
}

static bool
closed(void)
{
	return F.n_closed > 0;
}

/* ---- the plaintext peer ---- */

static void
peer_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ssize_t n;

	if (F.peer_size - F.peer_len < 65536) {
		F.peer_size = F.peer_size * 2 + 65536;
		F.peer_buf = xreallocarray(F.peer_buf, F.peer_size, 1);
	}
	n = read(F.peer, F.peer_buf + F.peer_len, F.peer_size - F.peer_len - 1);
	if (n > 0) {
		F.peer_len += (size_t)n;
		F.peer_buf[F.peer_len] = '\0';
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		F.peer_eof = true;
		ev_io_stop(loop, w);
	}
}

static void
peer_watch(void)
{
	fcntl(F.peer, F_SETFL, fcntl(F.peer, F_GETFL) | O_NONBLOCK);
	ev_io_init(&F.peer_w, peer_read_cb, F.peer, EV_READ);
	ev_io_start(F.loop, &F.peer_w);
}

static void
peer_send(const char *s)
{
	size_t n = strlen(s);

	ck_assert_int_eq(write(F.peer, s, n), (ssize_t)n);
}

static const char *peer_want;

static bool
peer_has(void)
{
	return F.peer_buf != NULL && strstr(F.peer_buf, peer_want) != NULL;
}

static bool
peer_got_eof(void)
{
	return F.peer_eof;
}

static void
expect_peer(const char *s)
{
	peer_want = s;
	ck_assert_msg(run_until(peer_has, 3.0), "peer never got \"%s\"; has "
	    "\"%s\"", s, F.peer_buf != NULL ? F.peer_buf : "");
}

/* ---- fixture ---- */

static void
tmpfiles_make(struct tmpfiles *t)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/check_conn.XXXXXX",
	    base != NULL ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->sub, sizeof(t->sub), "%s/tls", t->dir);
	snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->sub);
	snprintf(t->key, sizeof(t->key), "%s/key.pem", t->sub);
}

static void
tmpfiles_remove(struct tmpfiles *t)
{
	if (t->dir[0] == '\0')
		return;
	unlink(t->cert);
	unlink(t->key);
	rmdir(t->sub);
	rmdir(t->dir);
}


static void
setup(void)
{
	int sv[2];

	memset(&F, 0, sizeof(F));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	F.loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(F.loop);
	F.peer = sv[1];
	F.c = conn_new(F.loop, sv[0], 1000, owner_cb, &F);
	CONN_CALL(conn_start(F.c));
}

/* The TLS tests also get two temporary directories. */
static void
setup_tls(void)
{
	setup();
	tmpfiles_make(&F.tmp[0]);
	tmpfiles_make(&F.tmp[1]);
}

static void
teardown(void)
{
	conn_free(&F.c);
	if (F.ctx != NULL)
		SSL_CTX_free(F.ctx);
	ev_io_stop(F.loop, &F.peer_w);
	ev_loop_destroy(F.loop);
	close(F.peer);
	free(F.peer_buf);
	tmpfiles_remove(&F.tmp[0]);
	tmpfiles_remove(&F.tmp[1]);
}

/* ---- plaintext tests ---- */

START_TEST(test_echo)
{
	peer_watch();
	peer_send("hello\r\nworld\n");
	expect_peer("echo: hello\r\necho: world\r\n");
	ck_assert_str_eq(F.lines, "hello|world|");

	/* A line trickling in byte by byte is still one line. */
	for (const char *p = "split line\r\n"; *p != '\0'; p++) {
		char b[2] = { *p, '\0' };

		peer_send(b);
		run_for(0.01);
	}
	expect_peer("echo: split line\r\n");
	ck_assert_str_eq(F.lines, "hello|world|split line|");
	ck_assert_int_eq(F.n_closed, 0);
	ck_assert_str_eq(conn_peer_ip(F.c), "unknown");
}
END_TEST

START_TEST(test_too_long)
{
	char big[5000];

	peer_watch();
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	peer_send(big);
	peer_send("\r\nok\r\n");
	expect_peer("too long\r\necho: ok\r\n");
	ck_assert_str_eq(F.lines, "!|ok|");
}
END_TEST

START_TEST(test_idle_memory)
{
	peer_watch();
	peer_send("one\r\ntwo\r\n");
	expect_peer("echo: two\r\n");
	run_for(0.02);
	/* Nothing buffered either way: the buffers are gone. */
	ck_assert_uint_eq(conn_output_pending(F.c), 0);
	ck_assert_ptr_null(conn_input(F.c)->buf);
	ck_assert_uint_lt(conn_memory(F.c), 2048);
}
END_TEST

static bool
two_inputs_or_more(void)
{
	return strstr(F.lines, "more|") != NULL;
}

START_TEST(test_pause)
{
	int inputs;

	peer_watch();
	peer_send("PAUSE\r\nafter\r\n");
	run_for(0.1);
	ck_assert_str_eq(F.lines, "PAUSE|");
	inputs = F.n_input;
	ck_assert_int_eq(inputs, 1);

	/* While paused nothing more is read or delivered. */
	peer_send("more\r\n");
	run_for(0.1);
	ck_assert_int_eq(F.n_input, inputs);
	ck_assert_uint_eq(linebuf_pending(conn_input(F.c)),
	    strlen("after\r\n"));

	/* Un-pausing delivers INPUT again, but from the loop. */
	F.owner_paused = false;
	CONN_CALL(conn_pause_input(F.c, false));
	ck_assert_int_eq(F.n_input, inputs);
	ck_assert(run_until(two_inputs_or_more, 3.0));
	ck_assert_str_eq(F.lines, "PAUSE|after|more|");
	expect_peer("echo: after\r\necho: more\r\n");
}
END_TEST

/* A peer that half-closes while the owner is busy is answered first. */
START_TEST(test_pause_half_close)
{
	peer_watch();
	peer_send("PAUSE\r\nafter\r\n");
	shutdown(F.peer, SHUT_WR);
	run_for(0.1);
	ck_assert_int_eq(F.n_closed, 0);
	ck_assert_str_eq(F.lines, "PAUSE|");
	F.owner_paused = false;
	CONN_CALL(conn_pause_input(F.c, false));
	ck_assert(run_until(closed, 3.0));
	ck_assert_str_eq(F.reason, "eof");
	ck_assert_str_eq(F.lines, "PAUSE|after|");
	ck_assert(run_until(peer_got_eof, 3.0));
	ck_assert_str_eq(F.peer_buf, "echo: after\r\n");
}
END_TEST

START_TEST(test_close_after_flush)
{
	peer_watch();
	peer_send("hi\r\nCLOSEBIG\r\nignored\r\n");
	ck_assert(run_until(closed, 5.0));
	ck_assert_str_eq(F.reason, "closed");
	/* Everything queued is readable on the other end, then EOF. */
	ck_assert(run_until(peer_got_eof, 3.0));
	ck_assert_uint_eq(F.peer_len, strlen("echo: hi\r\n") + CLOSEBIG_SIZE +
	    strlen("bye\r\n"));
	ck_assert_int_eq(pattern_mismatch(F.peer_buf + 10, CLOSEBIG_SIZE), -1);
	ck_assert_str_eq(F.peer_buf + F.peer_len - 5, "bye\r\n");
	/* Input after QUIT-like commands is never looked at. */
	ck_assert_str_eq(F.lines, "hi|CLOSEBIG|");
	ck_assert_int_eq(F.n_closed, 1);
}
END_TEST

START_TEST(test_close_from_outside)
{
	peer_watch();
	CONN_CALL(conn_write(F.c, "last words\r\n", 12));
	CONN_CALL(conn_close_after_flush(F.c));
	ck_assert_int_eq(F.n_closed, 0);
	ck_assert(run_until(closed, 3.0));
	ck_assert_str_eq(F.reason, "closed");
	ck_assert(run_until(peer_got_eof, 3.0));
	ck_assert_str_eq(F.peer_buf, "last words\r\n");
}
END_TEST

START_TEST(test_peer_eof)
{
	F.free_on_close = true;
	close(F.peer);
	F.peer = -1;
	ck_assert(run_until(closed, 3.0));
	ck_assert_str_eq(F.reason, "eof");
	ck_assert_ptr_null(F.c);
	ck_assert_int_eq(F.n_input, 0);
}
END_TEST

/* A peer that half-closes right after its last command still gets the
 * answer before the conn closes. */
START_TEST(test_peer_half_close)
{
	peer_watch();
	peer_send("last\r\n");
	shutdown(F.peer, SHUT_WR);
	ck_assert(run_until(closed, 3.0));
	ck_assert_str_eq(F.reason, "eof");
	ck_assert(run_until(peer_got_eof, 3.0));
	ck_assert_str_eq(F.peer_buf, "echo: last\r\n");
}
END_TEST

START_TEST(test_write_after_reset)
{
	static char junk[256 * 1024];

	close(F.peer);
	F.peer = -1;
	/* Errors surface later, never from inside the call. */
	CONN_CALL(conn_write(F.c, junk, sizeof(junk)));
	ck_assert_int_eq(F.n_closed, 0);
	ck_assert(run_until(closed, 3.0));
	ck_assert_msg(strcmp(F.reason, "reset") == 0 ||
	    strcmp(F.reason, "eof") == 0, "reason %s", F.reason);
	/* Writing to a closed conn is harmless. */
	CONN_CALL(conn_write(F.c, "x", 1));
	CONN_CALL(conn_printf(F.c, "%d", 42));
	run_for(0.05);
	ck_assert_int_eq(F.n_closed, 1);
}
END_TEST

START_TEST(test_free_in_callback)
{
	peer_watch();
	peer_send("a\r\nFREE\r\nb\r\n");
	run_for(0.1);
	ck_assert_ptr_null(F.c);
	ck_assert_str_eq(F.lines, "a|FREE|");
	ck_assert_int_eq(F.n_closed, 0);
	/* The socket went with it. */
	ck_assert(run_until(peer_got_eof, 3.0));
}
END_TEST

static bool
peer_has_big(void)
{
	return F.peer_len >= BIG_SIZE + strlen("echo: after\r\n");
}

START_TEST(test_big_output)
{
	peer_watch();
	peer_send("BIG\r\nafter\r\n");
	ck_assert(run_until(peer_has_big, 10.0));
	ck_assert_uint_eq(F.peer_len, BIG_SIZE + strlen("echo: after\r\n"));
	ck_assert_int_eq(pattern_mismatch(F.peer_buf, BIG_SIZE), -1);
	ck_assert_str_eq(F.peer_buf + BIG_SIZE, "echo: after\r\n");
	/* Streamed in pieces, never all queued at once. */
	ck_assert_int_gt(F.n_writable, 2);
	ck_assert_uint_lt(F.max_pending, CONN_LOW_WATER + 16384);
	run_for(0.02);
	ck_assert_uint_eq(conn_output_pending(F.c), 0);
	ck_assert_uint_lt(conn_memory(F.c), 2048);
}
END_TEST

/* conn_want_writable() with nothing queued answers soon, from the loop. */
START_TEST(test_writable_kick)
{
	peer_watch();
	CONN_CALL(conn_want_writable(F.c, true));
	ck_assert_int_eq(F.n_writable, 0);
	run_for(0.05);
	ck_assert_int_eq(F.n_writable, 1);
}
END_TEST

static bool
timed_out(void)
{
	return F.n_timeout > 0;
}

START_TEST(test_timeout)
{
	ev_tstamp t0;

	/* Timers count from the loop's notion of now, which is stale
	 * before the loop has run. */
	ev_now_update(F.loop);
	t0 = ev_now(F.loop);
	CONN_CALL(conn_set_timeout(F.c, 0.05));
	ck_assert(run_until(timed_out, 3.0));
	ck_assert_int_eq(F.n_timeout, 1);
	ck_assert_double_ge(ev_now(F.loop) - t0, 0.045);
	ck_assert_int_eq(F.n_closed, 0);
}
END_TEST

START_TEST(test_timeout_restarted_by_io)
{
	peer_watch();
	CONN_CALL(conn_set_timeout(F.c, 0.15));
	/* 0.4 s of traffic every 20 ms: never idle for 0.15 s. */
	for (int i = 0; i < 20; i++) {
		peer_send("tick\r\n");
		run_for(0.02);
	}
	ck_assert_int_eq(F.n_timeout, 0);
	ck_assert(run_until(timed_out, 3.0));

	/* 0 switches it off. */
	CONN_CALL(conn_set_timeout(F.c, 0));
	run_for(0.3);
	ck_assert_int_eq(F.n_timeout, 1);
}
END_TEST

/* ---- addresses, over real loopback TCP ---- */

static void
check_tcp_peer(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, cfd, afd, off = 0;
	struct conn *c;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		/* ::ffff:127.0.0.1, so an IPv4 client shows up mapped. */
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6->sin6_addr);
		len = sizeof(*s6);
	}
	lfd = socket(family, SOCK_STREAM, 0);
	if (lfd == -1 && family == AF_INET6)
		return;		/* no IPv6 on this host */
	ck_assert_int_ne(lfd, -1);
	if (family == AF_INET6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(lfd, (struct sockaddr *)&ss, len) == -1 &&
	    family == AF_INET6) {
		close(lfd);
		return;
	}
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);

	cfd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in to = {
			.sin_family = AF_INET,
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
			.sin_port = family == AF_INET ?
			    ((struct sockaddr_in *)&ss)->sin_port :
			    ((struct sockaddr_in6 *)&ss)->sin6_port,
		};

		ck_assert_int_eq(connect(cfd, (struct sockaddr *)&to,
		    sizeof(to)), 0);
		afd = accept(lfd, NULL, NULL);
		ck_assert_int_ne(afd, -1);
		c = conn_new(F.loop, afd, 1000, owner_cb, &F);
		ck_assert_str_eq(conn_peer_ip(c), "127.0.0.1");
		ck_assert_int_eq(conn_peer_addr(c)->ss_family, AF_INET);
		ck_assert_int_eq(conn_local_port(c), ntohs(to.sin_port));
	}
	conn_free(&c);
	ck_assert_ptr_null(c);
	close(cfd);
	close(lfd);
}

START_TEST(test_peer_ip)
{
	check_tcp_peer(AF_INET);
	check_tcp_peer(AF_INET6);
}
END_TEST

/* ---- TLS ---- */


static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	ck_assert_ptr_nonnull(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

START_TEST(test_selfsigned)
{
	struct tmpfiles t = F.tmp[0];
	const char *err = NULL;
	struct stat st;
	X509 *x, *x2;
	EVP_PKEY *pk;
	char group[64];
	SSL_CTX *ctx;
	int days, secs;

	ck_assert_int_eq(tls_ensure_selfsigned(t.cert, t.key, "mx.example.org",
	    &err), 1);
	ck_assert_int_eq(stat(t.sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(t.key, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(t.cert, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);

	x = load_cert(t.cert);
	ck_assert_int_eq(X509_check_host(x, "mx.example.org", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(x, "other.example.org", 0, 0, NULL),
	    0);
	ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	ck_assert_int_eq(X509_check_ca(x), 0);
	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	pk = X509_get0_pubkey(x);
	ck_assert_int_eq(EVP_PKEY_get_group_name(pk, group, sizeof(group),
	    NULL), 1);
	ck_assert_str_eq(group, "prime256v1");
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	ck_assert_int_ge(days, 3649);
	ck_assert_int_le(days, 3651);

	/* Present: left alone. */
	ck_assert_int_eq(tls_ensure_selfsigned(t.cert, t.key, "mx.example.org",
	    &err), 0);
	x2 = load_cert(t.cert);
	ck_assert_int_eq(X509_cmp(x, x2), 0);
	X509_free(x2);

	ctx = tls_server_ctx_new(t.cert, t.key, &err);
	ck_assert_msg(ctx != NULL, "ctx: %s", err);
	SSL_CTX_free(ctx);

	/* Half a pair is replaced by a whole new one. */
	ck_assert_int_eq(unlink(t.key), 0);
	ck_assert_int_eq(tls_ensure_selfsigned(t.cert, t.key, "mx.example.org",
	    &err), 1);
	x2 = load_cert(t.cert);
	ck_assert_int_ne(X509_cmp(x, x2), 0);
	X509_free(x2);
	ctx = tls_server_ctx_new(t.cert, t.key, &err);
	ck_assert_msg(ctx != NULL, "ctx: %s", err);
	SSL_CTX_free(ctx);
	X509_free(x);
}
END_TEST

START_TEST(test_ctx_errors)
{
	struct tmpfiles t = F.tmp[0], u = F.tmp[1];
	const char *err = NULL;

	ck_assert_ptr_null(tls_server_ctx_new(t.cert, t.key, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, t.cert));

	ck_assert_int_eq(tls_ensure_selfsigned(t.cert, t.key, "a.example",
	    &err), 1);
	ck_assert_int_eq(tls_ensure_selfsigned(u.cert, u.key, "b.example",
	    &err), 1);
	err = NULL;
	ck_assert_ptr_null(tls_server_ctx_new(t.cert, u.key, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "does not match") != NULL ||
	    strstr(err, "mismatch") != NULL, "%s", err);
	unlink(u.cert);
	unlink(u.key);
	err = NULL;
	ck_assert_int_eq(tls_ensure_selfsigned(u.cert, u.key, "", &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(access(u.key, F_OK), -1);
}
END_TEST

enum client_mode {
	CLIENT_NORMAL,		/* STARTTLS, hello, BIG, QUIT */
	CLIENT_INJECT,		/* plaintext pipelined behind STARTTLS */
	CLIENT_TLS12,		/* as NORMAL, but TLS 1.2 only */
	CLIENT_PLAINTEXT,	/* no handshake: plaintext after STARTTLS */
};

struct client {
	int		 fd;
	enum client_mode mode;
	const char	*ca_path;
	char		 error[256];
	bool		 close_notify;
	atomic_bool	 done;
};

static int
write_all(int fd, const char *s)
{
	size_t n = strlen(s);

	return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* Read one plaintext line byte by byte, so no TLS byte is eaten. */
static int
read_line_plain(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		if (read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return 0;
}

static int
ssl_read_exact(SSL *ssl, char *buf, size_t n)
{
	size_t got = 0;
	int r;

	while (got < n) {
		r = SSL_read(ssl, buf + got, (int)(n - got));
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *
client_main(void *arg)
{
	struct client *cl = arg;
	struct timeval tv = { .tv_sec = 5 };
	SSL_CTX *cctx = NULL;
	SSL *ssl = NULL;
	char line[256], *big = NULL;
	char sni[] = "localhost";	/* the OpenSSL macro casts const away */
	char burst[6 * BURST_LINES], echoes[12 * BURST_LINES];

	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	if (write_all(cl->fd, cl->mode == CLIENT_INJECT ?
	    "STARTTLS\r\nINJECT\r\n" : "STARTTLS\r\n") == -1 ||
	    read_line_plain(cl->fd, line, sizeof(line)) == -1 ||
	    strcmp(line, "go ahead\r\n") != 0) {
		snprintf(cl->error, sizeof(cl->error), "no STARTTLS reply");
		goto out;
	}
	if (cl->mode == CLIENT_PLAINTEXT) {
		(void)write_all(cl->fd, "EHLO plain.example\r\n");
		while (read(cl->fd, line, sizeof(line)) > 0)
			;
		goto out;
	}

	cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(cctx, cl->ca_path, NULL) != 1) {
		snprintf(cl->error, sizeof(cl->error), "cannot load CA");
		goto out;
	}
	if (cl->mode == CLIENT_TLS12)
		SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	ssl = SSL_new(cctx);
	SSL_set_fd(ssl, cl->fd);
	SSL_set1_host(ssl, "localhost");
	SSL_set_tlsext_host_name(ssl, sni);
	if (SSL_connect(ssl) != 1) {
		snprintf(cl->error, sizeof(cl->error), "handshake: %s",
		    ERR_reason_error_string(ERR_get_error()));
		goto out;
	}
	if (SSL_write(ssl, "hello\r\n", 7) != 7 ||
	    ssl_read_exact(ssl, line, 13) == -1 ||
	    memcmp(line, "echo: hello\r\n", 13) != 0) {
		snprintf(cl->error, sizeof(cl->error), "no echo over TLS");
		goto out;
	}
	/* One record bigger than the input cap: the rest waits inside
	 * OpenSSL, where no socket readiness will announce it. */
	for (int i = 0; i < BURST_LINES; i++) {
		char l[16];

		snprintf(l, sizeof(l), "l%03d\r\n", i);
		memcpy(burst + 6 * i, l, 6);
	}
	if (SSL_write(ssl, burst, 6 * BURST_LINES) != 6 * BURST_LINES ||
	    ssl_read_exact(ssl, echoes, 12 * BURST_LINES) == -1) {
		snprintf(cl->error, sizeof(cl->error), "short burst echo");
		goto out;
	}
	for (int i = 0; i < BURST_LINES; i++) {
		char want[24];

		snprintf(want, sizeof(want), "echo: l%03d\r\n", i);
		if (memcmp(echoes + 12 * i, want, 12) != 0) {
			snprintf(cl->error, sizeof(cl->error),
			    "burst echo %d wrong", i);
			goto out;
		}
	}

	big = xmalloc(BIG_SIZE);
	if (SSL_write(ssl, "BIG\r\n", 5) != 5 ||
	    ssl_read_exact(ssl, big, BIG_SIZE) == -1) {
		snprintf(cl->error, sizeof(cl->error), "short BIG over TLS");
		goto out;
	}
	if (pattern_mismatch(big, BIG_SIZE) != -1) {
		snprintf(cl->error, sizeof(cl->error), "BIG differs at %ld",
		    pattern_mismatch(big, BIG_SIZE));
		goto out;
	}
	if (SSL_write(ssl, "QUIT\r\n", 6) != 6 ||
	    ssl_read_exact(ssl, line, 5) == -1 ||
	    memcmp(line, "bye\r\n", 5) != 0) {
		snprintf(cl->error, sizeof(cl->error), "no bye over TLS");
		goto out;
	}
	if (SSL_read(ssl, line, sizeof(line)) == 0 &&
	    SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN)
		cl->close_notify = true;
out:
	free(big);
	SSL_free(ssl);
	SSL_CTX_free(cctx);
	atomic_store(&cl->done, true);
	return NULL;
}

static struct client *running_client;

static bool
closed_and_client_done(void)
{
	return F.n_closed > 0 && atomic_load(&running_client->done);
}

static const enum client_mode tls_modes[] = {
	CLIENT_NORMAL, CLIENT_INJECT, CLIENT_TLS12, CLIENT_PLAINTEXT,
};

START_TEST(test_starttls)
{
	struct tmpfiles t = F.tmp[0];
	struct client cl = { .mode = tls_modes[_i] };
	const char *err = NULL;
	pthread_t tid;
	size_t mem_plain;

	ck_assert_int_eq(tls_ensure_selfsigned(t.cert, t.key, "mx.example.org",
	    &err), 1);
	F.ctx = tls_server_ctx_new(t.cert, t.key, &err);
	ck_assert_msg(F.ctx != NULL, "%s", err);
	ck_assert(!conn_is_tls(F.c));
	ck_assert_ptr_null(conn_tls_version(F.c));
	mem_plain = conn_memory(F.c);

	cl.fd = F.peer;
	cl.ca_path = t.cert;
	atomic_init(&cl.done, false);
	running_client = &cl;
	ck_assert_int_eq(pthread_create(&tid, NULL, client_main, &cl), 0);
	(void)run_until(closed_and_client_done, 15.0);
	/* The client gives up on its own if the server stalls. */
	pthread_join(tid, NULL);

	if (cl.mode == CLIENT_PLAINTEXT) {
		ck_assert_int_eq(F.n_tls_ready, 0);
		ck_assert_int_eq(F.n_closed, 1);
		ck_assert_msg(strncmp(F.reason, "tls error: ", 11) == 0,
		    "reason %s", F.reason);
		ck_assert_str_eq(F.lines, "STARTTLS|");
	} else {
		ck_assert_msg(cl.error[0] == '\0', "client: %s", cl.error);
		ck_assert_int_eq(F.n_tls_ready, 1);
		ck_assert_int_eq(F.n_closed, 1);
		ck_assert_str_eq(F.reason, "closed");
		ck_assert(cl.close_notify);
		/* The pipelined plaintext never reached the owner. */
		char want[8192] = "STARTTLS|hello|";

		for (int i = 0; i < BURST_LINES; i++)
			snprintf(want + strlen(want), sizeof(want) -
			    strlen(want), "l%03d|", i);
		strcat(want, "BIG|QUIT|");
		ck_assert_str_eq(F.lines, want);
		ck_assert_str_eq(F.tls_version, cl.mode == CLIENT_TLS12 ?
		    "TLSv1.2" : "TLSv1.3");
		if (cl.mode == CLIENT_TLS12)
			ck_assert_ptr_nonnull(strstr(F.tls_cipher,
			    "ECDHE-ECDSA-"));
		ck_assert(conn_is_tls(F.c));
		ck_assert_uint_gt(conn_memory(F.c), mem_plain);
	}
}
END_TEST

static Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc;

	tc = tcase_create("plain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_idle_memory);
	tcase_add_test(tc, test_pause);
	tcase_add_test(tc, test_pause_half_close);
	tcase_add_test(tc, test_close_after_flush);
	tcase_add_test(tc, test_close_from_outside);
	tcase_add_test(tc, test_peer_eof);
	tcase_add_test(tc, test_peer_half_close);
	tcase_add_test(tc, test_write_after_reset);
	tcase_add_test(tc, test_free_in_callback);
	tcase_add_test(tc, test_big_output);
	tcase_add_test(tc, test_writable_kick);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_restarted_by_io);
	tcase_add_test(tc, test_peer_ip);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_checked_fixture(tc, setup_tls, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_selfsigned);
	tcase_add_test(tc, test_ctx_errors);
	tcase_add_loop_test(tc, test_starttls, 0,
	    (int)(sizeof(tls_modes) / sizeof(tls_modes[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
