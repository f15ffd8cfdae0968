/* SPDX-License-Identifier: ISC */
/*
 * The IMAP session, shared by the files of imap-lite/ (not by other
 * modules):
 *
 *   imap_session.c    the struct, the command table, the input loop (lines,
 *                     literals, the APPEND message stream), dispatch, the
 *                     one teardown path
 *   imap_cmd_auth.c   CAPABILITY NOOP LOGOUT STARTTLS AUTHENTICATE LOGIN ID
 *                     ENABLE NAMESPACE
 *   imap_cmd_mbox.c   SELECT EXAMINE CREATE DELETE RENAME (UN)SUBSCRIBE
 *                     STATUS CHECK CLOSE UNSELECT EXPUNGE IDLE
 *   imap_list.c       LIST (with LIST-EXTENDED, LIST-STATUS) and LSUB
 *   imap_mailbox.c    mailbox names: wire form, checks, special-use aliases
 *   imap_cmd_append.c APPEND
 *   imap_cmd_msg.c    STORE COPY MOVE, UID EXPUNGE and the expunge helper
 *   imap_fetch.c      FETCH, streamed as the socket drains
 *   imap_search.c     SEARCH
 *   imap_view.c       the selected mailbox as the client sees it, and the
 *                     change hook that keeps every view up to date
 *
 * One command runs at a time.  A command that must wait (auth worker,
 * mailstore writer, a FETCH draining to a slow client, a TLS handshake)
 * sets IMAP_F_BUSY, which stops the input loop; pipelined commands stay in
 * the input buffer until imap_cmd_done() sends the tagged reply and reading
 * resumes.
 */
#ifndef POSTROOM_IMAP_SESSION_H
#define POSTROOM_IMAP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <openssl/ssl.h>

#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "imap-lite/imap_parser.h"
#include "imap-lite/imap_response.h"
#include "mailstore/ms.h"

struct auth_session;
struct conn;
struct imap_append;
struct imap_fetch;
struct imap_search_run;
struct ms_flag_change;
struct imap_mime_part;
struct imap_view;
struct imap_watch;

/* Longest command line (CRLF included); literals do not count, the whole
 * command is bounded by IMAP_MAX_COMMAND. */
#define IMAP_LINE_MAX		(64 * 1024)
/* Client errors tolerated before the connection is closed. */
#define IMAP_BAD_MAX		20
/* Bytes read from the store per step when streaming or scanning. */
#define IMAP_CHUNK		(32 * 1024)

enum imap_state {
	IMAP_STATE_NOT_AUTH,	/* greeted; LOGIN, AUTHENTICATE, STARTTLS */
	IMAP_STATE_AUTH,	/* logged in, no mailbox selected */
	IMAP_STATE_SELECTED,	/* a mailbox is selected: s->view */
	IMAP_STATE_LOGOUT,	/* BYE sent, closing */
};
#define IMAP_STATE_BIT(st)	(1u << (st))
#define IMAP_NOT_AUTH	IMAP_STATE_BIT(IMAP_STATE_NOT_AUTH)
#define IMAP_AUTH	IMAP_STATE_BIT(IMAP_STATE_AUTH)
#define IMAP_SELECTED	IMAP_STATE_BIT(IMAP_STATE_SELECTED)

/* Session flags. */
#define IMAP_F_TLS		0x0001	/* TLS is up */
#define IMAP_F_TLS_PENDING	0x0002	/* handshake running */
#define IMAP_F_BUSY		0x0004	/* the command waits: stop reading */
#define IMAP_F_IDLE		0x0008	/* in IDLE: the next line is DONE */
#define IMAP_F_SASL		0x0010	/* AUTHENTICATE: next line is a response */
#define IMAP_F_CONDSTORE	0x0020	/* CONDSTORE enabled (RFC 7162) */
#define IMAP_F_CLOSING		0x0040	/* last reply queued, closing after it */
#define IMAP_F_CONN_GONE	0x0080	/* conn freed, waiting for a callback */
#define IMAP_F_IN_INPUT		0x0100	/* inside the input loop */
#define IMAP_F_DISCARD		0x0200	/* dropping the rest of a refused command */

/* What the input loop does with the next bytes. */
enum imap_in_mode {
	IMAP_IN_LINE,		/* command lines into cmdbuf */
	IMAP_IN_LITERAL,	/* literal bytes into cmdbuf */
	IMAP_IN_APPEND,		/* the APPEND message into the delivery */
	IMAP_IN_DISCARD,	/* literal bytes of a refused command, dropped */
};

