/* SPDX-License-Identifier: ISC */
/*
 * conn: the non-blocking socket, optional TLS and buffers of one session.
 *
 * One ev_io watcher serves both directions; conn_update() recomputes its
 * event mask from buffer state whenever something changes (read while the
 * input linebuf has room and nobody paused us, write while output is
 * queued), and swaps the direction when OpenSSL says a read needs the
 * socket writable or a write needs it readable.  An ev_timer implements the
 * idle timeout with the "remember the last activity" idiom, so I/O progress
 * costs one ev_now() instead of a timer re-arm.
 *
 * Events reach the owner only from watcher callbacks.  Anything an owner
 * call discovers that needs an event (un-pausing with buffered input, TLS
 * to start, a close with nothing left to flush) is recorded in `kick` and a
 * third, never-started watcher is fed with ev_feed_event(), so the loop
 * calls us back on its next round of pending watchers.
 *
 * The owner may call conn_free() from inside its callback; the struct then
 * lingers, marked `freed`, until the callback returns to us.
 *
 * Memory: buffers are allocated only while they hold bytes, so an idle
 * plaintext conn is just this struct (a few hundred bytes).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/conn.h"
#include "common/xmalloc.h"

#define CONN_MAGIC		0x636f6e6eU	/* "conn" */
#define CONN_READ_CHUNK		(16 * 1024)	/* bytes per read call */
#define CONN_OUT_MIN		512		/* first output allocation */
/* What an established, idle SSL object costs with released buffers
 * (about 12 KB measured with OpenSSL 3.0: session, keys, BIOs). */
#define CONN_TLS_MEMORY		(12 * 1024)

enum conn_state {
	CONN_OPEN,		/* normal operation */
	CONN_CLOSING,		/* flushing output, then a graceful close */
	CONN_DEAD,		/* socket closed; CLOSED not delivered yet */
	CONN_DONE,		/* CLOSED delivered; nothing more happens */
};

enum conn_tls {
	CONN_TLS_OFF,
	CONN_TLS_FLUSH,		/* STARTTLS: plaintext reply still queued */
	CONN_TLS_HANDSHAKE,
	CONN_TLS_ON,
};

/* Reasons to run from the loop rather than inside an owner call. */
#define KICK_IO		0x01	/* run I/O (TLS start, buffered TLS data) */
#define KICK_INPUT	0x02	/* deliver INPUT for bytes already buffered */
#define KICK_WRITABLE	0x04	/* deliver WRITABLE now */

struct conn {
	uint32_t	 magic;
	struct ev_loop	*loop;
	int		 fd;		/* -1 once closed */
	conn_event_fn	*cb;
	void		*arg;

	ev_io		 io;		/* events recomputed by conn_update() */
	ev_timer	 timer;		/* idle timeout */
	ev_idle		 defer;		/* never started, only fed */
	unsigned	 kick;		/* KICK_* to handle from the loop */

	enum conn_state	 state;
	bool		 started;
	bool		 paused;
	bool		 want_writable;
	bool		 in_callback;	/* inside cb: conn_free() only marks */
	bool		 freed;
	bool		 eof;		/* peer finished sending */

	struct linebuf	 in;
	char		*out;		/* NULL while nothing is queued */
	size_t		 out_size;	/* bytes allocated in out */
	size_t		 out_start;	/* first unsent byte */
	size_t		 out_end;	/* one past the last queued byte */

	SSL		*ssl;
	enum conn_tls	 tls;
	bool		 read_wants_write;	/* SSL_read said WANT_WRITE */
	bool		 write_wants_read;	/* SSL_write said WANT_READ */
	bool		 tls_broken;	/* fatal TLS error: no close_notify */
	size_t		 plain_left;	/* CONN_TLS_FLUSH: plaintext bytes
					   queued before STARTTLS, unsent */
	int		 hs_events;	/* EV_READ/EV_WRITE for the handshake */

	double		 timeout;	/* seconds, 0 = none */
	ev_tstamp	 last_io;	/* last progress, loop time */

	const char	*reason;	/* static text or reason_buf */
	char		*reason_buf;	/* allocated reason, e.g. TLS errors */

