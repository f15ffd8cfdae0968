/* SPDX-License-Identifier: ISC */
/*
 * Scripted IMAP conversations against the real session code, on the
 * harness of session_harness.c: a temporary mailstore, the writer and the
 * auth worker, the loop on the test's thread and a blocking client on a
 * script thread.
 *
 * This file holds the IMAP side of that client (tagged commands,
 * responses with their literals, table-driven steps) and the
 * connection-level tests (greeting, TLS, login, limits and bad input);
 * check_imap_session_msg.c and check_imap_session_mbox.c hold the
 * message and mailbox commands.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "imap-lite/imap.h"
#include "imap-lite/imap_session.h"
#include "tests/unit/check_imap_session.h"

static const struct harness_proto imap_proto = {
	.name = "check_imap_session",
	.debug_env = "IMAP_TEST_DEBUG",
	.accept = imap_accept,
	.sessions_memory = imap_sessions_memory,
};

static void
setup(void)
{
	harness_setup(&imap_proto);
	srv.cfg->imap_timeout = 30;
	imap_init(&srv);
}

/* ------------------------------------------------- commands and replies */

void
cl_claim_recent(void)
{
	struct client *c = cl_login();

	cl_run(c, "OK", "SELECT INBOX");
	cl_logout(&c);
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
	cl_expect_close(cp, "Z OK");
}

/* A check of a step: check must be in r, or, after a '!', must not. */
static void
check_response(const char *cmd, const char *r, const char *check)
{
	if (check[0] == '!')
		ck_assert_msg(strstr(r, check + 1) == NULL,
		    "\"%s\": unexpected \"%s\" in:\n%s", cmd, check + 1, r);
	else
		ck_assert_msg(strstr(r, check) != NULL,
		    "\"%s\": missing \"%s\" in:\n%s", cmd, check, r);
}

void
cl_check(struct client *c, const char *want, const char *cmd, ...)
{
	char *r = cl_cmd(c, want, "%s", cmd);
	const char *check;
	va_list ap;

	va_start(ap, cmd);
	while ((check = va_arg(ap, const char *)) != NULL)
		check_response(cmd, r, check);
	va_end(ap);
	free(r);
}

void
run_steps(struct client *c, const char *const steps[][STEP_MAX], size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const char *const *st = steps[i];
		char *r = cl_cmd(c, st[0], "%s", st[1]);

		for (k = 2; k < STEP_MAX && st[k] != NULL; k++)
			check_response(st[1], r, st[k]);
		free(r);
	}
}

/* ---------------------------------------------------- connection tests */

static void
script_greeting(void)
{
	struct client *c = cl_connect(ROLE_IMAP);

	cl_expect(c, "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE "
	    "IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE "
	    "LIST-EXTENDED LIST-STATUS CONDSTORE STARTTLS AUTH=PLAIN "
	    "AUTH=LOGIN] Postroom ready.");
	cl_check(c, "OK", "CAPABILITY", "* CAPABILITY IMAP4rev1 ",
	    " AUTH=PLAIN AUTH=LOGIN\r\n", "!LOGINDISABLED", NULL);
	cl_run(c, "OK", "noop");
	cl_check(c, "OK", "ID (\"name\" \"check\" \"version\" \"1\")",
	    "* ID (\"name\" \"Postroom\")", NULL);
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

	cl_expect(c, "* OK [CAPABILITY");
	cl_check(c, "OK", "CAPABILITY", " STARTTLS LOGINDISABLED\r\n",
	    "!AUTH=", NULL);
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

	cl_expect(c, "* OK");
	/* A command pipelined behind STARTTLS must not survive into TLS. */
	cl_send(c, "S1 STARTTLS\r\nS2 LOGIN %s \"%s\"", ALICE, ALICE_PW);
	cl_expect(c, "S1 OK Begin TLS");
	cl_start_tls(c);
	cl_check(c, "OK", "CAPABILITY", "AUTH=PLAIN AUTH=LOGIN\r\n",
	    "!STARTTLS", "!S2", NULL);
	cl_run(c, "BAD", "STARTTLS");
	cl_run(c, "OK [CAPABILITY", "LOGIN %s \"%s\"", ALICE, ALICE_PW);
	cl_check(c, "OK", "CAPABILITY", "!AUTH=", "!LOGINDISABLED", NULL);
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
	struct client *c = cl_connect(ROLE_IMAP);
	char *enc;

	cl_expect(c, "* OK");
	/* SASL-IR with a wrong password. */
	enc = sasl_plain("wrong");
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
	cl_sasl_login(c);
	cl_expect(c, "A3 OK [CAPABILITY IMAP4rev1");
	cl_run(c, "BAD", "AUTHENTICATE PLAIN");
	cl_logout(&c);

	/* PLAIN without an initial response. */
	c = cl_connect(ROLE_IMAP);
	cl_expect(c, "* OK");
	cl_send(c, "P1 authenticate plain");
	cl_expect(c, "+ ");
	enc = sasl_plain(ALICE_PW);
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
	cl_expect_close(&c, "* BYE Too many");
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
	cl_expect_close(&c, "P4 OK");
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
	cl_expect_close(&c, "* BYE Autologout");
}

START_TEST(test_timeout)
{
	srv.cfg->imap_timeout = 0.3;
	run_script(script_timeout);
}
END_TEST

/*
 * In IDLE the client hears "* OK Still here" every imap_idle_keepalive
 * seconds, and the autologout still comes imap_timeout after the IDLE
 * began: the keepalives, output, must not keep the session forever.
 */
static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
script_idle_keepalive(void)
{
	struct client *c = cl_login();
	unsigned pings = 0;
	double t0, t;
	char *line;

	cl_run(c, "OK", "SELECT INBOX");
	cl_send(c, "I1 IDLE");
	cl_expect(c, "+ idling");
	t0 = mono_now();
	while ((line = cl_line(c)) != NULL &&
	    strcmp(line, "* OK Still here") == 0 && pings < 100) {
		pings++;
		free(line);
	}
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strncmp(line, "* BYE Autologout", 16) == 0,
	    "got \"%s\" after %u keepalives", line, pings);
	free(line);
	cl_expect_eof(c);
	cl_close(&c);
	t = mono_now() - t0;
	ck_assert_msg(t >= 1.4 && t < 4.0, "autologout after %.2f s in IDLE", t);
	/* one every 0.2 s, give or take a tick */
	ck_assert_msg(pings >= 3 && pings <= 9, "%u keepalives in %.2f s", pings,
	    t);
}

START_TEST(test_idle_keepalive)
{
	srv.cfg->imap_idle_keepalive = 0.2;
	srv.cfg->imap_timeout = 1.5;
	run_script(script_idle_keepalive);
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
	cl_expect_close(&c, "* BYE Server shutting down.");
	b = cl_connect(ROLE_IMAP);
	cl_expect_close(&b, "* BYE Server shutting down.");
}

START_TEST(test_shutdown)
{
	run_script(script_shutdown);
	ck_assert_uint_eq(mailbox_count("INBOX"), 1);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_greeting);
	tcase_add_test(tc, test_plaintext_refused);
	tcase_add_test(tc, test_starttls);
	tcase_add_test(tc, test_imaps);
	tcase_add_test(tc, test_authenticate);
	tcase_add_test(tc, test_login_forms);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_pipelining);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_idle_keepalive);
	tcase_add_test(tc, test_shutdown);
	add_tests_msg(tc);
	add_tests_mbox(tc);
}

int
main(void)
{
	return harness_main("imap_session", setup, harness_teardown,
	    add_tests);
}
