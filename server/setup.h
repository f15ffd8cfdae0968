/* SPDX-License-Identifier: ISC */
/*
 * Startup steps of postroomd that SIGHUP reload and --check-config share
 * with the start itself: the checks a configuration must pass before the
 * daemon uses it, the data dir, the TLS context, and the first-start
 * example account that makes the quick start work.
 */
#ifndef POSTROOM_SETUP_H
#define POSTROOM_SETUP_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "common/config.h"

struct ms_store;

/* What the parser cannot know: listeners without a protocol module (IMAP
 * comes later), no listener at all, staying root.  0, or -1 with *err_r
 * (malloc'ed). */
int setup_check_config(const struct config *cfg, bool as_root, char **err_r);

/* Create data_dir (0750, parents as needed), data_dir/spool and
 * data_dir/tls.  Fatal on failure. */
void setup_data_dir(const struct config *cfg);

/*
 * The server TLS context.  Without [tls] cert/key, a self-signed pair is
 * made under data_dir/tls when missing (logged); configured files are
 * never created.  NULL with *err_r (malloc'ed) on failure.
 */
SSL_CTX *setup_tls(const struct config *cfg, char **err_r);

/*
 * On a store with no domain at all, create example.org and
 * user@example.org with a random password, which is logged once and
 * written to data_dir/initial-password (0600).  Fatal on failure.
 */
void setup_first_start(struct ms_store *ms, const char *data_dir);

#endif