	struct sockaddr_storage peer;
	char		 peer_ip[INET6_ADDRSTRLEN];
	int		 local_port;
};

static void conn_io_cb(struct ev_loop *, ev_io *, int);
static void conn_timer_cb(struct ev_loop *, ev_timer *, int);
static void conn_defer_cb(struct ev_loop *, ev_idle *, int);
static void conn_update(struct conn *);

static struct conn *
conn_from_watcher(void *data)
{
	struct conn *c = data;

	if (c == NULL || c->magic != CONN_MAGIC)
		fatalx("conn: watcher with a bad conn pointer");
	return c;
}

/*
 * Record where the peer is, with IPv4-mapped IPv6 addresses turned back
 * into plain IPv4 so logs, per-IP limits and ACLs see one form only.
 */
static void
conn_init_addresses(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(c->peer);

	strcpy(c->peer_ip, "unknown");
	if (getpeername(c->fd, (struct sockaddr *)&c->peer, &len) == 0) {
		if (c->peer.ss_family == AF_INET6) {
			struct sockaddr_in6 s6;
			struct sockaddr_in s4 = { .sin_family = AF_INET };

			memcpy(&s6, &c->peer, sizeof(s6));
			if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
				s4.sin_port = s6.sin6_port;
				memcpy(&s4.sin_addr, &s6.sin6_addr.s6_addr[12],
				    4);
				memset(&c->peer, 0, sizeof(c->peer));
				memcpy(&c->peer, &s4, sizeof(s4));
			}
		}
		if (c->peer.ss_family == AF_INET) {
			struct sockaddr_in s4;

			memcpy(&s4, &c->peer, sizeof(s4));
			inet_ntop(AF_INET, &s4.sin_addr, c->peer_ip,
			    sizeof(c->peer_ip));
		} else if (c->peer.ss_family == AF_INET6) {
			struct sockaddr_in6 s6;

			memcpy(&s6, &c->peer, sizeof(s6));
			inet_ntop(AF_INET6, &s6.sin6_addr, c->peer_ip,
			    sizeof(c->peer_ip));
		}
	}

	len = sizeof(ss);
	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			c->local_port =
			    ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			c->local_port =
			    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
}

struct conn *
conn_new(struct ev_loop *loop, int fd, size_t input_cap, conn_event_fn *cb,
    void *arg)
{
	static bool sigpipe_ignored;
	struct conn *c;
	int flags;

	/* OpenSSL writes with write(2), which has no MSG_NOSIGNAL: a peer
	 * that resets during a TLS write must not kill the daemon. */
	if (!sigpipe_ignored) {
		signal(SIGPIPE, SIG_IGN);
		sigpipe_ignored = true;
	}

	flags = fcntl(fd, F_GETFL);
	if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		log_warn("conn: fcntl O_NONBLOCK");

	c = xcalloc(1, sizeof(*c));
	c->magic = CONN_MAGIC;
	c->loop = loop;
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	linebuf_init(&c->in, input_cap);

	ev_io_init(&c->io, conn_io_cb, fd, 0);
	c->io.data = c;
	ev_init(&c->timer, conn_timer_cb);
	c->timer.data = c;
	ev_idle_init(&c->defer, conn_defer_cb);
	c->defer.data = c;

	conn_init_addresses(c);
	return c;
}

/* Ask the loop to call conn_defer_cb() soon for the given reasons. */
static void
conn_kick(struct conn *c, unsigned what)
{
	c->kick |= what;
	if (c->started)
		ev_feed_event(c->loop, &c->defer, EV_CUSTOM);
}

static void
conn_touch(struct conn *c)
{
	c->last_io = ev_now(c->loop);
}

static void
conn_timer_arm(struct conn *c, double after)
{
	ev_timer_stop(c->loop, &c->timer);
	if (c->timeout > 0 && c->started && c->state < CONN_DEAD) {
		ev_timer_set(&c->timer, after, 0.);
		ev_timer_start(c->loop, &c->timer);
	}
}

