/* SPDX-License-Identifier: ISC */
/*
 * The AUTHORIZATION state: CAPA (RFC 2449), STLS (RFC 2595), USER/PASS
 * (RFC 1939) and AUTH (RFC 5034), and the login that takes the snapshot of
 * INBOX.
 *
 * Password checks are slow on purpose and run on the auth worker, so PASS
 * and every AUTH step suspend command input until pop3_auth_done() comes
 * back on the loop.  Passwords pass through here but are never logged or
 * kept: the copy handed to the worker is wiped as soon as it is queued.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/auth.h"
#include "common/auth_exchange.h"
#include "common/conn.h"
#include "common/linebuf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "pop3/pop3_session.h"

#define PLAINTEXT_REFUSED \
	"-ERR [AUTH] Plaintext authentication disallowed on non-secure connections"

void
pop3_cmd_capa(struct pop3_session *s, const char *args, size_t len)
{
	bool authz = s->state == POP3_STATE_AUTHORIZATION;
	const char *mechs;

	pop3_reply(s, "+OK Capability list follows");
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	/* Login capabilities only where they can be used. */
	if (authz && pop3_plaintext_ok(s))
		pop3_reply(s, "USER");
	mechs = auth_mechanisms((s->flags & POP3_F_TLS) != 0,
	    s->allow_plaintext);
	if (authz && mechs[0] != '\0')
		pop3_reply(s, "SASL %s", mechs);
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE");
	pop3_reply(s, "PIPELINING");
	if (authz && !(s->flags & POP3_F_TLS) && s->tls_ctx != NULL)
		pop3_reply(s, "STLS");
	pop3_reply(s, "EXPIRE NEVER");
	pop3_reply(s, "LOGIN-DELAY 0");
	pop3_reply(s, "IMPLEMENTATION Postroom");
	pop3_reply(s, ".");
}

void
pop3_cmd_stls(struct pop3_session *s, const char *args, size_t len)
{
	size_t pending;

	if (s->flags & POP3_F_TLS) {
		pop3_reply_bad(s, "-ERR TLS is already active");
		return;
	}
	if (s->tls_ctx == NULL) {
		pop3_reply(s, "-ERR TLS is not available");
		return;
	}
	/* conn_start_tls() drops whatever the client pipelined after STLS
	 * so it can never be read as if it came over TLS. */
	pending = linebuf_pending(conn_input(s->conn));
	if (pending > 0)
		log_info(POP3_LOG "event=stls-pipelining discarded=%zu",
		    POP3_LOG_ARGS(s), pending);
	pop3_reply(s, "+OK Begin TLS negotiation");
	s->flags |= POP3_F_TLS_PENDING;
	conn_start_tls(s->conn, s->tls_ctx);
}

void
pop3_cmd_user(struct pop3_session *s, const char *args, size_t len)
{
	const char *name;
	size_t name_len;

	if (!pop3_plaintext_ok(s)) {
		pop3_reply(s, PLAINTEXT_REFUSED);
		return;
	}
	if (pop3_parse_user(args, len, &name, &name_len) < 0) {
		pop3_reply_bad(s, "-ERR Invalid user name");
		return;
	}
	free(s->user);
	s->user = xstrndup(name, name_len);
	pop3_reply(s, "+OK");
}

/* The auth session, made at the first login attempt. */
static struct auth_session *
pop3_auth_session(struct pop3_session *s)
{
	if (s->auth == NULL)
		s->auth = auth_session_new("pop", s->ip);
	return s->auth;
}

/* A step is with the worker: no more commands until pop3_auth_done().
 * mech names the method for the log (NULL while an exchange continues). */
static void
pop3_auth_wait(struct pop3_session *s, const char *mech)
{
	if (mech != NULL)
		snprintf(s->mech, sizeof(s->mech), "%s", mech);
	s->flags |= POP3_F_AUTH_WAIT;
	pop3_suspend(s);
}

static void pop3_auth_done(void *arg, enum auth_result res,
    const unsigned char *out, size_t outlen);

void
pop3_cmd_pass(struct pop3_session *s, const char *args, size_t len)
{
	const char *pass;
	size_t pass_len;
	char *copy;

	if (!pop3_plaintext_ok(s)) {
		pop3_reply(s, PLAINTEXT_REFUSED);
		return;
	}
	if (s->user == NULL) {
		pop3_reply_bad(s, "-ERR No user name given");
		return;
	}
	if (pop3_parse_pass(args, len, &pass, &pass_len) < 0) {
		XFREE(s->user);
		pop3_reply_bad(s, "-ERR Missing password");
		return;
	}
	copy = xstrndup(pass, pass_len);
	auth_check_plain(pop3_auth_session(s), s->user, copy, pop3_auth_done,
	    s);
	pop3_auth_wait(s, "USER");
	explicit_bzero(copy, pass_len);
	free(copy);
}

/* AUTH with no argument: the mechanism list, a form many clients probe
 * with before CAPA existed. */
