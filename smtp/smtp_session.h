/* SPDX-License-Identifier: ISC */
/*
 * Internals shared by the files of smtp/: the session and transaction
 * structs, the state machine, the reply and logging helpers, and the
 * command handlers the table in smtp_session.c points at.
 *
 * One struct smtp_session per connection, kept small because most of them
 * sit idle: the helo name and the user are the only strings it owns, and
 * everything about a message lives in a struct smtp_tx that exists only
 * between MAIL and the end of the message (or RSET).
 */
#ifndef POSTROOM_SMTP_SESSION_H
#define POSTROOM_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "mailstore/ms.h"
#include "smtp/smtp_parse.h"

struct conn;
struct auth_session;

/* Protocol errors (bad syntax, bad sequence, ...) before we hang up. */
#define SMTP_MAX_BAD_COMMANDS	20
/* Input buffer cap while a body streams in (bigger reads, fewer events);
 * the command-line cap (max_line) applies again afterwards. */
#define SMTP_BODY_INPUT_CAP	(64 * 1024)

enum smtp_state {
	SMTP_STATE_TLS,		/* TLS handshake (465 or after STARTTLS) */
	SMTP_STATE_INIT,	/* greeted; waiting for EHLO/HELO */
	SMTP_STATE_HELO,	/* after EHLO/HELO; no transaction */
	SMTP_STATE_MAIL,	/* MAIL accepted, no recipient yet */
	SMTP_STATE_RCPT,	/* at least one RCPT accepted */
	SMTP_STATE_CHUNKING,	/* between BDAT chunks of one message */
	SMTP_STATE_DATA,	/* reading a DATA body up to <CRLF>.<CRLF> */
	SMTP_STATE_BDAT,	/* reading the bytes of one BDAT chunk */
	SMTP_STATE_AUTH,	/* SASL exchange: lines are responses */
	SMTP_STATE_COMMIT,	/* waiting for the mailstore's verdict */
	SMTP_STATE_QUIT,	/* closing: output drains, input is ignored */
	SMTP_STATE_COUNT
};
#define SMTP_STATE_BIT(st)	(1u << (st))

/* s->flags */
#define SMTP_F_GREETED		0x01	/* 220 banner sent */
#define SMTP_F_EHLO		0x02	/* client used EHLO (not HELO) */
#define SMTP_F_PAUSED		0x04	/* input paused for auth or commit */
#define SMTP_F_COMMITTING	0x08	/* a delivery commit callback is due */
#define SMTP_F_DEAD		0x10	/* connection gone; free in the callback */

enum smtp_tx_failure {
	SMTP_TX_OK,
	SMTP_TX_TOO_BIG,	/* body over max_message_size: 552 */
	SMTP_TX_BARE_EOL,	/* bare CR/LF under bare_lf = reject: 550 */
	SMTP_TX_WRITE,		/* spool write failed: 451 */
};

/* An accepted envelope recipient. */
struct smtp_rcpt {
	char	*addr;		/* canonical, as accepted */
	bool	 remote;	/* relayed, not resolved locally */
};

struct smtp_tx {
	uint64_t	 qid;		/* queue id: Received header and 250 reply */
	char		*from;		/* reverse path, "" for <> */
	bool		 smtputf8;	/* MAIL had SMTPUTF8 */
	enum smtp_body	 body;		/* BODY= */
	struct smtp_rcpt *rcpt;		/* accepted RCPTs, in order */
	size_t		 nrcpt;
	struct ms_rcpt_list targets;	/* local users (and forwards) resolved */
	struct ms_delivery *delivery;	/* open from DATA/first BDAT to commit */
	struct smtp_data_parser dp;	/* body parser (dot or raw mode) */
	uint64_t	 size;		/* body bytes after unstuffing, bytes */
	enum smtp_tx_failure failure;	/* first reason to refuse the body */
	bool		 in_body;	/* trace headers written, parser set up */
	bool		 bdat;		/* body comes in BDAT chunks */
};

