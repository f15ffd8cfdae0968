/* SPDX-License-Identifier: ISC */
/*
 * The mailstore API: the only door to the SQLite database.  No SQL is
 * written outside mailstore/; smtp/, pop3/, imap-lite/, the daemon and the
 * CLI use these functions with plain structs, so a PostgreSQL backend can be
 * put behind the same header later.
 *
 * Threads.  A struct ms_store is one SQLite connection and must be used by
 * one thread at a time.  The daemon has:
 *   - the event loop's store (reads: lookups, mailbox listings, message
 *     bytes), and
 *   - a writer thread, started by ms_start_writer(), with its own connection.
 *     Every change made on behalf of a network client (deliveries, POP3
 *     deletions, later IMAP flags) is a job for that thread.  It runs all the
 *     jobs queued since its last commit in one transaction (group commit: one
 *     fsync for many messages) and hands the results back to the loop through
 *     an ev_async; callbacks run on the loop thread.
 * The admin functions below write synchronously on the calling connection
 * (CLI, tests).  SQLite's WAL mode lets the CLI change users while the
 * daemon runs.
 *
 * Durability: the database runs in WAL mode with synchronous=FULL; a job's
 * callback reports MS_OK only after its transaction's COMMIT returned, i.e.
 * after the WAL was fsynced.
 */
#ifndef POSTROOM_MS_H
#define POSTROOM_MS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ev_loop;
struct ms_store;
struct ms_delivery;

typedef int64_t ms_id;

enum ms_status {
	MS_OK = 0,
	MS_ERROR = -1,		/* database or I/O error (logged by the store) */
	MS_NOT_FOUND = -2,	/* no such domain/user/mailbox/message */
	MS_EXISTS = -3,		/* already there */
	MS_INVALID = -4,	/* bad argument (syntax), or bad password */
	MS_NOT_EMPTY = -5,	/* domain still has users or aliases */
};
const char *ms_strstatus(int status);

/* System flags, stored as a bitmask.  \Recent is per IMAP session, not stored. */
#define MS_FLAG_SEEN		0x01
#define MS_FLAG_ANSWERED	0x02
#define MS_FLAG_FLAGGED		0x04
#define MS_FLAG_DELETED		0x08
#define MS_FLAG_DRAFT		0x10

/*
 * Open (creating if needed) the database at path and apply pending schema
 * migrations from schema/NNN_*.sql (embedded at build time).  Sets WAL,
 * synchronous=FULL, foreign keys and a busy timeout.  Returns MS_OK or
 * MS_ERROR with a message in *err_r (caller frees).
 */
int ms_open(const char *path, struct ms_store **ms_r, char **err_r);
/* Stops the writer thread (after draining its queue) if it runs; the
 * writer's loop must still exist then.  Sets *msp to NULL. */
void ms_close(struct ms_store **msp);

/*
 * Start the writer thread (daemon only, after dropping privileges).
 * Completion callbacks run on loop.  spool_dir holds the temporary files of
 * messages too big to keep in memory while they arrive.
 */
int ms_start_writer(struct ms_store *ms, struct ev_loop *loop, const char *spool_dir);
/* Wait until every queued job has completed and its callback ran.  Runs
 * the loop (ev_run EVRUN_ONCE) meanwhile, so other watchers may fire. */
void ms_drain(struct ms_store *ms);

/* Called on the loop after each commit with the mailboxes that changed
 * (new or removed messages, flags), for IMAP IDLE and friends. */
typedef void ms_change_fn(void *arg, const ms_id *mailbox_ids, size_t n);
void ms_set_change_hook(struct ms_store *ms, ms_change_fn *fn, void *arg);

/* ---------------------------------------------------------------- admin */

/* Names are compared case-insensitively and stored lower-cased. */
int ms_domain_add(struct ms_store *ms, const char *name);
int ms_domain_del(struct ms_store *ms, const char *name);	/* MS_NOT_EMPTY */
int ms_domain_list(struct ms_store *ms,
    void (*fn)(void *arg, const char *name), void *arg);

/*
 * Add user@domain (the domain must exist: else MS_NOT_FOUND) with the
 * password stored as a yescrypt hash.  Creates INBOX and the SPECIAL-USE
 * folders Sent, Drafts, Trash, Junk and Archive.
 */
int ms_user_add(struct ms_store *ms, const char *address, const char *password);
int ms_user_del(struct ms_store *ms, const char *address);
int ms_user_set_password(struct ms_store *ms, const char *address,
    const char *password);

