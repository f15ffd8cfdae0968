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

/* n deliveries of small to alice's INBOX (uids 1..n in a new store). */
static void
small_messages(unsigned n)
{
	while (n-- > 0)
		deliver(small, strlen(small));
}

/* ----------------------------------------------------------------- LIST */

static void
script_list(void)
{
	static const char *const steps[][STEP_MAX] = {
		{ "OK", "LIST \"\" \"\"", "* LIST (\\Noselect) \"/\" \"\"" },
		{ "OK", "CREATE Work/Proj" },
		{ "OK", "CREATE \"&ZeVnLIqe-\"" },
		{ "OK", "LIST \"\" %", "* LIST (\\HasChildren) \"/\" \"Work\"",
		    "\"&ZeVnLIqe-\"", "!Work/Proj" },
		{ "OK", "LIST Work/ %",
		    "* LIST (\\HasNoChildren) \"/\" \"Work/Proj\"", "!INBOX" },
		{ "OK", "LIST \"\" inbox", "\"INBOX\"" },
		/* LIST-EXTENDED and LIST-STATUS. */
		{ "OK", "LIST (SPECIAL-USE) \"\" *", "\\Sent) \"/\" \"Sent\"",
		    "!INBOX", "!Work" },
		{ "OK", "LIST \"\" (INBOX Sent) RETURN (SUBSCRIBED STATUS "
		    "(MESSAGES UNSEEN UIDNEXT))",
		    "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
		    "* STATUS \"INBOX\" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n",
		    "* STATUS \"Sent\" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)",
		    "!Trash" },
		{ "BAD", "LIST (RECURSIVEMATCH) \"\" *" },
		{ "BAD", "LIST \"\"" },
		/* Subscriptions. */
		{ "OK", "UNSUBSCRIBE Work" },
		{ "OK", "LSUB \"\" *", "* LSUB () \"/\" \"Work/Proj\"",
		    "!\"Work\"\r\n" },
		{ "OK", "LSUB \"\" %", "* LSUB (\\Noselect) \"/\" \"Work\"" },
		{ "OK", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %",
		    "\"Work\" (\"CHILDINFO\" (\"SUBSCRIBED\"))" },
		{ "OK", "SUBSCRIBE Work" },
		{ "NO [NONEXISTENT]", "SUBSCRIBE Nowhere" },
		{ "OK", "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY "
		    "UNSEEN HIGHESTMODSEQ)",
		    "* STATUS \"INBOX\" (MESSAGES 2 RECENT ",
		    " UNSEEN 2 HIGHESTMODSEQ " },
		{ "NO [NONEXISTENT]", "STATUS Nowhere (MESSAGES)" },
		{ "BAD", "STATUS INBOX (BOGUS)" },
		{ "OK", "NAMESPACE", "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n" },
		{ "OK", "ENABLE CONDSTORE X-UNKNOWN",
		    "* ENABLED CONDSTORE\r\n" },
	};
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
	RUN_STEPS(c, steps);
	cl_logout(&c);
}

START_TEST(test_list)
{
	small_messages(2);
	run_script(script_list);
}
END_TEST

/* ------------------------------------------------ CREATE RENAME DELETE */

