/* SPDX-License-Identifier: ISC */
/*
 * The client's side of a SASL exchange as every protocol carries it: a
 * mechanism that may or may not be used on this connection, an optional
 * base64 initial response ("=" for an empty one), then one base64 line per
 * challenge, or "*" to give up (RFC 4954 for SMTP, RFC 5034 for POP3,
 * RFC 3501 and 4959 for IMAP).
 *
 * These calls decode the client's text, hand the bytes to the auth worker
 * through auth_step() and wipe them; they answer with an enum, and the
 * protocol module turns that into its own reply ("-ERR ...", "<tag> BAD
 * ...").  Challenges go back as "+ " (or "334 ") and auth_b64_encode() of
 * the bytes the callback got, which is "" for an empty one.
 */
#ifndef POSTROOM_AUTH_EXCHANGE_H
#define POSTROOM_AUTH_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/auth.h"

enum auth_mech_use {
	AUTH_MECH_USABLE,	/* offered on this connection */
	AUTH_MECH_NEEDS_TLS,	/* known, but refused here without TLS */
	AUTH_MECH_UNKNOWN,	/* not a mechanism we offer anywhere */
};

/* Can mech be used with this transport and plaintext policy? */
enum auth_mech_use auth_mechanism_use(const char *mech, bool tls,
    bool allow_plaintext);

enum auth_input {
	AUTH_INPUT_STEP,	/* with the worker: wait for the callback */
	AUTH_INPUT_CANCELLED,	/* "*": the exchange is aborted */
	AUTH_INPUT_BAD_BASE64,	/* not base64: nothing is pending; an
				 * exchange that was running is aborted */
};

/*
 * Start an exchange with mech (checked by the caller).  initial/len is
 * the client's initial response as sent, used only if has_initial.
 * Returns AUTH_INPUT_STEP or AUTH_INPUT_BAD_BASE64 (nothing started).
 */
enum auth_input auth_exchange_start(struct auth_session *as, const char *mech,
    const char *initial, size_t len, bool has_initial, auth_done_fn *cb,
    void *arg);
/* One response line of a running exchange, without its CRLF. */
enum auth_input auth_exchange_line(struct auth_session *as, const char *line,
    size_t len, auth_done_fn *cb, void *arg);

#endif