struct ms_user_info {
	ms_id		 id;
	const char	*address;
	uint64_t	 messages;	/* in all mailboxes */
	uint64_t	 bytes;
};
/* domain NULL lists every user. */
int ms_user_list(struct ms_store *ms, const char *domain,
    void (*fn)(void *arg, const struct ms_user_info *u), void *arg);
int ms_user_lookup(struct ms_store *ms, const char *address, ms_id *user_id_r);
/* The address of a user id, malloc'ed, or NULL. */
char *ms_user_address(struct ms_store *ms, ms_id user_id);

/* source is "local@domain" or "@domain" (catch-all); the domain must be
 * local.  target is any address (local or outside). */
int ms_alias_add(struct ms_store *ms, const char *source, const char *target);
/* target NULL removes every target of source. */
int ms_alias_del(struct ms_store *ms, const char *source, const char *target);
int ms_alias_list(struct ms_store *ms, const char *domain,
    void (*fn)(void *arg, const char *source, const char *target), void *arg);

struct ms_mailbox_info {
	ms_id		 id;
	const char	*name;		/* "INBOX", "Sent", "Work/2026" */
	const char	*special_use;	/* "\\Sent" ... or NULL */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint32_t	 messages;
	uint32_t	 unseen;
	uint64_t	 bytes;
	uint64_t	 highestmodseq;
	uint32_t	 recent_uid;	/* highest uid announced as \Recent */
	bool		 subscribed;
};
int ms_mailbox_list(struct ms_store *ms, ms_id user_id,
    void (*fn)(void *arg, const struct ms_mailbox_info *mb), void *arg);
/* name "INBOX" matches case-insensitively.  Strings in *info_r stay valid
 * until the next call on this store. */
int ms_mailbox_find(struct ms_store *ms, ms_id user_id, const char *name,
    struct ms_mailbox_info *info_r);

/* ----------------------------------------------------------------- auth */

/*
 * Check a password.  MS_OK (and *user_id_r), MS_NOT_FOUND for no such user,
 * MS_INVALID for a wrong password.  Runs the hash function: slow on
 * purpose (tens of ms); call it off the event loop.
 */
int ms_user_check_password(struct ms_store *ms, const char *address,
    const char *password, ms_id *user_id_r);
/* Password hashing (yescrypt via libxcrypt); exposed for tests.
 * Returns a malloc'ed "$y$..." string or NULL. */
char *ms_password_hash(const char *password);
bool ms_password_verify(const char *password, const char *hash);

/* ------------------------------------------------- recipient resolution */

bool ms_domain_is_local(struct ms_store *ms, const char *domain);

enum ms_rcpt_kind { MS_RCPT_LOCAL, MS_RCPT_REMOTE };
struct ms_rcpt {
	enum ms_rcpt_kind kind;
	ms_id	 user_id;	/* MS_RCPT_LOCAL */
	char	*address;	/* the final address (user's address, or remote) */
};
struct ms_rcpt_list {
	struct ms_rcpt *v;
	size_t	 n;
};

/*
 * Resolve an envelope recipient in a local domain: a user
 * ("alice+tag@d" finds alice@d), aliases (recursively, at most 10 levels,
 * duplicates dropped) and the catch-all "@d" as a last resort.  Appends the
 * final targets to *out.  MS_OK, MS_NOT_FOUND (local domain, nobody by that
 * name), or MS_INVALID when the domain is not local (the caller decides
 * whether it may relay).  An address that is both a user and an alias
 * source delivers to both.  MS_OK also when every target was already in
 * *out (a second RCPT for the same user); on MS_ERROR *out is unchanged.
 */
int ms_resolve_recipient(struct ms_store *ms, const char *address,
    struct ms_rcpt_list *out);
void ms_rcpt_list_free(struct ms_rcpt_list *l);

/* May user_id use this address as MAIL FROM?  True for the user's own
 * address and for aliases that deliver to the user. */
bool ms_user_may_send_as(struct ms_store *ms, ms_id user_id, const char *address);

/* ------------------------------------------------------------- delivery */

/*
 * A message being received.  The bytes written are stored exactly (CRLF
 * line ends, trace headers already prepended by the caller).  Up to
 * MS_DELIVERY_MEM_MAX bytes are kept in memory; beyond that they spill to
 * an unlinked file in the spool dir, so big messages never sit in memory.
 */
