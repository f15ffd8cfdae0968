/* SPDX-License-Identifier: ISC */
/*
 * The scripted-session harness shared by the POP3 and IMAP session tests
 * (see session_harness.h): fixture, loop hand-off, mailstore helpers and
 * the blocking line client.
 *
 * Two threads share the loop only through in_loop() (a mutex, an
 * ev_async and a semaphore) and the script_done flag; the counters of
 * sessions are touched on the loop thread alone.
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
#include "common/tls.h"
#include "tests/unit/session_harness.h"

/* ------------------------------------------------------------- fixture */

static const struct harness_proto *proto;
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
	proto->accept(&srv, r->fd, r->role);
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

void
cl_vsend(struct client *c, const char *fmt, va_list ap)
{
	char *line = NULL;
	int n;

	n = vasprintf(&line, fmt, ap);
	ck_assert(n >= 0);
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

int
cl_byte(struct client *c)
{
	if (c->off == c->len && !cl_fill(c))
		return -1;
	return (unsigned char)c->buf[c->off++];
}

bool
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

void
cl_expect_close(struct client **cp, const char *last)
{
	cl_expect(*cp, last);
	cl_expect_eof(*cp);
	cl_close(cp);
}

/* base64 of n bytes (malloc'ed). */
static char *
b64(const void *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

char *
sasl_plain(const char *password)
{
	char msg[256];
	int n;

	/* Empty authorization id, NUL, user, NUL, password. */
	n = snprintf(msg, sizeof(msg), "%c%s%c%s", '\0', ALICE, '\0',
	    password);
	ck_assert(n > 0 && (size_t)n < sizeof(msg));
	return b64(msg, (size_t)n);
}

/* Send n bytes base64-encoded as one line (a SASL response). */
static void
cl_send_b64(struct client *c, const void *p, size_t n)
{
	char *enc = b64(p, n);

	cl_send(c, "%s", enc);
	free(enc);
}

void
cl_sasl_login(struct client *c)
{
	cl_expect(c, "+ ");
	cl_send_b64(c, ALICE, strlen(ALICE));
	cl_expect(c, "+ ");
	cl_send_b64(c, ALICE_PW, strlen(ALICE_PW));
}

/* ------------------------------------------------------- setup, scripts */

void
harness_setup(const struct harness_proto *p)
{
	char db[512], cert[512], key[512];
	const char *err = NULL;
	char *errs = NULL;

	proto = p;
	log_init(p->name, getenv(p->debug_env) != NULL);
	snprintf(tmpdir, sizeof(tmpdir), "%s/%s.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", p->name);
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

	ck_assert_int_ge(tls_ensure_selfsigned(cert, key, "localhost", &err),
	    0);
	srv.tls_ctx = tls_server_ctx_new(cert, key, &err);
	ck_assert_msg(srv.tls_ctx != NULL, "TLS context: %s", err);
	srv.loop = loop;
	srv.ms = store;
	srv.cfg = config_new_default(false);
	srv.cfg->allow_plaintext_auth = true;
	srv.shutting_down = false;

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

void
harness_teardown(void)
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
	ck_assert_uint_eq(proto->sessions_memory(), 0);
}

int
harness_main(const char *name, void (*setup)(void), void (*teardown)(void),
    void (*add_tests)(TCase *tc))
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create("session");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	add_tests(tc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
