/* SPDX-License-Identifier: ISC */
/*
 * The protocol-independent part of AUTH and AUTHENTICATE: the mechanism
 * check, decoding the client's base64, "*" and handing each response to
 * the auth worker (see auth_exchange.h).  Decoded responses carry
 * passwords, so they live in a heap buffer that is wiped before it is
 * freed, right after auth_step() has taken its own copy.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/auth_exchange.h"
#include "common/xmalloc.h"

enum auth_mech_use
auth_mechanism_use(const char *mech, bool tls, bool allow_plaintext)
{
	if (auth_mechanism_allowed(mech, tls, allow_plaintext))
		return AUTH_MECH_USABLE;
	/* Allowed somewhere: it is the transport that is wrong. */
	if (auth_mechanism_allowed(mech, true, true))
		return AUTH_MECH_NEEDS_TLS;
	return AUTH_MECH_UNKNOWN;
}

/*
 * Decode a response into a fresh buffer, never NULL on success even for
 * an empty one; NULL when the text is not base64.  "=" alone is the empty
 * response only where it is an initial response: a continuation line
 * that is empty is simply "".
 */
static unsigned char *
decode_response(const char *text, size_t len, bool initial, size_t *len_r)
{
	unsigned char *out = xmalloc(len * 3 / 4 + 3);
	ssize_t n;

	if (initial && len == 1 && text[0] == '=') {
		*len_r = 0;
		return out;
	}
	if ((n = auth_b64_decode(text, len, out)) < 0) {
		free(out);
		return NULL;
	}
	*len_r = (size_t)n;
	return out;
}

static void
wipe_response(unsigned char *in, size_t len)
{
	if (in == NULL)
		return;
	explicit_bzero(in, len);
	free(in);
}

enum auth_input
auth_exchange_start(struct auth_session *as, const char *mech,
    const char *initial, size_t len, bool has_initial, auth_done_fn *cb,
    void *arg)
{
	unsigned char *in = NULL;
	size_t in_len = 0;

	if (has_initial &&
	    (in = decode_response(initial, len, true, &in_len)) == NULL)
		return AUTH_INPUT_BAD_BASE64;
	auth_step(as, mech, in, in_len, has_initial, cb, arg);
	wipe_response(in, in_len);
	return AUTH_INPUT_STEP;
}

enum auth_input
auth_exchange_line(struct auth_session *as, const char *line, size_t len,
    auth_done_fn *cb, void *arg)
{
	unsigned char *in;
	size_t in_len;

	if (len == 1 && line[0] == '*') {
		auth_abort(as);
		return AUTH_INPUT_CANCELLED;
	}
	if ((in = decode_response(line, len, false, &in_len)) == NULL) {
		auth_abort(as);
		return AUTH_INPUT_BAD_BASE64;
	}
	auth_step(as, NULL, in, in_len, true, cb, arg);
	wipe_response(in, in_len);
	return AUTH_INPUT_STEP;
}
