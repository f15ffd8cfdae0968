/* SPDX-License-Identifier: ISC */
/*
 * Scripted IMAP conversations about messages: FETCH in its forms, STORE
 * with CONDSTORE, SEARCH, APPEND, COPY, MOVE and EXPUNGE, and a big
 * message streamed to a client that does not read.  The harness is in
 * check_imap_session.c.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-lite/imap.h"
#include "tests/unit/check_imap_session.h"

static const char msg_plain[] =
    "From: Bob <bob@example.net>\r\n"
    "To: alice@example.org\r\n"
    "Subject: plain one\r\n"
    "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
    "\r\n"
    "Hello plain world\r\n";
static const char msg_multi[] =
    "From: carol@example.net\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?= multipart\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "first part text\r\n"
    "--XX\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "c2VjcmV0IHdvcmQgaW5zaWRl\r\n"
    "--XX--\r\n";
static const char msg_qp[] =
    "Subject: third\r\n"
    "X-Priority: 1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "=41=42C quo=\r\n"
    "ted\r\n";

static uint32_t uid_plain, uid_multi, uid_qp;

static void
three_messages(void)
{
	uid_plain = deliver(msg_plain, strlen(msg_plain));
	uid_multi = deliver(msg_multi, strlen(msg_multi));
	uid_qp = deliver(msg_qp, strlen(msg_qp));
}

/* "NAME {n}\r\n<bytes>" must be in r with exactly these bytes. */
static void
has_literal(const char *r, const char *name, const char *bytes)
{
	char *want;

	ck_assert(asprintf(&want, "%s {%zu}\r\n%s", name, strlen(bytes),
	    bytes) > 0);
	HAS(r, want);
	free(want);
}

/* ---------------------------------------------------------------- FETCH */

static void
script_fetch(void)
{
	struct client *c;
	char *r, want[256];

	cl_claim_recent();
	c = cl_login();

	cl_check(c, "OK [READ-WRITE]", "SELECT INBOX", "* 3 EXISTS\r\n",
	    "* OK [UNSEEN 1]", NULL);

	r = cl_cmd(c, "OK", "FETCH 1:* (UID RFC822.SIZE FLAGS)");
	snprintf(want, sizeof(want), "* 1 FETCH (UID %u FLAGS () "
	    "RFC822.SIZE %zu)", uid_plain, strlen(msg_plain));
	HAS(r, want);
	snprintf(want, sizeof(want), "* 3 FETCH (UID %u FLAGS () "
	    "RFC822.SIZE %zu)", uid_qp, strlen(msg_qp));
	HAS(r, want);
	free(r);

	/* The stored bytes exactly, and sections sliced from them. */
	r = cl_cmd(c, "OK", "FETCH 1 BODY.PEEK[]");
	has_literal(r, "BODY[]", msg_plain);
	free(r);
	r = cl_cmd(c, "OK", "FETCH 2 (BODY.PEEK[1] BODY.PEEK[2] "
	    "BODY.PEEK[2.MIME] BODY.PEEK[3] BODY.PEEK[]<0.6>)");
	has_literal(r, "BODY[1]", "first part text");
	has_literal(r, "BODY[2]", "c2VjcmV0IHdvcmQgaW5zaWRl");
	has_literal(r, "BODY[2.MIME]", "Content-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	HAS(r, "BODY[3] NIL");
	has_literal(r, "BODY[]<0>", "From: ");
	free(r);
	r = cl_cmd(c, "OK", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject to)] "
	    "BODY.PEEK[HEADER.FIELDS.NOT (From To Date)] RFC822.HEADER)");
	has_literal(r, "BODY[HEADER.FIELDS (SUBJECT TO)]",
	    "To: alice@example.org\r\nSubject: plain one\r\n\r\n");
	has_literal(r, "BODY[HEADER.FIELDS.NOT (FROM TO DATE)]",
	    "Subject: plain one\r\n\r\n");
	HAS(r, "RFC822.HEADER {");
	free(r);
	cl_check(c, "OK", "FETCH 1 (ENVELOPE BODYSTRUCTURE INTERNALDATE)",
	    "ENVELOPE (\"Tue, 1 Jul 2003 10:52:37 +0200\" \"plain one\" "
	    "((\"Bob\" NIL \"bob\" \"example.net\"))", "INTERNALDATE \"", NULL);
	cl_check(c, "OK", "FETCH 2 BODYSTRUCTURE", "BODYSTRUCTURE ((", NULL);
	cl_check(c, "OK", "FETCH 3 FAST", "FLAGS () INTERNALDATE",
	    "RFC822.SIZE", NULL);

	/* Nothing above set \Seen; BODY[TEXT] does, and says so. */
	cl_check(c, "OK", "FETCH 1:3 FLAGS", "!\\Seen", NULL);
	r = cl_cmd(c, "OK", "FETCH 1 BODY[TEXT]");
	HAS(r, "FLAGS (\\Seen)");
	has_literal(r, "BODY[TEXT]", "Hello plain world\r\n");
	free(r);
	r = cl_cmd(c, "OK", "FETCH 3 RFC822");
	HAS(r, "FLAGS (\\Seen)");
	has_literal(r, "RFC822", msg_qp);
	free(r);
	cl_check(c, "OK", "FETCH 1:3 FLAGS", "* 1 FETCH (FLAGS (\\Seen))",
	    "* 2 FETCH (FLAGS ())", NULL);

	/* UID forms name the UID; unknown UIDs are just not there. */
	r = cl_cmd(c, "OK", "UID FETCH %u:* FLAGS", uid_multi);
	snprintf(want, sizeof(want), "* 2 FETCH (UID %u FLAGS ())", uid_multi);
	HAS(r, want);
	HASNT(r, "* 1 FETCH");
	free(r);
	cl_check(c, "OK", "UID FETCH 9999 FLAGS", "!FETCH (", NULL);
	cl_run(c, "BAD", "FETCH 4 FLAGS");
	cl_run(c, "BAD", "FETCH 0 FLAGS");
	cl_run(c, "BAD", "FETCH 1 (FLAGS");
	cl_run(c, "BAD", "FETCH 1 BODY[4.FOO]");
	cl_run(c, "BAD", "FETCH 1 BINARY[1]");

	/* EXAMINE never sets \Seen. */
	cl_run(c, "OK [READ-ONLY]", "EXAMINE INBOX");
	cl_check(c, "OK", "FETCH 2 (BODY[1] FLAGS)", "FLAGS ()", NULL);
	cl_logout(&c);
}

