/* SPDX-License-Identifier: ISC */
/*
 * Scripted POP3 conversations against the real session code.
 *
 * Each test gets a fresh mailstore in a temporary directory, the mailstore
 * writer and the auth worker, and an event loop on the test's main thread
 * that runs the POP3 sessions.  The client side is a script on a second
 * thread talking over socketpair()s with blocking I/O (and OpenSSL for
 * STLS and POP3S), so no ports and no daemon are needed.  New connections
 * and other actions that must happen on the loop are handed to it with
 * in_loop().  The loop stops when the script is done and every session it
 * opened has been closed (server_session_closed() below).
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "common/auth.h"
#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "common/tls.h"
#include "mailstore/ms.h"
#include "pop3/pop3.h"
#include "pop3/pop3_session.h"

#define ALICE		"alice@example.org"
#define ALICE_PW	"correct horse battery"
#define MAX_MSGS	8

/* ------------------------------------------------------------- fixture */

static char tmpdir[256];
static struct ev_loop *loop;
static struct pr_server srv;
static struct ms_store *store;
static ms_id alice_id;

/* What was delivered to alice, in uid order, for comparisons. */
static struct {
	char	*data;
	size_t	 len;
	uint32_t uid;
} sent[MAX_MSGS];
static size_t n_sent;
static uint32_t inbox_uidvalidity;

static unsigned sessions_started, sessions_closed;
static atomic_bool script_done;
static ev_async wake_w;
static ev_timer guard_w;

uint64_t
server_session_id(void)
{
	static uint64_t next = 0x100;

	return next++;
}

static void
maybe_stop(void)
{
	if (atomic_load(&script_done) && sessions_closed == sessions_started)
		ev_break(loop, EVBREAK_ALL);
}

void
server_session_closed(struct pr_server *s, const char *ip)
{
	ck_assert_ptr_eq(s, &srv);
	ck_assert_ptr_nonnull(ip);
	sessions_closed++;
	ck_assert_uint_le(sessions_closed, sessions_started);
	maybe_stop();
}

/* ------------------------------------------ running things on the loop */

static pthread_mutex_t call_mtx = PTHREAD_MUTEX_INITIALIZER;
static void (*call_fn)(void *);
static void *call_arg;
static sem_t call_done;

static void
wake_cb(struct ev_loop *l, ev_async *w, int revents)
{
	void (*fn)(void *) = call_fn;

	if (fn != NULL) {
		call_fn = NULL;
		fn(call_arg);
		sem_post(&call_done);
	}
	maybe_stop();
}

/* Run fn(arg) on the loop thread and wait for it (script thread only). */
static void
in_loop(void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&call_mtx);
	call_arg = arg;
	call_fn = fn;
	ev_async_send(loop, &wake_w);
	while (sem_wait(&call_done) == -1 && errno == EINTR)
		;
	pthread_mutex_unlock(&call_mtx);
}

static void
guard_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	ck_abort_msg("test did not finish in time");
}

/* ------------------------------------------------------------- client */

struct client {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
	char	 buf[4096];
	size_t	 off, len;	/* unread bytes are buf[off..len) */
};

struct accept_req {
	int	 fd;
	enum listener_role role;
};

static void
accept_on_loop(void *arg)
{
	struct accept_req *r = arg;

	sessions_started++;
	pop3_accept(&srv, r->fd, r->role);
}

static struct client *
cl_connect(enum listener_role role)
{
	struct client *c = calloc(1, sizeof(*c));
	struct timeval tv = { .tv_sec = 20 };
	struct accept_req r = { .role = role };
	int sv[2];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	c->fd = sv[1];
	r.fd = sv[0];
	in_loop(accept_on_loop, &r);
	return c;
}

static void
cl_close(struct client **cp)
{
	struct client *c = *cp;

	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	close(c->fd);
	free(c);
	*cp = NULL;
}

static void
cl_start_tls(struct client *c)
{
	ck_assert_uint_eq(c->off, c->len);	/* nothing read ahead */
	c->ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(c->ctx);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	c->ssl = SSL_new(c->ctx);
	ck_assert_ptr_nonnull(c->ssl);
	SSL_set_fd(c->ssl, c->fd);
	ck_assert_msg(SSL_connect(c->ssl) == 1, "TLS handshake failed");
}

static void
cl_write(struct client *c, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t w;

		if (c->ssl != NULL)
			w = SSL_write(c->ssl, q, (int)n);
		else
			w = send(c->fd, q, n, MSG_NOSIGNAL);
		ck_assert_msg(w > 0, "client write failed");
		q += w;
		n -= (size_t)w;
	}
}

static void cl_send(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Send one command line; CRLF is added. */
static void
cl_send(struct client *c, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < sizeof(line) - 2);
	memcpy(line + n, "\r\n", 2);
	cl_write(c, line, (size_t)n + 2);
}