#define MS_DELIVERY_MEM_MAX	(128 * 1024)
struct ms_delivery *ms_delivery_new(struct ms_store *ms);
/* 0, or -1 if the spool file could not be written (disk full). */
int ms_delivery_write(struct ms_delivery *d, const void *p, size_t n);
uint64_t ms_delivery_size(const struct ms_delivery *d);
/* Envelope sender ("" for the null reverse-path), kept with queued mail. */
void ms_delivery_set_sender(struct ms_delivery *d, const char *reverse_path);
/* Deliver to the INBOX of a local user (duplicates ignored: a message for
 * several addresses of one user is stored once for that user). */
void ms_delivery_add_local(struct ms_delivery *d, ms_id user_id);
/* Put into a given mailbox (IMAP APPEND) with flags and internal date
 * (seconds since the epoch; 0 = now). */
void ms_delivery_add_mailbox(struct ms_delivery *d, ms_id mailbox_id,
    unsigned flags, const char *keywords, int64_t internaldate);
/* Queue for outbound delivery to an outside address. */
void ms_delivery_add_remote(struct ms_delivery *d, const char *address);

struct ms_delivery_result {
	int	 status;	/* MS_OK when durable for every target */
	ms_id	 message_id;	/* the stored message (once, whatever the count) */
	uint32_t uidvalidity;	/* of the first target mailbox (APPENDUID) */
	uint32_t uid;
};
typedef void ms_delivery_done_fn(void *arg, const struct ms_delivery_result *r);

/*
 * Hand the message to the writer thread; d is consumed.  cb runs exactly
 * once, on the loop thread, after the transaction holding the message and
 * every target is committed and fsynced (status MS_OK) or rolled back.
 * The caller must keep arg alive until then.  Failures: MS_ERROR (a write
 * failed, database error), MS_INVALID (no target), MS_NOT_FOUND (a user or
 * mailbox vanished meanwhile; nothing is stored for anyone then).
 * Without a writer thread (the CLI) the message is stored at once and cb
 * runs before this returns.
 */
void ms_delivery_commit(struct ms_delivery *d, ms_delivery_done_fn *cb, void *arg);
/* Drop a message that will not be committed (RSET, error, disconnect). */
void ms_delivery_abort(struct ms_delivery **dp);

/* ------------------------------------------------------ mailbox content */

struct ms_msg {
	uint32_t uid;
	ms_id	 message_id;
	uint64_t size;		/* bytes ms_message_read() returns in total */
	uint32_t flags;		/* MS_FLAG_* */
	int64_t	 internaldate;	/* seconds since the epoch */
	uint64_t modseq;
};
/* All messages of a mailbox, by ascending uid.  *v_r is malloc'ed (NULL
 * when empty).  MS_NOT_FOUND if the mailbox does not exist. */
int ms_mailbox_messages(struct ms_store *ms, ms_id mailbox_id,
    struct ms_msg **v_r, size_t *n_r);

/*
 * Read message bytes starting at offset into buf.  Returns the number of
 * bytes read (0 at the end) or -1.  Each call is its own short read
 * transaction (no handle is held between calls, so a slow reader never pins
 * an old snapshot); call it as the socket drains to stream big messages.
 */
ssize_t ms_message_read(struct ms_store *ms, ms_id message_id, uint64_t offset,
    void *buf, size_t len);

typedef void ms_done_fn(void *arg, int status);
/* Remove these uids from a mailbox (POP3 QUIT, IMAP EXPUNGE), through the
 * writer thread; uids already gone are ignored.  A message no mailbox or
 * queue refers to any more is deleted.  cb as for ms_delivery_commit;
 * MS_NOT_FOUND if the mailbox does not exist. */
void ms_expunge_uids(struct ms_store *ms, ms_id mailbox_id,
    const uint32_t *uids, size_t n, ms_done_fn *cb, void *arg);

/* Outbound queue entries (for the CLI and the outbound issue). */
struct ms_queue_entry {
	ms_id		 id;
	ms_id		 message_id;
	const char	*sender;
	const char	*recipient;
	int64_t		 queued_at;
	unsigned	 attempts;
};
int ms_queue_list(struct ms_store *ms,
    void (*fn)(void *arg, const struct ms_queue_entry *e), void *arg);

/* ---------------------------------------------------------------- stats */

/* Transactions committed for jobs so far (one fsync each): with group
 * commit, far fewer than the jobs. */
uint64_t ms_stats_commits(struct ms_store *ms);

/* ------------------------------------------------------- for tests only */

/*
 * Fault injection: make the nth step from now (1 = the next one) of the
 * connection that runs jobs fail with SQLITE_IOERR, once; 0 cancels.  A
 * step is one sqlite3_step() or one blob write.  With the writer thread
 * running, its connection is meant; without, ms's own.
 */
void ms_test_fail_step(struct ms_store *ms, int n);

#endif
