/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the auth module: strict base64, the throttle table driven
 * by a fake clock, and real SASL exchanges (PLAIN, LOGIN) through the worker
 * thread against a temporary mailstore, with the event loop run until each
 * callback arrives.
 */
#include "autoconfig.h"

#include <check.h>
#include <dirent.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/auth.h"
#include "common/auth_throttle.h"
#include "common/log.h"
#include "mailstore/ms.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define S(s)	(s), sizeof(s) - 1

/* ------------------------------------------------------------- base64 */

struct b64_case {
	const char	*raw;
	size_t		 rawlen;
	const char	*enc;
};

static const struct b64_case b64_cases[] = {
	/* RFC 4648 section 10 */
	{ S(""), "" },
	{ S("f"), "Zg==" },
	{ S("fo"), "Zm8=" },
	{ S("foo"), "Zm9v" },
	{ S("foob"), "Zm9vYg==" },
	{ S("fooba"), "Zm9vYmE=" },
	{ S("foobar"), "Zm9vYmFy" },
	/* a PLAIN message, and bytes that use + and / */
	{ S("\0alice@example.org\0secret"), "AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==" },
	{ S("\xfb\xff\xbf"), "+/+/" },
	{ S("\0\0\0"), "AAAA" },
};

START_TEST(test_b64_encode)
{
	const struct b64_case *c = &b64_cases[_i];
	char *enc = auth_b64_encode((const unsigned char *)c->raw, c->rawlen);

	ck_assert_str_eq(enc, c->enc);
	free(enc);
}
END_TEST

START_TEST(test_b64_decode)
{
	const struct b64_case *c = &b64_cases[_i];
	size_t len = strlen(c->enc);
	unsigned char out[64];
	ssize_t n;

	memset(out, 0xa5, sizeof(out));
	n = auth_b64_decode(c->enc, len, out);
	ck_assert_int_eq(n, (ssize_t)c->rawlen);
	ck_assert_mem_eq(out, c->raw, c->rawlen);
	/* Nothing written past the decoded bytes. */
	ck_assert_uint_eq(out[c->rawlen], 0xa5);
}
END_TEST

static const struct {
	const char	*in;
	size_t		 len;
} b64_bad[] = {
	{ S("Z") }, { S("Zg") }, { S("Zg=") }, { S("Zm9vY") },
	{ S("Z===") }, { S("====") }, { S("=Zg=") }, { S("Zg=a") },
	{ S("Zm=v") }, { S("Zg==Zg==") }, { S("Zm9v=") }, { S("Zm9v====") },
	{ S("Zh==") },		/* bits hidden under the padding */
	{ S("Zm9=") },
	{ S("Zm9v\r\n") }, { S(" Zm9v") }, { S("Zm 9v") }, { S("Zm9v\n") },
	{ S("Zm-v") }, { S("Zm_v") }, { S("Zm9\0") }, { S("Zm\x80v") },
	{ S("*") },
};

START_TEST(test_b64_bad)
{
	unsigned char out[64];

	ck_assert_msg(auth_b64_decode(b64_bad[_i].in, b64_bad[_i].len, out) == -1,
	    "accepted case %d", _i);
}
END_TEST

START_TEST(test_b64_roundtrip)
{
	unsigned char raw[300], back[404];
	char *enc;
	ssize_t n;

	for (size_t len = 0; len <= sizeof(raw); len += (len < 20 ? 1 : 37)) {
		for (size_t i = 0; i < len; i++)
			raw[i] = (unsigned char)(i * 7 + len);
		enc = auth_b64_encode(raw, len);
		ck_assert_uint_eq(strlen(enc), (len + 2) / 3 * 4);
		n = auth_b64_decode(enc, strlen(enc), back);
		ck_assert_int_eq(n, (ssize_t)len);
		ck_assert_mem_eq(back, raw, len);
		free(enc);
	}
}
END_TEST

/* ------------------------------------------------------------ throttle */

static const unsigned char tkey[16] = "0123456789abcdef";
#define T0	1700000000.0

