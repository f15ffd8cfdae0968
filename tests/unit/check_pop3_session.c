/* SPDX-License-Identifier: ISC */
/*
 * Scripted POP3 conversations against the real session code, on the
 * harness of session_harness.c: a temporary mailstore, the writer and the
 * auth worker, the loop on the test's thread and a blocking client on a
 * script thread (OpenSSL for STLS and POP3S).
 *
 * The fixture delivers three messages to alice's INBOX and keeps their
 * bytes and uids in sent[], so that listings and RETR can be compared
 * exactly and the tests can tell afterwards which ones are left.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailstore/ms.h"
#include "pop3/pop3.h"
#include "pop3/pop3_session.h"
#include "tests/unit/session_harness.h"

#define MAX_MSGS	8

static const struct harness_proto pop3_proto = {
	.name = "check_pop3_session",
	.debug_env = "POP3_TEST_DEBUG",
	.accept = pop3_accept,
	.sessions_memory = pop3_sessions_memory,
};

/* What was delivered to alice, in uid order, for comparisons. */
static struct {
	char	*data;
	size_t	 len;
	uint32_t uid;
} sent[MAX_MSGS];
static size_t n_sent;
static uint32_t inbox_uidvalidity;

/* ---------------------------------------------------- POP3 responses */

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

/* Send a command line; the reply's first line must start with want. */
static void cl_ask(struct client *c, const char *want, const char *fmt, ...)
    PR_PRINTF(3, 4);

static void
cl_ask(struct client *c, const char *want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cl_vsend(c, fmt, ap);
	va_end(ap);
	cl_expect(c, want);
}

/* QUIT: the reply must start with want, then the server closes. */
static void
cl_quit(struct client **cp, const char *want)
{
	cl_send(*cp, "QUIT");
	cl_expect_close(cp, want);
}

static void
cl_login(struct client *c)
{
	cl_ask(c, "+OK", "USER %s", ALICE);
	cl_ask(c, "+OK Logged in.", "PASS %s", ALICE_PW);
}

static struct client *
cl_open_logged_in(void)
{
	struct client *c = cl_connect(ROLE_POP3);

	cl_expect(c, "+OK Postroom ready.");
	cl_login(c);
	return c;
}

/* ------------------------------------------------------------- fixture */

/* Deliver to alice's INBOX and remember what and under which uid. */
static void
deliver_kept(const char *data, size_t len)
{
	ck_assert_uint_lt(n_sent, MAX_MSGS);
	sent[n_sent].uid = deliver(data, len);
	sent[n_sent].data = malloc(len + 1);
	ck_assert_ptr_nonnull(sent[n_sent].data);
	memcpy(sent[n_sent].data, data, len);
	sent[n_sent].len = len;
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
	struct ms_mailbox_info mb;

	harness_setup(&pop3_proto);
	srv.cfg->pop3_timeout = 30;
	n_sent = 0;
	deliver_kept(msg1, sizeof(msg1) - 1);
	deliver_kept(msg2, sizeof(msg2) - 1);
	deliver_kept(msg3, sizeof(msg3) - 1);
	ck_assert_int_eq(ms_mailbox_find(store, alice_id, "INBOX", &mb), MS_OK);
	inbox_uidvalidity = mb.uidvalidity;
}

static void
teardown(void)
{
	size_t i;

	harness_teardown();
	for (i = 0; i < n_sent; i++)
		free(sent[i].data);
}

