/* SPDX-License-Identifier: ISC */
/* IMAP server entry points, called by the daemon (see common/server.h). */
#ifndef POSTROOM_IMAP_H
#define POSTROOM_IMAP_H

#include <stddef.h>

#include "common/config.h"
#include "common/server.h"

/* Once at startup, after the mailstore is open: registers the mailstore
 * change hook that wakes IDLE sessions.  imap_accept() does it too if it
 * was not done, so calling it is optional. */
void imap_init(struct pr_server *srv);
/* Take an accepted socket on an imap or imaps listener. */
void imap_accept(struct pr_server *srv, int fd, enum listener_role role);
/* SIGTERM: stop sessions as described in common/server.h. */
void imap_shutdown(struct pr_server *srv);
/* Approximate heap bytes held by all IMAP sessions (session, conn, view,
 * command and stream buffers), for tests and the idle-memory benchmark. */
size_t imap_sessions_memory(void);

#endif