static void
pop3_auth_list(struct pop3_session *s)
{
	const char *p = auth_mechanisms((s->flags & POP3_F_TLS) != 0,
	    s->allow_plaintext);

	pop3_reply(s, "+OK");
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n > 0)
			pop3_reply(s, "%.*s", (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
	pop3_reply(s, ".");
}

void
pop3_cmd_auth(struct pop3_session *s, const char *args, size_t len)
{
	char mech[POP3_MECH_MAX + 1];
	const char *initial;
	size_t initial_len;
	bool has_initial;

	if (args == NULL || len == 0) {
		pop3_auth_list(s);
		return;
	}
	if (pop3_parse_auth(args, len, mech, &initial, &initial_len,
	    &has_initial) < 0) {
		pop3_reply_bad(s, "-ERR Invalid AUTH arguments");
		return;
	}
	switch (auth_mechanism_use(mech, (s->flags & POP3_F_TLS) != 0,
	    s->allow_plaintext)) {
	case AUTH_MECH_USABLE:
		break;
	case AUTH_MECH_NEEDS_TLS:
		pop3_reply(s, PLAINTEXT_REFUSED);
		return;
	case AUTH_MECH_UNKNOWN:
		pop3_reply_bad(s, "-ERR Unsupported authentication mechanism");
		return;
	}
	if (auth_exchange_start(pop3_auth_session(s), mech, initial,
	    initial_len, has_initial, pop3_auth_done, s) != AUTH_INPUT_STEP) {
		pop3_reply_bad(s, "-ERR Invalid base64 data");
		return;
	}
	pop3_auth_wait(s, mech);
}

void
pop3_auth_continue(struct pop3_session *s, const char *line, size_t len)
{
	s->flags &= ~POP3_F_SASL_CONT;
	switch (auth_exchange_line(s->auth, line, len, pop3_auth_done, s)) {
	case AUTH_INPUT_STEP:
		pop3_auth_wait(s, NULL);
		break;
	case AUTH_INPUT_CANCELLED:
		pop3_reply(s, "-ERR [AUTH] Authentication cancelled");
		break;
	case AUTH_INPUT_BAD_BASE64:
		pop3_reply_bad(s, "-ERR Invalid base64 data");
		break;
	}
}

/*
 * Authenticated: take the snapshot of INBOX that this session will show
 * until QUIT.  If the maildrop cannot be read the login fails with a
 * temporary error and the client stays in AUTHORIZATION.
 */
static void
pop3_login(struct pop3_session *s)
{
	const char *user = auth_session_user(s->auth);
	struct ms_mailbox_info mb;
	struct ms_msg *v = NULL;
	size_t n = 0, i;
	char ubuf[80];
	int rc;

	rc = ms_mailbox_find(s->srv->ms, auth_session_user_id(s->auth),
	    "INBOX", &mb);
	if (rc == MS_OK)
		rc = ms_mailbox_messages(s->srv->ms, mb.id, &v, &n);
	if (rc != MS_OK) {
		log_warnx(POP3_LOG "event=login-failed user=%s reason=%s",
		    POP3_LOG_ARGS(s), pop3_log_user(user, ubuf, sizeof(ubuf)),
		    ms_strstatus(rc));
		XFREE(s->user);
		pop3_reply(s, "-ERR [SYS/TEMP] Unable to open the maildrop");
		return;
	}

	free(s->user);
	s->user = xstrdup(user);
	s->user_id = auth_session_user_id(s->auth);
	s->mailbox_id = mb.id;
	s->uidvalidity = mb.uidvalidity;
	s->msgs = n > 0 ? xcalloc(n, sizeof(*s->msgs)) : NULL;
	for (i = 0; i < n; i++)
		s->msgs[i] = (struct pop3_msg){
			.uid = v[i].uid,
			.message_id = v[i].message_id,
			.size = v[i].size,
		};
	s->n_msgs = n;
	free(v);

	pop3_enter_state(s, POP3_STATE_TRANSACTION);
	log_info(POP3_LOG "event=login user=%s method=%s messages=%zu",
	    POP3_LOG_ARGS(s), pop3_log_user(s->user, ubuf, sizeof(ubuf)),
	    s->mech, n);
	pop3_reply(s, "+OK Logged in.");
}

static void
pop3_auth_done(void *arg, enum auth_result res, const unsigned char *out,
    size_t outlen)
{
	struct pop3_session *s = arg;
	char ubuf[80], *b64;

	s->flags &= ~POP3_F_AUTH_WAIT;
	/* Timed out or shut down while the worker was busy: the goodbye is
	 * already queued and nothing more is said. */
	if (s->flags & POP3_F_CLOSING)
		return;
	switch (res) {
	case AUTH_CONTINUE:
		/* "+ " alone for an empty challenge. */
		b64 = auth_b64_encode(out, outlen);
		pop3_reply(s, "+ %s", b64);
		free(b64);
		s->flags |= POP3_F_SASL_CONT;
		break;
	case AUTH_OK:
		pop3_login(s);
		break;
	case AUTH_FAILED:
		/* For SASL the name is inside the exchange and not known
		 * here; only USER gives one to log. */
		log_info(POP3_LOG "event=login-failed user=%s method=%s",
		    POP3_LOG_ARGS(s), pop3_log_user(s->user, ubuf,
		    sizeof(ubuf)), s->mech);
		pop3_reply(s, "-ERR [AUTH] Authentication failed.");
		break;
	case AUTH_BAD_MECH:
		pop3_reply_bad(s, "-ERR Unsupported authentication mechanism");
		break;
	case AUTH_BAD_PROTOCOL:
		pop3_reply_bad(s, "-ERR Invalid authentication exchange");
		break;
	case AUTH_TEMPFAIL:
		log_warnx(POP3_LOG "event=login-failed method=%s reason=tempfail",
		    POP3_LOG_ARGS(s), s->mech);
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication "
		    "failure, try again later");
		break;
	}
	/* RFC 1939: after a failed PASS the client starts again at USER. */
	if (res != AUTH_CONTINUE && s->state == POP3_STATE_AUTHORIZATION)
		XFREE(s->user);
	pop3_resume(s);
}