struct smtp_session {
	uint64_t	 id;		/* logged as 16 hex digits */
	struct conn	*conn;		/* NULL once closed */
	struct pr_server *srv;
	enum listener_role role;
	enum smtp_state	 state;
	unsigned	 flags;		/* SMTP_F_* */
	char		 ip[INET6_ADDRSTRLEN];	/* peer, for logs after close */
	char		*helo;		/* EHLO/HELO argument, or NULL */
	struct auth_session *auth;	/* created by the first AUTH */
	ms_id		 user_id;	/* 0 until AUTH succeeded */
	char		*user;		/* authenticated address */
	unsigned	 bad_cmds;	/* protocol errors so far */
	unsigned	 ncmds;		/* commands received */
	unsigned	 nmsgs;		/* messages accepted */
	struct smtp_tx	*tx;		/* NULL outside a transaction */
	uint64_t	 chunk_size;	/* size of the BDAT chunk being read */
	uint64_t	 chunk_left;	/* BDAT bytes still to read */
	bool		 chunk_last;	/* the chunk being read is LAST */
	const char	*chunk_error;	/* reply owed after a refused chunk */
	const char	*close_reason;	/* set when we hang up ourselves */
	LIST_ENTRY(smtp_session) entry;	/* all sessions, for smtp_shutdown */
};

/* smtp_session.c */
void smtp_enter_state(struct smtp_session *s, enum smtp_state st);
const char *smtp_strstate(enum smtp_state st);
/* Send one reply line (CRLF added).  Over-long text is cut: a reply is
 * never more than 512 bytes of useful text anyway. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...) PR_PRINTF(2, 3);
/* A reply to a malformed or out-of-sequence command: counts towards
 * SMTP_MAX_BAD_COMMANDS and hangs up when the limit is reached. */
void smtp_reply_bad(struct smtp_session *s, const char *fmt, ...) PR_PRINTF(2, 3);
/* One info line "smtp id=... ip=... <text>". */
void smtp_log(struct smtp_session *s, const char *fmt, ...) PR_PRINTF(2, 3);
/* Hang up after the queued replies are out; reason goes in the log. */
void smtp_close(struct smtp_session *s, const char *reason);
/* Stop/restart reading while waiting for auth or the mailstore. */
void smtp_pause(struct smtp_session *s, bool paused);
/* End the transaction (aborting an open delivery); state back to HELO. */
void smtp_tx_reset(struct smtp_session *s);
void smtp_tx_free(struct smtp_tx **txp);
/* The state a session returns to when no transaction is open. */
enum smtp_state smtp_idle_state(const struct smtp_session *s);
/* The config in force (it may be replaced on SIGHUP between commands). */
const struct config *smtp_cfg(const struct smtp_session *s);
/* After an asynchronous step finished: hang up if the daemon stops. */
void smtp_command_done(struct smtp_session *s);
/* The commit callback of a session that closed meanwhile: free it now. */
void smtp_session_commit_dead(struct smtp_session *s);

/* Command handlers: args is NUL-terminated, len bytes, blanks trimmed. */
typedef void smtp_cmd_fn(struct smtp_session *s, const char *args, size_t len);

/* smtp_cmd.c */
smtp_cmd_fn smtp_cmd_helo, smtp_cmd_ehlo, smtp_cmd_starttls, smtp_cmd_mail,
    smtp_cmd_rcpt, smtp_cmd_rset, smtp_cmd_noop, smtp_cmd_quit, smtp_cmd_help,
    smtp_cmd_vrfy, smtp_cmd_expn;
/* The 220 banner. */
void smtp_greet(struct smtp_session *s);
/* RFC 3207 4.2: forget everything learnt before TLS. */
void smtp_tls_reset(struct smtp_session *s);

/* smtp_auth.c */
smtp_cmd_fn smtp_cmd_auth;
/* A line received in SMTP_STATE_AUTH (the client's response); too_long
 * when the line did not fit the buffer. */
void smtp_auth_line(struct smtp_session *s, const char *line, size_t len,
    bool too_long);

/* smtp_data.c */
smtp_cmd_fn smtp_cmd_data, smtp_cmd_bdat;
/* Consume body bytes in SMTP_STATE_DATA / SMTP_STATE_BDAT.  Returns true
 * if the state changed (the caller goes on with the next command), false
 * when all buffered input was used and more is needed. */
bool smtp_data_input(struct smtp_session *s);
bool smtp_bdat_input(struct smtp_session *s);

#endif
