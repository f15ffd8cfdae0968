/* SPDX-License-Identifier: ISC */
/*
 * SIGHUP: read the configuration again and build a new TLS context.  New
 * sessions get the new ones; sessions that started earlier hold pointers to
 * the old ones, so those are retired, not freed, until the daemon exits.
 * A reload that fails anywhere changes nothing.
 */
#ifndef POSTROOM_RELOAD_H
#define POSTROOM_RELOAD_H

#include <stdbool.h>

#include "common/server.h"

struct listen_set;

/* as_root: how the daemon started (it picks the defaults); force_debug:
 * -d was given, which a reload must not turn off. */
void reload_init(struct pr_server *srv, const struct listen_set *ls,
    bool as_root, bool force_debug);
void reload_run(void);
/* Free the retired configurations and contexts. */
void reload_fini(void);

#endif
