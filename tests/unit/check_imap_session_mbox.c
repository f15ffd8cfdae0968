/* SPDX-License-Identifier: ISC */
/*
 * Scripted IMAP conversations about mailboxes: LIST in its forms, LSUB,
 * STATUS, CREATE/RENAME/DELETE, the special-use aliases, SELECT/EXAMINE,
 * CLOSE/UNSELECT, and how sessions follow each other: IDLE woken by a
 * delivery, flag changes and expunges seen from a second session only
 * where RFC 3501 allows.  The harness is in check_imap_session.c.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap-lite/imap.h"
#include "mailstore/ms_imap.h"
#include "tests/unit/check_imap_session.h"

static const char small[] = "Subject: small\r\n\r\nsmall body\r\n";

/* ----------------------------------------------------------------- LIST */

static void
script_list(void)
{
	struct client *c = cl_login();
	char *r;

	r = cl_cmd(c, "OK", "LIST \"\" *");
	HAS(r, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n");
	HAS(r, "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n");
	HAS(r, "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n");
	HAS(r, "\\Drafts) \"/\" \"Drafts\"");
	HAS(r, "\\Junk) \"/\" \"Junk\"");
	HAS(r, "\\Archive) \"/\" \"Archive\"");
	ck_assert_msg(strncmp(r, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"",
	    30) == 0, "INBOX first:\n%s", r);
	free(r);
	r = cl_cmd(c, "OK", "LIST \"\" \"\"");
	HAS(r, "* LIST (\\Noselect) \"/\" \"\"");
	free(r);

	cl_run(c, "OK", "CREATE Work/Proj");
	cl_run(c, "OK", "CREATE \"&ZeVnLIqe-\"");
	r = cl_cmd(c, "OK", "LIST \"\" %%");
	HAS(r, "* LIST (\\HasChildren) \"/\" \"Work\"");
	HAS(r, "\"&ZeVnLIqe-\"");
	HASNT(r, "Work/Proj");
	free(r);
	r = cl_cmd(c, "OK", "LIST Work/ %%");
	HAS(r, "* LIST (\\HasNoChildren) \"/\" \"Work/Proj\"");
	HASNT(r, "INBOX");
	free(r);
	r = cl_cmd(c, "OK", "LIST \"\" inbox");
	HAS(r, "\"INBOX\"");
	free(r);

	/* LIST-EXTENDED and LIST-STATUS. */
	r = cl_cmd(c, "OK", "LIST (SPECIAL-USE) \"\" *");
	HAS(r, "\\Sent) \"/\" \"Sent\"");
	HASNT(r, "INBOX");
	HASNT(r, "Work");
	free(r);
	r = cl_cmd(c, "OK", "LIST \"\" (INBOX Sent) RETURN (SUBSCRIBED "
	    "STATUS (MESSAGES UNSEEN UIDNEXT))");
	HAS(r, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
	    "* STATUS \"INBOX\" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n");
	HAS(r, "* STATUS \"Sent\" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)");
	HASNT(r, "Trash");
	free(r);
	cl_run(c, "BAD", "LIST (RECURSIVEMATCH) \"\" *");
	cl_run(c, "BAD", "LIST \"\"");

	/* Subscriptions. */
	cl_run(c, "OK", "UNSUBSCRIBE Work");
	r = cl_cmd(c, "OK", "LSUB \"\" *");
	HAS(r, "* LSUB () \"/\" \"Work/Proj\"");
	HASNT(r, "\"Work\"\r\n");
	free(r);
	r = cl_cmd(c, "OK", "LSUB \"\" %%");
	HAS(r, "* LSUB (\\Noselect) \"/\" \"Work\"");
	free(r);
	r = cl_cmd(c, "OK", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %%");
	HAS(r, "\"Work\" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	free(r);
	cl_run(c, "OK", "SUBSCRIBE Work");
	cl_run(c, "NO [NONEXISTENT]", "SUBSCRIBE Nowhere");

	r = cl_cmd(c, "OK", "STATUS INBOX (MESSAGES RECENT UIDNEXT "
	    "UIDVALIDITY UNSEEN HIGHESTMODSEQ)");
	HAS(r, "* STATUS \"INBOX\" (MESSAGES 2 RECENT ");
	HAS(r, " UNSEEN 2 HIGHESTMODSEQ ");
	free(r);
	cl_run(c, "NO [NONEXISTENT]", "STATUS Nowhere (MESSAGES)");
	cl_run(c, "BAD", "STATUS INBOX (BOGUS)");
	r = cl_cmd(c, "OK", "NAMESPACE");
	HAS(r, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	free(r);
	r = cl_cmd(c, "OK", "ENABLE CONDSTORE X-UNKNOWN");
	HAS(r, "* ENABLED CONDSTORE\r\n");
	free(r);
	cl_logout(&c);
}

START_TEST(test_list)
{
	deliver(small, strlen(small));
	deliver(small, strlen(small));
	run_script(script_list);
}
END_TEST

/* ------------------------------------------------ CREATE RENAME DELETE */

static void
script_folders(void)
{
	struct client *c = cl_login();
	char *r;

	cl_run(c, "OK", "CREATE Jobs/");
	cl_run(c, "NO [ALREADYEXISTS]", "CREATE Jobs");
	cl_run(c, "NO [ALREADYEXISTS]", "CREATE inbox");
	cl_run(c, "NO [CANNOT]", "CREATE a//b");
	cl_run(c, "NO [CANNOT]", "CREATE \"a*b\"");
	cl_run(c, "OK", "CREATE Jobs/2026");
	cl_run(c, "OK", "RENAME Jobs Work");
	r = cl_cmd(c, "OK", "LIST \"\" Work*");
	HAS(r, "\"Work\"");
	HAS(r, "\"Work/2026\"");
	free(r);
	cl_run(c, "NO [NONEXISTENT]", "RENAME Jobs Other");
	cl_run(c, "NO [ALREADYEXISTS]", "RENAME Work Sent");
	cl_run(c, "NO [INUSE]", "DELETE Work");
	cl_run(c, "OK", "DELETE Work/2026");
	cl_run(c, "OK", "DELETE Work");
	cl_run(c, "NO [NONEXISTENT]", "DELETE Work");
	cl_run(c, "NO [CANNOT]", "DELETE INBOX");

	/* Deleting the selected mailbox unselects it. */
	cl_run(c, "OK", "CREATE Tmp");
	cl_run(c, "OK", "SELECT Tmp");
	cl_run(c, "OK", "DELETE Tmp");
	cl_run(c, "BAD", "FETCH 1 FLAGS");
	cl_logout(&c);
}

START_TEST(test_folders)
{
	run_script(script_folders);
}
END_TEST

static void
script_aliases(void)
{
	struct client *c = cl_login();
	size_t n = strlen(small);
	char *r;

	/* Clients that ignore SPECIAL-USE create their own names... */
	cl_run(c, "OK", "CREATE \"Sent Items\"");
	cl_run(c, "OK", "CREATE \"Deleted Items\"");
	cl_run(c, "OK", "CREATE \"Gel&APY-schte Elemente\"");
	cl_run(c, "OK", "CREATE Spam");
	r = cl_cmd(c, "OK", "LIST \"\" *");
	HASNT(r, "Items");
	HASNT(r, "Spam");
	HASNT(r, "Gel");
	free(r);
	/* ...and every later use reaches the special folder. */
	cl_send(c, "A1 APPEND \"Sent Items\" {%zu+}", n);
	cl_write(c, small, n);
	cl_write(c, "\r\n", 2);
	cl_expect(c, "A1 OK [APPENDUID");
	ck_assert_uint_eq(mailbox_count("Sent"), 1);
	r = cl_cmd(c, "OK", "STATUS \"Sent Items\" (MESSAGES)");
	HAS(r, "* STATUS \"Sent Items\" (MESSAGES 1)");
	free(r);
	r = cl_cmd(c, "OK", "SELECT \"Sent Messages\"");
	HAS(r, "* 1 EXISTS");
	free(r);
	cl_run(c, "OK [COPYUID", "COPY 1 \"Deleted Items\"");
	cl_run(c, "OK [COPYUID", "COPY 1 Papierkorb");
	ck_assert_uint_eq(mailbox_count("Trash"), 2);
	/* DELETE and RENAME never follow an alias. */
	cl_run(c, "NO [NONEXISTENT]", "DELETE \"Deleted Items\"");
	cl_run(c, "NO [NONEXISTENT]", "RENAME \"Sent Items\" Other");
	ck_assert_uint_eq(mailbox_count("Trash"), 2);
	cl_logout(&c);
}

START_TEST(test_aliases)
{
	run_script(script_aliases);
}
END_TEST

/* ------------------------------------------------- SELECT and friends */

static void
script_select(void)
{
	struct client *c = cl_login();
	char *r;

	r = cl_cmd(c, "OK [READ-WRITE] SELECT", "SELECT INBOX (CONDSTORE)");
	HAS(r, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
	HAS(r, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft \\*)]");
	HAS(r, "* 3 EXISTS\r\n");
	HAS(r, "* OK [UIDVALIDITY ");
	HAS(r, "* OK [UIDNEXT 4]");
	HAS(r, "* OK [HIGHESTMODSEQ ");
	free(r);
	r = cl_cmd(c, "OK [READ-ONLY]", "EXAMINE INBOX");
	HAS(r, "[PERMANENTFLAGS ()]");
	free(r);
	cl_run(c, "NO [READ-ONLY]", "STORE 1 +FLAGS (\\Deleted)");
	cl_run(c, "NO [READ-ONLY]", "EXPUNGE");

	/* CLOSE expunges silently; UNSELECT does not expunge. */
	cl_run(c, "OK", "SELECT INBOX");
	free(cl_cmd(c, "OK", "STORE 1:2 +FLAGS (\\Deleted)"));
	cl_run(c, "OK", "UNSELECT");
	ck_assert_uint_eq(mailbox_count("INBOX"), 3);
	cl_run(c, "BAD", "FETCH 1 FLAGS");
	cl_run(c, "OK", "SELECT INBOX");
	r = cl_cmd(c, "OK", "CLOSE");
	HASNT(r, "EXPUNGE");
	free(r);
	ck_assert_uint_eq(mailbox_count("INBOX"), 1);
	cl_run(c, "BAD", "CLOSE");
	/* A failed SELECT leaves nothing selected. */
	cl_run(c, "OK", "SELECT INBOX");
	cl_run(c, "NO [NONEXISTENT]", "SELECT Nowhere");
	cl_run(c, "BAD", "FETCH 1 FLAGS");
	cl_run(c, "BAD", "SELECT INBOX (QRESYNC)");
	cl_logout(&c);
}

START_TEST(test_select)
{
	deliver(small, strlen(small));
	deliver(small, strlen(small));
	deliver(small, strlen(small));
	run_script(script_select);
}
END_TEST

/* --------------------------------------------------------------- IDLE */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t mem_seen;

static void
measure_on_loop(void *arg)
{
	mem_seen = imap_sessions_memory();
}

static void
script_idle(void)
{
	struct client *a = cl_login(), *b = cl_login();
	double t0;

	cl_run(a, "OK", "SELECT INBOX");
	cl_run(b, "OK", "SELECT INBOX");
	cl_send(a, "I1 IDLE");
	cl_expect(a, "+ idling");
	/* Two sessions with a mailbox selected, one of them in IDLE: what
	 * they hold must stay small (conn included). */
	in_loop(measure_on_loop, NULL);
	ck_assert_msg(mem_seen < 2 * 4096, "two idle sessions hold %zu bytes",
	    mem_seen);
	if (getenv("IMAP_TEST_DEBUG") != NULL)
		fprintf(stderr, "two idle sessions: %zu bytes\n", mem_seen);
	/* A delivery reaches the IDLE session at once. */
	t0 = now();
	deliver_async(small);
	cl_expect(a, "* 2 EXISTS");
	cl_expect(a, "* 1 RECENT");
	ck_assert_msg(now() - t0 < 1.0, "EXISTS took %.3f s", now() - t0);
	/* So does another session's flag change... */
	cl_run(b, "OK", "STORE 1 +FLAGS.SILENT (\\Flagged)");
	cl_expect(a, "* 1 FETCH (UID 1 FLAGS (\\Flagged))");
	/* ...and its expunge: IDLE allows EXPUNGE responses. */
	cl_run(b, "OK", "STORE 1 +FLAGS.SILENT (\\Deleted)");
	cl_expect(a, "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted))");
	cl_run(b, "OK", "EXPUNGE");
	cl_expect(a, "* 1 EXPUNGE");
	cl_send(a, "DONE");
	cl_expect(a, "I1 OK IDLE");
	/* Anything but DONE ends IDLE with BAD. */
	cl_send(a, "I2 IDLE");
	cl_expect(a, "+ idling");
	cl_send(a, "NOOP");
	cl_expect(a, "I2 BAD");
	cl_logout(&a);
	cl_logout(&b);
}

START_TEST(test_idle)
{
	deliver(small, strlen(small));
	run_script(script_idle);
}
END_TEST

/* ---------------------------------------------- two sessions, one mailbox */

static void
script_two_sessions(void)
{
	struct client *a = cl_login(), *b = cl_login();
	char *r;

	cl_run(a, "OK", "SELECT INBOX");
	cl_run(b, "OK", "SELECT INBOX");
	free(cl_cmd(a, "OK", "STORE 2 +FLAGS (\\Seen $Work)"));
	r = cl_cmd(b, "OK", "NOOP");
	HAS(r, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)");
	HAS(r, "* 2 FETCH (UID 2 FLAGS (\\Seen $Work))");
	free(r);

	/* a expunges message 2; b is told, but never during a FETCH,
	 * STORE or SEARCH, where the numbers must stay put. */
	free(cl_cmd(a, "OK", "STORE 2 +FLAGS.SILENT (\\Deleted)"));
	r = cl_cmd(a, "OK", "EXPUNGE");
	HAS(r, "* 2 EXPUNGE");
	free(r);
	r = cl_cmd(b, "OK", "FETCH 1:* UID");
	HASNT(r, "EXPUNGE");
	HAS(r, "* 3 FETCH (UID 3)");
	free(r);
	r = cl_cmd(b, "OK", "SEARCH ALL");
	HASNT(r, "EXPUNGE");
	free(r);
	/* The vanished message's body cannot be fetched any more. */
	cl_run(b, "NO [EXPUNGEISSUED]", "FETCH 2 BODY.PEEK[]");
	r = cl_cmd(b, "OK", "NOOP");
	HAS(r, "* 2 EXPUNGE\r\n");
	free(r);
	r = cl_cmd(b, "OK", "FETCH 2 UID");
	HAS(r, "* 2 FETCH (UID 3)");
	free(r);
	/* UID commands may carry the EXPUNGE responses. */
	free(cl_cmd(a, "OK", "STORE 1 +FLAGS.SILENT (\\Deleted)"));
	free(cl_cmd(a, "OK", "EXPUNGE"));
	r = cl_cmd(b, "OK", "UID FETCH 1:* UID");
	HAS(r, "* 1 EXPUNGE\r\n");
	free(r);
	cl_logout(&a);
	cl_logout(&b);
}

START_TEST(test_two_sessions)
{
	deliver(small, strlen(small));
	deliver(small, strlen(small));
	deliver(small, strlen(small));
	run_script(script_two_sessions);
}
END_TEST

/* A deletion made outside IMAP (POP3 uses ms_expunge_uids too). */
static void
expunge_done(void *arg, int status)
{
	ck_assert_int_eq(status, MS_OK);
}

static void
pop_delete_on_loop(void *arg)
{
	static const uint32_t uid = 1;

	ms_expunge_uids(store, mailbox_id("INBOX"), &uid, 1, expunge_done,
	    NULL);
}

static void
script_outside_expunge(void)
{
	struct client *a = cl_login();

	cl_run(a, "OK", "SELECT INBOX");
	cl_send(a, "I1 IDLE");
	cl_expect(a, "+ idling");
	in_loop(pop_delete_on_loop, NULL);
	cl_expect(a, "* 1 EXPUNGE");
	cl_send(a, "DONE");
	cl_expect(a, "I1 OK");
	cl_logout(&a);
}

START_TEST(test_outside_expunge)
{
	deliver(small, strlen(small));
	deliver(small, strlen(small));
	run_script(script_outside_expunge);
	ck_assert_uint_eq(mailbox_count("INBOX"), 1);
}
END_TEST

void
add_tests_mbox(TCase *tc)
{
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_folders);
	tcase_add_test(tc, test_aliases);
	tcase_add_test(tc, test_select);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_two_sessions);
	tcase_add_test(tc, test_outside_expunge);
}