START_TEST(test_throttle_grows_and_caps)
{
	struct auth_throttle *t = auth_throttle_new(1000, tkey);
	static const unsigned want[] = { 1, 2, 4, 8, 16, 30, 30, 30 };

	for (size_t i = 0; i < N(want); i++)
		ck_assert_uint_eq(auth_throttle_failure(t, "alice@example.org",
		    "192.0.2.1", T0 + i), want[i]);
	auth_throttle_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_throttle_per_user)
{
	struct auth_throttle *t = auth_throttle_new(1000, tkey);

	for (int i = 0; i < 4; i++)
		auth_throttle_failure(t, "alice@example.org", "192.0.2.1", T0);
	/* Colleague behind the same NAT address: own counter. */
	ck_assert_uint_eq(auth_throttle_failure(t, "bob@example.org",
	    "192.0.2.1", T0), 1);
	/* Same user from elsewhere: own counter. */
	ck_assert_uint_eq(auth_throttle_failure(t, "alice@example.org",
	    "198.51.100.7", T0), 1);
	/* Case does not make a new counter. */
	ck_assert_uint_eq(auth_throttle_failure(t, "ALICE@Example.org",
	    "192.0.2.1", T0), 16);
	ck_assert(!auth_throttle_ip_blocked(t, "192.0.2.1", T0));
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_throttle_success_resets)
{
	struct auth_throttle *t = auth_throttle_new(1000, tkey);

	for (int i = 0; i < 3; i++)
		auth_throttle_failure(t, "alice@example.org", "192.0.2.1", T0);
	auth_throttle_failure(t, "bob@example.org", "192.0.2.1", T0);
	auth_throttle_success(t, "alice@example.org", "192.0.2.1", T0 + 1);
	ck_assert_uint_eq(auth_throttle_failure(t, "alice@example.org",
	    "192.0.2.1", T0 + 2), 1);
	/* Only alice's record was reset. */
	ck_assert_uint_eq(auth_throttle_failure(t, "bob@example.org",
	    "192.0.2.1", T0 + 2), 2);
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_throttle_forgets)
{
	struct auth_throttle *t = auth_throttle_new(1000, tkey);
	double last = T0;

	for (int i = 0; i < 3; i++)
		auth_throttle_failure(t, "alice@example.org", "192.0.2.1", last);
	/* Just under 15 minutes after the last failure: still counted. */
	last += AUTH_THROTTLE_FORGET - 1;
	ck_assert_uint_eq(auth_throttle_failure(t, "alice@example.org",
	    "192.0.2.1", last), 8);
	/* 15 minutes after that one: forgotten. */
	ck_assert_uint_eq(auth_throttle_failure(t, "alice@example.org",
	    "192.0.2.1", last + AUTH_THROTTLE_FORGET), 1);
	auth_throttle_free(&t);
}
END_TEST

/* n failures from ip with distinct users, one per second from start. */
static void
fail_many(struct auth_throttle *t, const char *ip, int n, double start)
{
	char user[64];

	for (int i = 0; i < n; i++) {
		snprintf(user, sizeof(user), "user%d@example.org", i);
		auth_throttle_failure(t, user, ip, start + i);
	}
}