static void
script_folders(void)
{
	static const char *const steps[][STEP_MAX] = {
		{ "OK", "CREATE Jobs/" },
		{ "NO [ALREADYEXISTS]", "CREATE Jobs" },
		{ "NO [ALREADYEXISTS]", "CREATE inbox" },
		{ "NO [CANNOT]", "CREATE a//b" },
		{ "NO [CANNOT]", "CREATE \"a*b\"" },
		{ "OK", "CREATE Jobs/2026" },
		{ "OK", "RENAME Jobs Work" },
		{ "OK", "LIST \"\" Work*", "\"Work\"", "\"Work/2026\"" },
		{ "NO [NONEXISTENT]", "RENAME Jobs Other" },
		{ "NO [ALREADYEXISTS]", "RENAME Work Sent" },
		{ "NO [INUSE]", "DELETE Work" },
		{ "OK", "DELETE Work/2026" },
		{ "OK", "DELETE Work" },
		{ "NO [NONEXISTENT]", "DELETE Work" },
		{ "NO [CANNOT]", "DELETE INBOX" },
		/* Deleting the selected mailbox unselects it. */
		{ "OK", "CREATE Tmp" },
		{ "OK", "SELECT Tmp" },
		{ "OK", "DELETE Tmp" },
		{ "BAD", "FETCH 1 FLAGS" },
	};
	struct client *c = cl_login();

	RUN_STEPS(c, steps);
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
	/* Clients that ignore SPECIAL-USE create their own names: each
	 * becomes an alias of the special folder, listed from then on
	 * without the special-use attribute, which stays with the folder. */
	static const char *const create[][STEP_MAX] = {
		{ "OK", "CREATE \"Sent Items\"" },
		{ "OK", "CREATE \"Deleted Items\"" },
		{ "OK", "CREATE \"Gel&APY-schte Elemente\"" },
		{ "NO [ALREADYEXISTS]", "CREATE \"Sent Items\"" },
		{ "NO [ALREADYEXISTS]", "CREATE Sent" },
		{ "NO [CANNOT]", "CREATE \"Sent Items/Old\"" },
		{ "OK", "LIST \"\" *",
		    "* LIST (\\HasNoChildren) \"/\" \"Sent Items\"\r\n",
		    "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n",
		    "* LIST (\\HasNoChildren) \"/\" \"Deleted Items\"\r\n",
		    "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n",
		    "* LIST (\\HasNoChildren) \"/\" \"Gel&APY-schte "
		    "Elemente\"\r\n", "!Spam", "!Sent Messages", "!Old" },
		{ "OK", "LIST \"\" \"S%\"", "\"Sent Items\"", "\"Sent\"",
		    "!Deleted" },
		{ "OK", "LIST (SPECIAL-USE) \"\" *", "\"Sent\"", "!Items" },
		/* Subscribed when created, like a mailbox; its own
		 * subscription, apart from the folder's. */
		{ "OK", "LSUB \"\" *", "* LSUB () \"/\" \"Sent Items\"\r\n" },
		{ "OK", "UNSUBSCRIBE \"Sent Items\"" },
		{ "OK", "LSUB \"\" *", "!Sent Items",
		    "* LSUB () \"/\" \"Sent\"\r\n" },
		{ "OK", "LIST \"\" S* RETURN (SUBSCRIBED)",
		    "* LIST (\\HasNoChildren) \"/\" \"Sent Items\"\r\n",
		    "* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" "
		    "\"Sent\"\r\n" },
		{ "OK", "SUBSCRIBE \"Sent Items\"" },
		{ "OK", "LIST (SUBSCRIBED) \"\" *",
		    "* LIST (\\HasNoChildren \\Subscribed) \"/\" "
		    "\"Sent Items\"\r\n" },
	};
	/* Every use reaches the special folder, created or only mapped. */
	static const char *const use[][STEP_MAX] = {
		{ "OK", "STATUS \"Sent Items\" (MESSAGES)",
		    "* STATUS \"Sent Items\" (MESSAGES 1)" },
		{ "OK", "LIST \"\" \"Sent Items\" RETURN (STATUS (MESSAGES))",
		    "* STATUS \"Sent Items\" (MESSAGES 1)" },
		{ "OK", "SELECT \"Sent Messages\"", "* 1 EXISTS" },
		{ "OK [COPYUID", "COPY 1 \"Deleted Items\"" },
		{ "OK [COPYUID", "COPY 1 Papierkorb" },
		{ "OK", "SELECT \"Sent Items\"", "* 1 EXISTS" },
	};
	/* DELETE of an alias forgets the alias alone; RENAME of one is
	 * refused; a name only mapped is neither deleted nor renamed. */
	static const char *const remove[][STEP_MAX] = {
		{ "OK", "DELETE \"Sent Items\"" },
		{ "OK", "FETCH 1 FLAGS", "* 1 FETCH (FLAGS (" },
		{ "NO [NONEXISTENT]", "DELETE \"Sent Items\"" },
		{ "OK", "LIST \"\" *", "!Sent Items", "\\Sent) \"/\" \"Sent\"" },
		{ "OK", "CREATE \"Sent Items\"" },
		{ "OK", "DELETE \"Deleted Items\"" },
		{ "NO [CANNOT]", "RENAME \"Sent Items\" Other" },
		{ "NO [ALREADYEXISTS]", "RENAME Drafts \"Sent Items\"" },
		{ "NO [NONEXISTENT]", "DELETE \"Deleted Messages\"" },
		{ "NO [NONEXISTENT]", "RENAME \"Sent Messages\" Other" },
		/* The alias follows its folder through a rename. */
		{ "OK", "RENAME Sent Outbox" },
		{ "OK", "STATUS \"Sent Items\" (MESSAGES)",
		    "* STATUS \"Sent Items\" (MESSAGES 1)" },
		{ "OK", "LIST \"\" *", "\"Sent Items\"",
		    "\\Sent) \"/\" \"Outbox\"", "!Deleted Items" },
	};
	struct client *c = cl_login();
	size_t n = strlen(small);

	RUN_STEPS(c, create);
	cl_send(c, "A1 APPEND \"Sent Items\" {%zu+}", n);
	cl_write(c, small, n);
	cl_write(c, "\r\n", 2);
	cl_expect(c, "A1 OK [APPENDUID");
	ck_assert_uint_eq(mailbox_count("Sent"), 1);
	RUN_STEPS(c, use);
	ck_assert_uint_eq(mailbox_count("Trash"), 2);
	RUN_STEPS(c, remove);
	ck_assert_uint_eq(mailbox_count("Trash"), 2);
	ck_assert_uint_eq(mailbox_count("Outbox"), 1);
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
	static const char *const open[][STEP_MAX] = {
		{ "OK [READ-WRITE] SELECT", "SELECT INBOX (CONDSTORE)",
		    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
		    "\\Draft)\r\n",
		    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
		    "\\Seen \\Draft \\*)]",
		    "* 3 EXISTS\r\n", "* OK [UIDVALIDITY ", "* OK [UIDNEXT 4]",
		    "* OK [HIGHESTMODSEQ " },
		{ "OK [READ-ONLY]", "EXAMINE INBOX", "[PERMANENTFLAGS ()]" },
		{ "NO [READ-ONLY]", "STORE 1 +FLAGS (\\Deleted)" },
		{ "NO [READ-ONLY]", "EXPUNGE" },
		/* CLOSE expunges silently; UNSELECT does not expunge. */
		{ "OK", "SELECT INBOX" },
		{ "OK", "STORE 1:2 +FLAGS (\\Deleted)" },
		{ "OK", "UNSELECT" },
	};
	static const char *const closed[][STEP_MAX] = {
		{ "BAD", "CLOSE" },
		/* A failed SELECT leaves nothing selected. */
		{ "OK", "SELECT INBOX" },
		{ "NO [NONEXISTENT]", "SELECT Nowhere" },
		{ "BAD", "FETCH 1 FLAGS" },
		{ "BAD", "SELECT INBOX (QRESYNC)" },
	};
	struct client *c = cl_login();
	char *r;

	RUN_STEPS(c, open);
	ck_assert_uint_eq(mailbox_count("INBOX"), 3);
	cl_run(c, "BAD", "FETCH 1 FLAGS");
	cl_run(c, "OK", "SELECT INBOX");
	r = cl_cmd(c, "OK", "CLOSE");
	HASNT(r, "EXPUNGE");
	free(r);
	ck_assert_uint_eq(mailbox_count("INBOX"), 1);
	RUN_STEPS(c, closed);
	cl_logout(&c);
}

