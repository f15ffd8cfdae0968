/* SPDX-License-Identifier: ISC */
/*
 * The event-loop half of authentication: sessions, the throttle, and the
 * callbacks to the protocol modules.
 *
 * A step is a job for the worker thread (auth_sasl.c); its result comes
 * back through an ev_async and is handed to the session's callback here, on
 * the loop.  A failure is first recorded in the throttle and then held in an
 * ev_timer for the throttle's delay, so the client hears "no" (and may try
 * again) only after the delay, while the loop itself never waits.
 *
 * A session freed with a step in flight only unhooks itself from the job:
 * when the result arrives nobody is called, and the worker is asked to
 * dispose of the session's SASL state.
 */
#include "autoconfig.h"

#include <sys/random.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>

#include "common/auth.h"
#include "common/auth_internal.h"
#include "common/auth_throttle.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct auth_session {
	struct auth_wsess	*ws;		/* the worker's half */
	struct auth_job		*job;		/* step in flight, or NULL */
	char			*service;
	char			*ip;
	char			*user;		/* after AUTH_OK */
	ms_id			 user_id;
	auth_done_fn		*cb;
	void			*cb_arg;
	ev_timer		 hold;		/* holds a failure reply */
	bool			 holding;
};

static struct {
	struct ev_loop		*loop;
	ev_async		 wake;
	struct auth_throttle	*throttle;
	double			 scale;		/* of throttle delays; 1 but in tests */
	unsigned		 pending;	/* steps whose result is not back */
	bool			 running;
} auth = {
	.scale = 1.0,
};

/* Copy text from a client for a log line: printable ASCII only. */
static const char *
log_safe(char *buf, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i < size - 1; i++)
		buf[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void
post(struct auth_session *as, enum auth_job_kind kind)
{
	struct auth_job *job = xcalloc(1, sizeof(*job));

	job->kind = kind;
	job->ws = as->ws;
	auth_worker_post(job);
}

/* ---------------------------------------------------------- results */

static void
hold_done(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct auth_session *as = t->data;

	as->holding = false;
	as->cb(as->cb_arg, AUTH_FAILED, NULL, 0);
}

static void
hold_failure(struct auth_session *as, unsigned delay)
{
	ev_timer_init(&as->hold, hold_done, delay * auth.scale, 0.);
	as->hold.data = as;
	ev_timer_start(auth.loop, &as->hold);
	as->holding = true;
}

static void
record_failure(struct auth_session *as, const char *user)
{
	double now = ev_now(auth.loop);
	char ubuf[256];
	bool was_blocked = auth_throttle_ip_blocked(auth.throttle, as->ip, now);
	unsigned delay;

	if (user == NULL)
		user = "";
	delay = auth_throttle_failure(auth.throttle, user, as->ip, now);
	log_info("auth event=failure service=%s user=%s ip=%s delay=%u",
	    as->service, log_safe(ubuf, sizeof(ubuf), user), as->ip, delay);
	if (!was_blocked && auth_throttle_ip_blocked(auth.throttle, as->ip, now))
		log_warnx("auth event=ip-blocked ip=%s minutes=%d", as->ip,
		    AUTH_THROTTLE_IP_BLOCK / 60);
	hold_failure(as, delay);
}

/*
 * A step's result is back.  The job is unhooked before the callback runs,
 * because the callback may start the next step or free the session.
 */
static void
deliver(struct auth_job *job)
{
	struct auth_session *as = job->as;
	char ubuf[256];

	if (as == NULL) {
		/* The session is gone: recycle the job to dispose of its
		 * SASL state on the worker. */
		struct auth_wsess *ws = job->ws;

		auth_job_free(&job);
		job = xcalloc(1, sizeof(*job));
		job->kind = AUTH_JOB_DISPOSE;
		job->ws = ws;
		auth_worker_post(job);
		return;
	}
	as->job = NULL;
	switch (job->res) {
	case AUTH_OK:
		as->user = job->user;
		job->user = NULL;
		as->user_id = job->user_id;
		auth_throttle_success(auth.throttle, as->user, as->ip,
		    ev_now(auth.loop));
		log_info("auth event=success service=%s user=%s ip=%s",
		    as->service, log_safe(ubuf, sizeof(ubuf), as->user), as->ip);
		as->cb(as->cb_arg, AUTH_OK, NULL, 0);
		break;
	case AUTH_FAILED:
		record_failure(as, job->user);
		break;
	default:
		as->cb(as->cb_arg, job->res, job->out, job->outlen);
		break;
	}
	auth_job_free(&job);
}

static void
wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct auth_job *job, *next;

	for (job = auth_worker_take_done(); job != NULL; job = next) {
		next = job->next;
		job->next = NULL;
		/* The watcher keeps the loop alive only while results are due. */
		if (--auth.pending == 0)
			ev_unref(loop);
		deliver(job);
	}
}

static void
notify_loop(void *arg)
{
	ev_async_send(auth.loop, &auth.wake);
}

/* -------------------------------------------------------------- setup */

