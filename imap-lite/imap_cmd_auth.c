/* SPDX-License-Identifier: ISC */
/*
 * Commands valid in any state and the login commands: CAPABILITY, NOOP,
 * LOGOUT, ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342),
 * STARTTLS, LOGIN and AUTHENTICATE with SASL-IR (RFC 4959).
 *
 * Password checks are slow on purpose and run on the auth worker, so
 * LOGIN and every AUTHENTICATE step make the command wait until
 * imap_auth_done() comes back on the loop.  Passwords pass through here
 * but are never logged; the command buffer that carried one is wiped as
 * soon as the check is queued.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/auth.h"
#include "common/auth_exchange.h"
#include "common/conn.h"
#include "common/linebuf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_session.h"

#define PRIVACY_REQUIRED "NO [PRIVACYREQUIRED] Plaintext authentication " \
	"disallowed on non-secure connections."

/* What every state offers; the login state adds its own items. */
#define IMAP_CAPS "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE " \
	"UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED " \
	"LIST-STATUS CONDSTORE"

void
imap_capabilities(const struct imap_session *s, struct imap_buf *b)
{
	const char *mechs, *p;

	imap_buf_str(b, IMAP_CAPS);
	if (s->state != IMAP_STATE_NOT_AUTH)
		return;
	if (!(s->flags & IMAP_F_TLS) && s->tls_ctx != NULL)
		imap_buf_str(b, " STARTTLS");
	mechs = auth_mechanisms((s->flags & IMAP_F_TLS) != 0,
	    s->allow_plaintext);
	for (p = mechs; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n > 0)
			imap_buf_printf(b, " AUTH=%.*s", (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
	if (!imap_plaintext_ok(s))
		imap_buf_str(b, " LOGINDISABLED");
}

void
imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0) {
		imap_cmd_bad(s, "CAPABILITY takes no arguments");
		return;
	}
	imap_buf_str(&s->out, "* CAPABILITY ");
	imap_capabilities(s, &s->out);
	imap_buf_str(&s->out, "\r\n");
	imap_cmd_done(s, "OK Capability completed.");
}

void
imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	/* The view update happens in imap_cmd_done(): that is what clients
	 * poll with NOOP for. */
	imap_cmd_done(s, "OK NOOP completed.");
}

void
imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	imap_enter_state(s, IMAP_STATE_LOGOUT);
	imap_untagged(s, "BYE Logging out.");
	imap_buf_printf(&s->out, "%s OK Logout completed.\r\n", s->tag);
	imap_flush(s);
	imap_close(s, "logout", NULL);
	/* Silent now; this only releases the command. */
	imap_cmd_done(s, "OK");
}

void
imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	/* One personal namespace, no prefix, "/" between levels. */
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_cmd_done(s, "OK Namespace completed.");
}

/* RFC 2971: a list of at most 30 field/value pairs, or NIL. */
void
imap_cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *l;
	const char *name = NULL, *version = NULL;
	char nbuf[80], vbuf[80];
	size_t i;

	if (cmd->nargs != 1 || (cmd->args[0].type != IMAP_ARG_NIL &&
	    cmd->args[0].type != IMAP_ARG_LIST)) {
		imap_cmd_bad(s, "ID takes NIL or a list of field/value pairs");
		return;
	}
	l = &cmd->args[0];
	if (l->type == IMAP_ARG_LIST) {
		if (l->n % 2 != 0 || l->n > 60) {
			imap_cmd_bad(s, "Invalid ID list");
			return;
		}
		for (i = 0; i < l->n; i += 2) {
			const char *f = imap_arg_astring(&l->list[i]);
			const char *v = l->list[i + 1].type == IMAP_ARG_NIL ?
			    NULL : imap_arg_astring(&l->list[i + 1]);

			if (f == NULL || (v == NULL &&
			    l->list[i + 1].type != IMAP_ARG_NIL)) {
				imap_cmd_bad(s, "Invalid ID list");
				return;
			}
			if (strcasecmp(f, "name") == 0)
				name = v;
			else if (strcasecmp(f, "version") == 0)
				version = v;
		}
		log_info(IMAP_LOG "event=id name=%s version=%s",
		    IMAP_LOG_ARGS(s), imap_log_text(name, nbuf, sizeof(nbuf)),
		    imap_log_text(version, vbuf, sizeof(vbuf)));
	}
	imap_untagged(s, "ID (\"name\" \"Postroom\")");
	imap_cmd_done(s, "OK ID completed.");
}

