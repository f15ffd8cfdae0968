/* SPDX-License-Identifier: ISC */
/*
 * Modified UTF-7 mailbox names (RFC 3501 5.1.3) and UTF-8 validation.
 *
 * The store keeps mailbox names in UTF-8; clients that did not ENABLE
 * UTF8=ACCEPT speak modified UTF-7.  Decoding is strict so that each
 * name has exactly one wire form: otherwise "&AGE-" and "a" would name
 * the same folder through two spellings, and a client comparing the LIST
 * answer with what it sent would see a folder it never created.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/codec.h"
#include "imap-lite/imap_parser.h"

/*
 * One UTF-8 sequence at s (len bytes available): the code point and its
 * length, or 0 if it is malformed, overlong, a surrogate or beyond
 * U+10FFFF.
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

static char *
utf8_encode(char *out, uint32_t cp)
{
	if (cp < 0x80)
		*out++ = (char)cp;
	else if (cp < 0x800) {
		*out++ = (char)(0xc0 | (cp >> 6));
		*out++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*out++ = (char)(0xe0 | (cp >> 12));
		*out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*out++ = (char)(0xf0 | (cp >> 18));
		*out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*out++ = (char)(0x80 | (cp & 0x3f));
	}
	return out;
}

bool
imap_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0)
			return false;
		i += n;
	}
	return true;
}

static bool
is_printable(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * Decode one base64 shift starting after its '&' up to and including the
 * '-'.  Returns the end of the shift (after '-') or NULL.  A shift must
 * decode to at least one UTF-16 unit, and whatever bits are left over
 * (fewer than 6) must be zero.
 */
static const char *
decode_shift(const char *p, char **out_r)
{
	char *out = *out_r;
	struct codec_b64 d = { 0 };
	uint32_t high = 0, unit;
	unsigned char byte;
	int first = -1;		/* first byte of a UTF-16 unit, or -1 */
	bool any = false;
	int v;

	for (; *p != '-'; p++) {
		v = codec_b64_value(*p, CODEC_B64_IMAP);
		if (v < 0)
			return NULL;	/* includes the NUL of an open shift */
		if (!codec_b64_push(&d, (unsigned int)v, &byte))
			continue;
		if (first < 0) {
			first = byte;
			continue;
		}
		unit = (uint32_t)first << 8 | byte;
		first = -1;
		any = true;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return NULL;
			out = utf8_encode(out, 0x10000 +
			    ((high - 0xd800) << 10) + (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff)
			high = unit;
		else if (unit >= 0xdc00 && unit <= 0xdfff)
			return NULL;
		else if (unit == 0 || is_printable(unit))
			return NULL;
		else
			out = utf8_encode(out, unit);
	}
	/* Half a unit, or six or more bits, or bits that are not zero
	 * left over: not the one canonical spelling. */
	if (!any || high != 0 || first >= 0 || !codec_b64_clean_end(&d))
		return NULL;
	*out_r = out;
	return p + 1;
}

char *
imap_utf7_to_utf8(const char *s, struct imap_arena *a)
{
	size_t len = strlen(s);
	char *buf, *out;
	const char *p = s;
	bool after_shift = false;

	/* Eight base64 characters give at most nine UTF-8 bytes. */
	buf = out = imap_arena_alloc(a, 2 * len + 1);
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;

		if (c == '&') {
			if (p[1] == '-') {
				*out++ = '&';
				p += 2;
				after_shift = false;
				continue;
			}
			/* "&AOk-&AOk-" should have been one shift. */
			if (after_shift)
				return NULL;
			if ((p = decode_shift(p + 1, &out)) == NULL)
				return NULL;
			after_shift = true;
			continue;
		}
		if (!is_printable(c))
			return NULL;
		*out++ = (char)c;
		p++;
		after_shift = false;
	}
	*out = '\0';
	return buf;
}

/* Emit every complete 6-bit group in acc, keeping the rest. */
static char *
flush_bits(char *out, uint32_t *acc, unsigned *bits)
{
	while (*bits >= 6) {
		*bits -= 6;
		*out++ = codec_b64_digit(*acc >> *bits, CODEC_B64_IMAP);
	}
	*acc &= (1u << *bits) - 1;
	return out;
}

char *
imap_utf8_to_utf7(const char *s, struct imap_arena *a)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	uint32_t cp, acc = 0;
	unsigned bits = 0;
	bool shifted = false;
	char *buf, *out;

	if (!imap_utf8_valid(s, len))
		return NULL;
	/* Worst case: one control character between printable ones,
	 * "&AAE-", five bytes for one. */
	buf = out = imap_arena_alloc(a, 5 * len + 1);
	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		i += n;
		if (is_printable(cp)) {
			if (shifted) {
				if (bits > 0) {
					/* Pad the last group with zeros. */
					acc <<= 6 - bits;
					bits = 6;
					out = flush_bits(out, &acc, &bits);
				}
				*out++ = '-';
				shifted = false;
			}
			*out++ = (char)cp;
			if (cp == '&')
				*out++ = '-';
			continue;
		}
		if (!shifted) {
			*out++ = '&';
			shifted = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			acc = (acc << 16) | (0xd800 + (cp >> 10));
			bits += 16;
			out = flush_bits(out, &acc, &bits);
			cp = 0xdc00 + (cp & 0x3ff);
		}
		acc = (acc << 16) | cp;
		bits += 16;
		out = flush_bits(out, &acc, &bits);
	}
	if (shifted) {
		if (bits > 0) {
			acc <<= 6 - bits;
			bits = 6;
			out = flush_bits(out, &acc, &bits);
		}
		*out++ = '-';
	}
	*out = '\0';
	return buf;
}
