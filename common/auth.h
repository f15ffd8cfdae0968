/* SPDX-License-Identifier: ISC */
/*
 * Authentication for SMTP AUTH, POP3 USER/PASS and AUTH, and IMAP
 * LOGIN/AUTHENTICATE, through Cyrus SASL on the server side.
 *
 * Passwords are checked against the mailstore's yescrypt hashes by our
 * SASL_CB_SERVER_USERDB_CHECKPASS callback; no sasldb, no saslauthd.
 * Hashing is slow on purpose, so every SASL call runs on an auth worker
 * thread that owns its own mailstore connection; results come back to the
 * event loop through an ev_async.  The protocol modules see only the
 * asynchronous API below.
 *
 * Mechanisms: PLAIN and LOGIN (the plugins from libsasl2-modules).  Both
 * carry the password in the clear, so they are offered only under TLS unless
 * [auth] allow_plaintext is set.
 *
 * Failed logins are throttled per (user, IP): each failure delays the reply
 * (1 s, 2 s, 4 s ... up to 30 s) before the client can try again, and an IP
 * with very many failures and no recent success is refused for a while.  An
 * office behind one NAT address is not locked out by one laptop with a stale
 * password, because the delay is per user and an IP that logged in
 * successfully recently is never refused outright.
 */
#ifndef POSTROOM_AUTH_H
#define POSTROOM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mailstore/ms.h"

struct ev_loop;
struct auth_session;

/* Once per process: sasl_server_init, worker thread with its own
 * connection to the database at db_path.  Returns 0 or -1 (logged). */
int auth_init(struct ev_loop *loop, const char *db_path);
/* Stops the worker.  Call it after every auth_session has been freed. */
void auth_shutdown(void);

/* service: "smtp", "pop", "imap".  ip: peer address text. */
struct auth_session *auth_session_new(const char *service, const char *ip);
/* Safe with a step in flight: the result is then dropped. */
void auth_session_free(struct auth_session **asp);

/* Space-separated mechanism list ("PLAIN LOGIN"), or "" if none may be used
 * (no TLS and plaintext not allowed). */
const char *auth_mechanisms(bool tls, bool allow_plaintext);
bool auth_mechanism_allowed(const char *mech, bool tls, bool allow_plaintext);

enum auth_result {
	AUTH_CONTINUE,		/* send the challenge (out/outlen) and wait */
	AUTH_OK,		/* authenticated: auth_session_user/_user_id */
	AUTH_FAILED,		/* wrong credentials (reply after the delay) */
	AUTH_BAD_MECH,		/* unknown or not allowed mechanism */
	AUTH_BAD_PROTOCOL,	/* malformed exchange (bad base64, ...) */
	AUTH_TEMPFAIL,		/* internal error: a temporary failure reply */
};

/*
 * Result callback, on the loop thread.  out/outlen is the raw (not base64)
 * challenge for AUTH_CONTINUE, valid only during the call.  For
 * AUTH_FAILED the throttle delay has already been served.
 */
typedef void auth_done_fn(void *arg, enum auth_result res,
    const unsigned char *out, size_t outlen);

/*
 * Start (mech set, first step) or continue (mech NULL) an exchange.  in is
 * the raw client response (already base64-decoded); has_initial false means
 * no initial response was given at all (as opposed to an empty one).  The
 * callback runs later, never from inside this call.  Only one step may be in
 * flight per session.
 */
void auth_step(struct auth_session *as, const char *mech, const unsigned char *in,
    size_t inlen, bool has_initial, auth_done_fn *cb, void *arg);

/* Convenience for USER/PASS and IMAP LOGIN: runs PLAIN on the worker. */
void auth_check_plain(struct auth_session *as, const char *user,
    const char *password, auth_done_fn *cb, void *arg);

/* After AUTH_OK. */
const char *auth_session_user(const struct auth_session *as);
ms_id auth_session_user_id(const struct auth_session *as);

/* Cancel an exchange (client sent "*").  A step already in flight still
 * completes and calls back (a failure after its delay), so a client cannot
 * cut a throttled reply short. */
void auth_abort(struct auth_session *as);

/* Is this IP currently refused because of too many failures? */
bool auth_ip_blocked(const char *ip);

/* base64 helpers (RFC 4648) for the protocol modules.  decode returns the
 * length or -1 on invalid input; out must hold len*3/4+3 bytes. */
ssize_t auth_b64_decode(const char *in, size_t len, unsigned char *out);
/* Returns a malloc'ed NUL-terminated string. */
char *auth_b64_encode(const unsigned char *in, size_t len);

/* For tests: multiply every throttle delay by scale (default 1). */
void auth_set_throttle_scale(double scale);

#endif