/* Command table flags. */
#define IMAP_CMD_NO_EXPUNGE	0x01	/* FETCH STORE SEARCH: no EXPUNGE
					   responses (RFC 3501 7.4.1) */

struct imap_session;
typedef void imap_cmd_fn(struct imap_session *s, const struct imap_command *cmd);

struct imap_cmd_def {
	const char	*name;		/* as the parser names it: "UID FETCH" */
	unsigned	 states;	/* IMAP_STATE_BIT() mask */
	unsigned	 flags;		/* IMAP_CMD_* */
	imap_cmd_fn	*fn;
};

/*
 * One message of the selected mailbox as the client knows it; its
 * sequence number is its index + 1.  32 bytes: this array is most of what
 * a session with a big mailbox selected holds.
 */
/*
 * One message of a view: what this client has been told.  Kept small
 * (8 bytes), since every session with a mailbox selected holds one per
 * message; what is the same for every client is in imap_msg_info.
 */
struct imap_msg {
	uint32_t uid;
	uint32_t flags;		/* MS_FLAG_* | IMAP_MSG_* */
};

/*
 * What the store says of a message: the same for every session, so kept
 * once per selected mailbox (the catalog of imap_view.c) and shared by
 * all its views.  Only modseq ever changes; it is the newest any session
 * has seen.
 */
struct imap_msg_info {
	uint32_t uid;
	uint32_t refs;		/* views holding the uid; 0: a free slot */
	uint32_t size;		/* stored bytes (messages stay far below 4 GiB) */
	uint32_t date;		/* internal date, epoch seconds, clamped to 32 bits */
	uint64_t modseq;
	ms_id	 message_id;
};
#define IMAP_MSG_SYSTEM		0x001f	/* the MS_FLAG_* bits */
#define IMAP_MSG_RECENT		0x0100	/* \Recent in this session */
#define IMAP_MSG_EXPUNGED	0x0200	/* gone from the store; EXPUNGE not sent yet */
#define IMAP_MSG_KEYWORDS	0x0400	/* has an entry in view->kw */
#define IMAP_MSG_CHANGED	0x0800	/* flags changed elsewhere: FETCH due */

/* Keywords of one message (most messages have none). */
struct imap_kw_entry {
	uint32_t uid;
	char	*kw;		/* space-separated, malloc'ed */
};

struct imap_view {
	struct imap_session *s;
	ms_id		 mailbox_id;
	bool		 readonly;	/* EXAMINE */
	bool		 dirty;		/* the change hook named this mailbox */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;	/* as last announced */
	uint64_t	 modseq;	/* HIGHESTMODSEQ the view is synced to */
	struct imap_msg	*msgs;		/* by ascending uid */
	size_t		 n, cap;
	size_t		 n_expunged;	/* IMAP_MSG_EXPUNGED entries */
	size_t		 n_changed;	/* IMAP_MSG_CHANGED entries */
	size_t		 n_recent;	/* IMAP_MSG_RECENT entries */
	size_t		 exists;	/* message count the client was told */
	size_t		 recent_sent;	/* \Recent count the client was told */
	bool		 names_changed;	/* a keyword is new: FLAGS due */
	struct imap_kw_entry *kw;	/* by ascending uid */
	size_t		 n_kw;
	char		**names;	/* every keyword seen, for FLAGS */
	size_t		 n_names;
	struct imap_watch *watch;	/* registry entry of the mailbox */
	LIST_ENTRY(imap_view) entry;	/* views of the same mailbox */
};

struct imap_session {
	uint64_t	 id;		/* logged as 16 hex digits */
	struct pr_server *srv;
	struct conn	*conn;		/* NULL once IMAP_F_CONN_GONE */
	enum listener_role role;	/* ROLE_IMAP or ROLE_IMAPS */
	enum imap_state	 state;
	unsigned	 flags;		/* IMAP_F_* */
	char		 ip[64];	/* peer address, kept past conn_free() */
	const char	*close_reason;	/* static text for the disconnect log */

	/* Taken from the configuration at accept. */
	SSL_CTX		*tls_ctx;	/* own reference, or NULL */
	bool		 allow_plaintext;
	uint64_t	 max_message;	/* bytes, APPEND limit */

	struct auth_session *auth;	/* while logging in */
	char		*user;		/* the login address once logged in */
	char		 mech[24];	/* "LOGIN" or the SASL mechanism */
	ms_id		 user_id;

	unsigned	 bad_count;	/* client errors, see IMAP_BAD_MAX */
	double		 idle_since;	/* IDLE: when the keepalive tick saw it */
	double		 idle_ping;	/* IDLE: next "* OK Still here" */
	unsigned	 jobs;		/* callbacks pending that hold s */

