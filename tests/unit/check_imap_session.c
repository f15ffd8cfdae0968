/* SPDX-License-Identifier: ISC */
/*
 * Scripted IMAP conversations against the real session code.
 *
 * Each test gets a fresh mailstore in a temporary directory, the mailstore
 * writer and the auth worker, and an event loop on the test's main thread
 * that runs the IMAP sessions.  The client side is a script on a second
 * thread talking over socketpair()s with blocking I/O (and OpenSSL for
 * STARTTLS and IMAPS), so no ports and no daemon are needed.  Actions that
 * must happen on the loop (accepting a connection, a delivery, a shutdown)
 * are handed to it with in_loop().  The loop stops when the script is done
 * and every session it opened has been closed.
 *
 * This file holds the harness and the connection-level tests (greeting,
 * TLS, login, limits and bad input); check_imap_session_msg.c and
 * check_imap_session_mbox.c hold the message and mailbox commands.
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
#include "imap-lite/imap.h"
#include "imap-lite/imap_session.h"
#include "mailstore/ms.h"
#include "tests/unit/check_imap_session.h"

/* ------------------------------------------------------------- fixture */

static char tmpdir[256];
static struct ev_loop *loop;
struct pr_server srv;
struct ms_store *store;
ms_id alice_id;

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

void
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

/* ----------------------------------------------------------- mailstore */

static void
deliver_done(void *arg, const struct ms_delivery_result *r)
{
	struct ms_delivery_result *out = arg;

	*out = *r;
}

static uint32_t
commit_wait(struct ms_delivery *d)
{
	struct ms_delivery_result r = { .status = 1 };

	ms_delivery_commit(d, deliver_done, &r);
	while (r.status == 1)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(r.status, MS_OK);
	return r.uid;
}

uint32_t
deliver(const char *data, size_t len)
{
	struct ms_delivery *d = ms_delivery_new(store);

	ms_delivery_set_sender(d, "sender@example.net");
	ck_assert_int_eq(ms_delivery_write(d, data, len), 0);
	ms_delivery_add_local(d, alice_id);
	return commit_wait(d);
}

ms_id
mailbox_id(const char *name)
{
	struct ms_mailbox_info mb;

	ck_assert_int_eq(ms_mailbox_find(store, alice_id, name, &mb), MS_OK);
	return mb.id;
}

uint32_t
mailbox_count(const char *name)
{
	struct ms_mailbox_info mb;

	ck_assert_int_eq(ms_mailbox_find(store, alice_id, name, &mb), MS_OK);
	return mb.messages;
}

uint32_t
store_into(const char *mailbox, const char *data, unsigned flags)
{
	struct ms_delivery *d = ms_delivery_new(store);

	ck_assert_int_eq(ms_delivery_write(d, data, strlen(data)), 0);
	ms_delivery_add_mailbox(d, mailbox_id(mailbox), flags, NULL, 0);
	return commit_wait(d);
}

static void
async_done(void *arg, const struct ms_delivery_result *r)
{
	ck_assert_int_eq(r->status, MS_OK);
}

static void
deliver_on_loop(void *arg)
{
	const char *data = arg;
	struct ms_delivery *d = ms_delivery_new(store);

	ck_assert_int_eq(ms_delivery_write(d, data, strlen(data)), 0);
	ms_delivery_add_local(d, alice_id);
	ms_delivery_commit(d, async_done, NULL);
}

void
deliver_async(const char *data)
{
	in_loop(deliver_on_loop, (void *)(uintptr_t)data);
}

/* ------------------------------------------------------------- client */

struct accept_req {
	int	 fd;
	enum listener_role role;
};

static void
accept_on_loop(void *arg)
{
	struct accept_req *r = arg;

	sessions_started++;
	imap_accept(&srv, r->fd, r->role);
}

struct client *
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

void
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

void
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

void
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

static void cl_vsend(struct client *c, const char *fmt, va_list ap)
    PR_PRINTF(2, 0);

static void
cl_vsend(struct client *c, const char *fmt, va_list ap)
{
	char *line = NULL;
	int n;

	n = vasprintf(&line, fmt, ap);
	ck_assert(n >= 0);
	/* One write: bytes pipelined behind STARTTLS must arrive with it. */
	line = realloc(line, (size_t)n + 2);
	ck_assert_ptr_nonnull(line);
	memcpy(line + n, "\r\n", 2);
	cl_write(c, line, (size_t)n + 2);
	free(line);
}

