/* SPDX-License-Identifier: ISC */
/*
 * Address syntax for the mailstore: the one place that decides what a
 * user, alias or domain name may look like and how it is folded to lower
 * case before it reaches the database.  Pure functions (no I/O, no state)
 * so they are tested with tables of inputs.
 *
 * Accepted: a dot-atom local part (RFC 5322 atext, plus UTF-8 bytes), at
 * most 64 bytes; a domain of dot-separated labels of letters, digits, '-'
 * and '_' (or UTF-8 bytes), at most 253 bytes; at most 254 in total.
 * Quoted local parts and address literals are refused: nobody needs them
 * for a mailbox name, and refusing them keeps lookups exact.  ASCII letters
 * are folded to lower case in both parts.
 */
#ifndef POSTROOM_MS_ADDR_H
#define POSTROOM_MS_ADDR_H

#include <stdbool.h>

#define MS_ADDR_MAX		254
#define MS_ADDR_LOCAL_MAX	64
#define MS_ADDR_DOMAIN_MAX	253

/* The lower-cased copy of a domain name (malloc'ed), or NULL if bad. */
char *ms_domain_normalize(const char *name);

/*
 * The lower-cased copy of "local@domain" (malloc'ed), or NULL if bad.
 * allow_catchall also accepts "@domain", the catch-all alias source.
 */
char *ms_addr_normalize(const char *addr, bool allow_catchall);

/* For a normalized address: "alice+tag@d" gives "alice@d" (malloc'ed);
 * NULL when there is no "+detail" to remove. */
char *ms_addr_strip_detail(const char *addr);

/* For a normalized address: "@d" (malloc'ed), its catch-all source. */
char *ms_addr_catchall(const char *addr);

/* For a normalized address: the part after the '@'. */
const char *ms_addr_domain(const char *addr);

#endif
