/* SPDX-License-Identifier: ISC */
/*
 * What every protocol module gets from the daemon: the loop, the current
 * configuration and TLS context (both replaced on SIGHUP; sessions that
 * started earlier keep theirs), the mailstore, and the connection counters.
 *
 * Each protocol module exports two functions, called by server/:
 *
 *   void smtp_accept(struct pr_server *srv, int fd, enum listener_role role);
 *   void smtp_shutdown(struct pr_server *srv);
 *
 * accept takes ownership of fd (an accepted, connected socket); shutdown
 * is called on SIGTERM: close idle sessions (with the protocol's "closing"
 * reply), let busy ones finish their current command, then close them.
 * When a session ends the module calls server_session_closed().
 */
#ifndef POSTROOM_SERVER_H
#define POSTROOM_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "common/config.h"

struct ev_loop;
struct ms_store;
struct conn;

struct pr_server {
	struct ev_loop	*loop;
	struct config	*cfg;		/* current; replaced on SIGHUP */
	SSL_CTX		*tls_ctx;	/* current; replaced on SIGHUP */
	struct ms_store	*ms;		/* the loop's store */
	bool		 shutting_down;
	unsigned	 sessions;	/* open sessions, all protocols */
};

/* A fresh session id: 64 bits, logged as 16 hex digits. */
uint64_t server_session_id(void);

/* Must be called exactly once per accepted connection when its session
 * ends (it releases the per-IP and total connection counts). */
void server_session_closed(struct pr_server *srv, const char *ip);

#endif