void
conn_start(struct conn *c)
{
	c->started = true;
	conn_touch(c);
	conn_timer_arm(c, c->timeout);
	if (c->kick != 0)
		conn_kick(c, 0);
	conn_update(c);
}

/* Release the socket and the buffers, keep the struct. */
static void
conn_release(struct conn *c)
{
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->timer);
	ev_clear_pending(c->loop, &c->defer);
	c->kick = 0;
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	linebuf_free(&c->in);
	XFREE(c->out);
	c->out_size = c->out_start = c->out_end = 0;
}

void
conn_free(struct conn **cp)
{
	struct conn *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	conn_release(c);
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	XFREE(c->reason_buf);
	if (c->in_callback) {
		/* The dispatcher that called the owner frees it. */
		c->freed = true;
		return;
	}
	c->magic = 0;
	free(c);
}

struct linebuf *
conn_input(struct conn *c)
{
	return &c->in;
}

/*
 * Call the owner.  Returns false if the owner freed the conn, in which
 * case the caller must return without touching it.
 */
static bool
conn_deliver(struct conn *c, enum conn_event ev)
{
	assert(!c->in_callback);
	c->in_callback = true;
	c->cb(c, ev, c->arg);
	c->in_callback = false;
	if (c->freed) {
		c->magic = 0;
		free(c);
		return false;
	}
	return true;
}

static void
conn_set_reason(struct conn *c, const char *reason)
{
	c->reason = reason;
}

/* The reason for a TLS failure, with OpenSSL's own words if it has any. */
static void
conn_set_tls_reason(struct conn *c, int ssl_err)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = NULL;

	if (e != 0)
		why = ERR_reason_error_string(e);
	if (why == NULL) {
		if (ssl_err == SSL_ERROR_SYSCALL && errno != 0)
			why = strerror(errno);
		else if (ssl_err == SSL_ERROR_SYSCALL)
			why = "unexpected eof";
		else
			why = "unknown";
	}
	XFREE(c->reason_buf);
	c->reason_buf = xasprintf("tls error: %s", why);
	c->reason = c->reason_buf;
	ERR_clear_error();
}

/*
 * End the connection now.  A graceful end (close_after_flush, peer EOF)
 * says goodbye to TLS and half-closes first; a failure just closes.
 */
static void
conn_terminate(struct conn *c, bool graceful)
{
	if (c->state >= CONN_DEAD)
		return;
	if (graceful && c->fd != -1) {
		if (c->ssl != NULL && c->tls == CONN_TLS_ON && !c->tls_broken) {
			/* One non-blocking attempt: a close_notify the peer
			 * never reads is no reason to wait. */
			ERR_clear_error();
			(void)SSL_shutdown(c->ssl);
			ERR_clear_error();
		}
		(void)shutdown(c->fd, SHUT_WR);
	}
	c->state = CONN_DEAD;
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->timer);
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
}

/* Deliver CLOSED once; false if the owner freed the conn. */
static bool
conn_deliver_closed(struct conn *c)
{
	if (c->state == CONN_DONE)
		return true;
	c->state = CONN_DONE;
	c->kick = 0;
	ev_clear_pending(c->loop, &c->defer);
	return conn_deliver(c, CONN_EV_CLOSED);
}

/* Fail from a watcher callback: close and tell the owner right away. */
static bool
conn_fail(struct conn *c)
{
	conn_terminate(c, false);
	return conn_deliver_closed(c);
}

static size_t
conn_out_pending(const struct conn *c)
{
	return c->out_end - c->out_start;
}

size_t
conn_output_pending(const struct conn *c)
{
	return conn_out_pending(c);
}

/* Whether we should read from the socket right now. */
static bool
conn_want_read(const struct conn *c)
{
	return c->started && c->state == CONN_OPEN && !c->paused && !c->eof &&
	    (c->tls == CONN_TLS_OFF || c->tls == CONN_TLS_ON) &&
	    linebuf_room(&c->in) > 0;
}

/* How much queued output may go to the socket right now: nothing during
 * a handshake, and only the reply queued before conn_start_tls() while
 * waiting for it; anything queued later waits for the TLS session. */
