/* SPDX-License-Identifier: ISC */
/*
 * Base64 (RFC 4648 section 4) for SASL exchanges.  Decoding is strict: the
 * input is whole 4-character groups of the standard alphabet, '=' only as
 * padding at the very end, and the bits that padding leaves unused must be
 * zero.  Whitespace is not skipped.  Anything else is a protocol error for
 * the caller to reject, so that a client response has exactly one meaning.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <string.h>

#include "common/auth.h"
#include "common/xmalloc.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t
auth_b64_decode(const char *in, size_t len, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int v[4];
		int pad = 0;
		uint32_t bits;

		for (int k = 0; k < 4; k++) {
			/* '=' only in the last two places of the last group,
			 * and a '=' may only be followed by '='. */
			if (p[i + k] == '=' && last && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(p[i + k])) < 0)
				return -1;
		}
		bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Non-canonical: padding hides bits that are not zero. */
		if ((pad == 1 && (bits & 0xff) != 0) ||
		    (pad == 2 && (bits & 0xffff) != 0))
			return -1;
		out[n++] = (unsigned char)(bits >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(bits >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)bits;
	}
	return (ssize_t)n;
}

char *
auth_b64_encode(const unsigned char *in, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t bits = (uint32_t)in[i] << 16;

		if (left > 1)
			bits |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			bits |= in[i + 2];
		out[n++] = b64_alphabet[(bits >> 18) & 0x3f];
		out[n++] = b64_alphabet[(bits >> 12) & 0x3f];
		out[n++] = left > 1 ? b64_alphabet[(bits >> 6) & 0x3f] : '=';
		out[n++] = left > 2 ? b64_alphabet[bits & 0x3f] : '=';
	}
	out[n] = '\0';
	return out;
}