void
cl_send(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cl_vsend(c, fmt, ap);
	va_end(ap);
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

static int
cl_byte(struct client *c)
{
	if (c->off == c->len && !cl_fill(c))
		return -1;
	return (unsigned char)c->buf[c->off++];
}

/* Bytes up to and including LF, appended to *buf; false at EOF. */
static bool
cl_raw_line(struct client *c, char **buf, size_t *len, size_t *size)
{
	int ch;
	size_t start = *len;

	while ((ch = cl_byte(c)) != -1) {
		if (*len + 2 >= *size) {
			*size *= 2;
			*buf = realloc(*buf, *size);
			if (*buf == NULL)
				ck_abort_msg("out of memory");
		}
		(*buf)[(*len)++] = (char)ch;
		if (ch == '\n')
			break;
	}
	(*buf)[*len] = '\0';
	return *len > start && (*buf)[*len - 1] == '\n';
}

char *
cl_line(struct client *c)
{
	size_t len = 0, size = 128;
	char *line = malloc(size);

	ck_assert_ptr_nonnull(line);
	if (!cl_raw_line(c, &line, &len, &size)) {
		ck_assert_msg(len == 0, "EOF inside a line: \"%s\"", line);
		free(line);
		return NULL;
	}
	ck_assert_msg(len >= 2 && line[len - 2] == '\r',
	    "line not ended by CRLF: \"%s\"", line);
	line[len - 2] = '\0';
	return line;
}

void
cl_expect(struct client *c, const char *prefix)
{
	char *line = cl_line(c);

	ck_assert_msg(line != NULL, "EOF, expected \"%s\"", prefix);
	ck_assert_msg(strncmp(line, prefix, strlen(prefix)) == 0,
	    "got \"%s\", expected \"%s\"", line, prefix);
	free(line);
}

void
cl_expect_eof(struct client *c)
{
	char *line = cl_line(c);

	ck_assert_msg(line == NULL, "expected EOF, got \"%s\"", line);
}

char *
cl_resp(struct client *c, const char *tag)
{
	size_t len = 0, size = 4096, tl = strlen(tag), bol;
	char *buf = malloc(size);

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		bol = len;
		/* A logical line: physical lines joined by their literals. */
		for (;;) {
			unsigned long long n;
			char *open;

			if (!cl_raw_line(c, &buf, &len, &size))
				ck_abort_msg("EOF before \"%s\" reply:\n%s",
				    tag, buf);
			open = len >= 4 && buf[len - 3] == '}' ?
			    strrchr(buf + bol, '{') : NULL;
			if (open == NULL || sscanf(open, "{%llu}", &n) != 1)
				break;
			while (n-- > 0) {
				int ch = cl_byte(c);

				if (ch == -1)
					ck_abort_msg("EOF inside a literal");
				if (len + 2 >= size) {
					size *= 2;
					buf = realloc(buf, size);
					if (buf == NULL)
						ck_abort_msg("out of memory");
				}
				buf[len++] = (char)ch;
			}
			buf[len] = '\0';
		}
		if (strncmp(buf + bol, tag, tl) == 0 && buf[bol + tl] == ' ')
			return buf;
	}
}

static char *cl_vcmd(struct client *c, const char *want, const char *fmt,
    va_list ap) PR_PRINTF(3, 0);

static char *
cl_vcmd(struct client *c, const char *want, const char *fmt, va_list ap)
{
	char tag[16], *cmd = NULL, *r, *last;
	int n;

	snprintf(tag, sizeof(tag), "T%u", ++c->next_tag);
	n = vasprintf(&cmd, fmt, ap);
	ck_assert(n >= 0);
	cl_send(c, "%s %s", tag, cmd);
	r = cl_resp(c, tag);
	/* The tagged line is the last one. */
	last = r + strlen(r) - 2;
	while (last > r && last[-1] != '\n')
		last--;
	ck_assert_msg(strncmp(last + strlen(tag) + 1, want, strlen(want)) == 0,
	    "\"%s\": expected %s, got:\n%s", cmd, want, r);
	free(cmd);
	return r;
}

char *
cl_cmd(struct client *c, const char *want, const char *fmt, ...)
{
	va_list ap;
	char *r;

	va_start(ap, fmt);
	r = cl_vcmd(c, want, fmt, ap);
	va_end(ap);
	return r;
}

void
cl_run(struct client *c, const char *want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(cl_vcmd(c, want, fmt, ap));
	va_end(ap);
}

struct client *
cl_login(void)
{
	struct client *c = cl_connect(ROLE_IMAP);

	cl_expect(c, "* OK [CAPABILITY IMAP4rev1 ");
	cl_run(c, "OK [CAPABILITY", "LOGIN %s \"%s\"", ALICE, ALICE_PW);
	return c;
}