	/* The command being read. */
	enum imap_in_mode in_mode;
	uint64_t	 literal_left;	/* bytes of the current literal */
	char		*cmdbuf;	/* wire bytes so far, <= IMAP_MAX_COMMAND */
	size_t		 cmd_len, cmd_cap;
	char		*discard_reply;	/* sent once a refused command is read */

	/* The command running. */
	const struct imap_cmd_def *cmd;
	char		*tag;		/* malloc'ed copy */
	struct imap_arena arena;	/* freed after the tagged reply */
	struct imap_buf	 out;		/* responses being built */
	struct imap_view *view;		/* SELECTED only */
	struct imap_fetch *fetch;	/* FETCH being streamed */
	struct imap_search_run *search;	/* SEARCH between two slices */
	struct imap_append *append;	/* APPEND being received */
	ms_id		 op_mailbox_id;	/* DELETE: the mailbox going away */
	void		*op;		/* STORE/COPY/EXPUNGE state, in the arena */

	TAILQ_ENTRY(imap_session) entry; /* all sessions, for imap_shutdown() */
};

/* Prefix and arguments for session log lines. */
#define IMAP_LOG	"imap id=%016llx ip=%s "
#define IMAP_LOG_ARGS(s) (unsigned long long)(s)->id, (s)->ip

/* ------------------------------------------------------ imap_session.c */

/* Queue s->out on the conn and empty it. */
void imap_flush(struct imap_session *s);
/* "* <text>" CRLF, queued at once. */
void imap_untagged(struct imap_session *s, const char *fmt, ...) PR_PRINTF(2, 3);
/* End the running command: bring the view up to date (EXPUNGE only where
 * RFC 3501 allows), send "<tag> <text>", free the command's memory and
 * read the next command.  text starts with OK or NO. */
void imap_cmd_done(struct imap_session *s, const char *fmt, ...) PR_PRINTF(2, 3);
/* The same for "<tag> BAD <text>", which also counts as a client error
 * and closes the session past IMAP_BAD_MAX. */
void imap_cmd_bad(struct imap_session *s, const char *fmt, ...) PR_PRINTF(2, 3);
/* Refuse a command whose literal was just announced, with text ("BAD
 * ..." or "NO ..."): at once for a synchronizing literal (the client will
 * not send it), else after reading and dropping the literal and the rest
 * of the command. */
void imap_cmd_refuse_literal(struct imap_session *s, uint64_t size, bool nonsync,
    const char *text);
/* End the command with an error text from a helper: "BAD ..." goes
 * through imap_cmd_bad(), anything else through imap_cmd_done(). */
void imap_cmd_fail(struct imap_session *s, const char *text);
/* Release the command's arguments and buffers but keep it running (IDLE
 * holds only its tag while it waits). */
void imap_cmd_compact(struct imap_session *s);
/* The command waits for a callback: stop reading input. */
void imap_cmd_wait(struct imap_session *s);
/* The command goes on waiting for the client (SASL continuation): read
 * input again without ending it. */
void imap_cmd_resume(struct imap_session *s);
/* A mailstore job holding s is submitted / has called back.
 * imap_job_end() returns true when the result is not wanted any more:
 * the session is closing, or was freed because the connection had gone
 * meanwhile.  The callback must return at once then. */
void imap_job_begin(struct imap_session *s);
bool imap_job_end(struct imap_session *s);
/* Send "* BYE <bye>" (unless NULL or closing) and close after the flush. */
void imap_close(struct imap_session *s, const char *reason, const char *bye);
void imap_enter_state(struct imap_session *s, enum imap_state state);
/* The one teardown path. */
void imap_session_free(struct imap_session *s, const char *reason);
/* Plaintext passwords may be used: under TLS or when configured so. */
bool imap_plaintext_ok(const struct imap_session *s);
/* Client text for log lines: printable ASCII only, bounded. */
const char *imap_log_text(const char *text, char *buf, size_t size);
/* s->srv->ms, the loop's store. */
struct ms_store *imap_store(const struct imap_session *s);

/* ----------------------------------------------------- imap_cmd_auth.c */

void imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_id(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd);
/* The capability list for the current state, space-separated. */
void imap_capabilities(const struct imap_session *s, struct imap_buf *b);
/* A line received while IMAP_F_SASL is set. */
void imap_auth_sasl_line(struct imap_session *s, const char *line, size_t len);

/* ----------------------------------------------------- imap_cmd_mbox.c */