void
imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	bool condstore = false;
	size_t i;

	if (cmd->nargs == 0) {
		imap_cmd_bad(s, "ENABLE needs at least one capability");
		return;
	}
	for (i = 0; i < cmd->nargs; i++) {
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			imap_cmd_bad(s, "Invalid capability name");
			return;
		}
		/* Unknown capabilities are ignored (RFC 5161 3.1). */
		if (strcasecmp(cmd->args[i].str, "CONDSTORE") == 0)
			condstore = true;
	}
	if (condstore) {
		s->flags |= IMAP_F_CONDSTORE;
		imap_untagged(s, "ENABLED CONDSTORE");
	} else {
		imap_untagged(s, "ENABLED");
	}
	imap_cmd_done(s, "OK Enabled.");
}

void
imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	size_t pending;

	if (s->flags & IMAP_F_TLS) {
		imap_cmd_bad(s, "TLS is already active");
		return;
	}
	if (s->tls_ctx == NULL) {
		imap_cmd_done(s, "NO TLS is not available");
		return;
	}
	/* conn_start_tls() drops whatever was pipelined behind STARTTLS, so
	 * it can never be taken as if it came over TLS (CVE-2011-0411). */
	pending = linebuf_pending(conn_input(s->conn));
	if (pending > 0)
		log_info(IMAP_LOG "event=starttls-pipelining discarded=%zu",
		    IMAP_LOG_ARGS(s), pending);
	/* Set first: the reply must not resume reading plaintext. */
	s->flags |= IMAP_F_TLS_PENDING;
	imap_cmd_done(s, "OK Begin TLS negotiation now.");
	conn_start_tls(s->conn, s->tls_ctx);
}

static void imap_auth_done(void *arg, enum auth_result res,
    const unsigned char *out, size_t outlen);

/* The auth session, made at the first login attempt. */
static struct auth_session *
imap_auth_session(struct imap_session *s)
{
	if (s->auth == NULL)
		s->auth = auth_session_new("imap", s->ip);
	return s->auth;
}

/* A step is with the auth worker: the command waits for
 * imap_auth_done().  mech names the method for the log (NULL while an
 * exchange continues). */
static void
imap_auth_wait(struct imap_session *s, const char *mech)
{
	if (mech != NULL)
		snprintf(s->mech, sizeof(s->mech), "%s", mech);
	imap_cmd_wait(s);
}

void
imap_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	const char *user, *pass;

	if (!imap_plaintext_ok(s)) {
		imap_cmd_done(s, PRIVACY_REQUIRED);
		return;
	}
	if (cmd->nargs != 2 ||
	    (user = imap_arg_astring(&cmd->args[0])) == NULL ||
	    (pass = imap_arg_astring(&cmd->args[1])) == NULL) {
		imap_cmd_bad(s, "LOGIN needs a user name and a password");
		return;
	}
	auth_check_plain(imap_auth_session(s), user, pass, imap_auth_done, s);
	imap_auth_wait(s, "LOGIN");
	explicit_bzero(s->cmdbuf, s->cmd_len);
}

