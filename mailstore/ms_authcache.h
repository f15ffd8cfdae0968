/* SPDX-License-Identifier: ISC */
/*
 * A cache of recent successful password checks, so a mail client that
 * opens five connections (and reconnects every few minutes) pays for one
 * yescrypt run instead of one per connection.
 *
 * An entry holds the user id, a digest of the stored hash (a password
 * change in the CLI changes the hash, so the entry stops matching at once)
 * and an HMAC of the password under a random per-process key; never the
 * password.  Only successes are cached: a wrong guess always costs a full
 * hash.  Thread-safe (one mutex); bounded (fixed table, oldest replaced).
 */
#ifndef POSTROOM_MS_AUTHCACHE_H
#define POSTROOM_MS_AUTHCACHE_H

#include <stdbool.h>

#include "mailstore/ms.h"

#define MS_AUTHCACHE_TTL	3600	/* seconds an entry is trusted */

/* Was this password verified against this stored hash recently? */
bool ms_authcache_check(ms_id user_id, const char *stored_hash,
    const char *password);
/* Remember a successful verification. */
void ms_authcache_add(ms_id user_id, const char *stored_hash,
    const char *password);
/* Forget everything (tests). */
void ms_authcache_clear(void);

#endif
