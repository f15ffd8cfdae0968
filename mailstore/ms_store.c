/* SPDX-License-Identifier: ISC */
/*
 * Opening and closing the database, schema migrations, and the statement
 * helpers every other mailstore file uses.
 *
 * Each connection runs in WAL mode with synchronous=FULL (a COMMIT returns
 * only after the WAL is on disk), foreign keys on, and a busy timeout: the
 * writer thread and the CLI wait up to 5 s for the write lock, the event
 * loop's reads 1 s (WAL readers are only ever blocked by a checkpoint or a
 * recovery, and the loop must not stall long).
 *
 * Migrations are the schema/NNN_name.sql files embedded at build time; the
 * version reached is PRAGMA user_version.  Each pending one runs in its own
 * IMMEDIATE transaction that re-reads the version first, so a daemon and a
 * CLI starting together cannot both apply it.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_internal.h"

const char *
ms_strstatus(int status)
{
	switch (status) {
	case MS_OK:
		return "ok";
	case MS_ERROR:
		return "database error";
	case MS_NOT_FOUND:
		return "not found";
	case MS_EXISTS:
		return "already exists";
	case MS_INVALID:
		return "invalid";
	case MS_NOT_EMPTY:
		return "not empty";
	default:
		return "unknown status";
	}
}

int
ms_sql_error(struct ms_store *ms, const char *what)
{
	log_warnx("mailstore: %s: %s", what, sqlite3_errmsg(ms->db));
	return MS_ERROR;
}

/* ---------------------------------------------------- statement cache */

static size_t
stmt_hash(const char *sql, size_t cap)
{
	uintptr_t h = (uintptr_t)sql;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 7) & (cap - 1);
}

static void
stmt_cache_grow(struct ms_store *ms)
{
	struct ms_stmt_slot *old = ms->stmts;
	size_t oldcap = ms->stmts_cap, i, j;

	ms->stmts_cap = oldcap == 0 ? 64 : oldcap * 2;
	ms->stmts = xcalloc(ms->stmts_cap, sizeof(*ms->stmts));
	for (i = 0; i < oldcap; i++) {
		if (old[i].sql == NULL)
			continue;
		j = stmt_hash(old[i].sql, ms->stmts_cap);
		while (ms->stmts[j].sql != NULL)
			j = (j + 1) & (ms->stmts_cap - 1);
		ms->stmts[j] = old[i];
	}
	free(old);
}

sqlite3_stmt *
ms_stmt(struct ms_store *ms, const char *sql)
{
	struct ms_stmt_slot *slot;
	size_t i;

	if (ms->stmts_n * 2 >= ms->stmts_cap)
		stmt_cache_grow(ms);
	i = stmt_hash(sql, ms->stmts_cap);
	while (ms->stmts[i].sql != NULL && ms->stmts[i].sql != sql)
		i = (i + 1) & (ms->stmts_cap - 1);
	slot = &ms->stmts[i];
	if (slot->sql != NULL)
		return slot->stmt;
	/* PERSISTENT: these live as long as the connection. */
	if (sqlite3_prepare_v3(ms->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &slot->stmt, NULL) != SQLITE_OK) {
		log_warnx("mailstore: prepare \"%.60s\": %s", sql,
		    sqlite3_errmsg(ms->db));
		slot->stmt = NULL;
		return NULL;
	}
	slot->sql = sql;
	ms->stmts_n++;
	return slot->stmt;
}

bool
ms_fault_now(struct ms_store *ms)
{
	int n = atomic_load(&ms->fail_step);

	while (n > 0) {
		if (atomic_compare_exchange_weak(&ms->fail_step, &n, n - 1))
			return n == 1;
	}
	return false;
}

