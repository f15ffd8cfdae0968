/* SPDX-License-Identifier: ISC */
/*
 * postroomd: the mail server daemon.  One process, one event loop, always
 * in the foreground (systemd or a terminal runs it; there is no
 * daemonizing).
 *
 * Startup is one linear function and every failure in it is fatal: load
 * the configuration, prepare the data dir and the certificate, bind the
 * ports, give up root, open the mailstore, start the writer and auth
 * threads, and only then accept connections.  The store is opened after
 * the privilege drop so that the database files belong to the run user.
 *
 * SIGHUP reloads (server/reload.c).  SIGTERM and SIGINT stop accepting,
 * ask the protocol modules to wind their sessions down, and leave the loop
 * when the last session has closed, or after a grace period; a second
 * signal leaves at once.  The writer's queue is drained before exit, so a
 * message that was acknowledged is always on disk.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "common/auth.h"
#include "common/config.h"
#include "common/log.h"
#include "common/server.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "imap-lite/imap.h"
#include "mailstore/ms.h"
#include "mailstore/ms_imap.h"
#include "pop3/pop3.h"
#include "server/listen.h"
#include "server/privdrop.h"
#include "server/reload.h"
#include "server/sessions.h"
#include "server/setup.h"
#include "smtp/smtp.h"

#define SHUTDOWN_GRACE	30.0	/* seconds sessions get to finish */

static struct pr_server srv;
static struct listen_set *listeners;
static ev_signal sig_term, sig_int, sig_hup;
static ev_timer grace_timer;

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: postroomd [-d] [-c FILE] [--check-config]\n"
	    "\n"
	    "  -c, --config FILE   read the configuration from FILE (default: none,\n"
	    "                      built-in settings only)\n"
	    "      --check-config  check the configuration, print the effective\n"
	    "                      settings and exit (0 = valid)\n"
	    "  -d, --debug         log debug messages\n"
	    "  -h, --help          show this help\n"
	    "      --version       show the version\n"
	    "\n"
	    "postroomd stays in the foreground and logs to standard error.\n"
	    "SIGHUP reloads the configuration and certificate; SIGTERM stops.\n");
}

/*
 * --check-config: the parsed settings on stdout, problems on stderr.
 * Configured certificate files must be readable and must load, since the
 * daemon would fail on them at startup (or, worse, at a reload).
 */
static int
check_config(const struct config *cfg, bool as_root)
{
	char *err = NULL;
	int rc = 0;

	config_dump(cfg, stdout);
	fflush(stdout);
	if (setup_check_config(cfg, as_root, &err) == -1) {
		fprintf(stderr, "postroomd: %s\n", err);
		free(err);
		rc = 1;
	}
	if (as_root && cfg->run_user != NULL) {
		uid_t uid;
		gid_t gid;

		if (privdrop_lookup(cfg->run_user, &uid, &gid, &err) == -1) {
			fprintf(stderr, "postroomd: [server] user: %s\n", err);
			free(err);
			rc = 1;
		}
	}
	if (cfg->tls_cert != NULL) {
		const char *paths[2] = { cfg->tls_cert, cfg->tls_key };
		const char *tlserr = NULL;
		SSL_CTX *ctx;

		for (int i = 0; i < 2; i++) {
			if (access(paths[i], R_OK) == -1) {
				fprintf(stderr, "postroomd: [tls] %s %s: %s\n",
				    i == 0 ? "cert" : "key", paths[i], strerror(errno));
				rc = 1;
			}
		}
		if (rc == 0) {
			if ((ctx = tls_server_ctx_new(cfg->tls_cert, cfg->tls_key,
			    &tlserr)) == NULL) {
				fprintf(stderr, "postroomd: [tls] %s / %s: %s\n",
				    cfg->tls_cert, cfg->tls_key,
				    tlserr != NULL ? tlserr : "cannot load");
				rc = 1;
			} else
				SSL_CTX_free(ctx);
		}
	}
	if (rc == 0)
		fprintf(stderr, "postroomd: configuration OK\n");
	return rc;
}

static void
grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	log_warnx("%u sessions still open after %.0f s; exiting anyway",
	    srv.sessions, SHUTDOWN_GRACE);
	ev_break(loop, EVBREAK_ALL);
}

static void
stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	if (srv.shutting_down) {
		log_info("second signal: exiting without waiting for %u sessions",
		    srv.sessions);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("shutting down on %s, %u sessions open",
	    w->signum == SIGTERM ? "SIGTERM" : "SIGINT", srv.sessions);
	srv.shutting_down = true;
	listen_close(listeners);
	smtp_shutdown(&srv);
	pop3_shutdown(&srv);
	imap_shutdown(&srv);
	/* From now on server_session_closed() ends the loop at zero. */
	if (srv.sessions == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&grace_timer, grace_cb, SHUTDOWN_GRACE, 0.);
	ev_timer_start(loop, &grace_timer);
}

