/* SPDX-License-Identifier: ISC */
/*
 * RFC 2047 encoded-words ("=?utf-8?B?...?=") decoded to UTF-8, so that
 * SEARCH SUBJECT / FROM / HEADER match what the user sees.
 *
 * Decoding is forgiving where mailers are sloppy and strict where a wrong
 * guess would garble text: an encoded-word is recognised anywhere (not
 * only between blanks), white space between two adjacent encoded-words is
 * dropped (RFC 2047 6.2), but a word with a bad encoding, bad base64 or
 * quoted-printable, or an unknown charset is left exactly as it was.
 * Charsets: UTF-8 and US-ASCII pass through, ISO-8859-1 and
 * Windows-1252 are converted; an RFC 2231 language suffix
 * ("utf-8*en") is ignored.  Decoded NUL bytes are dropped.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "common/codec.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_mime_int.h"

#define CHARSET_MAX	40

enum charset { CS_UTF8, CS_LATIN1, CS_CP1252, CS_UNKNOWN };

/* Windows-1252 0x80..0x9F; the five holes map to the C1 controls, as
 * Windows itself does. */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static enum charset
charset_lookup(const char *name, size_t len)
{
	static const struct {
		const char	*name;
		enum charset	 cs;
	} names[] = {
		{ "utf-8", CS_UTF8 }, { "utf8", CS_UTF8 },
		{ "us-ascii", CS_UTF8 }, { "ascii", CS_UTF8 },
		{ "iso-8859-1", CS_LATIN1 }, { "iso8859-1", CS_LATIN1 },
		{ "iso_8859-1", CS_LATIN1 }, { "latin1", CS_LATIN1 },
		{ "windows-1252", CS_CP1252 }, { "cp1252", CS_CP1252 },
	};
	const char *star = memchr(name, '*', len);
	size_t i;

	if (star != NULL)
		len = (size_t)(star - name);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len &&
		    strncasecmp(names[i].name, name, len) == 0)
			return names[i].cs;
	}
	return CS_UNKNOWN;
}

static void
put_utf8(struct mime_buf *b, unsigned int cp)
{
	char u[3];

	if (cp < 0x80) {
		mime_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		mime_buf_add(b, u, 2);
	} else {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mime_buf_add(b, u, 3);
	}
}

/* Decoded bytes of one word, converted from its charset.  UTF-8 (and
 * US-ASCII, whose 8-bit bytes are invalid anyway) is copied as it is. */
static void
put_converted(struct mime_buf *b, enum charset cs, const unsigned char *s,
    size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			continue;
		if (s[i] < 0x80 || cs == CS_UTF8)
			mime_buf_addc(b, (char)s[i]);
		else if (cs == CS_CP1252 && s[i] < 0xa0)
			put_utf8(b, cp1252_c1[s[i] - 0x80]);
		else
			put_utf8(b, s[i]);
	}
}

/* Decode text (len bytes) into out; false if it is not valid. */
static bool
decode_text(char enc, const char *text, size_t len, struct mime_buf *out)
{
	size_t i;

	if (enc == 'B' || enc == 'b') {
		struct codec_b64 d = { 0 };
		unsigned char byte;
		size_t pad = 0;

		for (i = 0; i < len; i++) {
			int v;

			if (text[i] == '=') {
				pad++;
				continue;
			}
			if (pad > 0 ||
			    (v = codec_b64_value(text[i], CODEC_B64_STD)) < 0)
				return false;
			if (codec_b64_push(&d, (unsigned int)v, &byte))
				mime_buf_addc(out, (char)byte);
		}
		return pad <= 2;
	}
	for (i = 0; i < len; i++) {
		if (text[i] == '_') {
			mime_buf_addc(out, ' ');
		} else if (text[i] == '=') {
			int hi, lo;

			if (i + 2 >= len ||
			    (hi = codec_hex_value(text[i + 1])) < 0 ||
			    (lo = codec_hex_value(text[i + 2])) < 0)
				return false;
			mime_buf_addc(out, (char)(hi << 4 | lo));
			i += 2;
		} else {
			mime_buf_addc(out, text[i]);
		}
	}
	return true;
}

/* Index of the first '?' in s within max bytes, stopping at blanks and
 * the end; -1 if there is none.  Bounded scans keep a field full of
 * "=?" linear. */
static ssize_t
find_qmark(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] != '\0'; i++) {
		if (s[i] == '?')
			return (ssize_t)i;
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return -1;
	}
	return -1;
}

/*
 * An encoded-word at s ("=?charset?enc?text?="); on success append its
 * UTF-8 text and return its length, else return 0.
 */
static size_t
decode_word(const char *s, struct mime_buf *out)
{
	const char *cs = s + 2, *text;
	struct mime_buf raw = { 0 };
	enum charset charset;
	ssize_t cs_len, text_len;
	char enc;

	if ((cs_len = find_qmark(cs, CHARSET_MAX + 1)) <= 0)
		return 0;
	enc = cs[cs_len + 1];
	if ((enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') ||
	    cs[cs_len + 2] != '?')
		return 0;
	text = cs + cs_len + 3;
	if ((text_len = find_qmark(text, SIZE_MAX)) < 0 || text[text_len + 1] != '=')
		return 0;
	if ((charset = charset_lookup(cs, (size_t)cs_len)) == CS_UNKNOWN)
		return 0;
	if (!decode_text(enc, text, (size_t)text_len, &raw)) {
		mime_buf_free(&raw);
		return 0;
	}
	put_converted(out, charset, (const unsigned char *)raw.p, raw.len);
	mime_buf_free(&raw);
	return (size_t)(text + text_len + 2 - s);
}

char *
imap_mime_decode_words(const char *value)
{
	struct mime_buf out = { 0 };
	size_t i = 0, word_end = 0;
	bool after_word = false;	/* only blanks since the last word */

	mime_buf_add(&out, "", 0);
	while (value[i] != '\0') {
		if (value[i] == '=' && value[i + 1] == '?') {
			size_t before = out.len, n;

			n = decode_word(value + i, &out);
			if (n > 0) {
				if (after_word) {
					/* drop the blanks between two words */
					memmove(out.p + word_end, out.p + before,
					    out.len - before);
					out.len -= before - word_end;
					out.p[out.len] = '\0';
				}
				word_end = out.len;
				after_word = true;
				i += n;
				continue;
			}
		}
		if (value[i] != ' ' && value[i] != '\t' && value[i] != '\r' &&
		    value[i] != '\n')
			after_word = false;
		mime_buf_addc(&out, value[i++]);
	}
	return mime_buf_steal(&out);
}
