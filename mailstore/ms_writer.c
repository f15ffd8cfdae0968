/* SPDX-License-Identifier: ISC */
/*
 * The writer thread: every change made for a network client goes through
 * here, on the thread's own connection.
 *
 * Group commit.  The thread sleeps until at least one job is queued, opens
 * a write transaction (BEGIN IMMEDIATE, waiting for the lock if the CLI
 * holds it), and only then takes every job queued so far, including those
 * that arrived while it waited for the lock.  Each job runs inside its own
 * SAVEPOINT: a job that fails is rolled back to it and reported failed
 * while the others stay.  One COMMIT, which is one fsync of the WAL, then
 * makes the whole batch durable; the more clients deliver at once, the
 * bigger the batches and the fewer fsyncs per message.  If the COMMIT
 * fails, or an error rolls the whole transaction back, every job of the
 * batch fails.
 *
 * Completion.  Finished jobs move to a done-queue and the thread wakes the
 * loop with ev_async_send().  The loop pops them one at a time, runs their
 * callbacks and then the change hook with the mailboxes that changed.  The
 * async watcher holds a reference on the loop only while jobs are in
 * flight, so a loop with nothing else to do can still end.
 *
 * Without a writer thread (the CLI, tests), a job runs at once on the
 * caller's connection, in a transaction of its own, and completes before
 * ms_job_submit() returns.
 */
#include "autoconfig.h"

#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_internal.h"

struct ms_writer {
	struct ms_store	*conn;		/* the thread's own connection */
	struct ev_loop	*loop;
	ev_async	 async;		/* thread -> loop: jobs are done */
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;		/* loop -> thread: queued or stop */
	struct ms_job	*queue;		/* mtx: submitted, not yet taken */
	struct ms_job	**queue_tail;
	struct ms_job	*deferred;	/* mtx: to ride along with the next batch */
	struct ms_job	**deferred_tail;
	struct ms_job	*done;		/* mtx: finished, not yet completed */
	struct ms_job	**done_tail;
	bool		 stopping;	/* mtx */
	size_t		 pending;	/* loop only: submitted - completed */
};

void
ms_job_touch(struct ms_job *job, ms_id mailbox_id)
{
	size_t i;

	for (i = 0; i < job->nchanged; i++)
		if (job->changed[i] == mailbox_id)
			return;
	job->changed = xreallocarray(job->changed, job->nchanged + 1,
	    sizeof(*job->changed));
	job->changed[job->nchanged++] = mailbox_id;
}

void
ms_job_untouch(struct ms_job *job)
{
	job->nchanged = 0;
}

static void
job_free(struct ms_job *job)
{
	free(job->changed);
	job->changed = NULL;
	job->kind->free(job);
}

/* --------------------------------------------------------- the batch */

/*
 * Undo one job.  These bypass the fault seam (see ms_rollback): if they
 * fail anyway, the transaction is in an unknown state and the caller gives
 * the whole batch up.
 */
static int
savepoint_rollback(struct ms_store *conn)
{
	static const char sql_to[] = "ROLLBACK TO job";
	static const char sql_rel[] = "RELEASE job";
	const char *sqls[] = { sql_to, sql_rel };
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < 2; i++) {
		if ((st = ms_stmt(conn, sqls[i])) == NULL)
			return MS_ERROR;
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return ms_sql_error(conn, sqls[i]);
	}
	return MS_OK;
}

/* Run one job in its savepoint.  False if the transaction is lost. */
static bool
job_run(struct ms_store *conn, struct ms_job *job)
{
	static const char sql_sp[] = "SAVEPOINT job";
	static const char sql_rel[] = "RELEASE job";

	if (ms_exec(conn, sql_sp) != MS_OK) {
		job->status = MS_ERROR;
		return !sqlite3_get_autocommit(conn->db);
	}
	job->status = job->kind->run(conn, job);
	if (job->status == MS_OK && ms_exec(conn, sql_rel) == MS_OK)
		return true;
	if (job->status == MS_OK)
		job->status = MS_ERROR;
	ms_job_untouch(job);
	/* Disk full, I/O errors and the like roll the whole transaction
	 * back by themselves: then the jobs before this one are gone too. */
	if (sqlite3_get_autocommit(conn->db))
		return false;
	return savepoint_rollback(conn) == MS_OK;
}