static void
hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	if (srv.shutting_down)
		return;
	reload_run();
}

/* Become the run user (root only) after the ports are bound. */
static void
drop_privileges(const struct config *cfg, bool as_root)
{
	struct passwd *pw;
	char *err = NULL;
	uid_t uid;
	gid_t gid;

	if (!as_root) {
		pw = getpwuid(geteuid());
		if (cfg->run_user != NULL &&
		    (pw == NULL || strcmp(pw->pw_name, cfg->run_user) != 0))
			log_warnx("not started as root: [server] user %s is ignored",
			    cfg->run_user);
		return;
	}
	if (privdrop_lookup(cfg->run_user, &uid, &gid, &err) == -1)
		fatalx("%s (create it with: useradd --system --home-dir %s "
		    "--shell /usr/sbin/nologin %s)", err, cfg->data_dir,
		    cfg->run_user);
	if (privdrop_chown_tree(cfg->data_dir, uid, gid, &err) == -1)
		fatalx("%s", err);
	if (privdrop_become(cfg->run_user, uid, gid, &err) == -1)
		fatalx("dropping privileges to %s: %s", cfg->run_user, err);
	log_info("running as user %s (uid %lu)", cfg->run_user, (unsigned long)uid);
}

/* Everything between the configuration and the first accept. */
static void
start(struct config *cfg, bool as_root, bool force_debug)
{
	char *err = NULL, *db_path, *spool_dir, *desc;
	struct ev_loop *loop;

	if (setup_check_config(cfg, as_root, &err) == -1)
		fatalx("%s", err);
	umask(027);
	setup_data_dir(cfg);
	if ((srv.tls_ctx = setup_tls(cfg, &err)) == NULL)
		fatalx("%s", err);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise the event loop");
	if ((listeners = listen_bind(cfg, &err)) == NULL)
		fatalx("listen on %s", err);

	drop_privileges(cfg, as_root);

	db_path = xasprintf("%s/mail.db", cfg->data_dir);
	spool_dir = xasprintf("%s/spool", cfg->data_dir);
	if (ms_open(db_path, &srv.ms, &err) != MS_OK)
		fatalx("mailstore %s: %s", db_path, err != NULL ? err : "cannot open");
	setup_first_start(srv.ms, cfg->data_dir);
	/* No session holds a view yet, so no tombstone serves anyone. */
	(void)ms_tombstones_prune_all_sync(srv.ms);
	if (ms_start_writer(srv.ms, loop, spool_dir) == -1)
		fatalx("cannot start the mailstore writer");
	if (auth_init(loop, db_path) == -1)
		fatalx("cannot start authentication");
	free(db_path);
	free(spool_dir);

	srv.loop = loop;
	srv.cfg = cfg;
	imap_init(&srv);
	sessions_init();
	reload_init(&srv, listeners, as_root, force_debug);

	ev_signal_init(&sig_term, stop_cb, SIGTERM);
	ev_signal_init(&sig_int, stop_cb, SIGINT);
	ev_signal_init(&sig_hup, hup_cb, SIGHUP);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);

	listen_start(listeners, &srv);
	desc = listen_describe(listeners);
	log_info("listening %s", desc);
	free(desc);
}

/* After the loop: stop the threads, flush the writer, free. */
static void
finish(void)
{
	auth_shutdown();
	ms_drain(srv.ms);
	ms_close(&srv.ms);
	listen_free(&listeners);
	reload_fini();
	config_free(&srv.cfg);
	SSL_CTX_free(srv.tls_ctx);
	srv.tls_ctx = NULL;
	sessions_fini();
	log_info("stopped");
}

int
main(int argc, char *argv[])
{
	enum { OPT_CHECK = 256, OPT_VERSION };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false, debug = false, as_root = geteuid() == 0;
	struct config *cfg;
	char *err = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_VERSION:
			printf("postroomd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "postroomd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	cfg = path != NULL ? config_load(path, as_root, &err) :
	    config_new_default(as_root);
	if (cfg == NULL) {
		fprintf(stderr, "postroomd: %s\n", err);
		free(err);
		return 1;
	}
	if (check) {
		int rc = check_config(cfg, as_root);

		config_free(&cfg);
		return rc;
	}

	log_init("postroomd", debug || cfg->debug);
	/* Writes to a peer that went away must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	log_info("starting postroom %s%s%s", PACKAGE_VERSION,
	    path != NULL ? " with " : " with built-in settings",
	    path != NULL ? path : "");
	start(cfg, as_root, debug);
	ev_run(srv.loop, 0);
	finish();
	return 0;
}