START_TEST(test_fetch)
{
	three_messages();
	run_script(script_fetch);
}
END_TEST

/* ---------------------------------------------------------------- STORE */

static void
script_store(void)
{
	struct client *c;
	char *r, want[128];
	unsigned long long modseq;
	const char *p;

	cl_claim_recent();
	c = cl_login();

	cl_run(c, "OK", "SELECT INBOX");
	cl_check(c, "OK", "STORE 1 +FLAGS (\\Flagged)",
	    "* 1 FETCH (FLAGS (\\Flagged))", NULL);
	cl_check(c, "OK", "STORE 1:2 +FLAGS.SILENT (\\Seen)", "!FETCH", NULL);
	/* A new keyword is announced with FLAGS. */
	cl_check(c, "OK", "STORE 2 FLAGS ($Label1 \\Answered)",
	    "* 2 FETCH (FLAGS (\\Answered $Label1))",
	    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)",
	    NULL);
	cl_check(c, "OK", "STORE 1 -FLAGS \\Flagged \\Seen",
	    "* 1 FETCH (FLAGS ())", NULL);
	r = cl_cmd(c, "OK", "UID STORE %u +FLAGS (\\Draft)", uid_qp);
	snprintf(want, sizeof(want), "* 3 FETCH (UID %u FLAGS (\\Draft))",
	    uid_qp);
	HAS(r, want);
	free(r);
	cl_run(c, "BAD", "STORE 1 +FLAGS (\\Recent)");
	cl_run(c, "BAD", "STORE 1 +FLAGS (\\Bogus)");
	cl_run(c, "BAD", "STORE 1 PLUSFLAGS (\\Seen)");

	/* CONDSTORE: modseqs grow, and UNCHANGEDSINCE guards a STORE. */
	r = cl_cmd(c, "OK", "FETCH 2 (MODSEQ)");
	p = strstr(r, "MODSEQ (");
	ck_assert_ptr_nonnull(p);
	modseq = strtoull(p + 8, NULL, 10);
	ck_assert_uint_gt(modseq, 1);
	free(r);
	r = cl_cmd(c, "OK [MODIFIED 2]", "STORE 2 (UNCHANGEDSINCE %llu) "
	    "+FLAGS (\\Flagged)", modseq - 1);
	HASNT(r, "* 2 FETCH");
	free(r);
	r = cl_cmd(c, "OK STORE", "STORE 2 (UNCHANGEDSINCE %llu) "
	    "+FLAGS (\\Flagged)", modseq);
	snprintf(want, sizeof(want), "* 2 FETCH (FLAGS (\\Answered "
	    "\\Flagged $Label1) MODSEQ (");
	HAS(r, want);
	/* That store made message 2 the latest change of all. */
	modseq = strtoull(strstr(r, "MODSEQ (") + 8, NULL, 10);
	free(r);
	r = cl_cmd(c, "OK", "FETCH 1:3 (FLAGS) (CHANGEDSINCE %llu)",
	    modseq - 1);
	HAS(r, "* 2 FETCH");
	HASNT(r, "* 1 FETCH");
	free(r);

	/* With CONDSTORE on, .SILENT still reports the new modseq. */
	cl_check(c, "OK", "STORE 1 +FLAGS.SILENT (\\Deleted)",
	    "* 1 FETCH (MODSEQ (", "!FLAGS", NULL);
	/* EXPUNGE removes \Deleted messages and renumbers. */
	cl_check(c, "OK", "EXPUNGE", "* 1 EXPUNGE\r\n", NULL);
	ck_assert_uint_eq(mailbox_count("INBOX"), 2);
	/* UID EXPUNGE only touches the UIDs it names. */
	cl_run(c, "OK", "STORE 1:2 +FLAGS.SILENT (\\Deleted)");
	r = cl_cmd(c, "OK", "UID EXPUNGE %u", uid_qp);
	HAS(r, "* 2 EXPUNGE\r\n");
	HASNT(r, "* 1 EXPUNGE");
	free(r);
	r = cl_cmd(c, "OK", "FETCH 1:* UID");
	snprintf(want, sizeof(want), "* 1 FETCH (UID %u)", uid_multi);
	HAS(r, want);
	free(r);
	cl_logout(&c);
	ck_assert_uint_eq(mailbox_count("INBOX"), 1);
}