static size_t
conn_sendable(const struct conn *c)
{
	size_t n = conn_out_pending(c);

	if (!c->started || c->state >= CONN_DEAD)
		return 0;
	if (c->tls == CONN_TLS_HANDSHAKE)
		return 0;
	if (c->tls == CONN_TLS_FLUSH && n > c->plain_left)
		n = c->plain_left;
	return n;
}

/*
 * Recompute the io watcher from the buffers.  Called after every event
 * and every owner call that changes what we wait for; inside the owner's
 * callback it does nothing, since the dispatcher calls it on the way out.
 */
static void
conn_update(struct conn *c)
{
	int events = 0;

	if (c->in_callback || c->freed)
		return;
	if (c->started && c->state < CONN_DEAD) {
		if (c->tls == CONN_TLS_HANDSHAKE)
			events = c->hs_events;
		else {
			if (conn_want_read(c))
				events |= c->read_wants_write ? EV_WRITE :
				    EV_READ;
			if (conn_sendable(c) > 0)
				events |= c->write_wants_read ? EV_READ :
				    EV_WRITE;
		}
		/* Decrypted bytes already inside OpenSSL will never make
		 * the socket readable: go and get them from the loop. */
		if (c->ssl != NULL && c->tls == CONN_TLS_ON &&
		    conn_want_read(c) && SSL_pending(c->ssl) > 0)
			conn_kick(c, KICK_IO);
	}

	if (events == 0 || events != (c->io.events & (EV_READ | EV_WRITE)) ||
	    !ev_is_active(&c->io))
		ev_io_stop(c->loop, &c->io);
	if (events != 0 && !ev_is_active(&c->io)) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(c->loop, &c->io);
	}
	assert(c->state < CONN_DEAD || !ev_is_active(&c->io));
	assert(c->fd != -1 || !ev_is_active(&c->io));
}

/* Make room for n more output bytes at out_end. */
static char *
conn_out_reserve(struct conn *c, size_t n)
{
	size_t pending = conn_out_pending(c), newsize;

	if (c->out_size - c->out_end >= n)
		return c->out + c->out_end;
	/* Slide unsent bytes to the front first; OpenSSL is told the write
	 * buffer may move (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). */
	if (c->out_start > 0) {
		memmove(c->out, c->out + c->out_start, pending);
		c->out_start = 0;
		c->out_end = pending;
	}
	if (c->out_size - c->out_end < n) {
		newsize = c->out_size > 0 ? c->out_size : CONN_OUT_MIN;
		while (newsize - pending < n)
			newsize *= 2;
		c->out = xreallocarray(c->out, newsize, 1);
		c->out_size = newsize;
	}
	return c->out + c->out_end;
}

/* Drop the output block once everything has been sent. */
static void
conn_out_consumed(struct conn *c, size_t n)
{
	c->out_start += n;
	if (c->out_start == c->out_end) {
		XFREE(c->out);
		c->out_size = c->out_start = c->out_end = 0;
	}
}

void
conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->state >= CONN_DEAD || n == 0)
		return;
	memcpy(conn_out_reserve(c, n), p, n);
	c->out_end += n;
	conn_update(c);
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap, ap2;
	size_t avail;
	char *p;
	int n;

	if (c->state >= CONN_DEAD)
		return;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	p = conn_out_reserve(c, 128);
	avail = c->out_size - c->out_end;
	n = vsnprintf(p, avail, fmt, ap);
	if (n >= 0 && (size_t)n >= avail) {
		p = conn_out_reserve(c, (size_t)n + 1);
		n = vsnprintf(p, (size_t)n + 1, fmt, ap2);
	}
	va_end(ap2);
	va_end(ap);
	if (n < 0) {
		log_warnx("conn: bad format for output");
		conn_out_consumed(c, 0);
		return;
	}
	c->out_end += (size_t)n;
	conn_out_consumed(c, 0);
	conn_update(c);
}

void
conn_want_writable(struct conn *c, bool want)
{
	c->want_writable = want;
	if (want && c->state == CONN_OPEN &&
	    conn_out_pending(c) < CONN_LOW_WATER)
		conn_kick(c, KICK_WRITABLE);
}

