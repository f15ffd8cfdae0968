/* SPDX-License-Identifier: ISC */
/*
 * Login throttling bookkeeping, kept apart from the SASL machinery so it can
 * be tested with a fake clock: every function takes the current time in
 * seconds and nothing here reads a clock, sleeps or logs.
 *
 * Two kinds of records share one bounded table:
 *   - per (user, IP): consecutive failures.  The reply to the n-th failure
 *     is held back min(2^(n-1), 30) seconds.  A success removes the record;
 *     15 minutes without a failure forget it.
 *   - per IP: failures over the last 10 minutes and the time of the last
 *     success.  More than 100 failures in that window, with no success from
 *     the IP in the last 24 hours, block the IP for 15 minutes.
 * The user part of the key is compared case-insensitively (ASCII), so
 * "Alice" and "alice" share one counter.
 *
 * The table never grows beyond max_entries: when full, the record touched
 * least recently is dropped.  Buckets are chosen with a keyed hash so that
 * a peer cannot aim many keys at one chain.
 */
#ifndef POSTROOM_AUTH_THROTTLE_H
#define POSTROOM_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_THROTTLE_MAX_DELAY		30		/* seconds */
#define AUTH_THROTTLE_FORGET		(15 * 60)	/* per-user record life */
#define AUTH_THROTTLE_IP_WINDOW		(10 * 60)	/* failure counting window */
#define AUTH_THROTTLE_IP_MAX_FAILS	100		/* more than this blocks */
#define AUTH_THROTTLE_IP_BLOCK		(15 * 60)	/* block length */
#define AUTH_THROTTLE_IP_TRUST		(24 * 60 * 60)	/* success shields an IP */
#define AUTH_THROTTLE_DEFAULT_ENTRIES	65536

struct auth_throttle;

/* max_entries >= 2.  key is 16 bytes of secret randomness for the hash. */
struct auth_throttle *auth_throttle_new(size_t max_entries,
    const unsigned char key[16]);
void auth_throttle_free(struct auth_throttle **tp);

/*
 * Record a failed login of user from ip at time now.  Returns how many
 * seconds the failure reply must be held back (1 .. AUTH_THROTTLE_MAX_DELAY).
 * user may be "" when the exchange failed before a name was known.
 */
unsigned auth_throttle_failure(struct auth_throttle *t, const char *user,
    const char *ip, double now);

/* Record a successful login: clears the (user, ip) record and shields the
 * IP from blocking for AUTH_THROTTLE_IP_TRUST seconds. */
void auth_throttle_success(struct auth_throttle *t, const char *user,
    const char *ip, double now);

/* Is ip blocked at time now?  Does not change the table. */
bool auth_throttle_ip_blocked(const struct auth_throttle *t, const char *ip,
    double now);

/* Number of records held (for tests and statistics). */
size_t auth_throttle_entries(const struct auth_throttle *t);

#endif
