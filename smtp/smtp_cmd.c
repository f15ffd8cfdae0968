/* SPDX-License-Identifier: ISC */
/*
 * SMTP command handlers other than AUTH (smtp_auth.c) and DATA/BDAT
 * (smtp_data.c): greeting, EHLO/HELO, STARTTLS, MAIL, RCPT and the small
 * ones.  The dispatcher has already checked the session state, so each
 * handler only validates its arguments, checks policy, acts and replies.
 *
 * Policy in one place:
 *   - submission ports (587, 465) take mail only from authenticated users,
 *     and only with a reverse path the user owns (any authenticated user
 *     is held to that);
 *   - recipients in local domains must resolve to a user, an alias or a
 *     catch-all; other domains are relayed only for authenticated users
 *     and trusted networks.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/auth.h"
#include "common/conn.h"
#include "common/xmalloc.h"
#include "smtp/smtp_session.h"

void
smtp_greet(struct smtp_session *s)
{
	smtp_reply(s, "220 %s ESMTP Postroom", smtp_cfg(s)->hostname);
	s->flags |= SMTP_F_GREETED;
}

void
smtp_tls_reset(struct smtp_session *s)
{
	smtp_tx_free(&s->tx);
	XFREE(s->helo);
	XFREE(s->user);
	s->user_id = 0;
	auth_session_free(&s->auth);
	s->flags &= ~SMTP_F_EHLO;
}

/* A new EHLO/HELO ends any transaction and replaces the name (RFC 5321
 * 4.1.4).  Returns false (after replying) if the argument is unusable. */
static bool
smtp_set_helo(struct smtp_session *s, const char *verb, const char *args,
    size_t len)
{
	if (smtp_parse_helo(args, len) != SMTP_PARSE_OK) {
		smtp_reply_bad(s, "501 5.5.4 Syntax: %s hostname", verb);
		return false;
	}
	smtp_tx_free(&s->tx);
	free(s->helo);
	s->helo = xstrdup(args);
	smtp_enter_state(s, SMTP_STATE_HELO);
	return true;
}

void
smtp_cmd_helo(struct smtp_session *s, const char *args, size_t len)
{
	if (!smtp_set_helo(s, "HELO", args, len))
		return;
	s->flags &= ~SMTP_F_EHLO;
	smtp_reply(s, "250 %s", smtp_cfg(s)->hostname);
}

void
smtp_cmd_ehlo(struct smtp_session *s, const char *args, size_t len)
{
	const struct config *cfg = smtp_cfg(s);
	bool tls = conn_is_tls(s->conn);
	const char *mechs, *ext[12];
	char size[48], auth[64];
	size_t n = 0, i;

	if (!smtp_set_helo(s, "EHLO", args, len))
		return;
	s->flags |= SMTP_F_EHLO;

	(void)snprintf(size, sizeof(size), "SIZE %" PRIu64, cfg->max_message_size);
	ext[n++] = "PIPELINING";
	ext[n++] = size;
	ext[n++] = "8BITMIME";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "SMTPUTF8";
	ext[n++] = "CHUNKING";
	if (!tls && s->srv->tls_ctx != NULL)
		ext[n++] = "STARTTLS";
	/* PLAIN and LOGIN only where the password cannot be sniffed, unless
	 * the admin allowed plaintext auth. */
	mechs = auth_mechanisms(tls, cfg->allow_plaintext_auth);
	if (mechs[0] != '\0') {
		(void)snprintf(auth, sizeof(auth), "AUTH %s", mechs);
		ext[n++] = auth;
	}
	ext[n++] = "HELP";

	smtp_reply(s, "250-%s", cfg->hostname);
	for (i = 0; i < n; i++)
		smtp_reply(s, "250%c%s", i + 1 == n ? ' ' : '-', ext[i]);
}

