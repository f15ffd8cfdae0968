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

#include "common/auth.h"
#include "common/codec.h"
#include "common/xmalloc.h"

ssize_t
auth_b64_decode(const char *in, size_t len, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	struct codec_b64 d = { 0 };
	size_t n = 0, data = len;

	if (len % 4 != 0)
		return -1;
	/* '=' only as padding: at most two, at the very end. */
	while (data > 0 && len - data < 2 && p[data - 1] == '=')
		data--;
	for (size_t i = 0; i < data; i++) {
		int v = codec_b64_value(p[i], CODEC_B64_STD);

		if (v < 0)
			return -1;
		if (codec_b64_push(&d, (unsigned int)v, &out[n]))
			n++;
	}
	/* Non-canonical: padding hides bits that are not zero. */
	if (!codec_b64_clean_end(&d))
		return -1;
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
		out[n++] = codec_b64_digit(bits >> 18, CODEC_B64_STD);
		out[n++] = codec_b64_digit(bits >> 12, CODEC_B64_STD);
		out[n++] = left > 1 ? codec_b64_digit(bits >> 6,
		    CODEC_B64_STD) : '=';
		out[n++] = left > 2 ? codec_b64_digit(bits, CODEC_B64_STD) :
		    '=';
	}
	out[n] = '\0';
	return out;
}