START_TEST(test_throttle_blocks_ip)
{
	struct auth_throttle *t = auth_throttle_new(100000, tkey);
	double now = T0 + AUTH_THROTTLE_IP_MAX_FAILS;

	fail_many(t, "203.0.113.9", AUTH_THROTTLE_IP_MAX_FAILS, T0);
	ck_assert(!auth_throttle_ip_blocked(t, "203.0.113.9", now));
	auth_throttle_failure(t, "x@example.org", "203.0.113.9", now);
	ck_assert(auth_throttle_ip_blocked(t, "203.0.113.9", now));
	ck_assert(!auth_throttle_ip_blocked(t, "203.0.113.10", now));
	ck_assert(auth_throttle_ip_blocked(t, "203.0.113.9",
	    now + AUTH_THROTTLE_IP_BLOCK - 1));
	ck_assert(!auth_throttle_ip_blocked(t, "203.0.113.9",
	    now + AUTH_THROTTLE_IP_BLOCK));
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_throttle_window)
{
	struct auth_throttle *t = auth_throttle_new(100000, tkey);
	double later = T0 + AUTH_THROTTLE_IP_WINDOW + 120;

	/* 100 now and 100 well outside the 10-minute window: never more
	 * than 100 inside it. */
	fail_many(t, "203.0.113.9", AUTH_THROTTLE_IP_MAX_FAILS, T0 - 100);
	fail_many(t, "203.0.113.9", AUTH_THROTTLE_IP_MAX_FAILS, later);
	ck_assert(!auth_throttle_ip_blocked(t, "203.0.113.9",
	    later + AUTH_THROTTLE_IP_MAX_FAILS));
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_throttle_success_shields_ip)
{
	struct auth_throttle *t = auth_throttle_new(100000, tkey);

	auth_throttle_success(t, "alice@example.org", "192.0.2.1", T0);
	fail_many(t, "192.0.2.1", 5 * AUTH_THROTTLE_IP_MAX_FAILS, T0 + 3600);
	ck_assert(!auth_throttle_ip_blocked(t, "192.0.2.1",
	    T0 + 3600 + 5 * AUTH_THROTTLE_IP_MAX_FAILS));

	/* A success more than 24 hours old no longer shields. */
	auth_throttle_success(t, "alice@example.org", "192.0.2.2", T0);
	fail_many(t, "192.0.2.2", AUTH_THROTTLE_IP_MAX_FAILS + 1,
	    T0 + AUTH_THROTTLE_IP_TRUST);
	ck_assert(auth_throttle_ip_blocked(t, "192.0.2.2",
	    T0 + AUTH_THROTTLE_IP_TRUST + AUTH_THROTTLE_IP_MAX_FAILS + 1));

	/* A success lifts a block at once. */
	auth_throttle_success(t, "bob@example.org", "192.0.2.2",
	    T0 + AUTH_THROTTLE_IP_TRUST + 200);
	ck_assert(!auth_throttle_ip_blocked(t, "192.0.2.2",
	    T0 + AUTH_THROTTLE_IP_TRUST + 201));
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_throttle_bounded)
{
	struct auth_throttle *t = auth_throttle_new(8, tkey);
	char user[64];

	for (int i = 0; i < 1000; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		auth_throttle_failure(t, user, "192.0.2.1", T0);
		ck_assert_uint_le(auth_throttle_entries(t), 8);
	}
	/* The newest record survived, the oldest was dropped. */
	ck_assert_uint_eq(auth_throttle_failure(t, "u999", "192.0.2.1", T0), 2);
	ck_assert_uint_eq(auth_throttle_failure(t, "u0", "192.0.2.1", T0), 1);
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_throttle_expires)
{
	struct auth_throttle *t = auth_throttle_new(100000, tkey);

	fail_many(t, "192.0.2.1", 50, T0);
	fail_many(t, "192.0.2.2", 50, T0);
	ck_assert_uint_eq(auth_throttle_entries(t), 102);
	/* Everything is stale an hour later; one new failure sweeps it. */
	auth_throttle_failure(t, "z", "192.0.2.3", T0 + 3600);
	ck_assert_uint_eq(auth_throttle_entries(t), 2);
	/* A success is remembered for 24 hours, then swept too. */
	auth_throttle_success(t, "z", "192.0.2.3", T0 + 3600);
	auth_throttle_failure(t, "y", "192.0.2.4", T0 + 7200);
	ck_assert_uint_eq(auth_throttle_entries(t), 3);
	auth_throttle_failure(t, "y", "192.0.2.4",
	    T0 + 3600 + AUTH_THROTTLE_IP_TRUST + 1);
	ck_assert_uint_eq(auth_throttle_entries(t), 2);
	auth_throttle_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- SASL */

static char tmpdir[64];
static char dbpath[sizeof(tmpdir) + 64];
static struct ev_loop *loop;
static ms_id alice_id;

struct result {
	int		 calls;
	enum auth_result res;
	unsigned char	 out[256];
	size_t		 outlen;
};

static void
on_done(void *arg, enum auth_result res, const unsigned char *out,
    size_t outlen)
{
	struct result *r = arg;

	r->calls++;
	r->res = res;
	ck_assert_uint_le(outlen, sizeof(r->out));
	if (outlen > 0)
		memcpy(r->out, out, outlen);
	r->outlen = outlen;
}

/*
 * The temporary directory is made once, in the parent (so a failed test,
 * whose forked child skips the checked teardown, leaves nothing behind);
 * each test gets its own database in it.
 */
static void
tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_auth.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void
tmpdir_teardown(void)
{
	char path[sizeof(tmpdir) + 300];
	struct dirent *de;
	DIR *d = opendir(tmpdir);

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(tmpdir);
}

static void
sasl_setup(void)
{
	static int seq;
	struct ms_store *ms = NULL;
	char *err = NULL;

	/* Unique also when CK_FORK=no runs every test in one process. */
	snprintf(dbpath, sizeof(dbpath), "%s/mail-%ld-%d.db", tmpdir,
	    (long)getpid(), seq++);
	ck_assert_int_eq(ms_open(dbpath, &ms, &err), MS_OK);
	ck_assert_int_eq(ms_domain_add(ms, "example.org"), MS_OK);
	ck_assert_int_eq(ms_user_add(ms, "alice@example.org", "secret"), MS_OK);
	ck_assert_int_eq(ms_user_add(ms, "bob@example.org", "bobpw"), MS_OK);
	ck_assert_int_eq(ms_user_lookup(ms, "alice@example.org", &alice_id),
	    MS_OK);
	ms_close(&ms);

	loop = ev_loop_new(EVFLAG_AUTO);
	auth_set_throttle_scale(0.001);
	ck_assert_int_eq(auth_init(loop, dbpath), 0);
}

static void
sasl_teardown(void)
{
	auth_shutdown();
	ev_loop_destroy(loop);
}

/* Run the loop until r has been called back (10 s at most). */
static void
wait_for(struct result *r)
{
	ev_tstamp end = ev_time() + 10;

	while (r->calls == 0 && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(r->calls, 1);
}

static void
spin_done(struct ev_loop *l, ev_timer *t, int revents)
{
	ev_break(l, EVBREAK_ONE);
}

/* Run the loop for about secs seconds. */
static void
spin(double secs)
{
	ev_timer t;

	ev_timer_init(&t, spin_done, secs, 0.);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
}

static enum auth_result
step(struct auth_session *as, const char *mech, const char *in, size_t inlen,
    bool has_initial, struct result *r)
{
	memset(r, 0, sizeof(*r));
	auth_step(as, mech, (const unsigned char *)in, inlen, has_initial,
	    on_done, r);
	/* Never called back from inside auth_step. */
	ck_assert_int_eq(r->calls, 0);
	wait_for(r);
	return r->res;
}

#define OUT_IS(r, s) do {						\
	ck_assert_uint_eq((r)->outlen, strlen(s));			\
	ck_assert_mem_eq((r)->out, (s), strlen(s));			\
} while (0)

START_TEST(test_plain_ok)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct result r;

	ck_assert_int_eq(step(as, "PLAIN", S("\0alice@example.org\0secret"),
	    true, &r), AUTH_OK);
	ck_assert_str_eq(auth_session_user(as), "alice@example.org");
	ck_assert_int_eq(auth_session_user_id(as), alice_id);

	/* A second exchange on the same session, name in another case:
	 * the canonical address comes back. */
	ck_assert_int_eq(step(as, "PLAIN", S("\0Alice@Example.ORG\0secret"),
	    true, &r), AUTH_OK);
	ck_assert_str_eq(auth_session_user(as), "alice@example.org");

	/* authzid equal to the user is fine. */
	ck_assert_int_eq(step(as, "PLAIN",
	    S("alice@example.org\0alice@example.org\0secret"), true, &r), AUTH_OK);
	auth_session_free(&as);
	ck_assert_ptr_null(as);
}
END_TEST