void
cl_logout(struct client **cp)
{
	cl_send(*cp, "Z LOGOUT");
	cl_expect(*cp, "* BYE");
	cl_expect(*cp, "Z OK");
	cl_expect_eof(*cp);
	cl_close(cp);
}

char *
b64(const void *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* ------------------------------------------------------- test harness */

static void
setup(void)
{
	char db[512], cert[512], key[512];
	const char *err = NULL;
	char *errs = NULL;

	log_init("check_imap_session", getenv("IMAP_TEST_DEBUG") != NULL);
	snprintf(tmpdir, sizeof(tmpdir), "%s/imaptest.XXXXXX",
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
	srv.cfg->imap_timeout = 30;
	srv.cfg->allow_plaintext_auth = true;
	srv.shutting_down = false;
	imap_init(&srv);

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
	ev_async_stop(loop, &wake_w);
	auth_shutdown();
	ms_close(&store);
	config_free(&srv.cfg);
	SSL_CTX_free(srv.tls_ctx);
	ev_loop_destroy(loop);
	sem_destroy(&call_done);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void *
script_main(void *arg)
{
	script_fn *fn = (script_fn *)arg;

	fn();
	atomic_store(&script_done, true);
	ev_async_send(loop, &wake_w);
	return NULL;
}

void
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
	ck_assert_uint_eq(imap_sessions_memory(), 0);
}

/* ---------------------------------------------------- connection tests */

static void
script_greeting(void)
{
	struct client *c = cl_connect(ROLE_IMAP);
	char *r;

	cl_expect(c, "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE "
	    "IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE "
	    "LIST-EXTENDED LIST-STATUS CONDSTORE STARTTLS AUTH=PLAIN "
	    "AUTH=LOGIN] Postroom ready.");
	r = cl_cmd(c, "OK", "CAPABILITY");
	HAS(r, "* CAPABILITY IMAP4rev1 ");
	HAS(r, " AUTH=PLAIN AUTH=LOGIN\r\n");
	HASNT(r, "LOGINDISABLED");
	free(r);
	cl_run(c, "OK", "noop");
	r = cl_cmd(c, "OK", "ID (\"name\" \"check\" \"version\" \"1\")");
	HAS(r, "* ID (\"name\" \"Postroom\")");
	free(r);
	cl_run(c, "OK", "ID NIL");
	cl_run(c, "BAD", "ID (\"name\")");
	/* Authenticated-state commands need a login first. */
	cl_run(c, "BAD", "SELECT INBOX");
	cl_run(c, "BAD", "NAMESPACE");
	cl_logout(&c);
}

START_TEST(test_greeting)
{
	run_script(script_greeting);
}
END_TEST

static void
script_plaintext_refused(void)
{
	struct client *c = cl_connect(ROLE_IMAP);
	char *r;

	cl_expect(c, "* OK [CAPABILITY");
	r = cl_cmd(c, "OK", "CAPABILITY");
	HAS(r, " STARTTLS LOGINDISABLED\r\n");
	HASNT(r, "AUTH=");
	free(r);
	cl_run(c, "NO [PRIVACYREQUIRED]", "LOGIN %s \"%s\"", ALICE, ALICE_PW);
	cl_run(c, "NO [PRIVACYREQUIRED]", "AUTHENTICATE PLAIN");
	cl_run(c, "NO Unsupported", "AUTHENTICATE CRAM-MD5");
	cl_logout(&c);
}

START_TEST(test_plaintext_refused)
{
	srv.cfg->allow_plaintext_auth = false;
	run_script(script_plaintext_refused);
}
END_TEST

static void
script_starttls(void)
{
	struct client *c = cl_connect(ROLE_IMAP);
	char *r;

	cl_expect(c, "* OK");
	/* A command pipelined behind STARTTLS must not survive into TLS. */
	cl_send(c, "S1 STARTTLS\r\nS2 LOGIN %s \"%s\"", ALICE, ALICE_PW);
	cl_expect(c, "S1 OK Begin TLS");
	cl_start_tls(c);
	r = cl_cmd(c, "OK", "CAPABILITY");
	HAS(r, "AUTH=PLAIN AUTH=LOGIN\r\n");
	HASNT(r, "STARTTLS");
	HASNT(r, "S2");
	free(r);
	cl_run(c, "BAD", "STARTTLS");
	cl_run(c, "OK [CAPABILITY", "LOGIN %s \"%s\"", ALICE, ALICE_PW);
	r = cl_cmd(c, "OK", "CAPABILITY");
	HASNT(r, "AUTH=");
	HASNT(r, "LOGINDISABLED");
	free(r);
	cl_logout(&c);
}

START_TEST(test_starttls)
{
	srv.cfg->allow_plaintext_auth = false;
	run_script(script_starttls);
}
END_TEST

static void
script_imaps(void)
{
	struct client *c = cl_connect(ROLE_IMAPS);

	cl_start_tls(c);
	cl_expect(c, "* OK [CAPABILITY IMAP4rev1 ");
	cl_run(c, "OK", "LOGIN %s \"%s\"", ALICE, ALICE_PW);
	cl_run(c, "OK [READ-WRITE]", "SELECT INBOX");
	cl_logout(&c);
}

START_TEST(test_imaps)
{
	srv.cfg->allow_plaintext_auth = false;
	run_script(script_imaps);
}
END_TEST

static void
script_authenticate(void)
{
	static const char plain[] = "\0" ALICE "\0" ALICE_PW;
	static const char bad[] = "\0" ALICE "\0" "wrong";
	struct client *c = cl_connect(ROLE_IMAP);
	char *enc;

	cl_expect(c, "* OK");
	/* SASL-IR with a wrong password. */
	enc = b64(bad, sizeof(bad) - 1);
	cl_run(c, "NO [AUTHENTICATIONFAILED]", "AUTHENTICATE PLAIN %s", enc);
	free(enc);
	cl_run(c, "BAD", "AUTHENTICATE PLAIN !!!");
	/* Cancelled exchange. */
	cl_send(c, "A1 AUTHENTICATE PLAIN");
	cl_expect(c, "+ ");
	cl_send(c, "*");
	cl_expect(c, "A1 BAD");
	/* A continuation that is not base64. */
	cl_send(c, "A2 AUTHENTICATE LOGIN");
	cl_expect(c, "+ ");
	cl_send(c, "%%%%");
	cl_expect(c, "A2 BAD");
	/* LOGIN with its two challenges. */
	cl_send(c, "A3 AUTHENTICATE LOGIN");
	cl_expect(c, "+ ");
	enc = b64(ALICE, strlen(ALICE));
	cl_send(c, "%s", enc);
	free(enc);
	cl_expect(c, "+ ");
	enc = b64(ALICE_PW, strlen(ALICE_PW));
	cl_send(c, "%s", enc);
	free(enc);
	cl_expect(c, "A3 OK [CAPABILITY IMAP4rev1");
	cl_run(c, "BAD", "AUTHENTICATE PLAIN");
	cl_logout(&c);

	/* PLAIN without an initial response. */
	c = cl_connect(ROLE_IMAP);
	cl_expect(c, "* OK");
	cl_send(c, "P1 authenticate plain");
	cl_expect(c, "+ ");
	enc = b64(plain, sizeof(plain) - 1);
	cl_send(c, "%s", enc);
	free(enc);
	cl_expect(c, "P1 OK");
	cl_logout(&c);
}

START_TEST(test_authenticate)
{
	run_script(script_authenticate);
}
END_TEST

static void
script_login_forms(void)
{
	struct client *c = cl_connect(ROLE_IMAP);

	cl_expect(c, "* OK");
	cl_run(c, "NO [AUTHENTICATIONFAILED]", "LOGIN %s wrong", ALICE);
	cl_run(c, "BAD", "LOGIN %s", ALICE);
	/* Literals, synchronizing and not. */
	cl_send(c, "L1 LOGIN {%zu}", strlen(ALICE));
	cl_expect(c, "+ ");
	cl_send(c, "%s {%zu+}\r\n%s", ALICE, strlen(ALICE_PW), ALICE_PW);
	cl_expect(c, "L1 OK [CAPABILITY");
	cl_run(c, "BAD", "LOGIN %s x", ALICE);
	cl_logout(&c);
}

START_TEST(test_login_forms)
{
	run_script(script_login_forms);
}
END_TEST

static void
script_bad_input(void)
{
	struct client *c = cl_connect(ROLE_IMAP);
	static char longline[IMAP_LINE_MAX + 100];
	int i;

	cl_expect(c, "* OK");
	memset(longline, 'A', sizeof(longline) - 1);
	memcpy(longline, "B1 NOOP ", 8);
	cl_write(c, longline, sizeof(longline) - 1);
	cl_write(c, "\r\n", 2);
	cl_expect(c, "B1 BAD [TOOBIG]");
	cl_write(c, "B2 NO\0OP\r\n", 10);
	cl_expect(c, "B2 BAD NUL");
	/* A literal bigger than a command may be: the client waits for
	 * "+" and is told no instead. */
	cl_send(c, "B3 LOGIN {999999999}");
	cl_expect(c, "B3 BAD [TOOBIG]");
	/* The same without waiting: the bytes are read and dropped. */
	cl_send(c, "B4 LOGIN {300000+}");
	for (i = 0; i < 300000 / 1000; i++) {
		char chunk[1000];

		memset(chunk, 'x', sizeof(chunk));
		cl_write(c, chunk, sizeof(chunk));
	}
	cl_send(c, " pass");
	cl_expect(c, "B4 BAD [TOOBIG]");
	cl_run(c, "OK", "NOOP");
	cl_run(c, "BAD Unknown command", "XYZZY");
	cl_run(c, "BAD", "NOOP (");
	cl_send(c, "%s", "");
	cl_expect(c, "* BAD");
	cl_send(c, "(bad tag");
	cl_expect(c, "* BAD");
	/* That was eight; the twentieth closes the connection. */
	for (i = 8; i < 19; i++)
		cl_run(c, "BAD", "BOGUS%d", i);
	cl_send(c, "X BOGUS");
	cl_expect(c, "* BYE Too many");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_bad_input)
{
	run_script(script_bad_input);
}
END_TEST

static void
script_pipelining(void)
{
	struct client *c = cl_connect(ROLE_IMAP);

	cl_expect(c, "* OK");
	/* All at once: the password check in the middle makes the session
	 * wait with the rest still buffered. */
	cl_send(c, "P1 LOGIN %s \"%s\"\r\nP2 SELECT INBOX\r\nP3 FETCH 1 UID\r\n"
	    "P4 LOGOUT", ALICE, ALICE_PW);
	cl_expect(c, "P1 OK");
	free(cl_resp(c, "P2"));
	cl_expect(c, "* 1 FETCH (UID ");
	cl_expect(c, "P3 OK");
	cl_expect(c, "* BYE");
	cl_expect(c, "P4 OK");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_pipelining)
{
	deliver("Subject: x\r\n\r\ny\r\n", 17);
	run_script(script_pipelining);
}
END_TEST

static void
script_timeout(void)
{
	struct client *c = cl_connect(ROLE_IMAP);

	cl_expect(c, "* OK");
	cl_expect(c, "* BYE Autologout");
	cl_expect_eof(c);
	cl_close(&c);
}

START_TEST(test_timeout)
{
	srv.cfg->imap_timeout = 0.3;
	run_script(script_timeout);
}
END_TEST

static void
shutdown_on_loop(void *arg)
{
	srv.shutting_down = true;
	imap_shutdown(&srv);
}

static void
script_shutdown(void)
{
	static const char msg[] = "Subject: late\r\n\r\nlate\r\n";
	struct client *a = cl_login();
	struct client *b = cl_connect(ROLE_IMAP);
	struct client *c = cl_login();

	cl_expect(b, "* OK");
	cl_run(a, "OK", "SELECT INBOX");
	cl_send(a, "I1 IDLE");
	cl_expect(a, "+ idling");
	/* c is in the middle of an APPEND when the signal comes. */
	cl_send(c, "A1 APPEND INBOX {%zu}", strlen(msg));
	cl_expect(c, "+ ");
	in_loop(shutdown_on_loop, NULL);
	cl_expect(a, "* BYE Server shutting down.");
	cl_expect_eof(a);
	cl_expect(b, "* BYE Server shutting down.");
	cl_expect_eof(b);
	cl_close(&a);
	cl_close(&b);
	/* The APPEND is finished, then c is told. */
	cl_send(c, "%s", msg);
	cl_expect(c, "A1 OK [APPENDUID ");
	cl_expect(c, "* BYE Server shutting down.");
	cl_expect_eof(c);
	cl_close(&c);
	b = cl_connect(ROLE_IMAP);
	cl_expect(b, "* BYE Server shutting down.");
	cl_expect_eof(b);
	cl_close(&b);
}

START_TEST(test_shutdown)
{
	run_script(script_shutdown);
	ck_assert_uint_eq(mailbox_count("INBOX"), 1);
}
END_TEST

static Suite *
imap_session_suite(void)
{
	Suite *s = suite_create("imap_session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_greeting);
	tcase_add_test(tc, test_plaintext_refused);
	tcase_add_test(tc, test_starttls);
	tcase_add_test(tc, test_imaps);
	tcase_add_test(tc, test_authenticate);
	tcase_add_test(tc, test_login_forms);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_pipelining);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_shutdown);
	add_tests_msg(tc);
	add_tests_mbox(tc);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(imap_session_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
