/* SPDX-License-Identifier: ISC */
/*
 * SMTP AUTH (RFC 4954) over the asynchronous SASL layer of common/auth.
 *
 * Each step goes to the auth worker thread; until its answer is back the
 * session's input is paused, so pipelined lines wait their turn.  While
 * the exchange runs (SMTP_STATE_AUTH) every line is a base64 response or
 * "*" to cancel.  Credentials are decoded into a heap buffer that is wiped
 * before it is freed and are never logged; the auth layer logs failures
 * with the user name only and delays them.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/auth.h"
#include "common/auth_exchange.h"
#include "common/conn.h"
#include "common/xmalloc.h"
#include "smtp/smtp_session.h"

/* RFC 4422 3.1: mechanism names are at most 20 characters. */
#define SMTP_AUTH_MECH_MAX	20

static void smtp_auth_done(void *arg, enum auth_result res,
    const unsigned char *out, size_t outlen);

/* Leave the exchange without a result (cancel, bad input). */
static void
smtp_auth_end(struct smtp_session *s)
{
	smtp_pause(s, false);
	smtp_enter_state(s, smtp_idle_state(s));
}

/* What the worker answers may come back at once: be waiting first. */
static void
smtp_auth_wait(struct smtp_session *s)
{
	smtp_enter_state(s, SMTP_STATE_AUTH);
	smtp_pause(s, true);
}

void
smtp_cmd_auth(struct smtp_session *s, const char *args, size_t len)
{
	const struct config *cfg = smtp_cfg(s);
	struct smtp_auth_args a;
	char mech[SMTP_AUTH_MECH_MAX + 1];

	if (s->user_id != 0) {
		smtp_reply_bad(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (smtp_parse_auth(args, len, &a) != SMTP_PARSE_OK) {
		smtp_reply_bad(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
		return;
	}
	memcpy(mech, a.mech, a.mech_len);
	mech[a.mech_len] = '\0';
	/* Unknown mechanisms get 504 whatever the transport; known ones
	 * need TLS unless the admin allowed plaintext. */
	switch (auth_mechanism_use(mech, conn_is_tls(s->conn),
	    cfg->allow_plaintext_auth)) {
	case AUTH_MECH_UNKNOWN:
		smtp_reply_bad(s, "504 5.5.4 Unrecognized authentication type");
		return;
	case AUTH_MECH_NEEDS_TLS:
		smtp_reply(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
		return;
	case AUTH_MECH_USABLE:
		break;
	}
	if (s->auth == NULL)
		s->auth = auth_session_new("smtp", s->ip);
	/* "=" is the empty initial response (RFC 4954 4). */
	smtp_auth_wait(s);
	if (auth_exchange_start(s->auth, mech, a.initial, a.initial_len,
	    a.has_initial, smtp_auth_done, s) != AUTH_INPUT_STEP) {
		smtp_auth_end(s);
		smtp_reply_bad(s, "501 5.5.2 Invalid base64 data");
	}
}

/*
 * A response line.  Surrounding blanks are dropped because some clients
 * add them (Windows Mail sends a leading space).
 */
void
smtp_auth_line(struct smtp_session *s, const char *line, size_t len,
    bool too_long)
{
	if (too_long) {
		auth_abort(s->auth);
		smtp_auth_end(s);
		smtp_reply_bad(s, "500 5.5.6 Authentication exchange line is too long");
		return;
	}
	while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
	    line[len - 1] == '\r'))
		len--;
	smtp_auth_wait(s);
	switch (auth_exchange_line(s->auth, line, len, smtp_auth_done, s)) {
	case AUTH_INPUT_STEP:
		break;
	case AUTH_INPUT_CANCELLED:
		smtp_auth_end(s);
		smtp_log(s, "event=auth result=cancelled");
		smtp_reply(s, "501 5.0.0 Authentication cancelled");
		break;
	case AUTH_INPUT_BAD_BASE64:
		smtp_auth_end(s);
		smtp_reply_bad(s, "501 5.5.2 Invalid base64 data");
		break;
	}
}

static void
smtp_auth_done(void *arg, enum auth_result res, const unsigned char *out,
    size_t outlen)
{
	struct smtp_session *s = arg;
	char *b64;

	smtp_pause(s, false);
	if (s->state != SMTP_STATE_AUTH)
		return;
	switch (res) {
	case AUTH_CONTINUE:
		b64 = auth_b64_encode(out, outlen);
		smtp_reply(s, "334 %s", b64);
		free(b64);
		return;		/* stay in SMTP_STATE_AUTH for the response */
	case AUTH_OK:
		s->user_id = auth_session_user_id(s->auth);
		s->user = xstrdup(auth_session_user(s->auth));
		smtp_log(s, "event=auth result=ok user=%s", s->user);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		break;
	case AUTH_FAILED:
		smtp_log(s, "event=auth result=fail");
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
		break;
	case AUTH_BAD_MECH:
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		break;
	case AUTH_BAD_PROTOCOL:
		smtp_log(s, "event=auth result=fail reason=protocol");
		smtp_reply(s, "501 5.5.2 Malformed authentication data");
		break;
	case AUTH_TEMPFAIL:
		smtp_log(s, "event=auth result=tempfail");
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	}
	smtp_auth_end(s);
	smtp_command_done(s);
}