START_TEST(test_store)
{
	three_messages();
	run_script(script_store);
}
END_TEST

/* --------------------------------------------------------------- SEARCH */

static void
search_is(struct client *c, const char *criteria, const char *want)
{
	char *r = cl_cmd(c, "OK", "SEARCH %s", criteria);
	char *line, *p = r;

	ck_assert(asprintf(&line, "* SEARCH%s\r\n", want) > 0);
	/* Past the continuation request of a literal in the criteria. */
	if (strncmp(p, "+ ", 2) == 0)
		p = strstr(p, "\r\n") + 2;
	ck_assert_msg(strncmp(p, line, strlen(line)) == 0,
	    "SEARCH %s: expected \"%s\", got:\n%s", criteria, line, r);
	free(line);
	free(r);
}

static void
script_search(void)
{
	/* Criteria and the numbers they find, after STORE 2 below. */
	static const char *const searches[][2] = {
		{ "ALL", " 1 2 3" },
		{ "SEEN", " 2" },
		{ "UNSEEN", " 1 3" },
		{ "NOT FLAGGED", " 1 3" },
		{ "FROM bob", " 1" },
		{ "FROM BOB", " 1" },
		{ "NOT FROM bob", " 2 3" },
		{ "OR FROM bob SUBJECT third", " 1 3" },
		{ "SUBJECT caf", " 2" },
		{ "CHARSET UTF-8 SUBJECT {5}\r\ncaf\xc3\xa9", " 2" },
		{ "HEADER X-Priority \"\"", " 3" },
		{ "HEADER X-Priority 2", "" },
		/* Bodies are searched decoded: base64 and quoted-printable. */
		{ "BODY \"secret word\"", " 2" },
		{ "BODY c2VjcmV0", "" },
		{ "BODY \"abc quoted\"", " 3" },
		{ "BODY X-Priority", "" },
		{ "TEXT X-Priority", " 3" },
		{ "TEXT \"plain world\"", " 1" },
		{ "SENTON 1-Jul-2003", " 1" },
		{ "SENTBEFORE 1-Jan-2004", " 1" },
		{ "SENTSINCE 2-Jul-2003", " 2 3" },
		{ "SINCE 1-Jan-2020", " 1 2 3" },
		{ "BEFORE 1-Jan-2020", "" },
		{ "2:*", " 2 3" },
		{ "(1 SEEN) 2", "" },
	};
	struct client *c = cl_login();
	char want[64], *r;
	size_t i;

	cl_run(c, "OK", "SELECT INBOX");
	cl_run(c, "OK", "STORE 2 +FLAGS (\\Seen \\Flagged)");
	for (i = 0; i < sizeof(searches) / sizeof(searches[0]); i++)
		search_is(c, searches[i][0], searches[i][1]);
	snprintf(want, sizeof(want), "LARGER %zu", strlen(msg_qp));
	search_is(c, want, " 1 2");
	snprintf(want, sizeof(want), "SMALLER %zu", strlen(msg_qp) + 1);
	search_is(c, want, " 3");
	snprintf(want, sizeof(want), "UID %u", uid_multi);
	search_is(c, want, " 2");

	r = cl_cmd(c, "OK", "UID SEARCH FLAGGED");
	snprintf(want, sizeof(want), "* SEARCH %u\r\n", uid_multi);
	HAS(r, want);
	free(r);
	cl_check(c, "OK", "SEARCH MODSEQ 1", " (MODSEQ ", NULL);
	cl_run(c, "NO [BADCHARSET", "SEARCH CHARSET KOI8-R SUBJECT x");
	cl_run(c, "BAD", "SEARCH FROBNICATE");
	cl_logout(&c);
}