/* The uids now in alice's INBOX, as a bitmask over sent[]. */
static unsigned
inbox_mask(void)
{
	struct ms_msg *v;
	size_t n, i, j;
	unsigned mask = 0;

	ck_assert_int_eq(ms_mailbox_messages(store, mailbox_id("INBOX"), &v,
	    &n), MS_OK);
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
	cl_ask(c, "+OK", "CAPA");
	capa = cl_body_lines(c);
	ck_assert_msg(capa_has(capa, "TOP") && capa_has(capa, "UIDL") &&
	    capa_has(capa, "USER") && capa_has(capa, "SASL PLAIN LOGIN") &&
	    capa_has(capa, "RESP-CODES") && capa_has(capa, "AUTH-RESP-CODE") &&
	    capa_has(capa, "PIPELINING") && capa_has(capa, "STLS") &&
	    capa_has(capa, "EXPIRE NEVER") && capa_has(capa, "LOGIN-DELAY 0") &&
	    capa_has(capa, "IMPLEMENTATION Postroom"), "CAPA: %s", capa);
	free(capa);
	cl_ask(c, "+OK", "capa");
	free(cl_body_lines(c));
	cl_quit(&c, "+OK Logging out.");
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
	cl_ask(c, "+OK", "CAPA");
	capa = cl_body_lines(c);
	ck_assert_msg(!capa_has(capa, "USER") && strstr(capa, "SASL") == NULL &&
	    capa_has(capa, "STLS"), "CAPA: %s", capa);
	free(capa);
	cl_ask(c, "-ERR [AUTH] Plaintext authentication disallowed",
	    "USER %s", ALICE);
	cl_ask(c, "-ERR [AUTH] Plaintext authentication disallowed",
	    "PASS %s", ALICE_PW);
	cl_ask(c, "-ERR [AUTH] Plaintext authentication disallowed",
	    "AUTH PLAIN AGFsaWNlAHB3");
	cl_ask(c, "+OK", "AUTH");
	capa = cl_body_lines(c);
	ck_assert_str_eq(capa, "");
	free(capa);
	cl_ask(c, "-ERR Command not valid in this state", "STAT");
	cl_quit(&c, "+OK");
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
	cl_ask(c, "-ERR [AUTH]", "USER %s", ALICE);
	/* A command pipelined behind STLS must not survive into TLS. */
	cl_write(c, "STLS\r\nNOOP\r\n", 12);
	cl_expect(c, "+OK Begin TLS negotiation");
	cl_start_tls(c);
	cl_ask(c, "+OK Capability list follows", "CAPA");
	capa = cl_body_lines(c);
	ck_assert_msg(capa_has(capa, "USER") && !capa_has(capa, "STLS") &&
	    capa_has(capa, "SASL PLAIN LOGIN"), "CAPA: %s", capa);
	free(capa);
	cl_ask(c, "-ERR", "STLS");
	cl_login(c);
	cl_ask(c, "+OK", "CAPA");
	capa = cl_body_lines(c);
	ck_assert_msg(!capa_has(capa, "USER") && !capa_has(capa, "STLS") &&
	    capa_has(capa, "UIDL"), "CAPA: %s", capa);
	free(capa);
	cl_quit(&c, "+OK Logging out.");
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
	cl_ask(c, "+OK", "CAPA");
	capa = cl_body_lines(c);
	ck_assert_msg(capa_has(capa, "USER") && !capa_has(capa, "STLS"),
	    "CAPA: %s", capa);
	free(capa);
	cl_login(c);
	cl_ask(c, "+OK 3 ", "STAT");
	cl_quit(&c, "+OK");
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

	cl_ask(c, "+OK 3 messages", "LIST");
	body = cl_body_lines(c);
	snprintf(want, sizeof(want), "1 %zu|2 %zu|3 %zu|", sent[0].len,
	    sent[1].len, sent[2].len);
	ck_assert_str_eq(body, want);
	free(body);
	cl_send(c, "LIST 2");
	snprintf(want, sizeof(want), "+OK 2 %zu", sent[1].len);
	cl_expect(c, want);

	cl_ask(c, "+OK", "UIDL");
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

	cl_ask(c, "+OK", "TOP 1 0");
	body = cl_body_lines(c);
	ck_assert_str_eq(body, "From: bob@example.net|Subject: one||");
	free(body);
	cl_ask(c, "+OK", "TOP 1 2");
	body = cl_body_lines(c);
	ck_assert_str_eq(body, "From: bob@example.net|Subject: one||"
	    "first line|.starts with a dot|");
	free(body);
	cl_ask(c, "+OK", "TOP 2 100");
	body = cl_body_lines(c);
	ck_assert_str_eq(body, "Subject: two||no final line break|");
	free(body);

	/* Argument errors. */
	cl_ask(c, "-ERR No such message", "RETR 0");
	cl_ask(c, "-ERR No such message", "RETR 4");
	cl_ask(c, "-ERR Invalid message number", "RETR 99999999999");
	cl_ask(c, "-ERR Invalid message number", "RETR");
	cl_ask(c, "-ERR Invalid message number", "RETR -1");
	cl_ask(c, "-ERR Invalid arguments", "TOP 1");
	cl_ask(c, "-ERR Invalid message number", "LIST x");
	cl_ask(c, "-ERR Command not valid in this state", "USER bob");
	cl_ask(c, "+OK", "NOOP");

	/* DELE marks; deleted messages vanish from every listing. */
	cl_ask(c, "+OK", "DELE 1");
	cl_ask(c, "-ERR Message is deleted", "DELE 1");
	cl_ask(c, "-ERR Message is deleted", "RETR 1");
	cl_ask(c, "-ERR Message is deleted", "LIST 1");
	cl_send(c, "STAT");
	snprintf(want, sizeof(want), "+OK 2 %zu", total - sent[0].len);
	cl_expect(c, want);
	cl_ask(c, "+OK 2 messages", "LIST");
	body = cl_body_lines(c);
	snprintf(want, sizeof(want), "2 %zu|3 %zu|", sent[1].len, sent[2].len);
	ck_assert_str_eq(body, want);
	free(body);
	cl_ask(c, "+OK maildrop has 3 messages", "RSET");
	cl_ask(c, "+OK", "DELE 2");
	cl_ask(c, "+OK", "DELE 3");
	cl_quit(&c, "+OK Logging out, messages deleted.");
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

	cl_ask(c, "+OK", "DELE 1");
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
	cl_ask(c, "+OK", "DELE 2");
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
	cl_expect_close(&c, "+OK Logging out, messages deleted.");
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

	cl_ask(a, "+OK", "DELE 1");
	cl_quit(&a, "+OK Logging out, messages deleted.");

	/* b keeps its snapshot: numbering and listing are unchanged... */
	cl_ask(b, "+OK 3 messages", "LIST");
	body = cl_body_lines(b);
	ck_assert_ptr_nonnull(strstr(body, "1 "));
	free(body);
	/* ...but the removed message cannot be read any more. */
	cl_ask(b, "-ERR Message no longer exists", "RETR 1");
	cl_ask(b, "+OK", "RETR 2");
	free(cl_body_lines(b));

	c = cl_open_logged_in();
	cl_ask(c, "+OK 2 ", "STAT");
	cl_quit(&c, "+OK Logging out.");

	/* Deleting what is already gone is fine. */
	cl_ask(b, "+OK", "DELE 1");
	cl_ask(b, "+OK", "DELE 2");
	cl_quit(&b, "+OK Logging out, messages deleted.");
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
	struct client *c = cl_connect(ROLE_POP3);
	char *enc;

	cl_expect(c, "+OK Postroom ready.");
	cl_ask(c, "+OK", "AUTH");
	enc = cl_body_lines(c);
	ck_assert_str_eq(enc, "PLAIN|LOGIN|");
	free(enc);

	cl_ask(c, "-ERR Unsupported authentication mechanism", "AUTH CRAM-MD5");
	cl_ask(c, "-ERR Invalid base64", "AUTH PLAIN !!!!");

	/* Wrong password, then a cancelled exchange. */
	enc = sasl_plain("wrong");
	cl_send(c, "AUTH PLAIN %s", enc);
	free(enc);
	cl_expect(c, "-ERR [AUTH] Authentication failed.");
	cl_ask(c, "+ ", "AUTH PLAIN");
	cl_ask(c, "-ERR", "*");
	cl_ask(c, "-ERR Command not valid in this state", "NOOP");

	/* AUTH LOGIN with its two challenges. */
	cl_send(c, "AUTH LOGIN");
	cl_sasl_login(c);
	cl_expect(c, "+OK Logged in.");
	cl_ask(c, "-ERR Command not valid in this state", "AUTH PLAIN");
	cl_quit(&c, "+OK");

	/* PLAIN with an initial response, and without. */
	c = cl_connect(ROLE_POP3);
	cl_expect(c, "+OK Postroom ready.");
	enc = sasl_plain(ALICE_PW);
	cl_ask(c, "+OK Logged in.", "AUTH PLAIN %s", enc);
	cl_quit(&c, "+OK");

	c = cl_connect(ROLE_POP3);
	cl_expect(c, "+OK Postroom ready.");
	cl_ask(c, "+ ", "auth plain");
	cl_send(c, "%s", enc);
	free(enc);
	cl_expect(c, "+OK Logged in.");
	cl_quit(&c, "+OK");
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
	cl_ask(c, "-ERR No user name given", "PASS %s", ALICE_PW);
	cl_ask(c, "+OK", "USER %s", ALICE);
	cl_ask(c, "-ERR [AUTH] Authentication failed.", "PASS wrong");
	/* A failed PASS forgets the USER. */
	cl_ask(c, "-ERR No user name given", "PASS %s", ALICE_PW);
	cl_ask(c, "+OK", "USER nobody@example.org");
	cl_ask(c, "-ERR [AUTH] Authentication failed.", "PASS %s", ALICE_PW);
	cl_login(c);
	cl_quit(&c, "+OK");
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
	cl_ask(c, "+OK", "CAPA");
	free(cl_body_lines(c));
	cl_ask(c, "-ERR Unknown command", "XYZZY");
	cl_ask(c, "-ERR Unknown command", "%s", "");
	/* That was four; the twentieth closes the connection. */
	for (i = 4; i < 19; i++)
		cl_ask(c, "-ERR Unknown command", "BOGUS %d", i);
	cl_ask(c, "-ERR Too many bad commands", "BOGUS");
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
	cl_expect_close(&c, "-ERR Disconnected for inactivity.");
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
	cl_expect_close(&b, "-ERR Server shutting down.");
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
	deliver_kept(big, BIG_SIZE);
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
	cl_quit(&c, "+OK");
}

START_TEST(test_big_message)
{
	make_big();
	run_script(script_big);
	free(big);
}
END_TEST

static void
add_tests(TCase *tc)
{
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
}

int
main(void)
{
	return harness_main("pop3_session", setup, teardown, add_tests);
}
