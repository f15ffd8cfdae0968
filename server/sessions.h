/* SPDX-License-Identifier: ISC */
/*
 * Connection accounting: the total and per-IP session counts behind
 * [limits] max_connections and max_connections_per_ip, and the session id
 * counter.  server_session_id() and server_session_closed() (declared in
 * common/server.h for the protocol modules) live here too.
 *
 * Loop thread only, except server_session_id(), which any thread may call.
 */
#ifndef POSTROOM_SESSIONS_H
#define POSTROOM_SESSIONS_H

#include "common/server.h"

enum sessions_verdict {
	SESSIONS_ADMIT,		/* counted: hand the socket to its module */
	SESSIONS_FULL,		/* max_connections reached */
	SESSIONS_IP_FULL,	/* max_connections_per_ip reached for this IP */
	SESSIONS_IP_BLOCKED,	/* too many failed logins from this IP */
};

/* Once, before the first accept: random id start, empty table. */
void sessions_init(void);
void sessions_fini(void);

/* Decide about a new connection from ip (numeric text).  On
 * SESSIONS_ADMIT the connection is counted, and server_session_closed()
 * must be called for it exactly once. */
enum sessions_verdict sessions_admit(struct pr_server *srv, const char *ip);

#endif
