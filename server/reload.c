/* SPDX-License-Identifier: ISC */
/*
 * Configuration reload (see reload.h).  Settings that were applied once at
 * startup (listeners, data dir, run user) cannot change in a running
 * process; the new configuration keeps the running values for those, and
 * the log says a restart is needed.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/listen.h"
#include "server/reload.h"
#include "server/setup.h"

static struct pr_server *reload_srv;
static const struct listen_set *reload_ls;
static bool reload_as_root;
static bool reload_force_debug;

/* Configurations and contexts replaced by reloads, freed at exit. */
static struct config **retired_cfg;
static SSL_CTX **retired_ctx;
static size_t n_retired;

void
reload_init(struct pr_server *srv, const struct listen_set *ls, bool as_root,
    bool force_debug)
{
	reload_srv = srv;
	reload_ls = ls;
	reload_as_root = as_root;
	reload_force_debug = force_debug;
}

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Put back what only a restart can change, warning if it was changed. */
static void
keep_startup_settings(struct config *new, const struct config *old)
{
	if (!listen_same(reload_ls, new))
		log_warnx("reload: [listen] changes take effect after a restart");
	for (size_t i = 0; i < new->n_listeners; i++)
		free(new->listeners[i].host);
	free(new->listeners);
	new->listeners = xreallocarray(NULL, old->n_listeners,
	    sizeof(*old->listeners));
	for (size_t i = 0; i < old->n_listeners; i++) {
		new->listeners[i] = old->listeners[i];
		new->listeners[i].host = xstrdup(old->listeners[i].host);
	}
	new->n_listeners = old->n_listeners;

	if (str_differs(new->data_dir, old->data_dir) ||
	    str_differs(new->run_user, old->run_user))
		log_warnx("reload: [server] data_dir and user changes take effect "
		    "after a restart");
	free(new->data_dir);
	new->data_dir = xstrdup(old->data_dir);
	free(new->run_user);
	new->run_user = old->run_user != NULL ? xstrdup(old->run_user) : NULL;
}

void
reload_run(void)
{
	struct pr_server *srv = reload_srv;
	struct config *cfg;
	SSL_CTX *ctx;
	char *err = NULL;

	if (srv->cfg->path != NULL)
		cfg = config_load(srv->cfg->path, reload_as_root, &err);
	else
		cfg = config_new_default(reload_as_root);
	if (cfg == NULL) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		free(err);
		return;
	}
	keep_startup_settings(cfg, srv->cfg);
	if (setup_check_config(cfg, reload_as_root, &err) == -1) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		free(err);
		config_free(&cfg);
		return;
	}
	if ((ctx = setup_tls(cfg, &err)) == NULL) {
		/* Started as root, we read the files as the run user now; a
		 * key only root can read loads at startup but not here. */
		log_warnx("reload failed, keeping the running configuration: %s%s%s%s",
		    err, reload_as_root ? " (certificates are read as user " : "",
		    reload_as_root ? cfg->run_user : "", reload_as_root ? " on reload)" : "");
		free(err);
		config_free(&cfg);
		return;
	}

	retired_cfg = xreallocarray(retired_cfg, n_retired + 1, sizeof(*retired_cfg));
	retired_ctx = xreallocarray(retired_ctx, n_retired + 1, sizeof(*retired_ctx));
	retired_cfg[n_retired] = srv->cfg;
	retired_ctx[n_retired] = srv->tls_ctx;
	n_retired++;
	srv->cfg = cfg;
	srv->tls_ctx = ctx;
	log_set_debug(reload_force_debug || cfg->debug);
	log_info("reloaded %s", cfg->path != NULL ? cfg->path :
	    "the built-in configuration");
}

void
reload_fini(void)
{
	for (size_t i = 0; i < n_retired; i++) {
		config_free(&retired_cfg[i]);
		SSL_CTX_free(retired_ctx[i]);
	}
	free(retired_cfg);
	free(retired_ctx);
	retired_cfg = NULL;
	retired_ctx = NULL;
	n_retired = 0;
}
