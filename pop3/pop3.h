/* SPDX-License-Identifier: ISC */
/* POP3 server entry points, called by the daemon (see common/server.h). */
#ifndef POSTROOM_POP3_H
#define POSTROOM_POP3_H

#include "common/config.h"
#include "common/server.h"

/* Take an accepted socket on a pop3 or pop3s listener. */
void pop3_accept(struct pr_server *srv, int fd, enum listener_role role);
/* SIGTERM: stop sessions as described in common/server.h. */
void pop3_shutdown(struct pr_server *srv);

#endif
