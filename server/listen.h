/* SPDX-License-Identifier: ISC */
/*
 * Listening sockets: bound once at startup (as root, before the privilege
 * drop), then watched on the event loop.  Each accepted connection is
 * checked against the connection limits (server/sessions.h) and either
 * refused with a short protocol-appropriate reply or handed to
 * smtp_accept() / pop3_accept() by the listener's role.
 *
 * A SIGHUP reload does not re-bind: listen_same() tells the caller whether
 * the new configuration asks for something else, so it can say so.
 */
#ifndef POSTROOM_LISTEN_H
#define POSTROOM_LISTEN_H

#include <stdbool.h>

#include "common/config.h"
#include "common/server.h"

struct listen_set;

/*
 * Bind and listen on every address of cfg (SO_REUSEADDR, IPV6_V6ONLY for
 * IPv6, backlog 1024, non-blocking, close-on-exec).  Returns the set, or
 * NULL with "127.0.0.1:25: Address already in use" in *err_r (malloc'ed).
 */
struct listen_set *listen_bind(const struct config *cfg, char **err_r);

/* "smtp=127.0.0.1:2525,[::1]:2525 pop3=..." with the ports actually bound
 * (port 0 in the config becomes the one the kernel picked).  Malloc'ed. */
char *listen_describe(const struct listen_set *ls);

/* Start accepting on srv->loop. */
void listen_start(struct listen_set *ls, struct pr_server *srv);
/* Stop accepting and close the sockets (shutdown); idempotent. */
void listen_close(struct listen_set *ls);
void listen_free(struct listen_set **lsp);

/* Does cfg list exactly the addresses this set was bound from? */
bool listen_same(const struct listen_set *ls, const struct config *cfg);

#endif
