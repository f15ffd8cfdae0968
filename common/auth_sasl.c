/* SPDX-License-Identifier: ISC */
/*
 * The auth worker thread: every Cyrus SASL call and every password check.
 *
 * Checking a yescrypt hash costs tens of milliseconds by design, so it must
 * never run on the event loop.  A single thread does all of it, which also
 * means the SASL library is only ever entered from one thread and needs no
 * mutex callbacks.  The thread owns its own mailstore connection.
 *
 * SASL is configured entirely from code (no postroom.conf is needed):
 * mechanisms PLAIN and LOGIN, and our SASL_CB_SERVER_USERDB_CHECKPASS
 * callback checks passwords against the mailstore.  When that callback says
 * no, libsasl goes on to its own pwcheck_method; left at the defaults that
 * would consult the system sasldb, where a stale entry could even let a
 * wrong password in.  So pwcheck_method is "auxprop" and the only auxprop
 * plugin is an empty one registered here: the fallback finds no secret and
 * fails quietly, and the property lookups libsasl makes around a successful
 * check succeed with nothing to add.  On top of that a SASL success counts
 * only if our callback approved the same user.
 *
 * No user_realm is passed to sasl_server_new, so libsasl neither appends a
 * realm nor splits one off: the name checked is exactly what the client
 * sent ("alice@example.org").  An authorization identity different from
 * the authentication identity is refused by libsasl's default proxy policy.
 */
#include "autoconfig.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "common/auth_internal.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* libsasl's callback table stores every function as int (*)(void);
 * going through void (*)(void) keeps -Wcast-function-type quiet. */
#define SASL_FN(f) ((int (*)(void))(void (*)(void))(f))

#define AUXPROP_NAME	"postroom"

struct auth_wsess {
	sasl_conn_t	*conn;		/* current exchange, or NULL */
	sasl_callback_t	 callbacks[2];	/* per connection: checkpass */
	char		*service;
	char		*ip;

	/* what checkpass_cb saw in the current exchange */
	bool		 checked;
	int		 check_status;	/* MS_* */
	char		*checked_user;
};

struct job_queue {
	struct auth_job	*head;
	struct auth_job	*tail;
};

static struct {
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;		/* todo non-empty, stop, or ready */
	struct job_queue todo;
	struct job_queue done;
	bool		 stop;
	bool		 ready;
	int		 status;	/* of the start-up */
	void		(*notify)(void *);
	void		*notify_arg;

	/* worker thread only */
	char		*db_path;
	struct ms_store	*ms;
} worker = {
	.mtx = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void
queue_push(struct job_queue *q, struct auth_job *job)
{
	job->next = NULL;
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
}

static struct auth_job *
queue_pop(struct job_queue *q)
{
	struct auth_job *job = q->head;

	if (job != NULL) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
		job->next = NULL;
	}
	return job;
}

/* ------------------------------------------------------ session halves */

struct auth_wsess *
auth_wsess_new(const char *service, const char *ip)
{
	struct auth_wsess *ws = xcalloc(1, sizeof(*ws));

	ws->service = xstrdup(service);
	ws->ip = xstrdup(ip);
	return ws;
}

/* Forget the exchange: the next step must start a new one. */
static void
wsess_reset(struct auth_wsess *ws)
{
	if (ws->conn != NULL)
		sasl_dispose(&ws->conn);
	ws->checked = false;
	ws->check_status = MS_OK;
	XFREE(ws->checked_user);
}

void
auth_wsess_discard(struct auth_wsess **wsp)
{
	struct auth_wsess *ws = *wsp;

	if (ws == NULL)
		return;
	free(ws->checked_user);
	free(ws->service);
	free(ws->ip);
	free(ws);
	*wsp = NULL;
}

void
auth_job_free(struct auth_job **jobp)
{
	struct auth_job *job = *jobp;

	if (job == NULL)
		return;
	/* The client's response may hold a password. */
	if (job->in != NULL) {
		explicit_bzero(job->in, job->inlen);
		free(job->in);
	}
	free(job->mech);
	free(job->out);
	free(job->user);
	free(job);
	*jobp = NULL;
}

/* ---------------------------------------------------- SASL callbacks */

/*
 * Route libsasl's messages to our log.  Levels TRACE and PASS may carry
 * secrets and are dropped whatever log_level says; control characters
 * (a client's user name can hold anything) are masked.
 */
