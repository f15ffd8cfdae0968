/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the text codecs: base64 and hex digits
 * (common/codec.c) and the strict SASL base64 built on them, RFC 2047
 * encoded-words, modified UTF-7 mailbox names, Unicode case folding and
 * RFC 5322 dates.  Not part of the default build:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I<builddir> \
 *       tests/fuzz/fuzz_codecs.c common/codec.c common/auth_b64.c \
 *       imap-lite/imap_mime*.c imap-lite/imap_utf7.c \
 *       imap-lite/imap_casefold.c imap-lite/imap_arena.c \
 *       common/log.c common/xmalloc.c -o fuzz_codecs
 *
 * or with the other harnesses through tests/fuzz/run.sh.
 *
 * Besides looking for memory errors it checks what the codecs promise:
 * strict base64 and modified UTF-7 have exactly one encoding per value,
 * so decode and encode undo each other; folding is idempotent and stays
 * within IMAP_CASEFOLD_MAX; a search fed in chunks finds what the
 * one-shot search finds.  The first byte picks the chunk size and where
 * the input is cut into needle and text.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/auth.h"
#include "common/codec.h"
#include "imap-lite/imap_casefold.h"
#include "imap-lite/imap_mime.h"
#include "imap-lite/imap_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
try_digits(const uint8_t *p, size_t len)
{
	struct codec_b64 d = { 0 };
	unsigned char byte;
	size_t i;
	int v;

	for (i = 0; i < len; i++) {
		if ((v = codec_b64_value(p[i], CODEC_B64_STD)) >= 0)
			check(codec_b64_digit((unsigned int)v,
			    CODEC_B64_STD) == (char)p[i]);
		if ((v = codec_b64_value((char)p[i], CODEC_B64_IMAP)) >= 0) {
			check(codec_b64_digit((unsigned int)v,
			    CODEC_B64_IMAP) == (char)p[i]);
			(void)codec_b64_push(&d, (unsigned int)v, &byte);
			check(d.bits <= 7);
		}
		if ((v = codec_hex_value((char)p[i])) >= 0)
			check(v < 16);
	}
	(void)codec_b64_clean_end(&d);
}

static void
try_sasl_b64(const uint8_t *p, size_t len)
{
	unsigned char *out = malloc(len * 3 / 4 + 3);
	ssize_t n;
	char *enc;

	/* a strict decoder accepts only the one canonical form */
	if ((n = auth_b64_decode((const char *)p, len, out)) >= 0) {
		enc = auth_b64_encode(out, (size_t)n);
		check(strlen(enc) == len && memcmp(enc, p, len) == 0);
		free(enc);
	}
	free(out);
	enc = auth_b64_encode(p, len);
	out = malloc(strlen(enc) * 3 / 4 + 3);
	n = auth_b64_decode(enc, strlen(enc), out);
	check(n >= 0 && (size_t)n == len && memcmp(out, p, len) == 0);
	free(out);
	free(enc);
}

static void
try_utf7(const char *s)
{
	static struct imap_arena a;
	char *u, *e;

	if ((u = imap_utf7_to_utf8(s, &a)) != NULL) {
		check(imap_utf8_valid(u, strlen(u)));
		e = imap_utf8_to_utf7(u, &a);
		check(e != NULL && strcmp(e, s) == 0);
	}
	if ((e = imap_utf8_to_utf7(s, &a)) != NULL) {
		u = imap_utf7_to_utf8(e, &a);
		check(u != NULL && strcmp(u, s) == 0);
	}
	imap_arena_reset(&a);
}

static void
try_casefold(const char *p, size_t len, const char *needle, size_t nlen,
    size_t step)
{
	struct imap_casefold_search cs;
	char *f1 = malloc(IMAP_CASEFOLD_MAX(len) + 1);
	char *f2 = malloc(IMAP_CASEFOLD_MAX(IMAP_CASEFOLD_MAX(len)) + 1);
	size_t n1, n2, off, n;
	bool found;

	n1 = imap_casefold(p, len, f1);
	check(n1 <= IMAP_CASEFOLD_MAX(len));
	n2 = imap_casefold(f1, n1, f2);
	check(n2 == n1 && memcmp(f1, f2, n1) == 0);
	check(imap_casefold_tail(p, len) <= 3 &&
	    imap_casefold_tail(p, len) <= len);
	free(f1);
	free(f2);

	found = imap_casefold_contains(p, len, needle, nlen);
	imap_casefold_search_init(&cs, needle, nlen);
	for (off = 0; off < len; off += n) {
		n = step < len - off ? step : len - off;
		(void)imap_casefold_search_feed(&cs, p + off, n);
	}
	check(imap_casefold_search_finish(&cs) == found);
	imap_casefold_search_free(&cs);
	/* a text always contains itself */
	check(imap_casefold_contains(p, len, p, len));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p;
	char *s, *v;
	size_t cut;
	int64_t t;
	int zone;

	if (size < 1)
		return 0;
	p = (const char *)data + 1;
	size--;
	cut = size == 0 ? 0 : data[0] % (size + 1);

	try_digits(data + 1, size);
	try_sasl_b64(data + 1, size);
	try_casefold(p + cut, size - cut, p, cut, 1 + data[0] % 13);

	s = malloc(size + 1);
	memcpy(s, p, size);
	s[size] = '\0';
	try_utf7(s);
	v = imap_mime_decode_words(s);
	check(v != NULL && strlen(v) <= 3 * strlen(s));
	free(v);
	if (imap_mime_parse_date_tz(s, &t, &zone))
		check(zone > -100 * 60 && zone < 100 * 60);
	(void)imap_mime_parse_date(s, &t);
	free(s);
	return 0;
}