START_TEST(test_select)
{
	small_messages(3);
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
	struct client *a, *b;
	double t0;

	cl_claim_recent();
	a = cl_login();
	b = cl_login();

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
	small_messages(1);
	run_script(script_idle);
}
END_TEST

/* ---------------------------------------------- two sessions, one mailbox */

static void
script_two_sessions(void)
{
	struct client *a = cl_login(), *b = cl_login();

	cl_run(a, "OK", "SELECT INBOX");
	cl_run(b, "OK", "SELECT INBOX");
	cl_run(a, "OK", "STORE 2 +FLAGS (\\Seen $Work)");
	cl_check(b, "OK", "NOOP",
	    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)",
	    "* 2 FETCH (UID 2 FLAGS (\\Seen $Work))", NULL);

	/* a expunges message 2; b is told, but never during a FETCH,
	 * STORE or SEARCH, where the numbers must stay put. */
	cl_run(a, "OK", "STORE 2 +FLAGS.SILENT (\\Deleted)");
	cl_check(a, "OK", "EXPUNGE", "* 2 EXPUNGE", NULL);
	cl_check(b, "OK", "FETCH 1:* UID", "!EXPUNGE", "* 3 FETCH (UID 3)",
	    NULL);
	cl_check(b, "OK", "SEARCH ALL", "!EXPUNGE", NULL);
	/* The vanished message's body cannot be fetched any more. */
	cl_run(b, "NO [EXPUNGEISSUED]", "FETCH 2 BODY.PEEK[]");
	cl_check(b, "OK", "NOOP", "* 2 EXPUNGE\r\n", NULL);
	cl_check(b, "OK", "FETCH 2 UID", "* 2 FETCH (UID 3)", NULL);
	/* UID commands may carry the EXPUNGE responses. */
	cl_run(a, "OK", "STORE 1 +FLAGS.SILENT (\\Deleted)");
	cl_run(a, "OK", "EXPUNGE");
	cl_check(b, "OK", "UID FETCH 1:* UID", "* 1 EXPUNGE\r\n", NULL);
	cl_logout(&a);
	cl_logout(&b);
}

START_TEST(test_two_sessions)
{
	small_messages(3);
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
	small_messages(2);
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