START_TEST(test_plain_no_initial)
{
	struct auth_session *as = auth_session_new("imap", "127.0.0.1");
	struct result r;

	ck_assert_int_eq(step(as, "PLAIN", NULL, 0, false, &r), AUTH_CONTINUE);
	ck_assert_uint_eq(r.outlen, 0);
	ck_assert_int_eq(step(as, NULL, S("\0bob@example.org\0bobpw"), true, &r),
	    AUTH_OK);
	ck_assert_str_eq(auth_session_user(as), "bob@example.org");
	auth_session_free(&as);
}
END_TEST

START_TEST(test_plain_failures)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct result r;

	ck_assert_int_eq(step(as, "PLAIN", S("\0alice@example.org\0wrong"),
	    true, &r), AUTH_FAILED);
	ck_assert_ptr_null(auth_session_user(as));
	ck_assert_int_eq(step(as, "PLAIN", S("\0nobody@example.org\0secret"),
	    true, &r), AUTH_FAILED);
	/* No realm is appended or split off: "alice" is nobody. */
	ck_assert_int_eq(step(as, "PLAIN", S("\0alice\0secret"), true, &r),
	    AUTH_FAILED);
	/* No proxy authorization, even with a good password. */
	ck_assert_int_eq(step(as, "PLAIN",
	    S("bob@example.org\0alice@example.org\0secret"), true, &r),
	    AUTH_FAILED);
	ck_assert_ptr_null(auth_session_user(as));
	/* A good login after all that still works. */
	ck_assert_int_eq(step(as, "PLAIN", S("\0alice@example.org\0secret"),
	    true, &r), AUTH_OK);
	auth_session_free(&as);
}
END_TEST

