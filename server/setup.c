/* SPDX-License-Identifier: ISC */
/*
 * Shared startup steps (see setup.h).  Everything here runs before the
 * event loop does any work, or on SIGHUP, so plain blocking calls are fine.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "mailstore/ms.h"
#include "server/setup.h"

#define EXAMPLE_DOMAIN		"example.org"
#define EXAMPLE_USER		"user@" EXAMPLE_DOMAIN
#define INITIAL_PASSWORD_LEN	16

int
setup_check_config(const struct config *cfg, bool as_root, char **err_r)
{
	if (cfg->n_listeners == 0) {
		*err_r = xstrdup("[listen]: every listener is disabled");
		return -1;
	}
	if (as_root && cfg->run_user == NULL) {
		*err_r = xstrdup("[server] user is empty: refusing to keep running "
		    "as root after binding the ports");
		return -1;
	}
	if (as_root && strcmp(cfg->run_user, "root") == 0) {
		*err_r = xstrdup("[server] user must not be root");
		return -1;
	}
	return 0;
}

/* mkdir that accepts an existing directory (but nothing else). */
static void
make_dir(const char *path, mode_t mode)
{
	struct stat sb;

	if (mkdir(path, mode) == 0)
		return;
	if (errno != EEXIST)
		fatal("mkdir %s", path);
	if (stat(path, &sb) == -1)
		fatal("%s", path);
	if (!S_ISDIR(sb.st_mode))
		fatalx("%s exists and is not a directory", path);
}

void
setup_data_dir(const struct config *cfg)
{
	char *path = xstrdup(cfg->data_dir), *sub;

	/* Parents first, with the usual 0755: "/srv/mail/postroom" should
	 * not need three mkdirs by hand. */
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		make_dir(path, 0755);
		*p = '/';
	}
	make_dir(path, 0750);
	sub = xasprintf("%s/spool", cfg->data_dir);
	make_dir(sub, 0750);
	free(sub);
	sub = xasprintf("%s/tls", cfg->data_dir);
	make_dir(sub, 0750);
	free(sub);
	free(path);
}

SSL_CTX *
setup_tls(const struct config *cfg, char **err_r)
{
	char *cert = config_tls_cert_path(cfg), *key = config_tls_key_path(cfg);
	const char *err = NULL;
	SSL_CTX *ctx = NULL;

	if (cfg->tls_cert == NULL) {
		switch (tls_ensure_selfsigned(cert, key, cfg->hostname, &err)) {
		case 1:
			log_info("created a self-signed certificate for %s in %s "
			    "(set [tls] cert and key for a real one)",
			    cfg->hostname, cert);
			break;
		case 0:
			break;
		default:
			*err_r = xasprintf("self-signed certificate %s: %s", cert,
			    err != NULL ? err : "failed");
			goto out;
		}
	}
	if ((ctx = tls_server_ctx_new(cert, key, &err)) == NULL)
		*err_r = xasprintf("TLS certificate %s / key %s: %s", cert, key,
		    err != NULL ? err : "failed");
out:
	free(cert);
	free(key);
	return ctx;
}

static void
count_domain(void *arg, const char *name)
{
	(*(size_t *)arg)++;
}

/* A password without look-alike characters (0/O, 1/l/I), because people
 * copy it from a log by hand; 16 of 55 symbols is over 90 bits. */
static void
random_password(char out[INITIAL_PASSWORD_LEN + 1])
{
	static const char alphabet[] =
	    "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const size_t n = sizeof(alphabet) - 1;
	size_t len = 0;

	while (len < INITIAL_PASSWORD_LEN) {
		unsigned char buf[32];

		if (getrandom(buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			fatal("getrandom");
		/* Reject the top of the byte range so every symbol is equally
		 * likely. */
		for (size_t i = 0; i < sizeof(buf) && len < INITIAL_PASSWORD_LEN; i++)
			if (buf[i] < 256 - 256 % n)
				out[len++] = alphabet[buf[i] % n];
	}
	out[len] = '\0';
}

void
setup_first_start(struct ms_store *ms, const char *data_dir)
{
	char password[INITIAL_PASSWORD_LEN + 1], *path, *line;
	size_t domains = 0;
	ssize_t len;
	int fd, rc;

	if ((rc = ms_domain_list(ms, count_domain, &domains)) != MS_OK)
		fatalx("listing domains: %s", ms_strstatus(rc));
	if (domains > 0)
		return;

	random_password(password);
	if ((rc = ms_domain_add(ms, EXAMPLE_DOMAIN)) != MS_OK)
		fatalx("creating domain %s: %s", EXAMPLE_DOMAIN, ms_strstatus(rc));
	if ((rc = ms_user_add(ms, EXAMPLE_USER, password)) != MS_OK)
		fatalx("creating user %s: %s", EXAMPLE_USER, ms_strstatus(rc));

	path = xasprintf("%s/initial-password", data_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1)
		fatal("%s", path);
	line = xasprintf("%s\n", password);
	len = write(fd, line, strlen(line));
	if (len != (ssize_t)strlen(line) || fsync(fd) == -1 || close(fd) == -1)
		fatal("writing %s", path);
	log_info("first start: created domain %s and user %s with password %s "
	    "(also in %s; change it with: postroom user passwd %s)",
	    EXAMPLE_DOMAIN, EXAMPLE_USER, password, path, EXAMPLE_USER);
	explicit_bzero(password, sizeof(password));
	explicit_bzero(line, strlen(line));
	free(line);
	free(path);
}