static void
batch_fail(struct ms_job *jobs)
{
	struct ms_job *j;

	for (j = jobs; j != NULL; j = j->next) {
		if (j->status == MS_OK)
			j->status = MS_ERROR;
		ms_job_untouch(j);
	}
}

/*
 * Run a batch in the transaction the caller opened (began is false if
 * BEGIN failed) and commit it.  Sets every job's final status.
 */
static void
batch_run(struct ms_store *conn, struct ms_job *jobs, bool began)
{
	struct ms_job *j;
	bool ok = began;

	for (j = jobs; j != NULL; j = j->next)
		j->status = MS_ERROR;
	for (j = jobs; j != NULL && ok; j = j->next)
		ok = job_run(conn, j);
	if (ok && ms_commit(conn) == MS_OK) {
		atomic_fetch_add(&conn->commits, 1);
		return;
	}
	if (began)
		ms_rollback(conn);
	batch_fail(jobs);
}

/* ------------------------------------------------------ writer thread */

static void *
writer_main(void *arg)
{
	struct ms_writer *w = arg;
	struct ms_job *batch;
	bool began;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (w->queue == NULL && !w->stopping)
			pthread_cond_wait(&w->cond, &w->mtx);
		/* Deferred jobs alone wait for company, except at the end. */
		if (w->queue == NULL && w->deferred == NULL)
			break;
		pthread_mutex_unlock(&w->mtx);

		/* Lock first, then take the jobs: whatever queues up while
		 * we wait for the lock joins this batch. */
		began = ms_begin(w->conn) == MS_OK;
		pthread_mutex_lock(&w->mtx);
		*w->queue_tail = w->deferred;
		batch = w->queue;
		w->queue = w->deferred = NULL;
		w->queue_tail = &w->queue;
		w->deferred_tail = &w->deferred;
		pthread_mutex_unlock(&w->mtx);

		batch_run(w->conn, batch, began);

		pthread_mutex_lock(&w->mtx);
		*w->done_tail = batch;
		while (*w->done_tail != NULL)
			w->done_tail = &(*w->done_tail)->next;
		pthread_mutex_unlock(&w->mtx);
		ev_async_send(w->loop, &w->async);
		pthread_mutex_lock(&w->mtx);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* ---------------------------------------------------------- loop side */

static void
hook_add(ms_id **ids, size_t *n, const struct ms_job *job)
{
	size_t i, k;

	for (i = 0; i < job->nchanged; i++) {
		for (k = 0; k < *n && (*ids)[k] != job->changed[i]; k++)
			;
		if (k < *n)
			continue;
		*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = job->changed[i];
	}
}

static void
hook_run(struct ms_store *ms, ms_id *ids, size_t n)
{
	if (n > 0 && ms->change_fn != NULL)
		ms->change_fn(ms->change_arg, ids, n);
	free(ids);
}

/*
 * Complete the jobs on the done-queue: callbacks, then the change hook.
 * Jobs are popped one at a time, not as a list, so that a callback which
 * drains (ms_drain from inside a callback) completes the rest itself
 * rather than waiting for a wake-up the writer already sent.  True if
 * anything was completed.
 */
static bool
complete_done(struct ms_store *ms)
{
	struct ms_writer *w = ms->writer;
	struct ms_job *job;
	ms_id *ids = NULL;
	size_t nids = 0;
	bool any = false;

	for (;;) {
		pthread_mutex_lock(&w->mtx);
		if ((job = w->done) != NULL) {
			w->done = job->next;
			if (w->done == NULL)
				w->done_tail = &w->done;
		}
		pthread_mutex_unlock(&w->mtx);
		if (job == NULL)
			break;
		any = true;
		if (!job->deferred && --w->pending == 0)
			ev_unref(w->loop);
		if (job->status == MS_OK)
			hook_add(&ids, &nids, job);
		job->kind->complete(job);
		job_free(job);
	}
	hook_run(ms, ids, nids);
	return any;
}

static void
writer_async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	complete_done(a->data);
}