START_TEST(test_bad_exchanges)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct result r;

	ck_assert_int_eq(step(as, "CRAM-MD5", NULL, 0, false, &r), AUTH_BAD_MECH);
	ck_assert_int_eq(step(as, "ANONYMOUS", NULL, 0, false, &r), AUTH_BAD_MECH);
	ck_assert_int_eq(step(as, "X-NOSUCH", NULL, 0, false, &r), AUTH_BAD_MECH);
	/* PLAIN without the NUL separators. */
	ck_assert_int_eq(step(as, "PLAIN", S("alice@example.org secret"), true,
	    &r), AUTH_BAD_PROTOCOL);
	/* A continuation with no exchange started. */
	ck_assert_int_eq(step(as, NULL, S("x"), true, &r), AUTH_BAD_PROTOCOL);
	/* An empty initial response ("AUTH PLAIN =") is not a missing one. */
	ck_assert_int_eq(step(as, "PLAIN", "", 0, true, &r), AUTH_BAD_PROTOCOL);
	ck_assert_int_eq(step(as, "LOGIN", "", 0, true, &r), AUTH_CONTINUE);
	OUT_IS(&r, "Username:");
	/* Mechanism names are case-insensitive. */
	ck_assert_int_eq(step(as, "plain", S("\0bob@example.org\0bobpw"), true,
	    &r), AUTH_OK);
	auth_session_free(&as);
}
END_TEST

START_TEST(test_login_two_steps)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct result r;

	ck_assert_int_eq(step(as, "LOGIN", NULL, 0, false, &r), AUTH_CONTINUE);
	OUT_IS(&r, "Username:");
	ck_assert_int_eq(step(as, NULL, S("alice@example.org"), true, &r),
	    AUTH_CONTINUE);
	OUT_IS(&r, "Password:");
	ck_assert_int_eq(step(as, NULL, S("secret"), true, &r), AUTH_OK);
	ck_assert_int_eq(auth_session_user_id(as), alice_id);

	ck_assert_int_eq(step(as, "LOGIN", NULL, 0, false, &r), AUTH_CONTINUE);
	ck_assert_int_eq(step(as, NULL, S("alice@example.org"), true, &r),
	    AUTH_CONTINUE);
	ck_assert_int_eq(step(as, NULL, S("secreT"), true, &r), AUTH_FAILED);
	ck_assert_ptr_null(auth_session_user(as));
	auth_session_free(&as);
}
END_TEST

START_TEST(test_login_initial_username)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct result r;

	/* Outlook sends the user name with AUTH LOGIN. */
	ck_assert_int_eq(step(as, "LOGIN", S("alice@example.org"), true, &r),
	    AUTH_CONTINUE);
	OUT_IS(&r, "Password:");
	ck_assert_int_eq(step(as, NULL, S("secret"), true, &r), AUTH_OK);
	ck_assert_str_eq(auth_session_user(as), "alice@example.org");
	auth_session_free(&as);
}
END_TEST

START_TEST(test_abort)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct result r;

	ck_assert_int_eq(step(as, "LOGIN", NULL, 0, false, &r), AUTH_CONTINUE);
	ck_assert_int_eq(step(as, NULL, S("alice@example.org"), true, &r),
	    AUTH_CONTINUE);
	auth_abort(as);
	/* The exchange is gone: the password has nothing to continue. */
	ck_assert_int_eq(step(as, NULL, S("secret"), true, &r),
	    AUTH_BAD_PROTOCOL);
	ck_assert_int_eq(step(as, "LOGIN", S("alice@example.org"), true, &r),
	    AUTH_CONTINUE);
	ck_assert_int_eq(step(as, NULL, S("secret"), true, &r), AUTH_OK);
	auth_session_free(&as);
}
END_TEST

START_TEST(test_check_plain)
{
	struct auth_session *as = auth_session_new("pop", "127.0.0.1");
	struct result r = { 0 };

	auth_check_plain(as, "bob@example.org", "bobpw", on_done, &r);
	ck_assert_int_eq(r.calls, 0);
	wait_for(&r);
	ck_assert_int_eq(r.res, AUTH_OK);
	ck_assert_str_eq(auth_session_user(as), "bob@example.org");

	memset(&r, 0, sizeof(r));
	auth_check_plain(as, "bob@example.org", "alicepw", on_done, &r);
	wait_for(&r);
	ck_assert_int_eq(r.res, AUTH_FAILED);
	ck_assert_ptr_null(auth_session_user(as));
	auth_session_free(&as);
}
END_TEST