/* Fill the buffer; false at end of stream.  A read timeout fails. */
static bool
cl_fill(struct client *c)
{
	ssize_t n;

	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->ssl != NULL) {
		n = SSL_read(c->ssl, c->buf + c->len,
		    (int)(sizeof(c->buf) - c->len));
		if (n <= 0) {
			int err = SSL_get_error(c->ssl, (int)n);

			ck_assert_msg(err == SSL_ERROR_ZERO_RETURN ||
			    (err == SSL_ERROR_SYSCALL && errno != EAGAIN) ||
			    err == SSL_ERROR_SSL, "TLS read timed out");
			return false;
		}
	} else {
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		ck_assert_msg(n >= 0 || errno != EAGAIN, "read timed out");
		if (n <= 0)
			return false;
	}
	c->len += (size_t)n;
	return true;
}

/* One byte, or -1 at end of stream. */
static int
cl_byte(struct client *c)
{
	if (c->off == c->len && !cl_fill(c))
		return -1;
	return (unsigned char)c->buf[c->off++];
}

/* The next reply line without its CRLF (malloc'ed), NULL at EOF. */
static char *
cl_line(struct client *c)
{
	size_t len = 0, size = 128;
	char *line = malloc(size);
	int ch;

	ck_assert_ptr_nonnull(line);
	while ((ch = cl_byte(c)) != -1) {
		if (len + 1 >= size) {
			size *= 2;
			line = realloc(line, size);
			ck_assert_ptr_nonnull(line);
		}
		line[len++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (len == 0) {
		free(line);
		return NULL;
	}
	ck_assert_msg(len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n',
	    "reply line not ended by CRLF");
	line[len - 2] = '\0';
	return line;
}

/* Read a line and check that it starts with prefix. */
static void
cl_expect(struct client *c, const char *prefix)
{
	char *line = cl_line(c);

	ck_assert_msg(line != NULL, "EOF, expected \"%s\"", prefix);
	ck_assert_msg(strncmp(line, prefix, strlen(prefix)) == 0,
	    "got \"%s\", expected \"%s\"", line, prefix);
	free(line);
}

static void
cl_expect_eof(struct client *c)
{
	char *line = cl_line(c);

	ck_assert_msg(line == NULL, "expected EOF, got \"%s\"", line);
}

/*
 * The body of a multi-line response, un-stuffed, up to the "." line.
 * Lines end at LF; the terminator must be exactly ".\r\n".
 */
static char *
cl_body(struct client *c, size_t *len_r)
{
	size_t len = 0, size = 4096, bol = 0;
	char *p = malloc(size);
	int ch;

	ck_assert_ptr_nonnull(p);
	/* Plain ifs in the per-byte loop: every ck_assert() records its
	 * location in a file, which would dominate a multi-megabyte read. */
	for (;;) {
		ch = cl_byte(c);
		if (ch == -1)
			ck_abort_msg("EOF inside a multi-line response");
		if (len + 1 >= size) {
			size *= 2;
			p = realloc(p, size);
			if (p == NULL)
				ck_abort_msg("out of memory");
		}
		p[len++] = (char)ch;
		if (ch != '\n')
			continue;
		if (len - bol == 3 && memcmp(p + bol, ".\r\n", 3) == 0) {
			*len_r = bol;
			p[bol] = '\0';
			return p;
		}
		if (p[bol] == '.') {
			memmove(p + bol, p + bol + 1, len - bol - 1);
			len--;
		}
		bol = len;
	}
}

/* A multi-line response's lines joined with '|' for easy comparison. */
static char *
cl_body_lines(struct client *c)
{
	size_t len, i, o = 0;
	char *body = cl_body(c, &len);

	for (i = 0; i < len; i++) {
		if (body[i] == '\r' && i + 1 < len && body[i + 1] == '\n')
			continue;
		body[o++] = body[i] == '\n' ? '|' : body[i];
	}
	body[o] = '\0';
	return body;
}

static char *
b64(const void *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static void
cl_login(struct client *c)
{
	cl_send(c, "USER %s", ALICE);
	cl_expect(c, "+OK");
	cl_send(c, "PASS %s", ALICE_PW);
	cl_expect(c, "+OK Logged in.");
}

static struct client *
cl_open_logged_in(void)
{
	struct client *c = cl_connect(ROLE_POP3);

	cl_expect(c, "+OK Postroom ready.");
	cl_login(c);
	return c;
}

/* ------------------------------------------------------- test harness */

static void
deliver_done(void *arg, const struct ms_delivery_result *r)
{
	struct ms_delivery_result *out = arg;

	*out = *r;
}

static void
deliver(const char *data, size_t len)
{
	struct ms_delivery_result r = { .status = 1 };
	struct ms_delivery *d = ms_delivery_new(store);

	ck_assert_uint_lt(n_sent, MAX_MSGS);
	ms_delivery_set_sender(d, "sender@example.net");
	ck_assert_int_eq(ms_delivery_write(d, data, len), 0);
	ms_delivery_add_local(d, alice_id);
	ms_delivery_commit(d, deliver_done, &r);
	while (r.status == 1)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(r.status, MS_OK);
	sent[n_sent].data = malloc(len + 1);
	ck_assert_ptr_nonnull(sent[n_sent].data);
	memcpy(sent[n_sent].data, data, len);
	sent[n_sent].len = len;
	sent[n_sent].uid = r.uid;
	n_sent++;
}

static const char msg1[] =
    "From: bob@example.net\r\n"
    "Subject: one\r\n"
    "\r\n"
    "first line\r\n"
    ".starts with a dot\r\n"
    "..two dots\r\n"
    ".\r\n"
    "last line\r\n";
static const char msg2[] =
    "Subject: two\r\n"
    "\r\n"
    "no final line break";
static const char msg3[] =
    "Subject: three\r\n"
    "X-Other: yes\r\n"
    "\r\n"
    "a\r\n"
    "b\r\n";

static void
setup(void)
{
	char db[512], cert[512], key[512];
	const char *err = NULL;
	char *errs = NULL;
	struct ms_mailbox_info mb;

	log_init("check_pop3_session", getenv("POP3_TEST_DEBUG") != NULL);
	snprintf(tmpdir, sizeof(tmpdir), "%s/pop3test.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(db, sizeof(db), "%s/mail.db", tmpdir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);

	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ck_assert_int_eq(ms_open(db, &store, &errs), MS_OK);
	ck_assert_int_eq(ms_start_writer(store, loop, tmpdir), 0);
	ck_assert_int_eq(ms_domain_add(store, "example.org"), MS_OK);
	ck_assert_int_eq(ms_user_add(store, ALICE, ALICE_PW), MS_OK);
	ck_assert_int_eq(ms_user_lookup(store, ALICE, &alice_id), MS_OK);
	ck_assert_int_eq(auth_init(loop, db), 0);
	auth_set_throttle_scale(0.01);

	ck_assert_int_ge(tls_ensure_selfsigned(cert, key, "localhost", &err), 0);
	srv.tls_ctx = tls_server_ctx_new(cert, key, &err);
	ck_assert_msg(srv.tls_ctx != NULL, "TLS context: %s", err);
	srv.loop = loop;
	srv.ms = store;
	srv.cfg = config_new_default(false);
	srv.cfg->pop3_timeout = 30;
	srv.cfg->allow_plaintext_auth = true;
	srv.shutting_down = false;

	n_sent = 0;
	deliver(msg1, sizeof(msg1) - 1);
	deliver(msg2, sizeof(msg2) - 1);
	deliver(msg3, sizeof(msg3) - 1);
	ck_assert_int_eq(ms_mailbox_find(store, alice_id, "INBOX", &mb), MS_OK);
	inbox_uidvalidity = mb.uidvalidity;

	sessions_started = sessions_closed = 0;
	atomic_store(&script_done, false);
	sem_init(&call_done, 0, 0);
	ev_async_init(&wake_w, wake_cb);
	ev_async_start(loop, &wake_w);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	size_t i;

	ev_async_stop(loop, &wake_w);
	auth_shutdown();
	ms_close(&store);
	config_free(&srv.cfg);
	SSL_CTX_free(srv.tls_ctx);
	ev_loop_destroy(loop);
	for (i = 0; i < n_sent; i++)
		free(sent[i].data);
	sem_destroy(&call_done);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

typedef void script_fn(void);

static void *
script_main(void *arg)
{
	script_fn *fn = (script_fn *)arg;

	fn();
	atomic_store(&script_done, true);
	ev_async_send(loop, &wake_w);
	return NULL;
}

/* Run a script against the loop until it and all its sessions are done. */
static void
run_script(script_fn *fn)
{
	pthread_t th;

	ev_timer_init(&guard_w, guard_cb, 60., 0.);
	ev_timer_start(loop, &guard_w);
	ck_assert_int_eq(pthread_create(&th, NULL, script_main, (void *)fn), 0);
	ev_run(loop, 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ev_timer_stop(loop, &guard_w);
	ck_assert_uint_eq(sessions_closed, sessions_started);
	ck_assert_uint_eq(pop3_sessions_memory(), 0);
}

/* The uids now in alice's INBOX, as a bitmask over sent[]. */
static unsigned
inbox_mask(void)
{
	struct ms_mailbox_info mb;
	struct ms_msg *v;
	size_t n, i, j;
	unsigned mask = 0;

	ck_assert_int_eq(ms_mailbox_find(store, alice_id, "INBOX", &mb), MS_OK);
	ck_assert_int_eq(ms_mailbox_messages(store, mb.id, &v, &n), MS_OK);
	for (i = 0; i < n; i++)
		for (j = 0; j < n_sent; j++)
			if (v[i].uid == sent[j].uid)
				mask |= 1u << j;
	free(v);
	return mask;
}

/* -------------------------------------------------------------- tests */

static bool
capa_has(const char *capa, const char *line)
{
	const char *p = capa;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == capa || p[-1] == '|') && (p[n] == '|' ||
		    p[n] == '\0'))
			return true;
		p++;
	}
	return false;
}

static void
script_greeting_capa(void)
{
	struct client *c = cl_connect(ROLE_POP3);
	char *capa;

	cl_expect(c, "+OK Postroom ready.");
	cl_send(c, "CAPA");
	cl_expect(c, "+OK");
	capa = cl_body_lines(c);
	ck_assert_msg(capa_has(capa, "TOP") && capa_has(capa, "UIDL") &&
	    capa_has(capa, "USER") && capa_has(capa, "SASL PLAIN LOGIN") &&
	    capa_has(capa, "RESP-CODES") && capa_has(capa, "AUTH-RESP-CODE") &&
	    capa_has(capa, "PIPELINING") && capa_has(capa, "STLS") &&
	    capa_has(capa, "EXPIRE NEVER") && capa_has(capa, "LOGIN-DELAY 0") &&
	    capa_has(capa, "IMPLEMENTATION Postroom"), "CAPA: %s", capa);
	free(capa);
	cl_send(c, "capa");
	cl_expect(c, "+OK");
	free(cl_body_lines(c));
	cl_send(c, "QUIT");
	cl_expect(c, "+OK Logging out.");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_greeting_capa)
{
	run_script(script_greeting_capa);
}
END_TEST

static void
script_plaintext_refused(void)
{
	struct client *c = cl_connect(ROLE_POP3);
	char *capa;

	cl_expect(c, "+OK Postroom ready.");
	cl_send(c, "CAPA");
	cl_expect(c, "+OK");
	capa = cl_body_lines(c);
	ck_assert_msg(!capa_has(capa, "USER") && strstr(capa, "SASL") == NULL &&
	    capa_has(capa, "STLS"), "CAPA: %s", capa);
	free(capa);
	cl_send(c, "USER %s", ALICE);
	cl_expect(c, "-ERR [AUTH] Plaintext authentication disallowed");
	cl_send(c, "PASS %s", ALICE_PW);
	cl_expect(c, "-ERR [AUTH] Plaintext authentication disallowed");
	cl_send(c, "AUTH PLAIN AGFsaWNlAHB3");
	cl_expect(c, "-ERR [AUTH] Plaintext authentication disallowed");
	cl_send(c, "AUTH");
	cl_expect(c, "+OK");
	capa = cl_body_lines(c);
	ck_assert_str_eq(capa, "");
	free(capa);
	cl_send(c, "STAT");
	cl_expect(c, "-ERR Command not valid in this state");
	cl_send(c, "QUIT");
	cl_expect(c, "+OK");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_plaintext_refused)
{
	srv.cfg->allow_plaintext_auth = false;
	run_script(script_plaintext_refused);
}
END_TEST

static void
script_stls(void)
{
	struct client *c = cl_connect(ROLE_POP3);
	char *capa;

	cl_expect(c, "+OK Postroom ready.");
	cl_send(c, "USER %s", ALICE);
	cl_expect(c, "-ERR [AUTH]");
	/* A command pipelined behind STLS must not survive into TLS. */
	cl_write(c, "STLS\r\nNOOP\r\n", 12);
	cl_expect(c, "+OK Begin TLS negotiation");
	cl_start_tls(c);
	cl_send(c, "CAPA");
	cl_expect(c, "+OK Capability list follows");
	capa = cl_body_lines(c);
	ck_assert_msg(capa_has(capa, "USER") && !capa_has(capa, "STLS") &&
	    capa_has(capa, "SASL PLAIN LOGIN"), "CAPA: %s", capa);
	free(capa);
	cl_send(c, "STLS");
	cl_expect(c, "-ERR");
	cl_login(c);
	cl_send(c, "CAPA");
	cl_expect(c, "+OK");
	capa = cl_body_lines(c);
	ck_assert_msg(!capa_has(capa, "USER") && !capa_has(capa, "STLS") &&
	    capa_has(capa, "UIDL"), "CAPA: %s", capa);
	free(capa);
	cl_send(c, "QUIT");
	cl_expect(c, "+OK Logging out.");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_stls)
{
	srv.cfg->allow_plaintext_auth = false;
	run_script(script_stls);
}
END_TEST

static void
script_pop3s(void)
{
	struct client *c = cl_connect(ROLE_POP3S);
	char *capa;

	cl_start_tls(c);
	cl_expect(c, "+OK Postroom ready.");
	cl_send(c, "CAPA");
	cl_expect(c, "+OK");
	capa = cl_body_lines(c);
	ck_assert_msg(capa_has(capa, "USER") && !capa_has(capa, "STLS"),
	    "CAPA: %s", capa);
	free(capa);
	cl_login(c);
	cl_send(c, "STAT");
	cl_expect(c, "+OK 3 ");
	cl_send(c, "QUIT");
	cl_expect(c, "+OK");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_pop3s)
{
	srv.cfg->allow_plaintext_auth = false;
	run_script(script_pop3s);
}
END_TEST

static void
script_transaction(void)
{
	struct client *c = cl_open_logged_in();
	char want[256], *body;
	size_t i, len, total = 0;

	for (i = 0; i < n_sent; i++)
		total += sent[i].len;
	cl_send(c, "STAT");
	snprintf(want, sizeof(want), "+OK 3 %zu", total);
	cl_expect(c, want);

	cl_send(c, "LIST");
	cl_expect(c, "+OK 3 messages");
	body = cl_body_lines(c);
	snprintf(want, sizeof(want), "1 %zu|2 %zu|3 %zu|", sent[0].len,
	    sent[1].len, sent[2].len);
	ck_assert_str_eq(body, want);
	free(body);
	cl_send(c, "LIST 2");
	snprintf(want, sizeof(want), "+OK 2 %zu", sent[1].len);
	cl_expect(c, want);

	cl_send(c, "UIDL");
	cl_expect(c, "+OK");
	body = cl_body_lines(c);
	snprintf(want, sizeof(want), "1 %u.%u|2 %u.%u|3 %u.%u|",
	    inbox_uidvalidity, sent[0].uid, inbox_uidvalidity, sent[1].uid,
	    inbox_uidvalidity, sent[2].uid);
	ck_assert_str_eq(body, want);
	free(body);
	cl_send(c, "UIDL 3");
	snprintf(want, sizeof(want), "+OK 3 %u.%u", inbox_uidvalidity,
	    sent[2].uid);
	cl_expect(c, want);

	/* RETR gives back the stored bytes exactly (plus a final CRLF
	 * when the message has none), whatever the dots. */
	for (i = 0; i < n_sent; i++) {
		cl_send(c, "RETR %zu", i + 1);
		snprintf(want, sizeof(want), "+OK %zu octets", sent[i].len);
		cl_expect(c, want);
		body = cl_body(c, &len);
		if (i == 1) {
			ck_assert_uint_eq(len, sent[i].len + 2);
			ck_assert_mem_eq(body + sent[i].len, "\r\n", 2);
		} else {
			ck_assert_uint_eq(len, sent[i].len);
		}
		ck_assert_mem_eq(body, sent[i].data, sent[i].len);
		free(body);
	}

	cl_send(c, "TOP 1 0");
	cl_expect(c, "+OK");
	body = cl_body_lines(c);
	ck_assert_str_eq(body, "From: bob@example.net|Subject: one||");
	free(body);
	cl_send(c, "TOP 1 2");
	cl_expect(c, "+OK");
	body = cl_body_lines(c);
	ck_assert_str_eq(body, "From: bob@example.net|Subject: one||"
	    "first line|.starts with a dot|");
	free(body);
	cl_send(c, "TOP 2 100");
	cl_expect(c, "+OK");
	body = cl_body_lines(c);
	ck_assert_str_eq(body, "Subject: two||no final line break|");
	free(body);

	/* Argument errors. */
	cl_send(c, "RETR 0");
	cl_expect(c, "-ERR No such message");
	cl_send(c, "RETR 4");
	cl_expect(c, "-ERR No such message");
	cl_send(c, "RETR 99999999999");
	cl_expect(c, "-ERR Invalid message number");
	cl_send(c, "RETR");
	cl_expect(c, "-ERR Invalid message number");
	cl_send(c, "RETR -1");
	cl_expect(c, "-ERR Invalid message number");
	cl_send(c, "TOP 1");
	cl_expect(c, "-ERR Invalid arguments");
	cl_send(c, "LIST x");
	cl_expect(c, "-ERR Invalid message number");
	cl_send(c, "USER bob");
	cl_expect(c, "-ERR Command not valid in this state");
	cl_send(c, "NOOP");
	cl_expect(c, "+OK");

	/* DELE marks; deleted messages vanish from every listing. */
	cl_send(c, "DELE 1");
	cl_expect(c, "+OK");
	cl_send(c, "DELE 1");
	cl_expect(c, "-ERR Message is deleted");
	cl_send(c, "RETR 1");
	cl_expect(c, "-ERR Message is deleted");
	cl_send(c, "LIST 1");
	cl_expect(c, "-ERR Message is deleted");
	cl_send(c, "STAT");
	snprintf(want, sizeof(want), "+OK 2 %zu", total - sent[0].len);
	cl_expect(c, want);
	cl_send(c, "LIST");
	cl_expect(c, "+OK 2 messages");
	body = cl_body_lines(c);
	snprintf(want, sizeof(want), "2 %zu|3 %zu|", sent[1].len, sent[2].len);
	ck_assert_str_eq(body, want);
	free(body);
	cl_send(c, "RSET");
	cl_expect(c, "+OK maildrop has 3 messages");
	cl_send(c, "DELE 2");
	cl_expect(c, "+OK");
	cl_send(c, "DELE 3");
	cl_expect(c, "+OK");
	cl_send(c, "QUIT");
	cl_expect(c, "+OK Logging out, messages deleted.");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_transaction)
{
	run_script(script_transaction);
	ck_assert_uint_eq(inbox_mask(), 0x1);
}
END_TEST

static void
script_no_quit(void)
{
	struct client *c = cl_open_logged_in();

	cl_send(c, "DELE 1");
	cl_expect(c, "+OK");
	cl_close(&c);
}

START_TEST(test_no_quit_no_delete)
{
	/* RFC 1939: without QUIT there is no UPDATE state. */
	run_script(script_no_quit);
	ck_assert_uint_eq(inbox_mask(), 0x7);
}
END_TEST

static void
script_drop_during_expunge(void)
{
	struct client *c = cl_open_logged_in();

	/* Gone before the writer can have answered. */
	cl_send(c, "DELE 2");
	cl_expect(c, "+OK");
	cl_write(c, "QUIT\r\n", 6);
	shutdown(c->fd, SHUT_RDWR);
	cl_close(&c);
}

START_TEST(test_drop_during_expunge)
{
	run_script(script_drop_during_expunge);
	ck_assert_uint_eq(inbox_mask(), 0x5);
}
END_TEST

static void
script_pipelining(void)
{
	struct client *c = cl_connect(ROLE_POP3);
	char want[256], *body;
	size_t len;

	cl_expect(c, "+OK Postroom ready.");
	/* Everything in one write: the password check in the middle makes
	 * the session wait with the rest still buffered. */
	cl_send(c, "USER %s\r\nPASS %s\r\nSTAT\r\nRETR 1\r\nLIST 3\r\n"
	    "DELE 3\r\nQUIT", ALICE, ALICE_PW);
	cl_expect(c, "+OK");
	cl_expect(c, "+OK Logged in.");
	cl_expect(c, "+OK 3 ");
	cl_expect(c, "+OK");
	body = cl_body(c, &len);
	ck_assert_uint_eq(len, sent[0].len);
	free(body);
	snprintf(want, sizeof(want), "+OK 3 %zu", sent[2].len);
	cl_expect(c, want);
	cl_expect(c, "+OK Marked");
	cl_expect(c, "+OK Logging out, messages deleted.");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_pipelining)
{
	run_script(script_pipelining);
	ck_assert_uint_eq(inbox_mask(), 0x3);
}
END_TEST

static void
script_concurrent(void)
{
	struct client *a = cl_open_logged_in();
	struct client *b = cl_open_logged_in();
	struct client *c;
	char *body;

	cl_send(a, "DELE 1");
	cl_expect(a, "+OK");
	cl_send(a, "QUIT");
	cl_expect(a, "+OK Logging out, messages deleted.");
	cl_expect_eof(a);
	cl_close(&a);

	/* b keeps its snapshot: numbering and listing are unchanged... */
	cl_send(b, "LIST");
	cl_expect(b, "+OK 3 messages");
	body = cl_body_lines(b);
	ck_assert_ptr_nonnull(strstr(body, "1 "));
	free(body);
	/* ...but the removed message cannot be read any more. */
	cl_send(b, "RETR 1");
	cl_expect(b, "-ERR Message no longer exists");
	cl_send(b, "RETR 2");
	cl_expect(b, "+OK");
	free(cl_body_lines(b));

	c = cl_open_logged_in();
	cl_send(c, "STAT");
	cl_expect(c, "+OK 2 ");
	cl_send(c, "QUIT");
	cl_expect(c, "+OK Logging out.");
	cl_expect_eof(c);
	cl_close(&c);

	/* Deleting what is already gone is fine. */
	cl_send(b, "DELE 1");
	cl_expect(b, "+OK");
	cl_send(b, "DELE 2");
	cl_expect(b, "+OK");
	cl_send(b, "QUIT");
	cl_expect(b, "+OK Logging out, messages deleted.");
	cl_expect_eof(b);
	cl_close(&b);
}

START_TEST(test_concurrent)
{
	run_script(script_concurrent);
	ck_assert_uint_eq(inbox_mask(), 0x4);
}
END_TEST

static void
script_auth(void)
{
	static const char plain[] = "\0" ALICE "\0" ALICE_PW;
	static const char bad[] = "\0" ALICE "\0" "wrong";
	struct client *c = cl_connect(ROLE_POP3);
	char *enc;

	cl_expect(c, "+OK Postroom ready.");
	cl_send(c, "AUTH");
	cl_expect(c, "+OK");
	enc = cl_body_lines(c);
	ck_assert_str_eq(enc, "PLAIN|LOGIN|");
	free(enc);

	cl_send(c, "AUTH CRAM-MD5");
	cl_expect(c, "-ERR Unsupported authentication mechanism");
	cl_send(c, "AUTH PLAIN !!!!");
	cl_expect(c, "-ERR Invalid base64");

	/* Wrong password, then a cancelled exchange. */
	enc = b64(bad, sizeof(bad) - 1);
	cl_send(c, "AUTH PLAIN %s", enc);
	free(enc);
	cl_expect(c, "-ERR [AUTH] Authentication failed.");
	cl_send(c, "AUTH PLAIN");
	cl_expect(c, "+ ");
	cl_send(c, "*");
	cl_expect(c, "-ERR");
	cl_send(c, "NOOP");
	cl_expect(c, "-ERR Command not valid in this state");

	/* AUTH LOGIN with its two challenges. */
	cl_send(c, "AUTH LOGIN");
	cl_expect(c, "+ ");
	enc = b64(ALICE, strlen(ALICE));
	cl_send(c, "%s", enc);
	free(enc);
	cl_expect(c, "+ ");
	enc = b64(ALICE_PW, strlen(ALICE_PW));
	cl_send(c, "%s", enc);
	free(enc);
	cl_expect(c, "+OK Logged in.");
	cl_send(c, "AUTH PLAIN");
	cl_expect(c, "-ERR Command not valid in this state");
	cl_send(c, "QUIT");
	cl_expect(c, "+OK");
	cl_expect_eof(c);
	cl_close(&c);

	/* PLAIN with an initial response, and without. */
	c = cl_connect(ROLE_POP3);
	cl_expect(c, "+OK Postroom ready.");
	enc = b64(plain, sizeof(plain) - 1);
	cl_send(c, "AUTH PLAIN %s", enc);
	cl_expect(c, "+OK Logged in.");
	cl_send(c, "QUIT");
	cl_expect(c, "+OK");
	cl_expect_eof(c);
	cl_close(&c);

	c = cl_connect(ROLE_POP3);
	cl_expect(c, "+OK Postroom ready.");
	cl_send(c, "auth plain");
	cl_expect(c, "+ ");
	cl_send(c, "%s", enc);
	free(enc);
	cl_expect(c, "+OK Logged in.");
	cl_send(c, "QUIT");
	cl_expect(c, "+OK");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_auth)
{
	run_script(script_auth);
}
END_TEST

static void
script_user_pass(void)
{
	struct client *c = cl_connect(ROLE_POP3);

	cl_expect(c, "+OK Postroom ready.");
	cl_send(c, "PASS %s", ALICE_PW);
	cl_expect(c, "-ERR No user name given");
	cl_send(c, "USER %s", ALICE);
	cl_expect(c, "+OK");
	cl_send(c, "PASS wrong");
	cl_expect(c, "-ERR [AUTH] Authentication failed.");
	/* A failed PASS forgets the USER. */
	cl_send(c, "PASS %s", ALICE_PW);
	cl_expect(c, "-ERR No user name given");
	cl_send(c, "USER nobody@example.org");
	cl_expect(c, "+OK");
	cl_send(c, "PASS %s", ALICE_PW);
	cl_expect(c, "-ERR [AUTH] Authentication failed.");
	cl_login(c);
	cl_send(c, "QUIT");
	cl_expect(c, "+OK");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_user_pass)
{
	run_script(script_user_pass);
}
END_TEST

static void
script_bad_input(void)
{
	struct client *c = cl_connect(ROLE_POP3);
	char longline[3000];
	int i;

	cl_expect(c, "+OK Postroom ready.");
	memset(longline, 'A', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	cl_write(c, longline, strlen(longline));
	cl_write(c, "\r\n", 2);
	cl_expect(c, "-ERR Line too long");
	cl_write(c, "CA\0PA\r\n", 7);
	cl_expect(c, "-ERR");
	/* The session still works after both. */
	cl_send(c, "CAPA");
	cl_expect(c, "+OK");
	free(cl_body_lines(c));
	cl_send(c, "XYZZY");
	cl_expect(c, "-ERR Unknown command");
	cl_send(c, "%s", "");
	cl_expect(c, "-ERR Unknown command");
	/* That was four; the twentieth closes the connection. */
	for (i = 4; i < 19; i++) {
		cl_send(c, "BOGUS %d", i);
		cl_expect(c, "-ERR Unknown command");
	}
	cl_send(c, "BOGUS");
	cl_expect(c, "-ERR Too many bad commands");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_bad_input)
{
	run_script(script_bad_input);
}
END_TEST

static void
script_timeout(void)
{
	struct client *c = cl_connect(ROLE_POP3);

	cl_expect(c, "+OK Postroom ready.");
	cl_expect(c, "-ERR Disconnected for inactivity.");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_timeout)
{
	srv.cfg->pop3_timeout = 0.3;
	run_script(script_timeout);
}
END_TEST

static void
shutdown_on_loop(void *arg)
{
	srv.shutting_down = true;
	pop3_shutdown(&srv);
}

static void
script_shutdown(void)
{
	struct client *a = cl_open_logged_in();
	struct client *b = cl_connect(ROLE_POP3);

	cl_expect(b, "+OK Postroom ready.");
	in_loop(shutdown_on_loop, NULL);
	cl_expect(a, "-ERR Server shutting down.");
	cl_expect_eof(a);
	cl_expect(b, "-ERR Server shutting down.");
	cl_expect_eof(b);
	cl_close(&a);
	cl_close(&b);
	/* Late arrivals are turned away too. */
	b = cl_connect(ROLE_POP3);
	cl_expect(b, "-ERR Server shutting down.");
	cl_expect_eof(b);
	cl_close(&b);
}

START_TEST(test_shutdown)
{
	run_script(script_shutdown);
	ck_assert_uint_eq(inbox_mask(), 0x7);
}
END_TEST

/* ------------------------------------------- big messages, slow readers */

#define BIG_SIZE	(3 * 1024 * 1024 + 17)

static char *big;

static void
make_big(void)
{
	size_t i;

	big = malloc(BIG_SIZE);
	ck_assert_ptr_nonnull(big);
	/* Lines of varying length, many starting with a dot. */
	for (i = 0; i < BIG_SIZE; i++) {
		size_t k = i % 97;

		if (k == 95)
			big[i] = '\r';
		else if (k == 96)
			big[i] = '\n';
		else if (k == 0 && (i / 97) % 3 == 0)
			big[i] = '.';
		else
			big[i] = (char)('a' + (i * 7) % 26);
	}
	deliver(big, BIG_SIZE);
}

static size_t mem_seen;

static void
measure_on_loop(void *arg)
{
	mem_seen = pop3_sessions_memory();
}

static void
script_big(void)
{
	struct client *c = cl_open_logged_in();
	char want[64], *body;
	size_t len;

	/* Ask for it, pipeline more behind it, and do not read for a while:
	 * the session must not pile the message up in memory. */
	cl_send(c, "RETR 4\r\nNOOP\r\nTOP 4 2");
	usleep(300 * 1000);
	in_loop(measure_on_loop, NULL);
	ck_assert_msg(mem_seen < 512 * 1024, "session holds %zu bytes",
	    mem_seen);
	snprintf(want, sizeof(want), "+OK %d octets", BIG_SIZE);
	cl_expect(c, want);
	body = cl_body(c, &len);
	ck_assert_uint_eq(len, BIG_SIZE + 2);	/* no final CRLF */
	ck_assert_mem_eq(body, big, BIG_SIZE);
	free(body);
	cl_expect(c, "+OK");
	cl_expect(c, "+OK Top");
	body = cl_body(c, &len);
	/* The "header" runs to the first blank line: there is none. */
	ck_assert_uint_eq(len, BIG_SIZE + 2);
	free(body);
	cl_send(c, "QUIT");
	cl_expect(c, "+OK");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_big_message)
{
	make_big();
	run_script(script_big);
	free(big);
}
END_TEST

static Suite *
pop3_session_suite(void)
{
	Suite *s = suite_create("pop3_session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_greeting_capa);
	tcase_add_test(tc, test_plaintext_refused);
	tcase_add_test(tc, test_stls);
	tcase_add_test(tc, test_pop3s);
	tcase_add_test(tc, test_transaction);
	tcase_add_test(tc, test_no_quit_no_delete);
	tcase_add_test(tc, test_drop_during_expunge);
	tcase_add_test(tc, test_pipelining);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_auth);
	tcase_add_test(tc, test_user_pass);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_shutdown);
	tcase_add_test(tc, test_big_message);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pop3_session_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