int
auth_init(struct ev_loop *loop, const char *db_path)
{
	unsigned char key[16];

	assert(!auth.running);
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		log_warn("auth: getrandom");
		return -1;
	}
	auth.loop = loop;
	ev_async_init(&auth.wake, wake_cb);
	ev_async_start(loop, &auth.wake);
	ev_unref(loop);
	if (auth_worker_start(db_path, notify_loop, NULL) == -1) {
		ev_ref(loop);
		ev_async_stop(loop, &auth.wake);
		return -1;
	}
	auth.throttle = auth_throttle_new(AUTH_THROTTLE_DEFAULT_ENTRIES, key);
	explicit_bzero(key, sizeof(key));
	auth.pending = 0;
	auth.running = true;
	return 0;
}

void
auth_shutdown(void)
{
	if (!auth.running)
		return;
	auth_worker_stop();
	if (auth.pending == 0)
		ev_ref(auth.loop);
	ev_async_stop(auth.loop, &auth.wake);
	auth.pending = 0;
	auth_throttle_free(&auth.throttle);
	auth.running = false;
}

void
auth_set_throttle_scale(double scale)
{
	auth.scale = scale;
}

/* ----------------------------------------------------------- sessions */

struct auth_session *
auth_session_new(const char *service, const char *ip)
{
	struct auth_session *as = xcalloc(1, sizeof(*as));

	as->service = xstrdup(service);
	as->ip = xstrdup(ip);
	as->ws = auth_wsess_new(service, ip);
	return as;
}

void
auth_session_free(struct auth_session **asp)
{
	struct auth_session *as = *asp;

	if (as == NULL)
		return;
	if (as->holding)
		ev_timer_stop(auth.loop, &as->hold);
	if (!auth.running)
		auth_wsess_discard(&as->ws);
	else if (as->job != NULL)
		as->job->as = NULL;	/* deliver() disposes of as->ws */
	else
		post(as, AUTH_JOB_DISPOSE);
	free(as->service);
	free(as->ip);
	free(as->user);
	free(as);
	*asp = NULL;
}

const char *
auth_session_user(const struct auth_session *as)
{
	return as->user;
}

ms_id
auth_session_user_id(const struct auth_session *as)
{
	return as->user_id;
}

const char *
auth_mechanisms(bool tls, bool allow_plaintext)
{
	return tls || allow_plaintext ? "PLAIN LOGIN" : "";
}

bool
auth_mechanism_allowed(const char *mech, bool tls, bool allow_plaintext)
{
	return (tls || allow_plaintext) &&
	    (strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0);
}

bool
auth_ip_blocked(const char *ip)
{
	if (!auth.running)
		return false;
	return auth_throttle_ip_blocked(auth.throttle, ip, ev_now(auth.loop));
}

/* ------------------------------------------------------------ exchange */

void
auth_step(struct auth_session *as, const char *mech, const unsigned char *in,
    size_t inlen, bool has_initial, auth_done_fn *cb, void *arg)
{
	struct auth_job *job;

	assert(auth.running);
	assert(as->job == NULL && !as->holding);
	as->cb = cb;
	as->cb_arg = arg;

	if (mech != NULL) {
		XFREE(as->user);
		as->user_id = 0;
		/* A blocked address gets no password check at all, just a
		 * slow "no" (not counted as a new failure). */
		if (auth_ip_blocked(as->ip)) {
			log_info("auth event=refused service=%s ip=%s "
			    "reason=ip-blocked", as->service, as->ip);
			hold_failure(as, AUTH_THROTTLE_MAX_DELAY);
			return;
		}
	}

	job = xcalloc(1, sizeof(*job));
	job->kind = AUTH_JOB_STEP;
	job->ws = as->ws;
	job->as = as;
	job->mech = mech != NULL ? xstrdup(mech) : NULL;
	job->has_initial = mech == NULL || has_initial;
	job->in = xmalloc(inlen + 1);
	if (inlen > 0)
		memcpy(job->in, in, inlen);
	job->inlen = inlen;
	as->job = job;
	if (auth.pending++ == 0)
		ev_ref(auth.loop);
	auth_worker_post(job);
}

void
auth_check_plain(struct auth_session *as, const char *user,
    const char *password, auth_done_fn *cb, void *arg)
{
	size_t ulen = strlen(user), plen = strlen(password);
	size_t len = 1 + ulen + 1 + plen;
	unsigned char *msg = xmalloc(len);

	/* PLAIN's message: empty authzid NUL authcid NUL password. */
	msg[0] = '\0';
	memcpy(msg + 1, user, ulen);
	msg[1 + ulen] = '\0';
	memcpy(msg + 2 + ulen, password, plen);
	auth_step(as, "PLAIN", msg, len, true, cb, arg);
	explicit_bzero(msg, len);
	free(msg);
}

void
auth_abort(struct auth_session *as)
{
	/* Queued behind any step in flight, whose result still arrives:
	 * dropping a held failure would let the client skip the delay. */
	if (auth.running)
		post(as, AUTH_JOB_RESET);
}