void
conn_pause_input(struct conn *c, bool paused)
{
	bool was = c->paused;

	c->paused = paused;
	if (was && !paused && c->state == CONN_OPEN) {
		if (linebuf_pending(&c->in) > 0 || c->eof)
			conn_kick(c, KICK_INPUT);
		/* conn_update() kicks for bytes held inside OpenSSL. */
	}
	conn_update(c);
}

void
conn_set_timeout(struct conn *c, double seconds)
{
	c->timeout = seconds;
	conn_touch(c);
	conn_timer_arm(c, seconds);
}

void
conn_close_after_flush(struct conn *c)
{
	if (c->state != CONN_OPEN)
		return;
	c->state = CONN_CLOSING;
	conn_set_reason(c, "closed");
	conn_kick(c, KICK_IO);
	conn_update(c);
}

const char *
conn_close_reason(const struct conn *c)
{
	return c->reason != NULL ? c->reason : "unknown";
}

void
conn_start_tls(struct conn *c, SSL_CTX *ctx)
{
	if (c->state != CONN_OPEN || c->tls != CONN_TLS_OFF)
		return;
	/* Plaintext pipelined behind STARTTLS must never be read as if it
	 * came through the TLS session. */
	linebuf_clear(&c->in);
	linebuf_shrink(&c->in);
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL) {
		conn_set_tls_reason(c, SSL_ERROR_SSL);
		conn_terminate(c, false);
		conn_kick(c, KICK_IO);
		return;
	}
	SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* The socket is attached only when the plaintext reply is out. */
	c->tls = CONN_TLS_FLUSH;
	c->plain_left = conn_out_pending(c);
	conn_kick(c, KICK_IO);
	conn_update(c);
}

bool
conn_is_tls(const struct conn *c)
{
	return c->tls == CONN_TLS_ON;
}

const char *
conn_tls_version(const struct conn *c)
{
	return c->tls == CONN_TLS_ON ? SSL_get_version(c->ssl) : NULL;
}

const char *
conn_tls_cipher(const struct conn *c)
{
	return c->tls == CONN_TLS_ON ? SSL_get_cipher_name(c->ssl) : NULL;
}

const char *
conn_peer_ip(const struct conn *c)
{
	return c->peer_ip;
}

const struct sockaddr_storage *
conn_peer_addr(const struct conn *c)
{
	return &c->peer;
}

int
conn_local_port(const struct conn *c)
{
	return c->local_port;
}

size_t
conn_memory(const struct conn *c)
{
	size_t n = sizeof(*c) + c->in.size + c->out_size;

	if (c->ssl != NULL)
		n += CONN_TLS_MEMORY;
	if (c->reason_buf != NULL)
		n += strlen(c->reason_buf) + 1;
	return n;
}

/*
 * Drive the handshake one step.  Returns 1 when it completed, 0 when it
 * waits for the socket (hs_events says which way), -1 on failure with the
 * reason set.
 */
static int
conn_handshake(struct conn *c)
{
	int r, err;

	ERR_clear_error();
	r = SSL_accept(c->ssl);
	if (r == 1) {
		c->tls = CONN_TLS_ON;
		c->hs_events = 0;
		return 1;
	}
	err = SSL_get_error(c->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		c->hs_events = EV_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->hs_events = EV_WRITE;
		return 0;
	default:
		c->tls_broken = true;
		if (err == SSL_ERROR_SYSCALL && errno == ECONNRESET)
			conn_set_reason(c, "reset");
		else
			conn_set_tls_reason(c, err);
		return -1;
	}
}

/* Send queued output.  Returns bytes sent (possibly 0) or -1 with the
 * reason set. */