START_TEST(test_search)
{
	three_messages();
	run_script(script_search);
}
END_TEST

/* --------------------------------------------------------------- APPEND */

static const char appended[] =
    "From: alice@example.org\r\n"
    "Subject: draft\r\n"
    "\r\n"
    "A draft.\r\n";

static void
script_append(void)
{
	struct client *c = cl_login();
	char *r, want[128];
	size_t n = strlen(appended);
	int i;

	free(cl_cmd(c, "OK", "SELECT INBOX"));
	/* Synchronizing literal with flags and a date; the selected
	 * mailbox grows before the tagged reply. */
	cl_send(c, "A1 APPEND INBOX (\\Seen $Draft) \"17-Jul-1996 02:44:25 "
	    "-0700\" {%zu}", n);
	cl_expect(c, "+ ");
	cl_write(c, appended, n);
	cl_write(c, "\r\n", 2);
	r = cl_resp(c, "A1");
	HAS(r, "* 4 EXISTS\r\n");
	HAS(r, "A1 OK [APPENDUID ");
	free(r);
	r = cl_cmd(c, "OK", "FETCH 4 (FLAGS INTERNALDATE BODY.PEEK[])");
	HAS(r, "FLAGS (\\Seen \\Recent $Draft)");
	HAS(r, "INTERNALDATE \"17-Jul-1996 09:44:25 +0000\"");
	has_literal(r, "BODY[]", appended);
	free(r);

	/* Non-synchronizing: no "+", straight to the answer. */
	cl_send(c, "A2 APPEND Drafts {%zu+}", n);
	cl_write(c, appended, n);
	cl_write(c, "\r\n", 2);
	cl_expect(c, "A2 OK [APPENDUID ");
	ck_assert_uint_eq(mailbox_count("Drafts"), 1);

	/* No such mailbox: refused before any byte is sent... */
	cl_send(c, "A3 APPEND Nowhere {%zu}", n);
	cl_expect(c, "A3 NO [TRYCREATE]");
	/* ...or read and dropped when it comes anyway. */
	cl_send(c, "A4 APPEND Nowhere {%zu+}", n);
	cl_write(c, appended, n);
	cl_write(c, "\r\n", 2);
	cl_expect(c, "A4 NO [TRYCREATE]");
	/* Too big. */
	cl_send(c, "A5 APPEND INBOX {5000}");
	cl_expect(c, "A5 NO [TOOBIG]");
	cl_send(c, "A6 APPEND INBOX {5000+}");
	for (i = 0; i < 5; i++) {
		char chunk[1000];

		memset(chunk, 'y', sizeof(chunk));
		cl_write(c, chunk, sizeof(chunk));
	}
	cl_write(c, "\r\n", 2);
	cl_expect(c, "A6 NO [TOOBIG]");
	cl_run(c, "BAD", "APPEND INBOX");
	cl_run(c, "BAD", "APPEND INBOX (\\Bogus) {1+}\r\nx");
	cl_run(c, "BAD", "APPEND INBOX \"not a date\" {1+}\r\nx");
	/* The mailbox name itself may be a literal. */
	cl_send(c, "A7 APPEND {6}");
	cl_expect(c, "+ ");
	cl_send(c, "Drafts {%zu}", n);
	cl_expect(c, "+ ");
	cl_write(c, appended, n);
	cl_write(c, "\r\n", 2);
	cl_expect(c, "A7 OK [APPENDUID ");
	/* The session is still in step. */
	r = cl_cmd(c, "OK", "NOOP");
	snprintf(want, sizeof(want), "T%u OK", c->next_tag);
	HAS(r, want);
	free(r);
	cl_logout(&c);
	ck_assert_uint_eq(mailbox_count("Drafts"), 2);
	ck_assert_uint_eq(mailbox_count("INBOX"), 4);
}

