/* SPDX-License-Identifier: ISC */
/*
 * Helpers shared by the files of the IMAP parser library, not part of
 * its API: the RFC 3501 character classes and a bounded number reader.
 */
#ifndef POSTROOM_IMAP_PARSER_INT_H
#define POSTROOM_IMAP_PARSER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ATOM-CHAR: printable ASCII except atom-specials. */
bool imap_is_atom_char(unsigned char c);
/* ASTRING-CHAR: ATOM-CHAR or ']'. */
bool imap_is_astring_char(unsigned char c);
struct imap_arg;
/* An atom argument (NIL included: a flag or charset may be spelt so)
 * made only of ATOM-CHARs: keywords, charsets, search key names. */
bool imap_arg_is_atom(const struct imap_arg *arg);
/* len bytes of s, all digits (at least one), as a number <= max. */
bool imap_parse_number(const char *s, size_t len, uint64_t max, uint64_t *n_r);

#endif
