/* SPDX-License-Identifier: ISC */
/*
 * Between the two halves of the auth module: auth.c runs on the event loop
 * (sessions, throttling, callbacks) and auth_sasl.c runs the worker thread
 * that makes every SASL call and every password check.  They talk only
 * through jobs on two queues guarded by one mutex, so no other state is
 * shared between the threads.
 */
#ifndef POSTROOM_AUTH_INTERNAL_H
#define POSTROOM_AUTH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/auth.h"

/* The worker's half of a session (the sasl_conn and what our password
 * callback saw).  Created on the loop, then touched only by the worker. */
struct auth_wsess;

enum auth_job_kind {
	AUTH_JOB_STEP,		/* one SASL step; comes back on the done queue */
	AUTH_JOB_RESET,		/* forget the current exchange */
	AUTH_JOB_DISPOSE,	/* free the worker's half of a session */
};

struct auth_job {
	struct auth_job		*next;
	enum auth_job_kind	 kind;
	struct auth_wsess	*ws;
	struct auth_session	*as;		/* loop only: NULL once freed */

	/* request (AUTH_JOB_STEP) */
	char			*mech;		/* NULL: continue the exchange */
	unsigned char		*in;		/* never NULL; zeroed when freed */
	size_t			 inlen;
	bool			 has_initial;

	/* reply */
	enum auth_result	 res;
	unsigned char		*out;		/* AUTH_CONTINUE challenge */
	size_t			 outlen;
	char			*user;		/* OK: the address; FAILED: the
						 * name tried, or NULL */
	ms_id			 user_id;
};

struct auth_wsess *auth_wsess_new(const char *service, const char *ip);
/* Free the struct without SASL calls (the library was shut down). */
void auth_wsess_discard(struct auth_wsess **wsp);
void auth_job_free(struct auth_job **jobp);

/*
 * Start the worker: SASL initialisation and its own store opened from
 * db_path.  notify(arg) is called from the worker thread whenever a step
 * has finished.  Returns 0 or -1 (logged) once the worker is ready.
 */
int auth_worker_start(const char *db_path, void (*notify)(void *), void *arg);
/* Finish queued jobs, shut SASL down and join the thread. */
void auth_worker_stop(void);
void auth_worker_post(struct auth_job *job);
/* Every finished step, oldest first (a list linked by next), or NULL. */
struct auth_job *auth_worker_take_done(void);

#endif