START_TEST(test_append)
{
	three_messages();
	srv.cfg->max_message_size = 4096;
	run_script(script_append);
}
END_TEST

/* ---------------------------------------------------- COPY, MOVE */

static void
script_copy_move(void)
{
	struct client *c = cl_login();
	char *r, want[128];

	free(cl_cmd(c, "OK", "SELECT INBOX"));
	r = cl_cmd(c, "OK [COPYUID ", "COPY 1:2 Trash");
	snprintf(want, sizeof(want), " %u:%u 1:2] ", uid_plain, uid_multi);
	HAS(r, want);
	free(r);
	ck_assert_uint_eq(mailbox_count("Trash"), 2);
	cl_run(c, "NO [TRYCREATE]", "COPY 1 Nowhere");
	cl_run(c, "BAD", "COPY 7 Trash");

	r = cl_cmd(c, "OK", "MOVE 2 Archive");
	snprintf(want, sizeof(want), "* OK [COPYUID ");
	HAS(r, want);
	snprintf(want, sizeof(want), " %u 1] ", uid_multi);
	HAS(r, want);
	HAS(r, "* 2 EXPUNGE\r\n");
	free(r);
	r = cl_cmd(c, "OK", "UID MOVE %u Archive", uid_qp);
	HAS(r, "* 2 EXPUNGE\r\n");
	free(r);
	r = cl_cmd(c, "OK", "FETCH 1:* UID");
	snprintf(want, sizeof(want), "* 1 FETCH (UID %u)", uid_plain);
	HAS(r, want);
	HASNT(r, "* 2 FETCH");
	free(r);
	cl_logout(&c);
	ck_assert_uint_eq(mailbox_count("INBOX"), 1);
	ck_assert_uint_eq(mailbox_count("Archive"), 2);
}

START_TEST(test_copy_move)
{
	three_messages();
	run_script(script_copy_move);
}
END_TEST

/* ------------------------------------------------ big message, slow reader */

#define BIG_SIZE	(3 * 1024 * 1024 + 17)

static char *big;
static size_t mem_seen;

static void
measure_on_loop(void *arg)
{
	mem_seen = imap_sessions_memory();
}

static void
script_big(void)
{
	struct client *c = cl_login();
	char *r, *lit;

	free(cl_cmd(c, "OK", "SELECT INBOX"));
	/* Ask for it, pipeline more behind it, and do not read for a
	 * while: the session must not pile the message up in memory. */
	cl_send(c, "B1 FETCH 1 BODY.PEEK[]\r\nB2 NOOP");
	usleep(300 * 1000);
	in_loop(measure_on_loop, NULL);
	ck_assert_msg(mem_seen < 512 * 1024, "sessions hold %zu bytes",
	    mem_seen);
	r = cl_resp(c, "B1");
	lit = strstr(r, "BODY[] {3145745}\r\n");
	ck_assert_ptr_nonnull(lit);
	lit += strlen("BODY[] {3145745}\r\n");
	ck_assert_mem_eq(lit, big, BIG_SIZE);
	ck_assert_str_eq(lit + BIG_SIZE, ")\r\nB1 OK FETCH completed.\r\n");
	free(r);
	cl_expect(c, "B2 OK");
	/* A partial from the middle. */
	r = cl_cmd(c, "OK", "FETCH 1 BODY.PEEK[]<1000000.100000>");
	lit = strstr(r, "BODY[]<1000000> {100000}\r\n");
	ck_assert_ptr_nonnull(lit);
	ck_assert_mem_eq(lit + strlen("BODY[]<1000000> {100000}\r\n"),
	    big + 1000000, 100000);
	free(r);
	cl_logout(&c);
}

START_TEST(test_big_fetch)
{
	size_t i;

	big = malloc(BIG_SIZE);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "Subject: big\r\n\r\n", 16);
	for (i = 16; i < BIG_SIZE; i++)
		big[i] = i % 80 == 78 ? '\r' : i % 80 == 79 ? '\n' :
		    (char)('a' + (i * 7) % 26);
	ck_assert_uint_eq(BIG_SIZE, 3145745);
	deliver(big, BIG_SIZE);
	run_script(script_big);
	free(big);
}
END_TEST

void
add_tests_msg(TCase *tc)
{
	tcase_add_test(tc, test_fetch);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_search);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_copy_move);
	tcase_add_test(tc, test_big_fetch);
}
