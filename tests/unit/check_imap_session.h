/* SPDX-License-Identifier: ISC */
/*
 * The IMAP side of the scripted session tests: tagged commands and their
 * responses on top of the shared harness (session_harness.h), and
 * table-driven steps for scripts that are mostly "command, then check
 * what came back" (see check_imap_session.c).
 */
#ifndef POSTROOM_CHECK_IMAP_SESSION_H
#define POSTROOM_CHECK_IMAP_SESSION_H

#include <check.h>
#include <stddef.h>

#include "tests/unit/session_harness.h"

/*
 * Everything up to and including the line tagged tag, literals inline,
 * lines ending in CRLF (malloc'ed).
 */
char *cl_resp(struct client *c, const char *tag);
/* Send "<tag> <command>" with a fresh tag and return the response; the
 * tagged line must start with "<tag> <want>" (e.g. "OK", "NO", "BAD"). */
char *cl_cmd(struct client *c, const char *want, const char *fmt, ...)
    PR_PRINTF(3, 4);
/* The same, ignoring the response. */
void cl_run(struct client *c, const char *want, const char *fmt, ...)
    PR_PRINTF(3, 4);
/* Connected, greeted and logged in (plaintext allowed in the fixture). */
struct client *cl_login(void);
void cl_logout(struct client **cp);
/* A session that selects INBOX and logs out, as a mail client did before
 * the test: what INBOX holds is no longer \Recent for the next ones. */
void cl_claim_recent(void);

/*
 * Send cmd (as it is, not a format) like cl_cmd() and check the whole
 * response against the strings that follow, up to a NULL: each must be
 * in it, or, when it starts with '!', must not.
 */
void cl_check(struct client *c, const char *want, const char *cmd, ...)
    __attribute__((sentinel));
/*
 * Table-driven scripts: each row is want, cmd, then the checks, as for
 * cl_check(); unused places are NULL.
 */
#define STEP_MAX	10

void run_steps(struct client *c, const char *const steps[][STEP_MAX],
    size_t n);
#define RUN_STEPS(c, steps) \
	run_steps((c), (steps), sizeof(steps) / sizeof((steps)[0]))

/* Test cases of the other files. */
void add_tests_msg(TCase *tc);
void add_tests_mbox(TCase *tc);

#endif
