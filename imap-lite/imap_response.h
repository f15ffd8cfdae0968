/* SPDX-License-Identifier: ISC */
/*
 * The IMAP response writer: a growable byte buffer and the encoders for
 * the string forms of RFC 3501 section 4 (atom, quoted, literal, astring,
 * nstring) and for UID sets.  Pure: no I/O, no globals, no logging; the
 * session builds a response here and hands the bytes to its conn.
 *
 * Bounded: a string is sent quoted only when it is short
 * (IMAP_QUOTED_MAX) and holds nothing a quoted string cannot carry (CR,
 * LF, NUL, 8-bit bytes); anything else becomes a literal, so no client
 * input can make a reply line unbounded or break its framing.
 */
#ifndef POSTROOM_IMAP_RESPONSE_H
#define POSTROOM_IMAP_RESPONSE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

#define IMAP_QUOTED_MAX	1024	/* longest string sent in quoted form */

struct imap_buf {
	char	*data;		/* malloc'ed, NULL while empty and released */
	size_t	 len;		/* bytes used */
	size_t	 cap;		/* bytes allocated */
};

/* Release the storage (the buffer stays usable). */
void imap_buf_free(struct imap_buf *b);
/* Forget the contents, keeping the storage unless it grew past keep. */
void imap_buf_reset(struct imap_buf *b, size_t keep);

void imap_buf_add(struct imap_buf *b, const void *p, size_t n);
void imap_buf_str(struct imap_buf *b, const char *s);
/* A number in decimal: the hot path of FETCH, cheaper than printf. */
void imap_buf_uint(struct imap_buf *b, uint64_t v);
void imap_buf_printf(struct imap_buf *b, const char *fmt, ...) PR_PRINTF(2, 3);
void imap_buf_vprintf(struct imap_buf *b, const char *fmt, va_list ap)
    PR_PRINTF(2, 0);

/* Can these bytes go out as a quoted string? */
bool imap_quotable(const char *s, size_t n);
/* "s" with '"' and '\' escaped; the caller checked imap_quotable(). */
void imap_buf_quoted(struct imap_buf *b, const char *s, size_t n);
/* {n} CRLF and the bytes. */
void imap_buf_literal(struct imap_buf *b, const char *s, size_t n);
/* Quoted when possible, else a literal. */
void imap_buf_string(struct imap_buf *b, const char *s, size_t n);
/* NIL for NULL, else a string. */
void imap_buf_nstring(struct imap_buf *b, const char *s);
/* An atom when s is one (and not "NIL"), else a string. */
void imap_buf_astring(struct imap_buf *b, const char *s);
/* A sequence set of ascending values in compact form ("1:3,7,9:10"). */
void imap_buf_uidset(struct imap_buf *b, const uint32_t *v, size_t n);

#endif
