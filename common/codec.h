/* SPDX-License-Identifier: ISC */
/*
 * Base64 and hex digits, the part every decoder in the tree shares: SASL
 * responses (RFC 4648), RFC 2047 encoded-words, base64 and
 * quoted-printable bodies searched by IMAP, and the modified base64 of
 * IMAP mailbox names (RFC 3501 5.1.3).
 *
 * The callers differ in what they accept (whole 4-character groups only,
 * a forgiving stream that skips line breaks, no padding at all) and keep
 * those rules themselves.  What is the same everywhere is here: the value
 * of a digit and the accumulator that turns 6-bit groups into bytes.
 *
 * Pure: no I/O, no allocation, no globals, so the IMAP parse library can
 * link it as well as the daemon.
 */
#ifndef POSTROOM_CODEC_H
#define POSTROOM_CODEC_H

#include <stdbool.h>
#include <stdint.h>

enum codec_b64_alphabet {
	CODEC_B64_STD,		/* RFC 4648 section 4: 62 '+', 63 '/' */
	CODEC_B64_IMAP,		/* RFC 3501 5.1.3: 62 '+', 63 ',' */
};

/*
 * The 6-bit value of c in alphabet a, or -1 (padding '=' included).  c is
 * a char of either signedness: bytes above 0x7f are never digits.
 */
int codec_b64_value(int c, enum codec_b64_alphabet a);
/* The digit for the low six bits of v in alphabet a. */
char codec_b64_digit(unsigned int v, enum codec_b64_alphabet a);
/* The value of a hex digit of either case, or -1 (c as above). */
int codec_hex_value(int c);

/* Decoding state for base64 that may arrive in pieces; zero to start. */
struct codec_b64 {
	uint32_t acc;		/* the low `bits` bits: input not yet output */
	unsigned int bits;	/* 0..7 between calls */
};

/*
 * Add one digit value (0..63).  Returns true with the next byte in
 * *byte_r when it completes one, false while fewer than eight bits wait.
 */
bool codec_b64_push(struct codec_b64 *d, unsigned int v,
    unsigned char *byte_r);
/*
 * Does the input end cleanly here: fewer than six bits left over, all of
 * them zero?  Strict decoders require it so that each byte string has
 * exactly one encoding.
 */
bool codec_b64_clean_end(const struct codec_b64 *d);

#endif
