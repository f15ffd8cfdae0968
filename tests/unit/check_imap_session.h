/* SPDX-License-Identifier: ISC */
/*
 * Shared harness of the scripted IMAP session tests: a temporary
 * mailstore with its writer and the auth worker, an event loop running
 * the real session code on the test's thread, and a blocking client on a
 * script thread talking over socketpair()s (see check_imap_session.c).
 */
#ifndef POSTROOM_CHECK_IMAP_SESSION_H
#define POSTROOM_CHECK_IMAP_SESSION_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "common/config.h"
#include "common/server.h"
#include "mailstore/ms.h"

#define ALICE		"alice@example.org"
#define ALICE_PW	"correct horse battery"

extern struct pr_server srv;
extern struct ms_store *store;
extern ms_id alice_id;

struct client {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
	char	 buf[4096];
	size_t	 off, len;	/* unread bytes are buf[off..len) */
	unsigned next_tag;
};

typedef void script_fn(void);

/* Run a script on its own thread against the loop until it and all the
 * sessions it opened are done. */
void run_script(script_fn *fn);
/* Run fn(arg) on the loop thread and wait for it (script thread only). */
void in_loop(void (*fn)(void *), void *arg);

/* Deliver to alice's INBOX and wait for the commit (loop thread or
 * fixture); returns the new uid. */
uint32_t deliver(const char *data, size_t len);
/* The same from the script thread, without waiting for the commit. */
void deliver_async(const char *data);
/* Append into one of alice's mailboxes directly (fixture only). */
uint32_t store_into(const char *mailbox, const char *data, unsigned flags);
ms_id mailbox_id(const char *name);
uint32_t mailbox_count(const char *name);

struct client *cl_connect(enum listener_role role);
void cl_close(struct client **cp);
void cl_start_tls(struct client *c);
void cl_write(struct client *c, const void *p, size_t n);
void cl_send(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The next line without CRLF (malloc'ed), NULL at EOF. */
char *cl_line(struct client *c);
/* Read a line and check that it starts with prefix. */
void cl_expect(struct client *c, const char *prefix);
void cl_expect_eof(struct client *c);
/*
 * Everything up to and including the line tagged tag, literals inline,
 * lines ending in CRLF (malloc'ed).
 */
char *cl_resp(struct client *c, const char *tag);
/* Send "<tag> <command>" with a fresh tag and return the response; the
 * tagged line must start with "<tag> <want>" (e.g. "OK", "NO", "BAD"). */
char *cl_cmd(struct client *c, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, ignoring the response. */
void cl_run(struct client *c, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Connected, greeted and logged in (plaintext allowed in the fixture). */
struct client *cl_login(void);
void cl_logout(struct client **cp);
/* Does text contain needle?  Fails the test with both shown if not. */
#define HAS(text, needle) ck_assert_msg(strstr((text), (needle)) != NULL, \
	"missing \"%s\" in:\n%s", (needle), (text))
#define HASNT(text, needle) ck_assert_msg(strstr((text), (needle)) == NULL, \
	"unexpected \"%s\" in:\n%s", (needle), (text))
char *b64(const void *p, size_t n);

/* Test cases of the other files. */
void add_tests_msg(TCase *tc);
void add_tests_mbox(TCase *tc);

#endif
