/* SPDX-License-Identifier: ISC */
/* SMTP server entry points, called by the daemon (see common/server.h). */
#ifndef POSTROOM_SMTP_H
#define POSTROOM_SMTP_H

#include "common/config.h"
#include "common/server.h"

/* Take an accepted socket on an SMTP, submission or submissions listener. */
void smtp_accept(struct pr_server *srv, int fd, enum listener_role role);
/* SIGTERM: stop sessions as described in common/server.h. */
void smtp_shutdown(struct pr_server *srv);

#endif
