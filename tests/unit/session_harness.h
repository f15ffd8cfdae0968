/* SPDX-License-Identifier: ISC */
/*
 * Harness of the scripted session tests (check_pop3_session and
 * check_imap_session*): each test gets a fresh mailstore in a temporary
 * directory with its writer and the auth worker, and an event loop on the
 * test's main thread that runs the real session code.  The client side is
 * a script on a second thread talking over socketpair()s with blocking
 * I/O (and OpenSSL for STLS/STARTTLS and the TLS ports), so no ports and
 * no daemon are needed.  Actions that must happen on the loop (accepting
 * a connection, a delivery, a shutdown) are handed to it with in_loop().
 * The loop stops when the script is done and every session it opened has
 * been closed.
 *
 * What differs between the protocols comes in a struct harness_proto;
 * their own conversation helpers (IMAP tags and literals, POP3 multi-line
 * bodies) stay in their test files, built on cl_byte() and cl_raw_line().
 */
#ifndef POSTROOM_SESSION_HARNESS_H
#define POSTROOM_SESSION_HARNESS_H

#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "mailstore/ms.h"

#define ALICE		"alice@example.org"
#define ALICE_PW	"correct horse battery"

struct harness_proto {
	const char	*name;		/* log ident, temp dir name prefix */
	const char	*debug_env;	/* set in the environment: debug log */
	void		(*accept)(struct pr_server *srv, int fd,
			    enum listener_role role);
	size_t		(*sessions_memory)(void);	/* 0 once all closed */
};

extern struct pr_server srv;
extern struct ms_store *store;
extern ms_id alice_id;

/*
 * The checked fixture: a store with example.org and alice, the writer,
 * the auth worker (throttle delays scaled down), a self-signed TLS
 * context, and srv with default settings but plaintext logins allowed.
 * The caller then sets its protocol's own settings.
 */
void harness_setup(const struct harness_proto *proto);
void harness_teardown(void);

/*
 * The whole test program: one suite with one case that has the fixture
 * pair (setup calls harness_setup, teardown harness_teardown) and room
 * for slow sanitizer builds, holding the tests add_tests() adds.
 * Returns the exit status for main().
 */
int harness_main(const char *name, void (*setup)(void),
    void (*teardown)(void), void (*add_tests)(TCase *tc));

typedef void script_fn(void);

/* Run a script on its own thread against the loop until it and all the
 * sessions it opened are done; no session memory may be left. */
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

struct client {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
	char	 buf[4096];
	size_t	 off, len;	/* unread bytes are buf[off..len) */
	unsigned next_tag;	/* IMAP: the last tag number used */
};

/* A new session on a listener of that role, accepted on the loop. */
struct client *cl_connect(enum listener_role role);
void cl_close(struct client **cp);
/* TLS handshake now (nothing may have been read ahead of it). */
void cl_start_tls(struct client *c);
void cl_write(struct client *c, const void *p, size_t n);
/* One line, CRLF added, in a single write: bytes pipelined behind
 * STARTTLS must arrive with it. */
void cl_send(struct client *c, const char *fmt, ...) PR_PRINTF(2, 3);
void cl_vsend(struct client *c, const char *fmt, va_list ap) PR_PRINTF(2, 0);
/* One byte, or -1 at end of stream.  A read timeout fails the test. */
int cl_byte(struct client *c);
/* Bytes up to and including LF appended to *buf (grown as needed, kept
 * NUL-terminated); false at EOF before the LF. */
bool cl_raw_line(struct client *c, char **buf, size_t *len, size_t *size);
/* The next line without CRLF (malloc'ed), NULL at EOF. */
char *cl_line(struct client *c);
/* Read a line and check that it starts with prefix. */
void cl_expect(struct client *c, const char *prefix);
void cl_expect_eof(struct client *c);
/* The server's last line starts with last, then it closes; so does the
 * client. */
void cl_expect_close(struct client **cp, const char *last);

/* Does text contain needle?  Fails the test with both shown if not. */
#define HAS(text, needle) ck_assert_msg(strstr((text), (needle)) != NULL, \
	"missing \"%s\" in:\n%s", (needle), (text))
#define HASNT(text, needle) ck_assert_msg(strstr((text), (needle)) == NULL, \
	"unexpected \"%s\" in:\n%s", (needle), (text))
/* SASL PLAIN's response for alice with this password, base64-encoded
 * (malloc'ed). */
char *sasl_plain(const char *password);
/* Answer the two challenges of SASL LOGIN ("+ " lines) with alice's
 * name and password; the outcome is for the caller to read. */
void cl_sasl_login(struct client *c);

#endif
