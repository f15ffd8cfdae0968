/* SPDX-License-Identifier: ISC */
/*
 * conn: one client connection = non-blocking socket + optional TLS + an
 * input linebuf + an output buffer, driven by libev.
 *
 * The protocol modules never see EAGAIN or SSL_ERROR_WANT_*: conn turns
 * socket readiness into a few events delivered to one callback.  Watchers are
 * recomputed from buffer state after every event (read while there is input
 * room and input is not paused; write while output is queued or TLS wants it).
 *
 * Re-entrancy rule: events are delivered only from libev watcher callbacks,
 * never from inside a conn_*() call made by the owner.  So conn_write() on a
 * dead socket just marks the conn failed and CONN_EV_CLOSED arrives later;
 * the owner may free itself only from inside its event callback on
 * CONN_EV_CLOSED (or at any time by calling conn_free() itself).
 */
#ifndef POSTROOM_CONN_H
#define POSTROOM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <ev.h>
#include <openssl/ssl.h>

#include "common/linebuf.h"
#include "common/log.h"

struct conn;

enum conn_event {
	CONN_EV_INPUT,		/* new bytes are in conn_input(); consume what you can */
	CONN_EV_WRITABLE,	/* output dropped below the low-water mark after
				   conn_want_writable(c, true): write more of a stream */
	CONN_EV_TIMEOUT,	/* no I/O progress for the idle timeout */
	CONN_EV_TLS_READY,	/* handshake finished after conn_start_tls() */
	CONN_EV_CLOSED,		/* peer closed, I/O or TLS error, or the flush after
				   conn_close_after_flush() finished: free the session.
				   conn_close_reason() says which. */
};

typedef void conn_event_fn(struct conn *c, enum conn_event ev, void *arg);

/*
 * Wrap an accepted, connected socket (conn makes it non-blocking and owns it
 * from now on).  input_cap is the line limit of the input linebuf.
 * No watcher runs until conn_start() (so the owner can set things up).
 */
struct conn *conn_new(struct ev_loop *loop, int fd, size_t input_cap,
    conn_event_fn *cb, void *arg);
/* Start reading (and writing anything queued). */
void conn_start(struct conn *c);
/* Close the socket, stop watchers, free buffers and TLS; sets *cp = NULL. */
void conn_free(struct conn **cp);

/* The input buffer; the owner consumes lines/chunks from it. */
struct linebuf *conn_input(struct conn *c);

/* While paused, conn reads nothing more (the owner is waiting on something,
 * e.g. a mailstore commit).  Un-pausing with bytes still buffered delivers
 * CONN_EV_INPUT again soon (from the loop, not from this call). */
void conn_pause_input(struct conn *c, bool paused);

/* Queue output.  Never fails: errors surface later as CONN_EV_CLOSED. */
void conn_write(struct conn *c, const void *p, size_t n);
void conn_printf(struct conn *c, const char *fmt, ...) PR_PRINTF(2, 3);
/* Bytes queued and not yet written to the socket (or TLS). */
size_t conn_output_pending(const struct conn *c);
/* Ask for CONN_EV_WRITABLE whenever pending output is below low_water. */
void conn_want_writable(struct conn *c, bool want);
#define CONN_LOW_WATER	(32 * 1024)

/* Idle timeout in seconds (0 = none).  Any input or output progress
 * restarts it. */
void conn_set_timeout(struct conn *c, double seconds);

/*
 * Start a server-side TLS handshake.  Anything already queued for output
 * (e.g. "220 2.0.0 Ready to start TLS") is written in plaintext first, and
 * the input buffer is cleared: plaintext pipelined behind STARTTLS must
 * never reach the TLS session (CVE-2011-0411).  The owner should check
 * linebuf_pending() before calling if it wants to reject such input.
 * CONN_EV_TLS_READY or CONN_EV_CLOSED follows.
 */
void conn_start_tls(struct conn *c, SSL_CTX *ctx);
bool conn_is_tls(const struct conn *c);
/* "TLSv1.3" / cipher name, or NULL before the handshake. */
const char *conn_tls_version(const struct conn *c);
const char *conn_tls_cipher(const struct conn *c);

/* Write everything queued, then shut down (TLS close_notify, then the
 * socket) and deliver CONN_EV_CLOSED.  Input is ignored from now on. */
void conn_close_after_flush(struct conn *c);
/* Why the conn closed: "quit", "eof", "reset", "tls error: ...", ... */
const char *conn_close_reason(const struct conn *c);

/* The peer address as text ("127.0.0.1", "::1") and the local port. */
const char *conn_peer_ip(const struct conn *c);
const struct sockaddr_storage *conn_peer_addr(const struct conn *c);
int conn_local_port(const struct conn *c);

/* Approximate heap bytes held by this conn (buffers + TLS), for tests and
 * the idle-memory benchmark. */
size_t conn_memory(const struct conn *c);

#endif