void
ms_job_submit(struct ms_store *ms, struct ms_job *job)
{
	struct ms_writer *w = ms->writer;
	ms_id *ids = NULL;
	size_t nids = 0;

	job->next = NULL;
	job->status = MS_ERROR;
	if (w == NULL) {
		batch_run(ms, job, ms_begin(ms) == MS_OK);
		if (job->status == MS_OK)
			hook_add(&ids, &nids, job);
		job->kind->complete(job);
		job_free(job);
		hook_run(ms, ids, nids);
		return;
	}
	/* The first job in flight makes the async watcher keep the loop
	 * alive until its callback ran. */
	if (w->pending++ == 0)
		ev_ref(w->loop);
	pthread_mutex_lock(&w->mtx);
	*w->queue_tail = job;
	w->queue_tail = &job->next;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
}

void
ms_job_defer(struct ms_store *ms, struct ms_job *job)
{
	struct ms_writer *w = ms->writer;

	if (w == NULL) {
		ms_job_submit(ms, job);
		return;
	}
	/* Not counted in pending: nobody waits for it, and ms_drain() must
	 * not wait for a batch that may never come. */
	job->next = NULL;
	job->status = MS_ERROR;
	job->deferred = true;
	pthread_mutex_lock(&w->mtx);
	*w->deferred_tail = job;
	w->deferred_tail = &job->next;
	pthread_mutex_unlock(&w->mtx);
}

int
ms_start_writer(struct ms_store *ms, struct ev_loop *loop, const char *spool_dir)
{
	struct ms_writer *w;
	struct ms_store *conn;
	sigset_t all, old;
	char *err;
	int rc;

	if (ms->writer != NULL) {
		log_warnx("mailstore: writer already started");
		return MS_ERROR;
	}
	if (ms_conn_open(ms->path, MS_BUSY_TIMEOUT_MS, &conn, &err) != MS_OK) {
		log_warnx("mailstore: writer: %s", err);
		free(err);
		return MS_ERROR;
	}
	/* From now on this store serves the loop: short lock waits. */
	ms_conn_set_busy_timeout(ms, MS_BUSY_TIMEOUT_LOOP_MS);
	free(ms->spool_dir);
	ms->spool_dir = spool_dir != NULL ? xstrdup(spool_dir) : NULL;

	w = xcalloc(1, sizeof(*w));
	w->conn = conn;
	w->loop = loop;
	w->queue_tail = &w->queue;
	w->deferred_tail = &w->deferred;
	w->done_tail = &w->done;
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	ev_async_init(&w->async, writer_async_cb);
	w->async.data = ms;
	ev_async_start(loop, &w->async);
	ev_unref(loop);
	ms->writer = w;

	/* Signals are for the loop thread; the writer inherits a full
	 * mask so none is ever delivered to it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("mailstore: writer thread: %s", strerror(rc));
		ev_ref(loop);
		ev_async_stop(loop, &w->async);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->mtx);
		ms_conn_close(&w->conn);
		free(w);
		ms->writer = NULL;
		return MS_ERROR;
	}
	return MS_OK;
}

void
ms_drain(struct ms_store *ms)
{
	struct ms_writer *w = ms->writer;

	if (w == NULL)
		return;
	/* Finished jobs are completed here directly: when called from a
	 * callback, the async event for them may already be consumed. */
	while (w->pending > 0) {
		if (!complete_done(ms))
			ev_run(w->loop, EVRUN_ONCE);
	}
}

void
ms_writer_stop(struct ms_store *ms)
{
	struct ms_writer *w = ms->writer;

	if (w == NULL)
		return;
	ms_drain(ms);
	pthread_mutex_lock(&w->mtx);
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	/* The deferred jobs ran in the thread's last batch. */
	(void)complete_done(ms);

	/* Give back the reference ev_unref() took at start (libev wants it
	 * restored before the watcher stops). */
	ev_ref(w->loop);
	ev_async_stop(w->loop, &w->async);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mtx);
	/* Keep the count across the connection's end. */
	atomic_fetch_add(&ms->commits, atomic_load(&w->conn->commits));
	ms_conn_close(&w->conn);
	free(w);
	ms->writer = NULL;
}

uint64_t
ms_stats_commits(struct ms_store *ms)
{
	uint64_t n = atomic_load(&ms->commits);

	if (ms->writer != NULL)
		n += atomic_load(&ms->writer->conn->commits);
	return n;
}

void
ms_test_fail_step(struct ms_store *ms, int n)
{
	struct ms_store *target = ms->writer != NULL ? ms->writer->conn : ms;

	atomic_store(&target->fail_step, n > 0 ? n : 0);
}