int
ms_step(struct ms_store *ms, sqlite3_stmt *st)
{
	int rc;

	if (ms_fault_now(ms)) {
		sqlite3_reset(st);
		log_warnx("mailstore: injected I/O error on \"%.60s\"",
		    sqlite3_sql(st));
		return SQLITE_IOERR;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	/* Duplicates and the like are answers, not failures. */
	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		log_warnx("mailstore: \"%.60s\": %s", sqlite3_sql(st),
		    sqlite3_errmsg(ms->db));
	sqlite3_reset(st);
	return rc;
}

int
ms_exec(struct ms_store *ms, const char *sql)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return MS_ERROR;
	while ((rc = ms_step(ms, st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? MS_OK : MS_ERROR;
}

int
ms_begin(struct ms_store *ms)
{
	static const char sql[] = "BEGIN IMMEDIATE";

	return ms_exec(ms, sql);
}

int
ms_commit(struct ms_store *ms)
{
	static const char sql[] = "COMMIT";

	return ms_exec(ms, sql);
}

/*
 * ROLLBACK bypasses the fault seam: a faked failure here would leave the
 * transaction open, which no real error path has to cope with.  Some errors
 * (I/O, disk full) already rolled back, hence the autocommit check.
 */
void
ms_rollback(struct ms_store *ms)
{
	static const char sql[] = "ROLLBACK";
	sqlite3_stmt *st;

	if (sqlite3_get_autocommit(ms->db))
		return;
	if ((st = ms_stmt(ms, sql)) == NULL)
		return;
	if (sqlite3_step(st) != SQLITE_DONE)
		ms_sql_error(ms, "rollback");
	sqlite3_reset(st);
}

ms_id
ms_domain_id(struct ms_store *ms, const char *name)
{
	static const char sql[] = "SELECT id FROM domains WHERE name = ?1";
	sqlite3_stmt *st;
	ms_id id = 0;

	if ((st = ms_stmt(ms, sql)) == NULL)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (ms_step(ms, st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

/* ---------------------------------------------------------- connections */

void
ms_conn_set_busy_timeout(struct ms_store *ms, int busy_ms)
{
	sqlite3_busy_timeout(ms->db, busy_ms);
}

static int
conn_pragmas(sqlite3 *db, const char *path, char **err_r)
{
	sqlite3_stmt *st;
	const char *mode;
	bool wal;

	/* Changing the journal mode needs no other connection in a
	 * transaction; the busy timeout covers a concurrent opener. */
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		goto fail;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	/* An in-memory database (tests) cannot use WAL. */
	wal = mode != NULL && (strcmp(mode, "wal") == 0 ||
	    (strcmp(mode, "memory") == 0 && strcmp(path, ":memory:") == 0));
	sqlite3_finalize(st);
	if (!wal) {
		*err_r = xasprintf("%s: cannot switch to WAL mode", path);
		return MS_ERROR;
	}
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
	    NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return MS_OK;
fail:
	*err_r = xasprintf("%s: %s", path, sqlite3_errmsg(db));
	return MS_ERROR;
}

int
ms_conn_open(const char *path, int busy_ms, struct ms_store **ms_r,
    char **err_r)
{
	struct ms_store *ms;
	sqlite3 *db = NULL;
	int rc;

	*ms_r = NULL;
	*err_r = NULL;
	/* NOMUTEX: a connection is only ever used by one thread at a time. */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*err_r = xasprintf("%s: %s", path, db != NULL ?
		    sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return MS_ERROR;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, busy_ms);
	if (conn_pragmas(db, path, err_r) != MS_OK) {
		sqlite3_close(db);
		return MS_ERROR;
	}
	ms = xcalloc(1, sizeof(*ms));
	ms->db = db;
	ms->path = xstrdup(path);
	atomic_init(&ms->fail_step, 0);
	atomic_init(&ms->commits, 0);
	*ms_r = ms;
	return MS_OK;
}

void
ms_conn_close(struct ms_store **msp)
{
	struct ms_store *ms = *msp;
	size_t i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->stmts_cap; i++)
		sqlite3_finalize(ms->stmts[i].stmt);
	free(ms->stmts);
	if (sqlite3_close(ms->db) != SQLITE_OK)
		log_warnx("mailstore: close: %s", sqlite3_errmsg(ms->db));
	free(ms->path);
	free(ms->spool_dir);
	free(ms->found_name);
	free(ms->found_special);
	free(ms);
	*msp = NULL;
}

/* ----------------------------------------------------------- migrations */

static int
user_version(sqlite3 *db, int *version_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return MS_ERROR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version_r = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? MS_OK : MS_ERROR;
}

/*
 * Apply one migration unless another process already did.  The migration's
 * SQL and the version bump commit together, so a crash leaves either the
 * old schema or the new one.
 */
static int
migrate_one(sqlite3 *db, const struct ms_migration *m, char **err_r)
{
	char setver[64];
	int cur;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (user_version(db, &cur) != MS_OK)
		goto fail;
	if (cur >= m->version) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return MS_OK;
	}
	snprintf(setver, sizeof(setver), "PRAGMA user_version = %d", m->version);
	if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, setver, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	log_info("mailstore: schema migrated to %03d_%s", m->version, m->name);
	return MS_OK;
fail:
	*err_r = xasprintf("schema %03d_%s: %s", m->version, m->name,
	    sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return MS_ERROR;
}

static int
migrate(struct ms_store *ms, char **err_r)
{
	int cur, last = 0;
	size_t i;

	for (i = 0; i < ms_migrations_count; i++) {
		if (ms_migrations[i].version <= last)
			fatalx("mailstore: schema migrations out of order");
		last = ms_migrations[i].version;
	}
	if (user_version(ms->db, &cur) != MS_OK) {
		*err_r = xasprintf("%s: %s", ms->path, sqlite3_errmsg(ms->db));
		return MS_ERROR;
	}
	if (cur > last) {
		*err_r = xasprintf("%s: schema version %d is newer than this "
		    "program's (%d)", ms->path, cur, last);
		return MS_ERROR;
	}
	for (i = 0; i < ms_migrations_count; i++) {
		if (ms_migrations[i].version > cur &&
		    migrate_one(ms->db, &ms_migrations[i], err_r) != MS_OK)
			return MS_ERROR;
	}
	return MS_OK;
}

int
ms_open(const char *path, struct ms_store **ms_r, char **err_r)
{
	struct ms_store *ms;

	if (ms_conn_open(path, MS_BUSY_TIMEOUT_MS, &ms, err_r) != MS_OK)
		return MS_ERROR;
	if (migrate(ms, err_r) != MS_OK) {
		ms_conn_close(&ms);
		return MS_ERROR;
	}
	*ms_r = ms;
	return MS_OK;
}

void
ms_close(struct ms_store **msp)
{
	if (*msp == NULL)
		return;
	ms_writer_stop(*msp);
	ms_conn_close(msp);
}

void
ms_set_change_hook(struct ms_store *ms, ms_change_fn *fn, void *arg)
{
	ms->change_fn = fn;
	ms->change_arg = arg;
}