void imap_cmd_select(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_create(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_status(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_check(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_close(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_unselect(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd);
/* A line received while IMAP_F_IDLE is set. */
void imap_idle_line(struct imap_session *s, const char *line, size_t len);
/* The change hook named the mailbox of an IDLE session. */
void imap_idle_wake(struct imap_session *s);

/* Status items (RFC 3501 6.3.10, RFC 7162 HIGHESTMODSEQ) as bits. */
#define IMAP_STATUS_MESSAGES	0x01
#define IMAP_STATUS_RECENT	0x02
#define IMAP_STATUS_UIDNEXT	0x04
#define IMAP_STATUS_UIDVALIDITY	0x08
#define IMAP_STATUS_UNSEEN	0x10
#define IMAP_STATUS_HIGHESTMODSEQ 0x20
#define IMAP_STATUS_SIZE	0x40
/* Parse "(MESSAGES UNSEEN ...)"; false on a bad list. */
bool imap_status_items(const struct imap_arg *arg, unsigned *items_r);
/* Queue "* STATUS <name> (...)" for a mailbox. */
void imap_status_send(struct imap_session *s, const char *name,
    const struct ms_mailbox_info *mb, unsigned items);

/* -------------------------------------------------------- imap_list.c */

void imap_cmd_list(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_lsub(struct imap_session *s, const struct imap_command *cmd);

/* ----------------------------------------------------- imap_mailbox.c */

/*
 * A mailbox argument as a UTF-8 name in canonical form (INBOX in upper
 * case, modified UTF-7 decoded, one trailing '/' removed).  Returns an
 * arena string, or NULL with *error_r (the caller replies BAD/NO).
 */
const char *imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg,
    const char **error_r);
/* Is name usable for a new mailbox (levels, characters, length)? */
bool imap_mailbox_name_ok(const char *name);
/*
 * Find a mailbox by name; when none has that name, an alias the user
 * created finds its mailbox, and a common alias of a special-use folder
 * ("Sent Items", "Papierkorb") that folder.  *info_r as ms_mailbox_find()
 * (the mailbox's own name and special use), with strings in the arena.
 * MS_OK, MS_NOT_FOUND or MS_ERROR.
 */
int imap_mailbox_find(struct imap_session *s, const char *name,
    struct ms_mailbox_info *info_r);
/* How imap_mailbox_resolve() found a mailbox. */
enum imap_mailbox_via {
	IMAP_MAILBOX_REAL,	/* a mailbox of that name */
	IMAP_MAILBOX_ALIAS,	/* an alias the user created (listed) */
	IMAP_MAILBOX_MAPPED,	/* a common alias never created (unlisted) */
};
/* imap_mailbox_find() that also says how (when MS_OK). */
int imap_mailbox_resolve(struct imap_session *s, const char *name,
    struct ms_mailbox_info *info_r, enum imap_mailbox_via *via_r);
/* Is the first level of name an alias the user created?  Aliases have no
 * children. */
bool imap_mailbox_under_alias(struct imap_session *s, const char *name);
/* The special-use attribute ("\\Sent") a name is an alias of, or NULL. */
const char *imap_mailbox_alias(const char *name);
/* Append a UTF-8 mailbox name in its wire form (modified UTF-7, quoted). */
void imap_mailbox_put(struct imap_session *s, struct imap_buf *b, const char *name);

/* --------------------------------------------------- imap_cmd_append.c */

/* APPEND without a message literal (the literal case never gets here). */
void imap_cmd_append(struct imap_session *s, const struct imap_command *cmd);

/*
 * The command line in cmdbuf ends in the announcement of the literal that
 * holds an APPEND message: prefix is the parsed command up to it.  Checks
 * the mailbox, flags, date and size, then either sets up the stream into
 * the mailstore (in_mode IMAP_IN_APPEND, "+" sent for a synchronizing
 * literal) or refuses the command (the literal discarded if it comes
 * anyway).
 */
void imap_append_begin(struct imap_session *s, const struct imap_command *prefix,
    uint64_t size, bool nonsync);
/* Message bytes as they arrive. */
void imap_append_data(struct imap_session *s, const char *p, size_t n);
/* The rest of the command line after the message (normally empty). */
void imap_append_end(struct imap_session *s, const char *line, size_t len);
/* Teardown with an APPEND in progress. */
void imap_append_free(struct imap_append **ap);
/* Does this parsed command prefix make the next literal an APPEND
 * message?  (APPEND with its mailbox argument present.) */
bool imap_append_is_message(const struct imap_command *prefix);

/* ------------------------------------------------------ imap_cmd_msg.c */

void imap_cmd_store(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd);
void imap_cmd_uid_expunge(struct imap_session *s, const struct imap_command *cmd);
/*
 * Expunge the \Deleted messages of the view (only those in uids when it is
 * not NULL) and reply.  silent (CLOSE): no EXPUNGE responses, the view is
 * closed and the session goes back to AUTH before the tagged OK.
 */
void imap_expunge_run(struct imap_session *s, const struct imap_seqset *uids,
    bool silent);

/* --------------------------------------------------------- imap_fetch.c */

void imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd);
/* CONN_EV_WRITABLE while a FETCH streams. */
void imap_fetch_continue(struct imap_session *s);
void imap_fetch_free(struct imap_fetch **fp);
size_t imap_fetch_memory(const struct imap_fetch *f);
/*
 * The MIME structure of a message: from the mailstore's cache, else
 * parsed from the stored bytes (read in chunks) and cached.  NULL when the
 * message cannot be read (expunged meanwhile).  Free with imap_mime_free.
 */
struct imap_mime_part *imap_message_mime(struct imap_session *s,
    const struct imap_msg_info *m);
/* Bytes [off, off+len) of a message, malloc'ed; NULL on a read error or
 * a short message. */
char *imap_message_range(struct imap_session *s, ms_id message_id,
    uint64_t off, size_t len);

/* -------------------------------------------------------- imap_search.c */

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd);
void imap_search_free(struct imap_search_run **rp);

/* ---------------------------------------------------------- imap_view.c */

/* Point the mailstore change hook at the views (idempotent per store). */
void imap_view_hook_install(struct ms_store *ms);
/*
 * Load a mailbox into a new view (SELECT/EXAMINE) and register it for
 * change notifications.  MS_OK or the mailstore's error.
 */
int imap_view_open(struct imap_session *s, const struct ms_mailbox_info *mb,
    bool readonly, struct imap_view **view_r);
void imap_view_close(struct imap_view **vp);
/*
 * Bring the view up to date with the store and queue the untagged
 * responses: EXPUNGE (only when allow_expunge; otherwise vanished
 * messages stay as IMAP_MSG_EXPUNGED), EXISTS, RECENT and FETCH for flags
 * changed elsewhere.  Returns -1 when the mailbox is gone (the session is
 * closed with a BYE).
 */
int imap_view_sync(struct imap_session *s, bool allow_expunge);
/* Index of uid, or -1. */
ssize_t imap_view_find(const struct imap_view *v, uint32_t uid);
/*
 * The shared facts of message idx.  Valid until the session returns to
 * the event loop (another session's SELECT may move the catalog).
 */
const struct imap_msg_info *imap_view_info(const struct imap_view *v,
    size_t idx);
/* Keywords of message idx ("" for none). */
const char *imap_view_keywords(const struct imap_view *v, size_t idx);
/* Set flags, keywords and modseq of message idx. */
void imap_view_update(struct imap_view *v, size_t idx, uint32_t flags,
    const char *keywords, uint64_t modseq);
/* A flag change of this session's own (STORE, FETCH setting \Seen) came
 * back from the store: apply it; the reply about to be sent supersedes a
 * FETCH still due for that message. */
void imap_view_stored(struct imap_view *v, const struct ms_flag_change *c);
/* "(\Seen \Recent $Label1)" for message idx. */
void imap_view_put_flags(const struct imap_view *v, struct imap_buf *b, size_t idx);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]". */
void imap_view_send_flags(struct imap_session *s);
/* Remove these uids (ascending), sending EXPUNGE responses unless silent. */
void imap_view_remove(struct imap_session *s, const uint32_t *uids, size_t n,
    bool silent);
/* Heap bytes of a view. */
size_t imap_view_memory(const struct imap_view *v);
/* Count of messages above the claimed \Recent mark, for STATUS RECENT. */
uint32_t imap_view_recent_count(struct imap_session *s,
    const struct ms_mailbox_info *mb);

/*
 * A sequence-set argument resolved against the view: '*' replaced, ranges
 * sorted.  For message numbers (uid false) a number beyond the view is an
 * error; UIDs outside the view are simply not there.
 */
bool imap_view_set(struct imap_session *s, const struct imap_arg *arg, bool uid,
    struct imap_seqset *set_r, const char **error_r);
/* Walk the view indexes a resolved set covers, ascending. */
struct imap_view_iter {
	const struct imap_seqset *set;
	bool	 uid;
	size_t	 r;		/* current range */
	size_t	 idx;		/* next index to look at */
};
void imap_view_iter_init(struct imap_view_iter *it, const struct imap_seqset *set,
    bool uid);
bool imap_view_iter_next(const struct imap_view *v, struct imap_view_iter *it,
    size_t *idx_r);

#endif