void
smtp_cmd_starttls(struct smtp_session *s, const char *args, size_t len)
{
	size_t pending;

	if (len != 0) {
		smtp_reply_bad(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (conn_is_tls(s->conn)) {
		smtp_reply_bad(s, "503 5.5.1 TLS already active");
		return;
	}
	if (s->srv->tls_ctx == NULL) {
		smtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	/* Anything the client sent after STARTTLS was sent in the clear and
	 * must not be taken as coming through TLS (RFC 3207 6); conn drops
	 * it, we say so. */
	pending = linebuf_pending(conn_input(s->conn));
	if (pending > 0)
		smtp_log(s, "event=starttls-pipelined discarded=%zu", pending);
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_enter_state(s, SMTP_STATE_TLS);
	conn_start_tls(s->conn, s->srv->tls_ctx);
}

/* The reply for a MAIL or RCPT argument error; code is the enhanced
 * status for a bad address (5.1.7 sender, 5.1.3 recipient). */
static void
smtp_reply_path_error(struct smtp_session *s, enum smtp_parse_status st,
    const char *err, const char *code)
{
	switch (st) {
	case SMTP_PARSE_BAD_ADDR:
		smtp_reply_bad(s, "501 %s %s", code, err);
		break;
	case SMTP_PARSE_BAD_UTF8:
		smtp_reply_bad(s, "553 %s %s", code, err);
		break;
	case SMTP_PARSE_NEED_SMTPUTF8:
		smtp_reply(s, "553 5.6.7 %s", err);
		break;
	case SMTP_PARSE_UNKNOWN_PARAM:
		smtp_reply_bad(s, "555 5.5.4 %s", err);
		break;
	default:
		smtp_reply_bad(s, "501 5.5.4 %s", err);
		break;
	}
}

static bool
smtp_submission_role(const struct smtp_session *s)
{
	return s->role == ROLE_SUBMISSION || s->role == ROLE_SUBMISSIONS;
}

void
smtp_cmd_mail(struct smtp_session *s, const char *args, size_t len)
{
	const struct config *cfg = smtp_cfg(s);
	struct smtp_mail_args m;
	enum smtp_parse_status st;
	struct smtp_tx *tx;
	const char *err;

	if (smtp_submission_role(s) && s->user_id == 0) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if ((st = smtp_parse_mail(args, len, &m, &err)) != SMTP_PARSE_OK) {
		smtp_reply_path_error(s, st, err, "5.1.7");
		return;
	}
	if (m.size_set && m.size > cfg->max_message_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	/* The null sender stays allowed: vacation replies and bounces from
	 * a user's own tools legitimately use it. */
	if (s->user_id != 0 && m.path.addr[0] != '\0' &&
	    !ms_user_may_send_as(s->srv->ms, s->user_id, m.path.addr)) {
		smtp_log(s, "event=mail from=<%s> user=%s result=reject code=553",
		    m.path.addr, s->user);
		smtp_reply(s, "553 5.7.1 Sender address not owned by user");
		return;
	}
	tx = xcalloc(1, sizeof(*tx));
	tx->from = xstrdup(m.path.addr);
	tx->smtputf8 = m.smtputf8;
	tx->body = m.body;
	s->tx = tx;
	smtp_enter_state(s, SMTP_STATE_MAIL);
	if (m.size_set)
		smtp_log(s, "event=mail from=<%s> size=%" PRIu64, tx->from, m.size);
	else
		smtp_log(s, "event=mail from=<%s>", tx->from);
	smtp_reply(s, "250 2.1.0 Ok");
}

/*
 * RCPT TO:<postmaster> without a domain (RFC 5321 4.5.1): try our host
 * name and then each parent domain ("mx.example.org", "example.org") that
 * is local, so the domain the server is named after gets it.
 */
static const char *
smtp_parent_domain(const char *d)
{
	const char *dot = strchr(d, '.');

	return dot != NULL && dot[1] != '\0' ? dot + 1 : NULL;
}

static int
smtp_resolve_postmaster(struct smtp_session *s, const char *local,
    struct ms_rcpt_list *out)
{
	const char *d;
	char *addr;
	int st;

	for (d = smtp_cfg(s)->hostname; d != NULL; d = smtp_parent_domain(d)) {
		if (!ms_domain_is_local(s->srv->ms, d))
			continue;
		addr = xasprintf("%s@%s", local, d);
		st = ms_resolve_recipient(s->srv->ms, addr, out);
		free(addr);
		if (st != MS_NOT_FOUND)
			return st;
	}
	return MS_NOT_FOUND;
}

static bool
smtp_may_relay(struct smtp_session *s)
{
	const struct config *cfg = smtp_cfg(s);

	if (s->user_id != 0)
		return true;
	return config_addr_in_ranges((const struct sockaddr *)conn_peer_addr(s->conn),
	    cfg->trusted_networks, cfg->n_trusted_networks);
}

static void
smtp_rcpt_accept(struct smtp_session *s, const char *addr, bool remote)
{
	struct smtp_tx *tx = s->tx;

	tx->rcpt = xreallocarray(tx->rcpt, tx->nrcpt + 1, sizeof(*tx->rcpt));
	tx->rcpt[tx->nrcpt++] = (struct smtp_rcpt){
		.addr = xstrdup(addr),
		.remote = remote,
	};
	smtp_enter_state(s, SMTP_STATE_RCPT);
	smtp_log(s, "event=rcpt to=<%s> result=ok%s", addr, remote ? " relay=yes" : "");
	smtp_reply(s, "250 2.1.5 Ok");
}

void
smtp_cmd_rcpt(struct smtp_session *s, const char *args, size_t len)
{
	struct smtp_tx *tx = s->tx;
	struct smtp_rcpt_args r;
	enum smtp_parse_status pst;
	const char *err, *addr;
	size_t i;
	int st;

	pst = smtp_parse_rcpt(args, len, tx->smtputf8, &r, &err);
	if (pst != SMTP_PARSE_OK) {
		smtp_reply_path_error(s, pst, err, "5.1.3");
		return;
	}
	addr = r.path.addr;
	if (tx->nrcpt >= smtp_cfg(s)->max_recipients) {
		smtp_log(s, "event=rcpt to=<%s> result=reject code=452", addr);
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	/* The same recipient twice gets one copy and a second "Ok". */
	for (i = 0; i < tx->nrcpt; i++) {
		if (strcasecmp(tx->rcpt[i].addr, addr) == 0) {
			smtp_reply(s, "250 2.1.5 Ok");
			return;
		}
	}

	if (addr[r.path.local_len] == '\0')
		st = smtp_resolve_postmaster(s, addr, &tx->targets);
	else if (ms_domain_is_local(s->srv->ms, addr + r.path.local_len + 1))
		st = ms_resolve_recipient(s->srv->ms, addr, &tx->targets);
	else if (smtp_may_relay(s)) {
		smtp_rcpt_accept(s, addr, true);
		return;
	} else {
		smtp_log(s, "event=rcpt to=<%s> result=reject code=554", addr);
		smtp_reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
		return;
	}

	switch (st) {
	case MS_OK:
		smtp_rcpt_accept(s, addr, false);
		break;
	case MS_ERROR:
		smtp_log(s, "event=rcpt to=<%s> result=reject code=451", addr);
		smtp_reply(s, "451 4.3.0 <%s>: Temporary lookup failure", addr);
		break;
	default:
		/* MS_NOT_FOUND, or MS_INVALID for a name the store cannot
		 * hold (quoted, too long): nobody by that name either way. */
		smtp_log(s, "event=rcpt to=<%s> result=reject code=550", addr);
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: "
		    "User unknown", addr);
		break;
	}
}

void
smtp_cmd_rset(struct smtp_session *s, const char *args, size_t len)
{
	if (len != 0) {
		smtp_reply_bad(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	smtp_tx_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

void
smtp_cmd_noop(struct smtp_session *s, const char *args, size_t len)
{
	smtp_reply(s, "250 2.0.0 Ok");
}

void
smtp_cmd_quit(struct smtp_session *s, const char *args, size_t len)
{
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_close(s, "quit");
}

void
smtp_cmd_help(struct smtp_session *s, const char *args, size_t len)
{
	smtp_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET "
	    "NOOP QUIT HELP VRFY STARTTLS AUTH");
}

void
smtp_cmd_vrfy(struct smtp_session *s, const char *args, size_t len)
{
	if (len == 0) {
		smtp_reply_bad(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: 252 instead of telling who exists. */
	smtp_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message");
}

void
smtp_cmd_expn(struct smtp_session *s, const char *args, size_t len)
{
	smtp_reply(s, "502 5.5.1 EXPN not available");
}
