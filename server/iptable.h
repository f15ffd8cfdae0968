/* SPDX-License-Identifier: ISC */
/*
 * iptable: a counter per client IP address, for the per-IP connection
 * limit.  Keys are the 16-byte IPv6 form (IPv4 as ::ffff:a.b.c.d), so
 * "192.0.2.1" and "::ffff:192.0.2.1" count as one client.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so a busy server never degrades).  The hash is keyed with a
 * random seed: clients choose their IPv6 addresses, and must not be able
 * to pile them into one probe chain.  The table holds at most as many
 * entries as there are open connections.
 *
 * Pure: no I/O, no logging, no globals.  Not thread-safe (the event loop
 * owns it).
 */
#ifndef POSTROOM_IPTABLE_H
#define POSTROOM_IPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define IPTABLE_KEY_LEN	16

struct iptable;

struct iptable *iptable_new(uint64_t seed);
void iptable_free(struct iptable **tp);

/* "192.0.2.1" or "2001:db8::1" to a key; 0, or -1 if not an address. */
int iptable_key_from_text(const char *ip, uint8_t key[IPTABLE_KEY_LEN]);

/* The count for key, 0 when absent. */
unsigned iptable_get(const struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN]);
/* Add one; returns the new count. */
unsigned iptable_incr(struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN]);
/* Take one away (the entry goes at zero); returns 0, or -1 if the key was
 * not there (a caller bug the caller may want to log). */
int iptable_decr(struct iptable *t, const uint8_t key[IPTABLE_KEY_LEN]);
/* Number of keys with a non-zero count. */
size_t iptable_entries(const struct iptable *t);

#endif
