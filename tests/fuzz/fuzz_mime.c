/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the MIME structure engine.  Not part of the
 * default build:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I<builddir> \
 *       tests/fuzz/fuzz_mime.c imap-lite/imap_mime*.c common/codec.c \
 *       common/log.c common/xmalloc.c -o fuzz_mime
 *
 * or with the other harnesses through tests/fuzz/run.sh.
 *
 * The first two bytes seed the chunk sizes; the rest is the message.  It
 * is parsed whole and again in pseudo-random chunks, and the engine's
 * promises are checked, so a wrong answer is a crash too: the tree does
 * not depend on how the bytes were cut, the cached text form reads back
 * to the same tree, and every section range lies inside the message.
 * Section lookups, the header helpers and the RFC 2047 and date decoders
 * then run on what the parse found.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-lite/imap_mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PATH_NUM	4	/* section numbers tried at each level */

static const char *const fields[] = {
	"Subject", "From", "To", "Content-Type", "Date", "Message-ID",
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

/*
 * Is s one well-formed IMAP parenthesised list (RFC 3501 section 9):
 * atoms and NIL, quoted strings of 7-bit text without CR or LF and with
 * only '"' and '\\' escaped, literals whose count matches?  *items_r gets
 * the number of top-level elements.  A rendering that breaks this would
 * desynchronise the client.
 */
static int
imap_list_ok(const char *s, size_t *items_r)
{
	size_t depth = 0, items = 0, i = 0, len = strlen(s);

	if (s[0] != '(')
		return 0;
	while (i < len) {
		char c = s[i];

		if (c == '(' || c == ')') {
			if (c == '(' && depth++ == 1)
				items++;
			if (c == ')' && depth-- == 0)
				return 0;
			i++;
			if (depth == 0)
				break;
			continue;
		}
		if (c == ' ') {
			i++;
			continue;
		}
		if (depth == 1)
			items++;
		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < len &&
				    (s[i + 1] == '"' || s[i + 1] == '\\'))
					i++;
				else if (s[i] == '\\' || s[i] == '\r' ||
				    s[i] == '\n' || (unsigned char)s[i] >= 0x80)
					return 0;
			}
			if (i++ >= len)
				return 0;
		} else if (c == '{') {
			char *end;
			unsigned long n = strtoul(s + i + 1, &end, 10);

			if (end == s + i + 1 || end[0] != '}' || end[1] != '\r' ||
			    end[2] != '\n' || n > len - (size_t)(end + 3 - s))
				return 0;
			i = (size_t)(end + 3 - s) + n;
		} else {
			size_t start = i;

			while (i < len && s[i] != ' ' && s[i] != '(' &&
			    s[i] != ')' && s[i] != '"' && s[i] != '{') {
				if ((unsigned char)s[i] <= ' ' ||
				    (unsigned char)s[i] >= 0x7f)
					return 0;
				i++;
			}
			if (i == start)
				return 0;
		}
	}
	*items_r = items;
	return depth == 0 && i == len;
}

static struct imap_mime_part *
parse_chunked(const char *msg, size_t len, unsigned int seed)
{
	struct imap_mime_parser *p = imap_mime_parser_new();
	size_t off = 0;

	while (off < len) {
		/* small cuts mostly, so CR/LF and boundaries get split */
		size_t n = 1 + seed % 67;

		seed = seed * 1103515245u + 12345u;
		if (n > len - off)
			n = len - off;
		imap_mime_parser_feed(p, msg + off, n);
		off += n;
	}
	return imap_mime_parser_finish(&p);
}

static void
try_sections(const struct imap_mime_part *root, uint64_t msg_len,
    const uint32_t *path, size_t depth)
{
	enum imap_mime_section w;
	uint64_t off, len;

	(void)imap_mime_find(root, path, depth);
	for (w = IMAP_MIME_SECTION_BODY; w <= IMAP_MIME_SECTION_MIME; w++) {
		if (!imap_mime_section_range(root, path, depth, w, &off, &len))
			continue;
		check(off <= msg_len && len <= msg_len - off);
	}
}

/* Every path of up to three numbers 0..MAX_PATH_NUM. */
static void
walk_sections(const struct imap_mime_part *root, uint64_t msg_len)
{
	uint32_t path[3];
	uint32_t a, b, c;

	try_sections(root, msg_len, path, 0);
	for (a = 0; a <= MAX_PATH_NUM; a++) {
		path[0] = a;
		try_sections(root, msg_len, path, 1);
		for (b = 0; b <= MAX_PATH_NUM; b++) {
			path[1] = b;
			try_sections(root, msg_len, path, 2);
			for (c = 0; c <= MAX_PATH_NUM; c++) {
				path[2] = c;
				try_sections(root, msg_len, path, 3);
			}
		}
	}
}

/* Offsets nest and stay inside the message. */
static void
check_part(const struct imap_mime_part *part, uint64_t msg_len)
{
	size_t i, items;

	check(part->header_off <= part->body_off);
	check(part->body_off <= part->end_off);
	check(part->end_off <= msg_len);
	check(part->bodystructure != NULL && part->body != NULL);
	check(imap_list_ok(part->bodystructure, &items));
	check(imap_list_ok(part->body, &items));
	if (part->envelope != NULL)
		check(imap_list_ok(part->envelope, &items) && items == 10);
	for (i = 0; i < part->n_children; i++) {
		check(part->children[i]->header_off >= part->header_off);
		check(part->children[i]->end_off <= part->end_off);
		check_part(part->children[i], msg_len);
	}
}

static void
try_header(const char *msg, const struct imap_mime_part *root)
{
	const char *hdr = msg + root->header_off;
	size_t len = (size_t)(root->body_off - root->header_off), out_len;
	char *s, *v;
	int64_t t;
	int zone;
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if ((v = imap_mime_header_get(hdr, len, fields[i])) == NULL)
			continue;
		free(imap_mime_decode_words(v));
		(void)imap_mime_parse_date(v, &t);
		(void)imap_mime_parse_date_tz(v, &t, &zone);
		free(v);
	}
	s = imap_mime_header_fields(hdr, len, fields, 3, false, &out_len);
	check(out_len <= len + 4);
	free(s);
	s = imap_mime_header_fields(hdr, len, fields, 3, true, &out_len);
	check(out_len <= len + 4);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_mime_part *whole, *cut, *back;
	char *text, *text_cut, *text_back, *raw;
	const char *msg;
	unsigned int seed;

	if (size < 2)
		return 0;
	seed = (unsigned int)data[0] << 8 | data[1];
	msg = (const char *)data + 2;
	size -= 2;

	whole = imap_mime_parse(msg, size);
	check_part(whole, size);
	text = imap_mime_serialize(whole);

	cut = parse_chunked(msg, size, seed);
	text_cut = imap_mime_serialize(cut);
	check(strcmp(text, text_cut) == 0);

	back = imap_mime_deserialize(text);
	check(back != NULL);
	text_back = imap_mime_serialize(back);
	check(strcmp(text, text_back) == 0);

	walk_sections(back, size);
	try_header(msg, whole);

	/* the cache is read back from the database: take anything */
	raw = malloc(size + 1);
	memcpy(raw, msg, size);
	raw[size] = '\0';
	imap_mime_free(&back);
	back = imap_mime_deserialize(raw);
	if (back != NULL) {
		free(text_back);
		text_back = imap_mime_serialize(back);
	}

	imap_mime_free(&back);
	imap_mime_free(&cut);
	imap_mime_free(&whole);
	free(raw);
	free(text);
	free(text_cut);
	free(text_back);
	return 0;
}
