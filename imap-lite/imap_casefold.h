/* SPDX-License-Identifier: ISC */
/*
 * Unicode case folding of UTF-8 text, for the case-insensitive string
 * keys of SEARCH (RFC 3501 6.4.4).
 *
 * Folding is the simple case folding of the Unicode Character Database
 * (CaseFolding.txt, status C and S): every code point maps to at most one
 * code point, so "ÄRGER" and "ärger", "ΣΟΦΙΑ" and "σοφια", "МОСКВА" and
 * "москва" fold alike, while "ß" stays "ß" (full folding would make it
 * "ss").  Bytes that are not valid UTF-8 (stray continuation bytes,
 * overlong forms, surrogates, code points past U+10FFFF, truncated
 * sequences) are copied unchanged, one byte at a time, so any input folds
 * without error and matching on 8-bit text still works byte for byte.
 * No function here reads past the length it is given.
 */
#ifndef POSTROOM_IMAP_CASEFOLD_H
#define POSTROOM_IMAP_CASEFOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes imap_casefold() writes for len input bytes: a two-byte
 * letter may fold to three bytes (U+023A to U+2C65), nothing grows more. */
#define IMAP_CASEFOLD_MAX(len)	((len) + (len) / 2)

/* The simple case folding of one code point (itself if it has none). */
uint32_t imap_casefold_cp(uint32_t cp);

/* Fold len bytes at src into dst, which has room for
 * IMAP_CASEFOLD_MAX(len) bytes and does not overlap src.  Returns the
 * number of bytes written; nothing is NUL-terminated. */
size_t imap_casefold(const char *src, size_t len, char *dst);

/* How many bytes at the end of src[0..len) are the valid beginning of a
 * UTF-8 sequence that len cuts short (0 to 3).  A caller folding a stream
 * chunk by chunk keeps them back and puts them in front of the next
 * chunk, so a letter split between two chunks still folds. */
size_t imap_casefold_tail(const char *src, size_t len);

/*
 * Case-insensitive substring search over text that arrives in chunks.
 * Both sides are folded; the folded text is searched with memmem() and
 * only the last (needle length - 1) folded bytes are kept between chunks,
 * so the work is linear in the text and memory stays at one chunk.
 * The members are private to imap_casefold.c; only found may be read.
 */
struct imap_casefold_search {
	char	*needle;	/* folded needle */
	size_t	 nlen;		/* its length in bytes */
	char	*buf;		/* folded text: the carry, then the new chunk */
	size_t	 cap;		/* allocated size of buf */
	size_t	 carry;		/* folded bytes kept from earlier chunks */
	char	 part[3];	/* a UTF-8 sequence cut short by the last chunk */
	size_t	 npart;		/* its length, 0 to 3 */
	bool	 found;		/* the needle was seen; later input is ignored */
};

/* Start a search for needle[0..len); an empty needle is found at once. */
void imap_casefold_search_init(struct imap_casefold_search *cs,
    const char *needle, size_t len);

/* Search the next len bytes of text; returns found. */
bool imap_casefold_search_feed(struct imap_casefold_search *cs,
    const char *p, size_t len);

/* The text has ended: a sequence still cut short is taken as the invalid
 * bytes it is.  Returns found. */
bool imap_casefold_search_finish(struct imap_casefold_search *cs);

/* Free what the search allocated; cs may be initialised again. */
void imap_casefold_search_free(struct imap_casefold_search *cs);

/* Is needle[0..nlen) in hay[0..hlen), both folded?  One-shot form of the
 * search above. */
bool imap_casefold_contains(const char *hay, size_t hlen, const char *needle,
    size_t nlen);

#endif
