/* SPDX-License-Identifier: ISC */
/*
 * Base64 and hex digit values and the base64 bit accumulator, shared by
 * the SASL, MIME, SEARCH and mailbox-name decoders (see codec.h).
 */
#include "autoconfig.h"

#include "common/codec.h"

int
codec_b64_value(int c, enum codec_b64_alphabet a)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == (a == CODEC_B64_IMAP ? ',' : '/'))
		return 63;
	return -1;
}

char
codec_b64_digit(unsigned int v, enum codec_b64_alphabet a)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+";

	v &= 0x3f;
	if (v < 63)
		return digits[v];
	return a == CODEC_B64_IMAP ? ',' : '/';
}

int
codec_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool
codec_b64_push(struct codec_b64 *d, unsigned int v, unsigned char *byte_r)
{
	d->acc = d->acc << 6 | (v & 0x3f);
	d->bits += 6;
	if (d->bits < 8)
		return false;
	d->bits -= 8;
	*byte_r = (unsigned char)(d->acc >> d->bits);
	/* Keep only what is not output yet, so clean_end can test it. */
	d->acc &= (1u << d->bits) - 1;
	return true;
}

bool
codec_b64_clean_end(const struct codec_b64 *d)
{
	return d->bits < 6 && d->acc == 0;
}