START_TEST(test_free_in_flight)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct auth_session *as2 = auth_session_new("smtp", "127.0.0.1");
	struct result r1 = { 0 }, r2;

	/* Freed while the worker is busy with its step: no callback. */
	auth_step(as, "PLAIN", (const unsigned char *)"\0alice@example.org\0secret",
	    25, true, on_done, &r1);
	auth_session_free(&as);
	/* Freed in the middle of a LOGIN exchange. */
	ck_assert_int_eq(step(as2, "LOGIN", NULL, 0, false, &r2), AUTH_CONTINUE);
	auth_session_free(&as2);

	/* The worker is FIFO: once a later step is answered, the first
	 * result has come back and been dropped. */
	as2 = auth_session_new("smtp", "127.0.0.1");
	ck_assert_int_eq(step(as2, "PLAIN", S("\0bob@example.org\0bobpw"), true,
	    &r2), AUTH_OK);
	spin(0.05);
	ck_assert_int_eq(r1.calls, 0);
	auth_session_free(&as2);
}
END_TEST

START_TEST(test_free_while_held)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	struct result r = { 0 };

	/* A 1 s hold: free the session half-way through it. */
	auth_set_throttle_scale(1.0);
	auth_step(as, "PLAIN", (const unsigned char *)"\0alice@example.org\0bad",
	    22, true, on_done, &r);
	spin(0.6);
	ck_assert_int_eq(r.calls, 0);
	auth_session_free(&as);
	spin(0.8);
	ck_assert_int_eq(r.calls, 0);
}
END_TEST

START_TEST(test_failure_delay)
{
	struct auth_session *as = auth_session_new("smtp", "192.0.2.77");
	struct result r;
	ev_tstamp t0;

	/* Failure replies are held 1, 2, 4 units. */
	auth_set_throttle_scale(0.1);
	for (int i = 0; i < 3; i++) {
		t0 = ev_time();
		ck_assert_int_eq(step(as, "PLAIN", S("\0alice@example.org\0nope"),
		    true, &r), AUTH_FAILED);
		ck_assert_msg(ev_time() - t0 >= 0.1 * (1 << i) - 0.005,
		    "failure %d answered after %.3f s", i, ev_time() - t0);
	}
	/* A success is not held: at this scale a hold would last minutes,
	 * far beyond wait_for()'s limit. */
	auth_set_throttle_scale(100);
	ck_assert_int_eq(step(as, "PLAIN", S("\0alice@example.org\0secret"),
	    true, &r), AUTH_OK);
	/* It reset the counter: 1 s now, where 8 s were next. */
	auth_set_throttle_scale(1);
	t0 = ev_time();
	ck_assert_int_eq(step(as, "PLAIN", S("\0alice@example.org\0nope"),
	    true, &r), AUTH_FAILED);
	ck_assert_msg(ev_time() - t0 >= 0.995 && ev_time() - t0 < 4,
	    "held %.3f s after a success", ev_time() - t0);
	auth_session_free(&as);
}
END_TEST

START_TEST(test_ip_blocked)
{
	struct auth_session *as = auth_session_new("smtp", "192.0.2.99");
	struct auth_session *other = auth_session_new("smtp", "192.0.2.100");
	struct result r;
	char user[32];

	/* Many names from one address (short ones fail fast). */
	for (int i = 0; i <= AUTH_THROTTLE_IP_MAX_FAILS; i++) {
		ck_assert(!auth_ip_blocked("192.0.2.99"));
		snprintf(user, sizeof(user), "u%d", i);
		memset(&r, 0, sizeof(r));
		auth_check_plain(as, user, "x", on_done, &r);
		wait_for(&r);
		ck_assert_int_eq(r.res, AUTH_FAILED);
	}
	ck_assert(auth_ip_blocked("192.0.2.99"));
	ck_assert(!auth_ip_blocked("192.0.2.100"));
	/* Refused without a look at the password, even a right one. */
	ck_assert_int_eq(step(as, "PLAIN", S("\0alice@example.org\0secret"),
	    true, &r), AUTH_FAILED);
	ck_assert_ptr_null(auth_session_user(as));
	ck_assert_int_eq(step(other, "PLAIN", S("\0alice@example.org\0secret"),
	    true, &r), AUTH_OK);
	auth_session_free(&as);
	auth_session_free(&other);
}
END_TEST