static int
sasl_log_cb(void *ctx, int level, const char *message)
{
	char buf[512];
	size_t i;

	if (message == NULL || level >= SASL_LOG_TRACE)
		return SASL_OK;
	for (i = 0; message[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = (message[i] >= 0x20 && message[i] < 0x7f) ?
		    message[i] : '?';
	buf[i] = '\0';
	if (level == SASL_LOG_ERR || level == SASL_LOG_WARN)
		log_warnx("auth sasl: %s", buf);
	else
		log_debug("auth sasl: %s", buf);
	return SASL_OK;
}

static int
sasl_getopt_cb(void *ctx, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	static const struct {
		const char *name;
		const char *value;
	} opts[] = {
		{ "mech_list",		"PLAIN LOGIN" },
		{ "pwcheck_method",	"auxprop" },
		{ "auxprop_plugin",	AUXPROP_NAME },
		{ "auto_transition",	"no" },
	};
	const char *value = NULL;

	if (plugin != NULL)
		return SASL_FAIL;
	if (strcmp(option, "log_level") == 0)
		value = log_debug_enabled() ? "5" : "3";
	for (size_t i = 0; value == NULL && i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(option, opts[i].name) == 0)
			value = opts[i].value;
	if (value == NULL)
		return SASL_FAIL;
	*result = value;
	if (len != NULL)
		*len = (unsigned)strlen(value);
	return SASL_OK;
}

/*
 * SASL_CB_SERVER_USERDB_CHECKPASS: the only place a password is checked.
 * The outcome is also kept in the session so that the step's result is
 * decided by what the mailstore said, not by whatever libsasl's fallback
 * returned afterwards.
 */
static int
checkpass_cb(sasl_conn_t *conn, void *ctx, const char *user, const char *pass,
    unsigned passlen, struct propctx *propctx)
{
	struct auth_wsess *ws = ctx;
	ms_id id = 0;
	char *pw;
	int st;

	free(ws->checked_user);
	ws->checked_user = xstrdup(user);
	ws->checked = true;
	if (memchr(pass, '\0', passlen) != NULL) {
		ws->check_status = MS_INVALID;
		return SASL_BADAUTH;
	}
	pw = xstrndup(pass, passlen);
	st = ms_user_check_password(worker.ms, user, pw, &id);
	explicit_bzero(pw, passlen);
	free(pw);
	ws->check_status = st;
	switch (st) {
	case MS_OK:
		return SASL_OK;
	case MS_NOT_FOUND:
		return SASL_NOUSER;
	case MS_INVALID:
		return SASL_BADAUTH;
	default:
		return SASL_FAIL;
	}
}

static int
auxprop_lookup(void *glob_context, sasl_server_params_t *sparams,
    unsigned flags, const char *user, unsigned ulen)
{
	return SASL_OK;
}

static char auxprop_name[] = AUXPROP_NAME;
static sasl_auxprop_plug_t auxprop_plug = {
	.auxprop_lookup = auxprop_lookup,
	.name = auxprop_name,
};

static int
auxprop_init(const sasl_utils_t *utils, int max_version, int *out_version,
    sasl_auxprop_plug_t **plug, const char *plugname)
{
	if (max_version < SASL_AUXPROP_PLUG_VERSION)
		return SASL_BADVERS;
	*out_version = SASL_AUXPROP_PLUG_VERSION;
	*plug = &auxprop_plug;
	return SASL_OK;
}

static const sasl_callback_t global_callbacks[] = {
	{ SASL_CB_LOG, SASL_FN(sasl_log_cb), NULL },
	{ SASL_CB_GETOPT, SASL_FN(sasl_getopt_cb), NULL },
	{ SASL_CB_LIST_END, NULL, NULL },
};

/* ---------------------------------------------------------- one step */

/* A SASL success: the user must be the one our callback approved. */
static enum auth_result
step_success(struct auth_wsess *ws, struct auth_job *job)
{
	const void *name = NULL;
	ms_id id;
	int st;

	if (!ws->checked || ws->check_status != MS_OK) {
		log_warnx("auth: SASL succeeded without a password check");
		return AUTH_FAILED;
	}
	if (sasl_getprop(ws->conn, SASL_USERNAME, &name) != SASL_OK ||
	    name == NULL)
		return AUTH_TEMPFAIL;
	if (strcmp(name, ws->checked_user) != 0) {
		job->user = xstrdup(ws->checked_user);
		return AUTH_FAILED;
	}
	st = ms_user_lookup(worker.ms, name, &id);
	if (st == MS_NOT_FOUND) {
		/* Deleted between the check and now. */
		job->user = xstrdup(name);
		return AUTH_FAILED;
	}
	if (st != MS_OK || (job->user = ms_user_address(worker.ms, id)) == NULL)
		return AUTH_TEMPFAIL;
	job->user_id = id;
	return AUTH_OK;
}

static enum auth_result
step_result(struct auth_wsess *ws, struct auth_job *job, int r,
    const char *out, unsigned outlen)
{
	const void *name = NULL;

	if (r == SASL_CONTINUE) {
		job->out = xmalloc(outlen + 1);
		if (outlen > 0)
			memcpy(job->out, out, outlen);
		job->outlen = outlen;
		return AUTH_CONTINUE;
	}
	/* Once our callback has spoken, its verdict decides. */
	if (ws->checked && ws->check_status != MS_OK) {
		if (ws->check_status != MS_NOT_FOUND &&
		    ws->check_status != MS_INVALID)
			return AUTH_TEMPFAIL;
		job->user = xstrdup(ws->checked_user);
		return AUTH_FAILED;
	}
	switch (r) {
	case SASL_OK:
		return step_success(ws, job);
	case SASL_NOMECH:
	case SASL_TOOWEAK:
		return AUTH_BAD_MECH;
	case SASL_BADPROT:
	case SASL_BADPARAM:
		return AUTH_BAD_PROTOCOL;
	case SASL_BADAUTH:
	case SASL_NOUSER:
	case SASL_NOAUTHZ:
		if (ws->checked_user != NULL)
			job->user = xstrdup(ws->checked_user);
		else if (sasl_getprop(ws->conn, SASL_AUTHUSER, &name) == SASL_OK &&
		    name != NULL)
			job->user = xstrdup(name);
		return AUTH_FAILED;
	default:
		log_warnx("auth: SASL step: %s", sasl_errdetail(ws->conn));
		return AUTH_TEMPFAIL;
	}
}

/*
 * Run one step.  A step with a mechanism always begins on a fresh
 * sasl_conn (created here, lazily, on the first step), so nothing from an
 * earlier or abandoned exchange can leak into the new one; when the exchange
 * ends the connection is disposed at once.
 */
static void
run_step(struct auth_job *job)
{
	struct auth_wsess *ws = job->ws;
	const char *out = NULL;
	unsigned outlen = 0;
	int r;

	if (job->inlen > UINT_MAX) {
		job->res = AUTH_BAD_PROTOCOL;
		wsess_reset(ws);
		return;
	}
	if (job->mech != NULL) {
		wsess_reset(ws);
		ws->callbacks[0] = (sasl_callback_t){
		    SASL_CB_SERVER_USERDB_CHECKPASS, SASL_FN(checkpass_cb), ws };
		ws->callbacks[1] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
		r = sasl_server_new(ws->service, NULL, NULL, NULL, NULL,
		    ws->callbacks, 0, &ws->conn);
		if (r != SASL_OK) {
			log_warnx("auth: sasl_server_new: %s",
			    sasl_errstring(r, NULL, NULL));
			ws->conn = NULL;
			job->res = AUTH_TEMPFAIL;
			return;
		}
		r = sasl_server_start(ws->conn, job->mech,
		    job->has_initial ? (const char *)job->in : NULL,
		    (unsigned)job->inlen, &out, &outlen);
	} else if (ws->conn == NULL) {
		job->res = AUTH_BAD_PROTOCOL;
		return;
	} else {
		r = sasl_server_step(ws->conn, (const char *)job->in,
		    (unsigned)job->inlen, &out, &outlen);
	}
	job->res = step_result(ws, job, r, out, outlen);
	if (job->res != AUTH_CONTINUE)
		wsess_reset(ws);
}

/* ------------------------------------------------------------- thread */

/* Are PLAIN and LOGIN there?  Without libsasl2-modules nobody can log in. */
static int
check_mechanisms(void)
{
	sasl_conn_t *conn = NULL;
	const char *list = NULL;
	int r, ok = -1;

	r = sasl_server_new("smtp", NULL, NULL, NULL, NULL, NULL, 0, &conn);
	if (r == SASL_OK)
		r = sasl_listmech(conn, NULL, " ", " ", " ", &list, NULL, NULL);
	if (r == SASL_OK && strstr(list, " PLAIN ") != NULL &&
	    strstr(list, " LOGIN ") != NULL)
		ok = 0;
	else
		log_warnx("auth: SASL mechanisms PLAIN and LOGIN not available "
		    "(are the SASL plugin modules installed?)");
	if (conn != NULL)
		sasl_dispose(&conn);
	return ok;
}

static int
worker_setup(void)
{
	char *err = NULL;
	int r;

	r = sasl_auxprop_add_plugin(AUXPROP_NAME, auxprop_init);
	if (r == SASL_OK)
		r = sasl_server_init(global_callbacks, "postroom");
	if (r != SASL_OK) {
		log_warnx("auth: SASL initialisation: %s",
		    sasl_errstring(r, NULL, NULL));
		return -1;
	}
	if (check_mechanisms() == -1) {
		sasl_server_done();
		return -1;
	}
	if (ms_open(worker.db_path, &worker.ms, &err) != MS_OK) {
		log_warnx("auth: cannot open the mailstore: %s",
		    err != NULL ? err : "unknown error");
		free(err);
		sasl_server_done();
		return -1;
	}
	return 0;
}

static void *
worker_main(void *unused)
{
	struct auth_job *job;
	int status = worker_setup();

	pthread_mutex_lock(&worker.mtx);
	worker.status = status;
	worker.ready = true;
	pthread_cond_broadcast(&worker.cond);
	pthread_mutex_unlock(&worker.mtx);
	if (status == -1)
		return NULL;

	for (;;) {
		pthread_mutex_lock(&worker.mtx);
		while (worker.todo.head == NULL && !worker.stop)
			pthread_cond_wait(&worker.cond, &worker.mtx);
		job = queue_pop(&worker.todo);
		pthread_mutex_unlock(&worker.mtx);
		if (job == NULL)
			break;

		switch (job->kind) {
		case AUTH_JOB_STEP:
			run_step(job);
			pthread_mutex_lock(&worker.mtx);
			queue_push(&worker.done, job);
			pthread_mutex_unlock(&worker.mtx);
			worker.notify(worker.notify_arg);
			break;
		case AUTH_JOB_RESET:
			wsess_reset(job->ws);
			auth_job_free(&job);
			break;
		case AUTH_JOB_DISPOSE:
			wsess_reset(job->ws);
			auth_wsess_discard(&job->ws);
			auth_job_free(&job);
			break;
		}
	}
	sasl_server_done();
	ms_close(&worker.ms);
	return NULL;
}

int
auth_worker_start(const char *db_path, void (*notify)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	worker.db_path = xstrdup(db_path);
	worker.notify = notify;
	worker.notify_arg = arg;
	worker.stop = false;
	worker.ready = false;

	/* Signals are for the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&worker.thread, NULL, worker_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		log_warnx("auth: cannot start the worker thread: %s", strerror(r));
		XFREE(worker.db_path);
		return -1;
	}

	pthread_mutex_lock(&worker.mtx);
	while (!worker.ready)
		pthread_cond_wait(&worker.cond, &worker.mtx);
	r = worker.status;
	pthread_mutex_unlock(&worker.mtx);
	if (r == -1) {
		pthread_join(worker.thread, NULL);
		XFREE(worker.db_path);
	}
	return r;
}

void
auth_worker_stop(void)
{
	struct auth_job *job;

	pthread_mutex_lock(&worker.mtx);
	worker.stop = true;
	pthread_cond_broadcast(&worker.cond);
	pthread_mutex_unlock(&worker.mtx);
	pthread_join(worker.thread, NULL);

	/* Results nobody will collect.  A live session keeps its half; that
	 * of a freed one (as == NULL) has no other owner. */
	while ((job = queue_pop(&worker.done)) != NULL) {
		if (job->as == NULL)
			auth_wsess_discard(&job->ws);
		auth_job_free(&job);
	}
	XFREE(worker.db_path);
}

void
auth_worker_post(struct auth_job *job)
{
	pthread_mutex_lock(&worker.mtx);
	queue_push(&worker.todo, job);
	pthread_cond_signal(&worker.cond);
	pthread_mutex_unlock(&worker.mtx);
}

struct auth_job *
auth_worker_take_done(void)
{
	struct auth_job *list;

	pthread_mutex_lock(&worker.mtx);
	list = worker.done.head;
	worker.done.head = worker.done.tail = NULL;
	pthread_mutex_unlock(&worker.mtx);
	return list;
}