void
imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	const char *mech, *ir;

	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->nargs == 2 && cmd->args[1].type != IMAP_ARG_ATOM)) {
		imap_cmd_bad(s, "AUTHENTICATE needs a mechanism name");
		return;
	}
	mech = cmd->args[0].str;
	switch (auth_mechanism_use(mech, (s->flags & IMAP_F_TLS) != 0,
	    s->allow_plaintext)) {
	case AUTH_MECH_USABLE:
		break;
	case AUTH_MECH_NEEDS_TLS:
		imap_cmd_done(s, PRIVACY_REQUIRED);
		return;
	case AUTH_MECH_UNKNOWN:
		imap_cmd_done(s, "NO Unsupported authentication mechanism");
		return;
	}
	/* SASL-IR (RFC 4959): the initial response as a second argument. */
	ir = cmd->nargs == 2 ? cmd->args[1].str : "";
	if (auth_exchange_start(imap_auth_session(s), mech, ir, strlen(ir),
	    cmd->nargs == 2, imap_auth_done, s) != AUTH_INPUT_STEP) {
		imap_cmd_bad(s, "Invalid base64 data");
		return;
	}
	imap_auth_wait(s, mech);
	explicit_bzero(s->cmdbuf, s->cmd_len);
}

void
imap_auth_sasl_line(struct imap_session *s, const char *line, size_t len)
{
	s->flags &= ~IMAP_F_SASL;
	switch (auth_exchange_line(s->auth, line, len, imap_auth_done, s)) {
	case AUTH_INPUT_STEP:
		imap_auth_wait(s, NULL);
		break;
	case AUTH_INPUT_CANCELLED:
		imap_cmd_bad(s, "Authentication cancelled");
		break;
	case AUTH_INPUT_BAD_BASE64:
		imap_cmd_bad(s, "Invalid base64 data");
		break;
	}
}

static void
imap_login(struct imap_session *s)
{
	struct imap_buf caps = { 0 };
	char ubuf[80];

	s->user = xstrdup(auth_session_user(s->auth));
	s->user_id = auth_session_user_id(s->auth);
	imap_enter_state(s, IMAP_STATE_AUTH);
	log_info(IMAP_LOG "event=login user=%s method=%s", IMAP_LOG_ARGS(s),
	    imap_log_text(s->user, ubuf, sizeof(ubuf)), s->mech);
	/* Clients skip a CAPABILITY round trip when the OK carries it. */
	imap_capabilities(s, &caps);
	imap_cmd_done(s, "OK [CAPABILITY %s] Logged in.", caps.data);
	imap_buf_free(&caps);
}

static void
imap_auth_done(void *arg, enum auth_result res, const unsigned char *out,
    size_t outlen)
{
	struct imap_session *s = arg;
	char *b64;

	/* Timed out or shut down while the worker was busy: the BYE is
	 * queued and nothing more is said. */
	if (s->flags & IMAP_F_CLOSING)
		return;
	switch (res) {
	case AUTH_CONTINUE:
		/* "+ " alone for an empty challenge. */
		b64 = auth_b64_encode(out, outlen);
		conn_printf(s->conn, "+ %s\r\n", b64);
		free(b64);
		s->flags |= IMAP_F_SASL;
		imap_cmd_resume(s);
		break;
	case AUTH_OK:
		imap_login(s);
		break;
	case AUTH_FAILED:
		log_info(IMAP_LOG "event=login-failed method=%s",
		    IMAP_LOG_ARGS(s), s->mech);
		imap_cmd_done(s, "NO [AUTHENTICATIONFAILED] Authentication "
		    "failed.");
		break;
	case AUTH_BAD_MECH:
		imap_cmd_done(s, "NO Unsupported authentication mechanism");
		break;
	case AUTH_BAD_PROTOCOL:
		imap_cmd_bad(s, "Invalid authentication exchange");
		break;
	case AUTH_TEMPFAIL:
		log_warnx(IMAP_LOG "event=login-failed method=%s "
		    "reason=tempfail", IMAP_LOG_ARGS(s), s->mech);
		imap_cmd_done(s, "NO [UNAVAILABLE] Temporary authentication "
		    "failure, try again later.");
		break;
	}
}