static ssize_t
conn_send(struct conn *c)
{
	size_t total = 0, len;
	ssize_t n;
	int err;

	while ((len = conn_sendable(c)) > 0) {
		if (c->tls != CONN_TLS_ON) {
			n = send(c->fd, c->out + c->out_start, len,
			    MSG_NOSIGNAL);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EPIPE || errno == ECONNRESET)
					conn_set_reason(c, "reset");
				else {
					XFREE(c->reason_buf);
					c->reason_buf = xasprintf(
					    "write error: %s", strerror(errno));
					c->reason = c->reason_buf;
				}
				return -1;
			}
		} else {
			/* Retries after WANT_* must not shrink the length;
			 * we only ever append, and cap it the same way. */
			if (len > INT32_MAX)
				len = INT32_MAX;
			ERR_clear_error();
			n = SSL_write(c->ssl, c->out + c->out_start, (int)len);
			c->write_wants_read = false;
			if (n <= 0) {
				err = SSL_get_error(c->ssl, (int)n);
				if (err == SSL_ERROR_WANT_WRITE)
					break;
				if (err == SSL_ERROR_WANT_READ) {
					c->write_wants_read = true;
					break;
				}
				c->tls_broken = true;
				if (err == SSL_ERROR_SYSCALL &&
				    (errno == EPIPE || errno == ECONNRESET))
					conn_set_reason(c, "reset");
				else
					conn_set_tls_reason(c, err);
				return -1;
			}
		}
		if (c->tls == CONN_TLS_FLUSH)
			c->plain_left -= (size_t)n;
		conn_out_consumed(c, (size_t)n);
		total += (size_t)n;
	}
	return (ssize_t)total;
}

/*
 * Read what the socket (or TLS) has, into the input linebuf.  Returns the
 * number of bytes added, or -1 on error with the reason set.  End of
 * stream sets c->eof and is not an error.
 */
static ssize_t
conn_recv(struct conn *c)
{
	size_t total = 0, avail;
	ssize_t n;
	char *p;
	int err;

	for (;;) {
		p = linebuf_write_ptr(&c->in, CONN_READ_CHUNK, &avail);
		if (avail == 0)
			break;
		if (avail > CONN_READ_CHUNK)
			avail = CONN_READ_CHUNK;
		if (c->tls == CONN_TLS_OFF) {
			n = recv(c->fd, p, avail, 0);
			if (n == 0) {
				c->eof = true;
				break;
			}
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == ECONNRESET)
					conn_set_reason(c, "reset");
				else {
					XFREE(c->reason_buf);
					c->reason_buf = xasprintf(
					    "read error: %s", strerror(errno));
					c->reason = c->reason_buf;
				}
				return -1;
			}
			linebuf_commit(&c->in, (size_t)n);
			total += (size_t)n;
			/* Level-triggered: the loop tells us if more is
			 * waiting, so one read per event is enough. */
			break;
		}

		ERR_clear_error();
		n = SSL_read(c->ssl, p, (int)avail);
		c->read_wants_write = false;
		if (n > 0) {
			linebuf_commit(&c->in, (size_t)n);
			total += (size_t)n;
			continue;
		}
		err = SSL_get_error(c->ssl, (int)n);
		if (err == SSL_ERROR_WANT_READ)
			break;
		if (err == SSL_ERROR_WANT_WRITE) {
			c->read_wants_write = true;
			break;
		}
		if (err == SSL_ERROR_ZERO_RETURN) {
			c->eof = true;
			break;
		}
		c->tls_broken = true;
		/* Most clients just close the socket; the protocols mark
		 * their own ends of data, so a missing close_notify is an
		 * ordinary end of stream for us. */
		if (err == SSL_ERROR_SSL &&
		    ERR_GET_REASON(ERR_peek_error()) ==
		    SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			c->eof = true;
			break;
		}
		if (err == SSL_ERROR_SYSCALL && errno == ECONNRESET) {
			conn_set_reason(c, "reset");
			return -1;
		}
		conn_set_tls_reason(c, err);
		return -1;
	}
	return (ssize_t)total;
}

/*
 * The heart of conn: one pass over everything that might make progress,
 * then the events that follow from it.  rd/wr say which way the socket is
 * ready (both false for a pass started from the loop by a kick).
 */
