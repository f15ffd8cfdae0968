/* SPDX-License-Identifier: ISC */
/*
 * What the mailstore's files share and nobody outside mailstore/ sees: the
 * store (one SQLite connection with its statement cache), the statement
 * helpers, and the job interface of the writer thread.
 *
 * Statements are cached per connection, keyed by the address of their SQL
 * text: each call site keeps its SQL in a static const array next to the
 * code that binds it, and the first use prepares it for good.  Callers must
 * sqlite3_reset() a statement when done so no read transaction stays open.
 */
#ifndef POSTROOM_MS_INTERNAL_H
#define POSTROOM_MS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "mailstore/ms.h"

/* One embedded migration, generated from schema/NNN_name.sql. */
struct ms_migration {
	int		 version;	/* NNN; strictly increasing */
	const char	*name;
	const char	*sql;
};
extern const struct ms_migration ms_migrations[];
extern const size_t ms_migrations_count;

#define MS_BUSY_TIMEOUT_MS	5000	/* writer thread and CLI */
#define MS_BUSY_TIMEOUT_LOOP_MS	1000	/* the event loop's reads */

struct ms_stmt_slot {
	const char	*sql;		/* the key: the address of the text */
	sqlite3_stmt	*stmt;
};

struct ms_writer;

struct ms_store {
	sqlite3		*db;
	char		*path;
	struct ms_stmt_slot *stmts;	/* open-addressed on the SQL address */
	size_t		 stmts_cap;	/* power of two */
	size_t		 stmts_n;
	atomic_int	 fail_step;	/* test seam: fail the Nth step; 0 = off */
	atomic_uint_fast64_t commits;	/* job batches committed here */
	struct ms_writer *writer;	/* NULL: jobs run synchronously */
	char		*spool_dir;	/* for spilled deliveries */
	ms_change_fn	*change_fn;
	void		*change_arg;
	char		*found_name;	/* strings of ms_mailbox_find() */
	char		*found_special;
};

/* ms_store.c */
/* Open one connection with the pragmas set (no migrations). */
int ms_conn_open(const char *path, int busy_ms, struct ms_store **ms_r,
    char **err_r);
/* Finalize the cached statements and close the connection. */
void ms_conn_close(struct ms_store **msp);
void ms_conn_set_busy_timeout(struct ms_store *ms, int busy_ms);
/* The prepared statement for sql (a static string), or NULL (logged). */
sqlite3_stmt *ms_stmt(struct ms_store *ms, const char *sql);
/*
 * sqlite3_step() through the fault seam.  Errors are logged, except
 * constraint violations, which callers turn into MS_EXISTS and the like.
 * On an error the statement is reset.
 */
int ms_step(struct ms_store *ms, sqlite3_stmt *st);
/* True when the test seam says the current step must fail. */
bool ms_fault_now(struct ms_store *ms);
/* Run a statement without results to completion; MS_OK or MS_ERROR. */
int ms_exec(struct ms_store *ms, const char *sql);
int ms_begin(struct ms_store *ms);	/* BEGIN IMMEDIATE */
int ms_commit(struct ms_store *ms);
void ms_rollback(struct ms_store *ms);
/* Log a failure of the connection's last call and return MS_ERROR. */
int ms_sql_error(struct ms_store *ms, const char *what);
/* The id of name in domains, or 0. */
ms_id ms_domain_id(struct ms_store *ms, const char *name);

/* ms_admin.c: a new mailbox with a fresh UIDVALIDITY; MS_EXISTS. */
int ms_mailbox_insert(struct ms_store *ms, ms_id user_id, const char *name,
    const char *special_use, bool subscribed, ms_id *id_r);

/* ms_resolve.c: resolution; catchall false for ms_user_may_send_as(). */
int ms_resolve(struct ms_store *ms, const char *address, bool catchall,
    struct ms_rcpt_list *out);

/* ----------------------------------------------------------------- jobs */

/*
 * A change made by the writer thread on behalf of the loop.  Each kind of
 * job embeds struct ms_job as its first member and provides run (writer
 * thread, inside the job's own SAVEPOINT, on the writer's connection),
 * complete (loop thread, after the commit or rollback: calls the user's
 * callback with job->status) and free.  Adding a kind (flag stores,
 * copies, mailbox renames) means one such struct and three functions.
 */
struct ms_job;
struct ms_job_kind {
	const char	*name;		/* for log lines */
	int		(*run)(struct ms_store *conn, struct ms_job *job);
	void		(*complete)(struct ms_job *job);
	void		(*free)(struct ms_job *job);
};

struct ms_job {
	const struct ms_job_kind *kind;
	struct ms_job	*next;		/* in the writer's queues */
	int		 status;	/* MS_*, final once completed */
	bool		 deferred;	/* see ms_job_defer() */
	ms_id		*changed;	/* mailboxes touched, for the hook */
	size_t		 nchanged;
};

/* Record a mailbox the job changed (duplicates are ignored). */
void ms_job_touch(struct ms_job *job, ms_id mailbox_id);
/* Forget what run did (the job is being rolled back). */
void ms_job_untouch(struct ms_job *job);

/* ms_expunge.c */
/*
 * Remove uids from a mailbox inside the caller's transaction (expunges,
 * moves): the mailbox gets one new modseq and every removed uid a
 * tombstone with it.  *removed_r counts the uids that were there.
 * MS_NOT_FOUND when the mailbox does not exist.
 */
int ms_expunge_rows(struct ms_store *conn, ms_id mailbox_id,
    const uint32_t *uids, size_t n, size_t *removed_r);

/* ms_copy.c */
/* The uids of v sorted ascending without duplicates (malloc'ed, NULL when
 * n is 0); returns their count. */
size_t ms_uids_sorted(const uint32_t *v, size_t n, uint32_t **out_r);

/* Which source uid became which destination uid. */
struct ms_copy_map {
	uint32_t	*src;		/* ascending; malloc'ed */
	uint32_t	*dst;		/* consecutive, same order */
	size_t		 n;
	uint32_t	 uidvalidity;	/* of the destination */
};
/*
 * Copy the rows of uids (ascending; missing ones are skipped) from src to
 * dst inside the caller's transaction, keeping flags, keywords and the
 * internal date; with move, remove them from src with tombstones.  The
 * message bytes are shared, not duplicated.  MS_NOT_FOUND when either
 * mailbox does not exist.  Free map with ms_copy_map_clear().
 */
int ms_copy_rows(struct ms_store *conn, ms_id src, const uint32_t *uids,
    size_t n, ms_id dst, bool move, struct ms_copy_map *map);
void ms_copy_map_clear(struct ms_copy_map *map);

/* ms_writer.c */
/*
 * Hand a job over: to the writer thread if it runs, else run it at once on
 * ms in its own transaction and complete it before returning (CLI use).
 */
void ms_job_submit(struct ms_store *ms, struct ms_job *job);
/*
 * The same for a job nobody waits for and that may wait itself: it runs
 * in the writer's next batch, whenever other jobs make one (so it costs
 * no commit and no fsync of its own), or when the writer stops.  A crash
 * before then loses it.  Its completion runs as usual.
 */
void ms_job_defer(struct ms_store *ms, struct ms_job *job);
void ms_writer_stop(struct ms_store *ms);

#endif