/*
 * With debug logging on, nothing logged during good and bad exchanges
 * contains a password, while the user names do show up.
 */
START_TEST(test_no_secrets_logged)
{
	struct auth_session *as = auth_session_new("smtp", "127.0.0.1");
	char logpath[300], buf[65536];
	struct result r;
	ssize_t n;
	int fd, saved;

	snprintf(logpath, sizeof(logpath), "%s/log-%ld", tmpdir, (long)getpid());
	fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_set_debug(true);

	step(as, "PLAIN", S("\0alice@example.org\0Pw-Wrong-1"), true, &r);
	step(as, "PLAIN", S("\0alice@example.org\0secret"), true, &r);
	step(as, "LOGIN", S("bob@example.org"), true, &r);
	step(as, NULL, S("Pw-Wrong-2"), true, &r);
	step(as, "PLAIN", S("\0ghost@example.org\0Pw-Wrong-3"), true, &r);
	step(as, "PLAIN", S("\0carol\0Pw-Wrong-4"), true, &r);

	log_set_debug(false);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(logpath);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_null(strstr(buf, "Pw-Wrong"));
	ck_assert_ptr_null(strstr(buf, "secret"));
	ck_assert_ptr_nonnull(strstr(buf, "event=success"));
	ck_assert_ptr_nonnull(strstr(buf, "user=ghost@example.org "));
	/* The name was checked as sent: no realm or host name appended. */
	ck_assert_ptr_nonnull(strstr(buf, "user=carol ip="));
	auth_session_free(&as);
}
END_TEST

START_TEST(test_mechanisms)
{
	ck_assert_str_eq(auth_mechanisms(false, false), "");
	ck_assert_str_eq(auth_mechanisms(true, false), "PLAIN LOGIN");
	ck_assert_str_eq(auth_mechanisms(false, true), "PLAIN LOGIN");
	ck_assert(auth_mechanism_allowed("PLAIN", true, false));
	ck_assert(auth_mechanism_allowed("login", false, true));
	ck_assert(!auth_mechanism_allowed("PLAIN", false, false));
	ck_assert(!auth_mechanism_allowed("CRAM-MD5", true, true));
	ck_assert(!auth_mechanism_allowed("PLAINX", true, true));
	ck_assert(!auth_mechanism_allowed("", true, true));
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;

	tc = tcase_create("base64");
	tcase_add_loop_test(tc, test_b64_encode, 0, N(b64_cases));
	tcase_add_loop_test(tc, test_b64_decode, 0, N(b64_cases));
	tcase_add_loop_test(tc, test_b64_bad, 0, N(b64_bad));
	tcase_add_test(tc, test_b64_roundtrip);
	tcase_add_test(tc, test_mechanisms);
	suite_add_tcase(s, tc);

	tc = tcase_create("throttle");
	tcase_add_test(tc, test_throttle_grows_and_caps);
	tcase_add_test(tc, test_throttle_per_user);
	tcase_add_test(tc, test_throttle_success_resets);
	tcase_add_test(tc, test_throttle_forgets);
	tcase_add_test(tc, test_throttle_blocks_ip);
	tcase_add_test(tc, test_throttle_window);
	tcase_add_test(tc, test_throttle_success_shields_ip);
	tcase_add_test(tc, test_throttle_bounded);
	tcase_add_test(tc, test_throttle_expires);
	suite_add_tcase(s, tc);

	tc = tcase_create("sasl");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_checked_fixture(tc, sasl_setup, sasl_teardown);
	tcase_add_test(tc, test_plain_ok);
	tcase_add_test(tc, test_plain_no_initial);
	tcase_add_test(tc, test_plain_failures);
	tcase_add_test(tc, test_bad_exchanges);
	tcase_add_test(tc, test_login_two_steps);
	tcase_add_test(tc, test_login_initial_username);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_check_plain);
	tcase_add_test(tc, test_free_in_flight);
	tcase_add_test(tc, test_free_while_held);
	tcase_add_test(tc, test_failure_delay);
	tcase_add_test(tc, test_ip_blocked);
	tcase_add_test(tc, test_no_secrets_logged);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	log_init("check_auth", false);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