static void
conn_run(struct conn *c, bool rd, bool wr, unsigned kick)
{
	ssize_t sent = 0, got = 0;
	int r;

	if (c->state == CONN_DONE)
		return;
	if (c->state == CONN_DEAD) {
		(void)conn_deliver_closed(c);
		return;
	}

	/* Output first: a reply to the last command must get out even if
	 * the peer has closed its side meanwhile. */
	if (conn_sendable(c) > 0 &&
	    (kick != 0 || (c->write_wants_read ? rd : wr))) {
		sent = conn_send(c);
		if (sent < 0) {
			(void)conn_fail(c);
			return;
		}
		if (sent > 0)
			conn_touch(c);
	}

	if (c->tls == CONN_TLS_FLUSH && c->state == CONN_OPEN &&
	    c->plain_left == 0) {
		if (SSL_set_fd(c->ssl, c->fd) != 1) {
			conn_set_tls_reason(c, SSL_ERROR_SSL);
			(void)conn_fail(c);
			return;
		}
		c->tls = CONN_TLS_HANDSHAKE;
	}
	if (c->tls == CONN_TLS_HANDSHAKE && c->state == CONN_OPEN) {
		r = conn_handshake(c);
		if (r < 0) {
			(void)conn_fail(c);
			return;
		}
		if (r == 0) {
			conn_update(c);
			return;
		}
		conn_touch(c);
		if (!conn_deliver(c, CONN_EV_TLS_READY))
			return;
		if (c->state >= CONN_DEAD) {
			(void)conn_deliver_closed(c);
			return;
		}
		/* The client may already have sent its first command. */
		rd = true;
	}

	if (conn_want_read(c) &&
	    (kick != 0 || (c->read_wants_write ? wr : rd))) {
		got = conn_recv(c);
		if (got < 0) {
			(void)conn_fail(c);
			return;
		}
		if (got > 0)
			conn_touch(c);
	}

	if (got > 0 || ((kick & KICK_INPUT) && linebuf_pending(&c->in) > 0 &&
	    !c->paused && c->state == CONN_OPEN)) {
		if (!conn_deliver(c, CONN_EV_INPUT))
			return;
	}
	if (c->want_writable && c->state == CONN_OPEN &&
	    (sent > 0 || (kick & KICK_WRITABLE)) &&
	    conn_out_pending(c) < CONN_LOW_WATER) {
		if (!conn_deliver(c, CONN_EV_WRITABLE))
			return;
	}
	if (c->state == CONN_DEAD) {
		(void)conn_deliver_closed(c);
		return;
	}

	/* The peer is done sending: answer what it asked, then close.  A
	 * paused owner is still working on a command; wait for it. */
	if (c->eof && c->state == CONN_OPEN && !c->paused) {
		c->state = CONN_CLOSING;
		conn_set_reason(c, "eof");
	}
	if (c->state == CONN_CLOSING &&
	    (conn_out_pending(c) == 0 || c->tls == CONN_TLS_HANDSHAKE)) {
		conn_terminate(c, true);
		(void)conn_deliver_closed(c);
		return;
	}

	if (linebuf_pending(&c->in) == 0)
		linebuf_shrink(&c->in);
	conn_update(c);
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = conn_from_watcher(w->data);

	conn_run(c, (revents & EV_READ) != 0, (revents & EV_WRITE) != 0, 0);
}

static void
conn_defer_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct conn *c = conn_from_watcher(w->data);
	unsigned kick = c->kick;

	c->kick = 0;
	conn_run(c, false, false, kick);
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = conn_from_watcher(w->data);
	ev_tstamp left = c->last_io + c->timeout - ev_now(loop);

	if (c->state >= CONN_DEAD || c->timeout <= 0)
		return;
	if (left > 0) {
		conn_timer_arm(c, left);
		return;
	}
	conn_touch(c);
	conn_timer_arm(c, c->timeout);
	if (c->state == CONN_CLOSING) {
		/* The owner already gave up on this peer; a peer that does
		 * not read its last reply does not get to keep the conn. */
		conn_set_reason(c, "timeout");
		(void)conn_fail(c);
		return;
	}
	if (!conn_deliver(c, CONN_EV_TIMEOUT))
		return;
	if (c->state == CONN_DEAD) {
		(void)conn_deliver_closed(c);
		return;
	}
	conn_update(c);
}
