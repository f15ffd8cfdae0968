/* SPDX-License-Identifier: ISC */
/*
 * Building IMAP responses in memory.  Every string a response carries
 * (mailbox names, header fields, ENVELOPE parts, ID values) goes through
 * imap_buf_string() or one of its relatives, which pick the wire form
 * from the bytes themselves: that one decision is what keeps a hostile
 * subject line or folder name from ending a response early.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_response.h"

void
imap_buf_free(struct imap_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
imap_buf_reset(struct imap_buf *b, size_t keep)
{
	if (b->cap > keep)
		imap_buf_free(b);
	b->len = 0;
}

/* Room for n more bytes plus a NUL, so printf can write in place. */
static void
imap_buf_reserve(struct imap_buf *b, size_t n)
{
	size_t want;

	if (n > SIZE_MAX / 2 - b->len)
		fatalx("imap response too large");
	want = b->len + n + 1;
	if (want <= b->cap)
		return;
	if (want < 256)
		want = 256;
	if (want < b->cap * 2)
		want = b->cap * 2;
	b->data = xreallocarray(b->data, want, 1);
	b->cap = want;
}

void
imap_buf_add(struct imap_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	imap_buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
imap_buf_str(struct imap_buf *b, const char *s)
{
	imap_buf_add(b, s, strlen(s));
}

void
imap_buf_uint(struct imap_buf *b, uint64_t v)
{
	char digits[20];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	imap_buf_add(b, digits + n, sizeof(digits) - n);
}

void
imap_buf_vprintf(struct imap_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	imap_buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
imap_buf_printf(struct imap_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

bool
imap_quotable(const char *s, size_t n)
{
	size_t i;

	if (n > IMAP_QUOTED_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

void
imap_buf_quoted(struct imap_buf *b, const char *s, size_t n)
{
	size_t i, start = 0;

	imap_buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		imap_buf_add(b, s + start, i - start);
		imap_buf_add(b, "\\", 1);
		start = i;
	}
	imap_buf_add(b, s + start, n - start);
	imap_buf_add(b, "\"", 1);
}

void
imap_buf_literal(struct imap_buf *b, const char *s, size_t n)
{
	imap_buf_printf(b, "{%zu}\r\n", n);
	imap_buf_add(b, s, n);
}

void
imap_buf_string(struct imap_buf *b, const char *s, size_t n)
{
	if (imap_quotable(s, n))
		imap_buf_quoted(b, s, n);
	else
		imap_buf_literal(b, s, n);
}

void
imap_buf_nstring(struct imap_buf *b, const char *s)
{
	if (s == NULL)
		imap_buf_add(b, "NIL", 3);
	else
		imap_buf_string(b, s, strlen(s));
}

/* ATOM-CHAR of RFC 3501: printable ASCII but the atom-specials. */
static bool
imap_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

void
imap_buf_astring(struct imap_buf *b, const char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!imap_atom_char((unsigned char)s[i]))
			break;
	/* "NIL" as an atom would read back as nothing at all. */
	if (n > 0 && i == n && n <= IMAP_QUOTED_MAX &&
	    strcasecmp(s, "NIL") != 0)
		imap_buf_add(b, s, n);
	else
		imap_buf_string(b, s, n);
}

void
imap_buf_uidset(struct imap_buf *b, const uint32_t *v, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		for (j = i; j + 1 < n && v[j + 1] == v[j] + 1; j++)
			;
		if (i > 0)
			imap_buf_add(b, ",", 1);
		if (j == i)
			imap_buf_printf(b, "%u", v[i]);
		else
			imap_buf_printf(b, "%u:%u", v[i], v[j]);
		i = j + 1;
	}
}
