/* SPDX-License-Identifier: ISC */
/*
 * The POP3 session, shared by the files of pop3/ (not by other modules):
 * pop3_session.c owns the struct, the command table, the input loop and the
 * one teardown path; pop3_auth.c the AUTHORIZATION commands; pop3_cmd.c the
 * TRANSACTION commands; pop3_stream.c the multi-line responses that are
 * written as the socket drains (RETR, TOP, LIST, UIDL).
 *
 * A session sees INBOX as the snapshot taken at login: message numbers,
 * sizes and unique ids never change while it runs, even if another session
 * on the same maildrop deletes messages.  Deletions are only marks until
 * QUIT, which hands the marked uids to the mailstore writer.
 */
#ifndef POSTROOM_POP3_SESSION_H
#define POSTROOM_POP3_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <openssl/ssl.h>

#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "mailstore/ms.h"
#include "pop3/pop3_parse.h"

struct auth_session;
struct conn;
struct pop3_stream;

/* Longest command line, CRLF included.  RFC 2449 allows 255 octets; SASL
 * responses after AUTH are longer, so leave room. */
#define POP3_LINE_MAX		1024
/* Client errors tolerated before the connection is closed. */
#define POP3_BAD_MAX		20

enum pop3_state {
	POP3_STATE_AUTHORIZATION,	/* greeted; USER/PASS, AUTH, STLS, CAPA */
	POP3_STATE_TRANSACTION,		/* logged in on a snapshot of INBOX */
	POP3_STATE_UPDATE,		/* after QUIT: deletions being committed */
};
#define POP3_STATE_BIT(st)	(1u << (st))

/* Session flags. */
#define POP3_F_TLS		0x01	/* TLS is up */
#define POP3_F_TLS_PENDING	0x02	/* handshake running (POP3S or STLS) */
#define POP3_F_AUTH_WAIT	0x04	/* a SASL step is on the auth worker */
#define POP3_F_SASL_CONT	0x08	/* AUTH: next line is a SASL response */
#define POP3_F_EXPUNGE_WAIT	0x10	/* QUIT: expunge job on the writer */
#define POP3_F_CLOSING		0x20	/* last reply queued, closing after it */
#define POP3_F_CONN_GONE	0x40	/* conn freed, waiting for a callback */

/* One message of the snapshot; its number is its index + 1. */
struct pop3_msg {
	uint32_t uid;
	bool	 deleted;	/* DELE mark, applied at QUIT */
	ms_id	 message_id;
	uint64_t size;		/* stored bytes = bytes RETR sends before stuffing */
};

struct pop3_session {
	uint64_t	 id;		/* logged as 16 hex digits */
	struct pr_server *srv;
	struct conn	*conn;		/* NULL once POP3_F_CONN_GONE */
	enum listener_role role;	/* ROLE_POP3 or ROLE_POP3S */
	enum pop3_state	 state;
	unsigned	 flags;		/* POP3_F_* */
	char		 ip[64];	/* peer address, kept past conn_free() */
	const char	*close_reason;	/* static text for the disconnect log */

	/* Taken from the configuration at accept: a reload does not change
	 * the rules of a running session. */
	SSL_CTX		*tls_ctx;	/* own reference, or NULL without TLS */
	bool		 allow_plaintext;

	struct auth_session *auth;	/* created at the first USER/AUTH */
	char		*user;		/* USER argument, then the login address */
	char		 mech[POP3_MECH_MAX + 1]; /* "USER" or the SASL name */
	ms_id		 user_id;

	ms_id		 mailbox_id;	/* INBOX */
	uint32_t	 uidvalidity;
	struct pop3_msg	*msgs;		/* the snapshot, by ascending uid */
	size_t		 n_msgs;
	uint32_t	*expunge_uids;	/* QUIT: handed to the writer */

	unsigned	 bad_count;	/* client errors so far, see POP3_BAD_MAX */
	unsigned	 retr_count;	/* RETR commands, logged at QUIT */
	unsigned	 top_count;
	struct pop3_stream *stream;	/* multi-line response being written */

	TAILQ_ENTRY(pop3_session) entry; /* all sessions, for pop3_shutdown() */
};

/* Prefix and arguments for session log lines. */
#define POP3_LOG	"pop3 id=%016llx ip=%s "
#define POP3_LOG_ARGS(s) (unsigned long long)(s)->id, (s)->ip

/* A command handler.  args/len are the text after "KEYWORD " (args NULL
 * when there was none); they point into the input buffer and are valid
 * only during the call. */
typedef void pop3_cmd_fn(struct pop3_session *s, const char *args, size_t len);

/* ------------------------------------------------------ pop3_session.c */

/* Queue one reply line; CRLF is added. */
void pop3_reply(struct pop3_session *s, const char *fmt, ...) PR_PRINTF(2, 3);
/* The same for a client error: also counts it, and past POP3_BAD_MAX
 * closes the session instead of sending the reply. */
void pop3_reply_bad(struct pop3_session *s, const char *fmt, ...)
    PR_PRINTF(2, 3);
/* Send a last reply (unless already closing) and close after flushing it.
 * reason is a static string for the disconnect log line. */
void pop3_close(struct pop3_session *s, const char *reason, const char *reply);
void pop3_enter_state(struct pop3_session *s, enum pop3_state state);
/* Stop reading commands while waiting for the auth worker or the writer. */
void pop3_suspend(struct pop3_session *s);
/* The wait is over: read again and run any pipelined commands. */
void pop3_resume(struct pop3_session *s);
/* The one teardown path.  If an expunge is in flight the conn is closed now
 * and the rest waits for pop3_expunge_done(). */
void pop3_session_free(struct pop3_session *s, const char *reason);
/* Plaintext passwords may be used: under TLS or when configured so. */
bool pop3_plaintext_ok(const struct pop3_session *s);
/* The user name for log lines: printable ASCII only, bounded. */
const char *pop3_log_user(const char *user, char *buf, size_t size);

/* Approximate heap bytes held by all POP3 sessions (session, conn,
 * snapshot, stream buffers), for tests and the idle-memory benchmark. */
size_t pop3_sessions_memory(void);

/* --------------------------------------------------------- pop3_auth.c */

void pop3_cmd_capa(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_stls(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_user(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_pass(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_auth(struct pop3_session *s, const char *args, size_t len);
/* A line received while POP3_F_SASL_CONT is set. */
void pop3_auth_continue(struct pop3_session *s, const char *line, size_t len);

/* ---------------------------------------------------------- pop3_cmd.c */

void pop3_cmd_stat(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_list(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_uidl(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_retr(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_top(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_dele(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_noop(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_rset(struct pop3_session *s, const char *args, size_t len);
void pop3_cmd_quit(struct pop3_session *s, const char *args, size_t len);

/* ------------------------------------------------------- pop3_stream.c */

enum pop3_stream_kind {
	POP3_STREAM_MESSAGE,	/* RETR / TOP body */
	POP3_STREAM_LIST,	/* "n size" per undeleted message */
	POP3_STREAM_UIDL,	/* "n uidvalidity.uid" per undeleted message */
};
/*
 * Multi-line responses are written as the socket drains: as much as fits
 * below CONN_LOW_WATER now; if more is left, s->stream stays set, input is
 * suspended and the rest follows on CONN_EV_WRITABLE.  Both end with ".".
 *
 * RETR (top false) or TOP of message idx: writes the "+OK" line itself,
 * after reading the first chunk.  Returns -1, having written nothing, when
 * the message cannot be read (expunged by another session meanwhile).
 */
int pop3_stream_message_start(struct pop3_session *s, size_t idx, bool top,
    uint32_t lines);
/* LIST or UIDL of every undeleted message, after the caller's "+OK". */
void pop3_stream_listing_start(struct pop3_session *s,
    enum pop3_stream_kind kind);
/* CONN_EV_WRITABLE: continue; resumes command input when finished. */
void pop3_stream_continue(struct pop3_session *s);
/* Drop a stream (teardown). */
void pop3_stream_free(struct pop3_stream **stp);
/* Heap bytes held by a stream (0 for NULL). */
size_t pop3_stream_memory(const struct pop3_stream *st);

#endif
