/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the MIME structure engine (imap-lite/imap_mime*.c).
 *
 * The corpus in tests/unit/mime-corpus holds real-world-shaped and broken
 * messages (NAME.eml) with the answers worked out by hand from RFC 3501
 * 7.4.2: NAME.bs (BODYSTRUCTURE), NAME.env (ENVELOPE), sometimes
 * NAME.body (BODY), and NAME.sec, lines "[section]<TAB>expected bytes"
 * (C-style escapes; "!" for a section that must not exist).  Every
 * message is also parsed in 1-byte and random-sized chunks (same tree),
 * checked for offset invariants that are computed from the bytes, and
 * sent through serialize/deserialize.
 *
 * Then the helpers (header fields, encoded-words, dates), a table of
 * small inline messages for single rules, malformed cache text, and
 * pathological input: random bytes, a 20 MB message, runaway nesting and
 * part counts, giant headers.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-lite/imap_mime.h"

#ifndef MIME_CORPUS_DIR
#error "MIME_CORPUS_DIR must name the corpus directory"
#endif

/* ---------------------------------------------------------- utilities */

struct data {
	char	*p;
	size_t	 n;
};

/* Whole file, NUL-terminated; p NULL if it does not exist. */
static struct data
read_file(const char *name, const char *ext)
{
	struct data d = { NULL, 0 };
	char path[1024];
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s.%s", MIME_CORPUS_DIR, name, ext);
	if ((f = fopen(path, "rb")) == NULL)
		return d;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	d.p = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(d.p);
	d.n = fread(d.p, 1, (size_t)len, f);
	ck_assert_uint_eq(d.n, (size_t)len);
	d.p[d.n] = '\0';
	fclose(f);
	return d;
}

/* An expected-answer file: its one line, without the final LF. */
static char *
read_expected(const char *name, const char *ext)
{
	struct data d = read_file(name, ext);

	if (d.p == NULL)
		return NULL;
	ck_assert_msg(d.n > 0 && d.p[d.n - 1] == '\n', "%s.%s: no final LF",
	    name, ext);
	d.p[d.n - 1] = '\0';
	return d.p;
}

/* A small deterministic generator, so failures reproduce. */
static uint32_t
rnd(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static struct imap_mime_part *
parse_chunked(const char *msg, size_t len, uint32_t seed, size_t max_chunk)
{
	struct imap_mime_parser *p = imap_mime_parser_new();
	uint32_t st = seed | 1;
	size_t off = 0;

	while (off < len) {
		size_t n = max_chunk <= 1 ? 1 : 1 + rnd(&st) % max_chunk;

		if (n > len - off)
			n = len - off;
		imap_mime_parser_feed(p, msg + off, n);
		off += n;
	}
	return imap_mime_parser_finish(&p);
}

static uint64_t
count_lf(const char *msg, uint64_t from, uint64_t to)
{
	uint64_t n = 0;

	for (; from < to; from++)
		n += msg[from] == '\n';
	return n;
}

/*
 * Invariants of a parsed tree, checked against the bytes: offsets in
 * order and nested, line counts equal to the LFs in each range, the
 * message inside a message/rfc822 part spanning exactly its body, every
 * string present, and the limits kept.  msg_root: the part is the root
 * or the message inside a message/rfc822 part.  Returns the number of
 * parts.
 */
static size_t
check_part(const struct imap_mime_part *part, const char *msg, size_t len,
    unsigned int depth, bool msg_root)
{
	size_t i, n = 1;
	uint64_t prev_end;

	ck_assert_uint_le(depth, IMAP_MIME_MAX_DEPTH);
	ck_assert_uint_le(part->header_off, part->body_off);
	ck_assert_uint_le(part->body_off, part->end_off);
	ck_assert_uint_le(part->end_off, len);
	ck_assert_uint_eq(part->body_lines,
	    count_lf(msg, part->body_off, part->end_off));
	ck_assert_uint_eq(part->header_lines,
	    count_lf(msg, part->header_off, part->body_off));
	ck_assert_ptr_nonnull(part->bodystructure);
	ck_assert_ptr_nonnull(part->body);
	ck_assert(!(part->is_multipart && part->is_message));
	if (part->is_message) {
		ck_assert_uint_eq(part->n_children, 1);
		ck_assert_uint_eq(part->children[0]->header_off, part->body_off);
		ck_assert_uint_eq(part->children[0]->end_off, part->end_off);
		ck_assert_ptr_nonnull(part->children[0]->envelope);
		if (!msg_root)
			ck_assert_str_eq(part->envelope,
			    part->children[0]->envelope);
	} else if (part->is_multipart) {
		ck_assert_uint_ge(part->n_children, 1);
	} else {
		ck_assert_uint_eq(part->n_children, 0);
	}
	if (msg_root)
		ck_assert_ptr_nonnull(part->envelope);
	else if (!part->is_message)
		ck_assert_ptr_null(part->envelope);
	prev_end = part->body_off;
	for (i = 0; i < part->n_children; i++) {
		const struct imap_mime_part *ch = part->children[i];

		ck_assert_uint_ge(ch->header_off, prev_end);
		ck_assert_uint_le(ch->end_off, part->end_off);
		/* a part starts after its delimiter line (which may be the
		 * last line, without LF) */
		if (part->is_multipart)
			ck_assert(ch->header_off > 0 && (ch->header_off == len ||
			    msg[ch->header_off - 1] == '\n'));
		prev_end = ch->end_off;
		n += check_part(ch, msg, len, depth + 1, part->is_message);
	}
	return n;
}

static size_t
check_tree(const struct imap_mime_part *root, const char *msg, size_t len,
    unsigned int depth)
{
	return check_part(root, msg, len, depth, true);
}

/* Two trees are the same if their cache texts are. */
static void
assert_same_tree(const struct imap_mime_part *a, const struct imap_mime_part *b,
    const char *what)
{
	char *sa = imap_mime_serialize(a), *sb = imap_mime_serialize(b);

	ck_assert_msg(strcmp(sa, sb) == 0, "%s: trees differ", what);
	free(sa);
	free(sb);
}

/* Decode "\r \n \t \\ \xHH" escapes of a .sec line; returns length. */
static size_t
unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s != '\0') {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case '\\': out[n++] = '\\'; s++; break;
		case 'x': {
			char hex[3] = { s[1], s[2], '\0' };

			out[n++] = (char)strtol(hex, NULL, 16);
			s += 3;
			break;
		}
		default:
			ck_abort_msg("bad escape in section file");
		}
	}
	return n;
}

/* "1.2.MIME" into path numbers and a section kind. */
static size_t
parse_section(const char *spec, uint32_t *path, enum imap_mime_section *which)
{
	size_t depth = 0;

	*which = IMAP_MIME_SECTION_BODY;
	while (*spec != '\0') {
		if (*spec >= '0' && *spec <= '9') {
			char *end;

			path[depth++] = (uint32_t)strtoul(spec, &end, 10);
			spec = end;
		} else if (strcmp(spec, "HEADER") == 0) {
			*which = IMAP_MIME_SECTION_HEADER;
			break;
		} else if (strcmp(spec, "TEXT") == 0) {
			*which = IMAP_MIME_SECTION_TEXT;
			break;
		} else if (strcmp(spec, "MIME") == 0) {
			*which = IMAP_MIME_SECTION_MIME;
			break;
		} else {
			ck_abort_msg("bad section %s", spec);
		}
		if (*spec == '.')
			spec++;
	}
	return depth;
}

static void
check_sections(const char *name, const struct imap_mime_part *root,
    const struct data *msg)
{
	struct data sec = read_file(name, "sec");
	uint64_t off, len;
	char *line, *save = NULL;

	/* BODY[] is always the whole message */
	ck_assert(imap_mime_section_range(root, NULL, 0,
	    IMAP_MIME_SECTION_BODY, &off, &len));
	ck_assert_uint_eq(off, 0);
	ck_assert_uint_eq(len, msg->n);
	ck_assert(!imap_mime_section_range(root, NULL, 0,
	    IMAP_MIME_SECTION_MIME, &off, &len));
	ck_assert_ptr_eq(imap_mime_find(root, NULL, 0), root);
	if (sec.p == NULL)
		return;
	for (line = strtok_r(sec.p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), *close = strchr(line, ']');
		char spec[256], *want = malloc(strlen(line) + 1);
		uint32_t path[64];
		enum imap_mime_section which;
		size_t depth, want_len;
		bool found;

		ck_assert(line[0] == '[' && close != NULL && tab == close + 1);
		memcpy(spec, line + 1, (size_t)(close - line - 1));
		spec[close - line - 1] = '\0';
		depth = parse_section(spec, path, &which);
		found = imap_mime_section_range(root, path, depth, which,
		    &off, &len);
		if (strcmp(tab + 1, "!") == 0) {
			ck_assert_msg(!found, "%s [%s] should not exist", name, spec);
			free(want);
			continue;
		}
		ck_assert_msg(found, "%s [%s] not found", name, spec);
		want_len = unescape(tab + 1, want);
		ck_assert_msg(len == want_len && off + len <= msg->n &&
		    memcmp(msg->p + off, want, want_len) == 0,
		    "%s [%s]: got %llu bytes at %llu, want %zu", name, spec,
		    (unsigned long long)len, (unsigned long long)off, want_len);
		free(want);
	}
	free(sec.p);
}

/* ------------------------------------------------------------ corpus */

static const char *const corpus[] = {
	"01-simple-text", "02-alternative", "03-mixed-attach", "04-nested",
	"05-rfc822-attach", "06-no-boundary", "07-missing-close",
	"08-weird-boundary", "09-preamble-epilogue", "10-folding",
	"11-encoded-words", "12-8bit-headers", "13-no-content-type",
	"14-rfc2231", "15-lf-only", "16-no-blank-line",
	"17-part-no-blank-line", "18-empty", "19-header-only",
	"20-header-blank-only", "21-long-header", "22-many-parts",
	"23-too-many-parts", "24-deep-nesting", "25-nul-bytes",
	"26-addresses", "27-digest", "28-toplevel-rfc822",
	"29-rfc822-base64", "30-boundary-in-header", "31-multipart-no-parts",
};
#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

START_TEST(test_corpus_answers)
{
	const char *name = corpus[_i];
	struct data msg = read_file(name, "eml");
	char *bs = read_expected(name, "bs"), *env = read_expected(name, "env");
	char *body = read_expected(name, "body");
	struct imap_mime_part *root;

	ck_assert_msg(msg.p != NULL && bs != NULL && env != NULL,
	    "%s: corpus files missing", name);
	root = imap_mime_parse(msg.p, msg.n);
	ck_assert_uint_eq(root->header_off, 0);
	ck_assert_uint_eq(root->end_off, msg.n);
	ck_assert_msg(strcmp(root->bodystructure, bs) == 0,
	    "%s BODYSTRUCTURE\n got: %s\nwant: %s", name, root->bodystructure, bs);
	ck_assert_msg(strcmp(root->envelope, env) == 0,
	    "%s ENVELOPE\n got: %s\nwant: %s", name, root->envelope, env);
	if (body != NULL)
		ck_assert_msg(strcmp(root->body, body) == 0,
		    "%s BODY\n got: %s\nwant: %s", name, root->body, body);
	check_tree(root, msg.p, msg.n, 0);
	check_sections(name, root, &msg);
	imap_mime_free(&root);
	ck_assert_ptr_null(root);
	free(msg.p);
	free(bs);
	free(env);
	free(body);
}
END_TEST

START_TEST(test_corpus_feeding)
{
	/* random chunk sizes from 1 byte up, then every two-way split of
	 * the smaller messages: always the same tree */
	static const size_t max_chunks[] = { 1, 2, 3, 7, 64, 1000, 70000 };
	const char *name = corpus[_i];
	struct data msg = read_file(name, "eml");
	struct imap_mime_part *whole, *part;
	size_t k, cut;

	ck_assert_ptr_nonnull(msg.p);
	whole = imap_mime_parse(msg.p, msg.n);
	for (k = 0; k < sizeof(max_chunks) / sizeof(max_chunks[0]); k++) {
		part = parse_chunked(msg.p, msg.n, (uint32_t)(k * 7919 + _i),
		    max_chunks[k]);
		assert_same_tree(whole, part, name);
		imap_mime_free(&part);
	}
	for (cut = 0; msg.n <= 2000 && cut <= msg.n; cut++) {
		struct imap_mime_parser *p = imap_mime_parser_new();

		imap_mime_parser_feed(p, msg.p, cut);
		imap_mime_parser_feed(p, msg.p + cut, msg.n - cut);
		part = imap_mime_parser_finish(&p);
		ck_assert_ptr_null(p);
		assert_same_tree(whole, part, name);
		imap_mime_free(&part);
	}
	imap_mime_free(&whole);
	free(msg.p);
}
END_TEST

START_TEST(test_corpus_serialize)
{
	const char *name = corpus[_i];
	struct data msg = read_file(name, "eml");
	struct imap_mime_part *root, *copy;
	char *text, *again;

	ck_assert_ptr_nonnull(msg.p);
	root = imap_mime_parse(msg.p, msg.n);
	text = imap_mime_serialize(root);
	copy = imap_mime_deserialize(text);
	ck_assert_msg(copy != NULL, "%s: own cache text refused", name);
	again = imap_mime_serialize(copy);
	ck_assert_str_eq(text, again);
	/* the copy answers exactly like the original */
	ck_assert_str_eq(copy->bodystructure, root->bodystructure);
	ck_assert_str_eq(copy->body, root->body);
	ck_assert_str_eq(copy->envelope, root->envelope);
	check_tree(copy, msg.p, msg.n, 0);
	check_sections(name, copy, &msg);
	free(text);
	free(again);
	imap_mime_free(&root);
	imap_mime_free(&copy);
	free(msg.p);
}
END_TEST

/* --------------------------------------------------- inline messages */

/* Small messages for single rules; answers worked out by hand. */
static const struct {
	const char	*msg;
	const char	*bs;
} inline_cases[] = {
	/* comments and odd spacing in Content-Type; unquoted values */
	{ "Content-Type: text/plain (a comment) ; charset = \"ISO-8859-15\" ;"
	  " format=flowed (c)\r\n\r\nx",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"ISO-8859-15\" \"FORMAT\" \"flowed\")"
	  " NIL NIL \"7BIT\" 1 0 NIL NIL NIL NIL)" },
	/* invalid Content-Type (no subtype) is text/plain us-ascii */
	{ "Content-Type: text; charset=utf-8\r\n\r\nx",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 1 0"
	  " NIL NIL NIL NIL)" },
	/* extension fields: disposition without parameters, one language,
	 * location, MD5, id, description, encoding case */
	{ "Content-Type: image/gif\r\nContent-Disposition: inline\r\n"
	  "Content-Language: de-CH\r\nContent-Location: img/a.gif\r\n"
	  "Content-MD5: abc=\r\nContent-ID: <i@x>\r\nContent-Description: "
	  "a \"pic\"\r\nContent-Transfer-Encoding: Base64\r\n\r\nR0lG",
	  "(\"IMAGE\" \"GIF\" NIL \"<i@x>\" \"a \\\"pic\\\"\" \"BASE64\" 4"
	  " \"abc=\" (\"INLINE\" NIL) (\"de-CH\") \"img/a.gif\")" },
	/* nested multipart reusing its parent's boundary: the innermost
	 * open multipart owns the delimiter */
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
	  "--b--\r\n--b\r\n\r\ntwo\r\n--b--\r\n",
	  "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3 0"
	  " NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)"
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3 0"
	  " NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)" },
	/* after the close delimiter, delimiter lines are epilogue text */
	{ "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\na\r\n"
	  "--q--\r\n--q\r\n\r\nnot a part\r\n",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 1 0"
	  " NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"q\") NIL NIL NIL)" },
	/* blanks after a delimiter; RFC 2046 compares prefixes, so "--qq"
	 * is a delimiter of boundary "q" too */
	{ "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q  \t\r\n\r\na\r\n"
	  "--qq\r\n\r\nb\r\n--q--",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 1 0"
	  " NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL"
	  " \"7BIT\" 1 0 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"q\") NIL NIL"
	  " NIL)" },
	/* message/global is encapsulated like message/rfc822 */
	{ "Content-Type: message/global\r\n\r\nSubject: g\r\n\r\nhi",
	  "(\"MESSAGE\" \"GLOBAL\" NIL NIL NIL \"7BIT\" 16 (NIL \"g\" NIL NIL NIL"
	  " NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\")"
	  " NIL NIL \"7BIT\" 2 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)" },
	/* a bare CR is not a line ending; CRLF before the delimiter is */
	{ "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\na\rb\r\n"
	  "--z--\r\n",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3 0"
	  " NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"z\") NIL NIL NIL)" },
};

START_TEST(test_inline)
{
	const char *msg = inline_cases[_i].msg;
	struct imap_mime_part *root, *chunked;

	root = imap_mime_parse(msg, strlen(msg));
	ck_assert_msg(strcmp(root->bodystructure, inline_cases[_i].bs) == 0,
	    "case %d\n got: %s\nwant: %s", _i, root->bodystructure,
	    inline_cases[_i].bs);
	check_tree(root, msg, strlen(msg), 0);
	chunked = parse_chunked(msg, strlen(msg), 1, 1);
	assert_same_tree(root, chunked, "inline");
	imap_mime_free(&chunked);
	imap_mime_free(&root);
}
END_TEST

START_TEST(test_long_boundary)
{
	/* boundaries of up to 200 bytes work, longer ones are ignored */
	char msg[1024];
	size_t k;

	for (k = 199; k <= 202; k++) {
		struct imap_mime_part *root;
		char b[256];
		int n;

		memset(b, 'a', k);
		b[k] = '\0';
		n = snprintf(msg, sizeof(msg), "Content-Type: multipart/mixed;"
		    " boundary=\"%s\"\r\n\r\n--%s\r\n\r\nx\r\n--%s--\r\n",
		    b, b, b);
		root = imap_mime_parse(msg, (size_t)n);
		ck_assert_msg(root->is_multipart == (k <= 200), "length %zu", k);
		check_tree(root, msg, (size_t)n, 0);
		imap_mime_free(&root);
	}
}
END_TEST

START_TEST(test_kept_fields_only)
{
	/* 200 KB of DKIM-Signature before the fields that matter */
	size_t big = 200 * 1024, n = 0, i;
	char *msg = malloc(big + 512);
	struct imap_mime_part *root;

	n += (size_t)sprintf(msg + n, "DKIM-Signature: v=1;");
	for (i = 0; i < big / 64; i++)
		n += (size_t)sprintf(msg + n, "\r\n\t%060zu", i);
	n += (size_t)sprintf(msg + n, "\r\nSubject: still here\r\n"
	    "Content-Type: text/html\r\n\r\n<p>");
	root = imap_mime_parse(msg, n);
	ck_assert_str_eq(root->bodystructure, "(\"TEXT\" \"HTML\" (\"CHARSET\""
	    " \"us-ascii\") NIL NIL \"7BIT\" 3 0 NIL NIL NIL NIL)");
	ck_assert_str_eq(root->envelope, "(NIL \"still here\" NIL NIL NIL NIL"
	    " NIL NIL NIL NIL)");
	imap_mime_free(&root);
	free(msg);
}
END_TEST

START_TEST(test_kept_header_capped)
{
	/* a kept field larger than the cap: the rest of the header is
	 * ignored for structure, but the offsets stay exact */
	size_t big = IMAP_MIME_MAX_HEADER + 5000, n = 0, i;
	char *msg = malloc(big + 512);
	struct imap_mime_part *root;

	n += (size_t)sprintf(msg + n, "To: a@b");
	for (i = 0; i < big / 16; i++)
		n += (size_t)sprintf(msg + n, ",\r\n x%09zu@y", i);
	n += (size_t)sprintf(msg + n, "\r\nContent-Type: image/png\r\n\r\nxyz");
	root = imap_mime_parse(msg, n);
	/* Content-Type came after the cap: default type */
	ck_assert_str_eq(root->bodystructure, "(\"TEXT\" \"PLAIN\" (\"CHARSET\""
	    " \"us-ascii\") NIL NIL \"7BIT\" 3 0 NIL NIL NIL NIL)");
	ck_assert_uint_eq(root->body_off, n - 3);
	ck_assert_uint_le(strlen(root->envelope), IMAP_MIME_MAX_HEADER * 2);
	check_tree(root, msg, n, 0);
	imap_mime_free(&root);
	free(msg);
}
END_TEST

/* ------------------------------------------------------ header fields */

static const char hdr_block[] =
	"Received: from a\r\n\tby b\r\n"
	"SUBJECT: Hello\r\n  world\r\n"
	"X-Empty:\r\n"
	"to : someone@example.com\r\n"
	"not a field line\r\n"
	"Subject: second\r\n"
	"Subjectless: no\r\n"
	"\r\n"
	"Subject: in the body\r\n";

START_TEST(test_header_fields)
{
	static const char *const names[] = { "subject", "To" };
	static const char *const none[] = { "X-Nothing" };
	size_t len;
	char *out;

	out = imap_mime_header_fields(hdr_block, strlen(hdr_block), names, 2,
	    false, &len);
	ck_assert_str_eq(out, "SUBJECT: Hello\r\n  world\r\n"
	    "to : someone@example.com\r\nSubject: second\r\n\r\n");
	ck_assert_uint_eq(len, strlen(out));
	free(out);

	out = imap_mime_header_fields(hdr_block, strlen(hdr_block), names, 2,
	    true, &len);
	ck_assert_str_eq(out, "Received: from a\r\n\tby b\r\nX-Empty:\r\n"
	    "Subjectless: no\r\n\r\n");
	free(out);

	/* nothing matches: just the blank line */
	out = imap_mime_header_fields(hdr_block, strlen(hdr_block), none, 1,
	    false, &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_str_eq(out, "\r\n");
	free(out);

	/* a last field without line ending still gets one */
	out = imap_mime_header_fields("A: 1\r\nB: 2", 10, names + 1, 0, true,
	    &len);
	ck_assert_str_eq(out, "A: 1\r\nB: 2\r\n\r\n");
	free(out);

	/* LF-only blocks keep their own line endings */
	out = imap_mime_header_fields("To: x\nCc: y\n\n", 13, names, 2, false,
	    &len);
	ck_assert_str_eq(out, "To: x\n\r\n");
	free(out);

	out = imap_mime_header_fields("", 0, names, 2, false, &len);
	ck_assert_str_eq(out, "\r\n");
	free(out);
}
END_TEST

START_TEST(test_header_get)
{
	char *v;

	v = imap_mime_header_get(hdr_block, strlen(hdr_block), "subject");
	ck_assert_str_eq(v, "Hello  world");	/* first one, unfolded */
	free(v);
	v = imap_mime_header_get(hdr_block, strlen(hdr_block), "TO");
	ck_assert_str_eq(v, "someone@example.com");
	free(v);
	v = imap_mime_header_get(hdr_block, strlen(hdr_block), "x-empty");
	ck_assert_str_eq(v, "");
	free(v);
	v = imap_mime_header_get(hdr_block, strlen(hdr_block), "Received");
	ck_assert_str_eq(v, "from a\tby b");
	free(v);
	ck_assert_ptr_null(imap_mime_header_get(hdr_block, strlen(hdr_block),
	    "Subj"));
	ck_assert_ptr_null(imap_mime_header_get(hdr_block, strlen(hdr_block),
	    "not a field line"));
	ck_assert_ptr_null(imap_mime_header_get(hdr_block, 0, "Subject"));
	/* a length cutting the block short is honoured */
	ck_assert_ptr_null(imap_mime_header_get(hdr_block, 20, "Subject"));
}
END_TEST

/* ------------------------------------------------------ encoded words */

static const struct {
	const char	*in;
	const char	*out;
} words_cases[] = {
	{ "", "" },
	{ "plain text", "plain text" },
	{ "=?utf-8?B?R3LDvMOfZQ==?= =?utf-8?q?_aus_K=C3=B6ln?=",
	  "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln" },
	{ "=?iso-8859-1?q?Andr=E9?=", "Andr\xc3\xa9" },
	{ "=?ISO-8859-1?Q?=A0=FF?=", "\xc2\xa0\xc3\xbf" },
	{ "=?windows-1252?Q?=80_=93q=94_=81?=",
	  "\xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d \xc2\x81" },
	{ "a =?utf-8?q?b?= c", "a b c" },
	{ "=?utf-8?q?a?=  \t =?utf-8?q?b?=", "ab" },
	{ "=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab" },
	{ "=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b" },
	{ "Re: =?utf-8?B?w6k=?=!", "Re: \xc3\xa9!" },
	{ "=?utf-8?B?w6k?=", "\xc3\xa9" },		/* padding missing */
	{ "=?UTF-8*en?Q?hi?=", "hi" },			/* RFC 2231 language */
	{ "=?us-ascii?Q?x=00y?=", "xy" },		/* NUL dropped */
	{ "x=?utf-8?q?y?=z", "xyz" },			/* glued to text */
	/* invalid ones stay as they are */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "=?utf-8?B?####?=", "=?utf-8?B?####?=" },
	{ "=?utf-8?B?w6k=w6k=?=", "=?utf-8?B?w6k=w6k=?=" },
	{ "=?utf-8?Q?=ZZ?=", "=?utf-8?Q?=ZZ?=" },
	{ "=?utf-8?Q?a=4?=", "=?utf-8?Q?a=4?=" },
	{ "=?koi8-r?B?8NLJ18XU?=", "=?koi8-r?B?8NLJ18XU?=" },
	{ "=?utf-8?q?a b?=", "=?utf-8?q?a b?=" },
	{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
	{ "=??q?a?=", "=??q?a?=" },
	{ "a=?b", "a=?b" },
	{ "=?bad?x?q?= =?utf-8?q?ok?=", "=?bad?x?q?= ok" },
	{ "=?utf-8?q?ok?= =?bad?x?q?=", "ok =?bad?x?q?=" },
};

START_TEST(test_decode_words)
{
	char *out = imap_mime_decode_words(words_cases[_i].in);

	ck_assert_msg(strcmp(out, words_cases[_i].out) == 0,
	    "case %d: got \"%s\"", _i, out);
	free(out);
}
END_TEST

/* -------------------------------------------------------------- dates */

static const struct {
	const char	*in;
	bool		 ok;
	int		 y, mon, d, h, min, s;	/* as written */
	int		 zone;			/* minutes east */
} date_cases[] = {
	{ "Tue, 1 Jul 2003 10:52:37 +0200", true, 2003, 7, 1, 10, 52, 37, 120 },
	{ "1 Jul 2003 10:52:37 +0200", true, 2003, 7, 1, 10, 52, 37, 120 },
	{ "Tue,1 Jul 2003 10:52:37 +0200", true, 2003, 7, 1, 10, 52, 37, 120 },
	{ "Tue, 01 Jul 03 10:52:37 +0200", true, 2003, 7, 1, 10, 52, 37, 120 },
	{ "Thu, 1 Jul 99 10:52 EDT", true, 1999, 7, 1, 10, 52, 0, -240 },
	{ "1 Jul 103 10:52:37 GMT", true, 2003, 7, 1, 10, 52, 37, 0 },
	{ "Thu, 13 Feb 1969 23:32:54 -0330", true, 1969, 2, 13, 23, 32, 54, -210 },
	{ "Fri, 21 Nov 1997 09:55:06 -0600", true, 1997, 11, 21, 9, 55, 6, -360 },
	{ "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", true, 2003, 7, 1, 10, 52, 37, 120 },
	{ "Tue, 1 Jul 2003 10:52:37", true, 2003, 7, 1, 10, 52, 37, 0 },
	{ "tue, 1 jul 2003 10:52:37 pst", true, 2003, 7, 1, 10, 52, 37, -480 },
	{ "Tue, 1 Jul 2003 10:52:37 UT", true, 2003, 7, 1, 10, 52, 37, 0 },
	{ "Mon, 1 December 2003 1:02:03 CDT", true, 2003, 12, 1, 1, 2, 3, -300 },
	{ "1-Jul-2003 10:52:37 +0200", true, 2003, 7, 1, 10, 52, 37, 120 },
	{ "Tue Jul  1 10:52:37 2003", true, 2003, 7, 1, 10, 52, 37, 0 },
	{ "Tue, 1 Jul 2003 10:52:37 A", true, 2003, 7, 1, 10, 52, 37, 0 },
	{ "Tue, 1 Jul 2003 10:52:37 +02", true, 2003, 7, 1, 10, 52, 37, 0 },
	{ "(c) Tue, 1 (x) Jul 2003 10 : 52 : 37 +0200", true, 2003, 7, 1, 10, 52, 37, 120 },
	{ "  Sun, 29 Feb 2004 23:59:60 -0000", true, 2004, 2, 29, 23, 59, 60, 0 },
	{ "Sat, 1 Jan 2000 00:00:00 +1400", true, 2000, 1, 1, 0, 0, 0, 840 },
	{ "", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "garbage", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Sun, 29 Feb 2003 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, 31 Apr 2003 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, 1 Foo 2003 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, 1 Jul 2003 24:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, 1 Jul 2003 10:60:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, 1 Jul 2003", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, 1 Jul 2003 10", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, 1 Jul 2003 10:", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Blah, 1 Jul 2003 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "32 Jul 2003 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "0 Jul 2003 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "1 Jul 1899 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
	{ "Tue, Jul 2003 10:00:00 +0000", false, 0, 0, 0, 0, 0, 0, 0 },
};

START_TEST(test_parse_date)
{
	int64_t t = 0, t2 = 0;
	int zone = 12345;
	bool ok = imap_mime_parse_date_tz(date_cases[_i].in, &t, &zone);

	ck_assert_msg(ok == date_cases[_i].ok, "case %d (%s)", _i,
	    date_cases[_i].in);
	ck_assert(imap_mime_parse_date(date_cases[_i].in, &t2) == ok);
	if (ok) {
		struct tm tm = {
			.tm_year = date_cases[_i].y - 1900,
			.tm_mon = date_cases[_i].mon - 1,
			.tm_mday = date_cases[_i].d,
			.tm_hour = date_cases[_i].h,
			.tm_min = date_cases[_i].min,
			.tm_sec = date_cases[_i].s,
		};
		int64_t want = (int64_t)timegm(&tm) -
		    (int64_t)date_cases[_i].zone * 60;

		ck_assert_msg(t == want, "case %d: %lld != %lld", _i,
		    (long long)t, (long long)want);
		ck_assert_int_eq(zone, date_cases[_i].zone);
		ck_assert(t2 == t);
	}
}
END_TEST

/* ----------------------------------------------------- cache text */

static const char *const bad_serial[] = {
	"",
	"IMAPMIME1",
	"IMAPMIME2\nP 0 - 0 0 0 0 0\nS x\nB x\n",
	"IMAPMIME1\n",
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\n",			/* no B */
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nB x\n",			/* no S */
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\nB x",			/* no final LF */
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\nS y\nB x\n",		/* twice */
	"IMAPMIME1\nP 0 - 0 0 0 0\nS x\nB x\n",			/* short */
	"IMAPMIME1\nP 0 - 0 0 0 0 0 0\nS x\nB x\n",		/* long */
	"IMAPMIME1\nP 0 x 0 0 0 0 0\nS x\nB x\n",		/* kind */
	"IMAPMIME1\nP 0 - 5 4 6 0 0\nS x\nB x\n",		/* order */
	"IMAPMIME1\nP 0 - 0 7 6 0 0\nS x\nB x\n",
	"IMAPMIME1\nP 0 - 0 0 0 0 -1\nS x\nB x\n",
	"IMAPMIME1\nP 0 - 0 0 0 0 99999999999999999999999\nS x\nB x\n",
	"IMAPMIME1\nP 1 - 0 0 0 0 0\nS x\nB x\n",		/* no root */
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\nB x\nP 0 - 0 0 0 0 0\nS x\nB x\n",
	"IMAPMIME1\nP 0 m 0 0 9 0 0\nS x\nB x\n",		/* no parts */
	"IMAPMIME1\nP 0 r 0 0 9 0 0\nS x\nB x\n",		/* no message */
	("IMAPMIME1\nP 0 r 0 0 9 0 0\nS x\nB x\nP 1 - 0 0 0 0 0\nS x\nB x\n"
	"P 1 - 0 0 0 0 0\nS x\nB x\n"),			/* two */
	"IMAPMIME1\nP 0 - 0 0 9 0 0\nS x\nB x\nP 1 - 0 0 0 0 0\nS x\nB x\n",
	"IMAPMIME1\nP 0 m 0 0 9 0 0\nS x\nB x\nP 2 - 0 0 0 0 0\nS x\nB x\n",
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\\q\nB x\n",		/* escape */
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\\\nB x\n",
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\nB x\nQ y\n",		/* tag */
	"IMAPMIME1\nS x\nB x\n",
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nSx\nB x\n",
	"IMAPMIME1\nP 0 - 0 0 0 0 0\nS x\nB x\n\n",
};

START_TEST(test_deserialize_bad)
{
	struct imap_mime_part *p = imap_mime_deserialize(bad_serial[_i]);

	ck_assert_msg(p == NULL, "case %d accepted", _i);
}
END_TEST

START_TEST(test_deserialize_good)
{
	static const char text[] =
	    "IMAPMIME1\n"
	    "P 0 m 0 10 90 5 2\nE (env \"x\\\\y\\r\\nz)\nS (bs)\nB (b)\n"
	    "P 1 r 20 30 80 3 1\nE (e2)\nS s2\nB b2\n"
	    "P 2 - 30 40 80 2 1\nE (e2)\nS s3\nB b3\n"
	    "P 1 - 81 85 90 1 0\nS s4\nB b4\n";
	struct imap_mime_part *p = imap_mime_deserialize(text);
	const uint32_t path[] = { 1, 1 };
	char *again;

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->envelope, "(env \"x\\y\r\nz)");
	ck_assert(p->is_multipart);
	ck_assert_uint_eq(p->n_children, 2);
	ck_assert(p->children[0]->is_message);
	ck_assert_uint_eq(p->children[0]->header_off, 20);
	ck_assert_uint_eq(p->children[1]->body_lines, 1);
	ck_assert_ptr_null(p->children[1]->envelope);
	ck_assert_ptr_eq(imap_mime_find(p, path, 2),
	    p->children[0]->children[0]);
	again = imap_mime_serialize(p);
	ck_assert_str_eq(again, text);
	free(again);
	imap_mime_free(&p);
	ck_assert_ptr_null(p);
	imap_mime_free(&p);	/* NULL is fine */
}
END_TEST

/* ------------------------------------------------------- pathological */

static void
random_message(uint32_t seed)
{
	/* Bytes drawn mostly from MIME syntax, so that boundaries,
	 * headers and nesting actually happen. */
	static const char *const atoms[] = {
		"\r\n", "\n", "\r", "--", "--b", "--b--", "--c", ":", " ", "\t",
		"Content-Type: multipart/mixed; boundary=b\r\n",
		"Content-Type: multipart/alternative; boundary=\"c\"\r\n",
		"Content-Type: message/rfc822\r\n",
		"Content-Type: multipart/digest; boundary=b\r\n",
		"Content-Transfer-Encoding: base64\r\n", "From: a@b\r\n",
		"To: x:;, <@r:y@z>, \"q\\\"\" <", "(", ")", "\"", "\\", "<", ">",
		"=?utf-8?q?x?=", "\0", "\xff", "x", "Subject:", "\r\n\r\n",
	};
	uint32_t st = seed;
	size_t len = 1 + rnd(&st) % 6000, n = 0, parts;
	char *msg = malloc(len + 64);
	struct imap_mime_part *whole, *chunked;
	char *text;

	while (n < len) {
		if (rnd(&st) % 4 == 0) {
			msg[n++] = (char)rnd(&st);
		} else {
			const char *a = atoms[rnd(&st) %
			    (sizeof(atoms) / sizeof(atoms[0]))];
			size_t al = a[0] == '\0' ? 1 : strlen(a);

			if (al > len - n)
				al = len - n;
			memcpy(msg + n, a, al);
			n += al;
		}
	}
	whole = imap_mime_parse(msg, len);
	parts = check_tree(whole, msg, len, 0);
	ck_assert_uint_le(parts, IMAP_MIME_MAX_PARTS + 1);
	/* output linear in the parts and the header bytes (an address
	 * of two bytes, "a,", renders as about 30, three times over for
	 * From, Sender and Reply-To) */
	ck_assert_uint_le(strlen(whole->bodystructure), 200 * parts + 64 * len);
	chunked = parse_chunked(msg, len, st, 1 + seed % 50);
	assert_same_tree(whole, chunked, "random");
	text = imap_mime_serialize(whole);
	imap_mime_free(&chunked);
	chunked = imap_mime_deserialize(text);
	ck_assert_ptr_nonnull(chunked);
	imap_mime_free(&chunked);
	free(text);
	imap_mime_free(&whole);
	free(msg);
}

START_TEST(test_random_bytes)
{
	uint32_t k;

	for (k = 0; k < 20; k++)
		random_message(0x9e3779b9u + (uint32_t)_i * 20 + k);
}
END_TEST

START_TEST(test_big_message)
{
	/* 20 MB: a text part and a base64 attachment of 76-byte lines,
	 * fed in 64 KB chunks */
	const size_t target = 20 * 1024 * 1024;
	static const char head[] =
	    "From: big@example.com\r\nSubject: big\r\n"
	    "Content-Type: multipart/mixed; boundary=\"=big=\"\r\n\r\n"
	    "--=big=\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
	    "--=big=\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n";
	static const char tail[] = "--=big=--\r\n";
	char *msg = malloc(target + 256);
	size_t n = strlen(head), att_start, att_lines = 0, off;
	struct imap_mime_parser *p;
	struct imap_mime_part *root;
	clock_t t0;
	double secs;

	memcpy(msg, head, n);
	att_start = n;
	while (n < target) {
		memset(msg + n, 'A', 76);
		memcpy(msg + n + 76, "\r\n", 2);
		n += 78;
		att_lines++;
	}
	memcpy(msg + n, tail, strlen(tail));
	n += strlen(tail);

	t0 = clock();
	p = imap_mime_parser_new();
	for (off = 0; off < n; off += 65536)
		imap_mime_parser_feed(p, msg + off, n - off < 65536 ? n - off : 65536);
	root = imap_mime_parser_finish(&p);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;

	ck_assert(root->is_multipart);
	ck_assert_uint_eq(root->n_children, 2);
	ck_assert_uint_eq(root->children[1]->body_off, att_start);
	/* the last CRLF belongs to the close delimiter */
	ck_assert_uint_eq(root->children[1]->end_off, n - strlen(tail) - 2);
	ck_assert_uint_eq(root->children[1]->body_lines, att_lines - 1);
	ck_assert_msg(secs < 10.0, "20 MB took %.2f s", secs);
	imap_mime_free(&root);
	free(msg);
}
END_TEST

START_TEST(test_runaway_nesting)
{
	/* 60 message/rfc822 levels, then 60 multipart levels */
	char *msg = malloc(64 * 1024);
	size_t n = 0, k, depth = 0;
	struct imap_mime_part *root;
	const struct imap_mime_part *cur;

	for (k = 0; k < 60; k++)
		n += (size_t)sprintf(msg + n, "Subject: level %zu\r\n"
		    "Content-Type: message/rfc822\r\n\r\n", k);
	for (k = 0; k < 60; k++)
		n += (size_t)sprintf(msg + n, "Content-Type: multipart/mixed; "
		    "boundary=m%03zu\r\n\r\n--m%03zu\r\n", k, k);
	n += (size_t)sprintf(msg + n, "\r\nbottom\r\n");
	root = imap_mime_parse(msg, n);
	check_tree(root, msg, n, 0);
	for (cur = root; cur->n_children > 0; cur = cur->children[0])
		depth++;
	ck_assert_uint_eq(depth, IMAP_MIME_MAX_DEPTH);
	/* the deepest message/rfc822 is opaque data */
	ck_assert(strstr(root->bodystructure, "\"APPLICATION\" \"OCTET-STREAM\"")
	    != NULL);
	imap_mime_free(&root);
	free(msg);
}
END_TEST

START_TEST(test_runaway_parts)
{
	/* 5000 empty parts, some of them message/rfc822: at most 1000
	 * parts are made and every range stays valid */
	char *msg = malloc(5000 * 64 + 256);
	size_t n = 0, k, parts;
	struct imap_mime_part *root;

	n += (size_t)sprintf(msg + n,
	    "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (k = 0; k < 5000; k++)
		n += (size_t)sprintf(msg + n, k % 3 == 0 ?
		    "--p\r\nContent-Type: message/rfc822\r\n\r\nX: %zu\r\n" :
		    "--p\r\n\r\n%zu\r\n", k);
	n += (size_t)sprintf(msg + n, "--p--\r\n");
	root = imap_mime_parse(msg, n);
	parts = check_tree(root, msg, n, 0);
	ck_assert_uint_eq(parts, IMAP_MIME_MAX_PARTS + 1);
	/* the close delimiter still ended the multipart */
	ck_assert_uint_eq(root->children[root->n_children - 1]->end_off,
	    n - strlen("\r\n--p--\r\n"));
	imap_mime_free(&root);
	free(msg);
}
END_TEST

START_TEST(test_long_lines)
{
	/* lines far longer than anything kept per line: a header name
	 * without colon, a boundary followed by 100 KB of junk, a huge
	 * body line */
	size_t junk = 100 * 1024, n = 0;
	char *msg = malloc(4 * junk + 1024);
	struct imap_mime_part *root;

	n += (size_t)sprintf(msg + n,
	    "Content-Type: multipart/mixed; boundary=L\r\n");
	memset(msg + n, 'h', 3000);
	n += 3000;
	n += (size_t)sprintf(msg + n, ": value\r\n\r\n--L");
	memset(msg + n, 'x', junk);
	n += junk;
	n += (size_t)sprintf(msg + n, "\r\nContent-Type: text/plain\r\n\r\n");
	memset(msg + n, 'b', junk);
	n += junk;
	n += (size_t)sprintf(msg + n, "\r\n--L--\r\n");
	root = imap_mime_parse(msg, n);
	check_tree(root, msg, n, 0);
	/* the 3000-byte name is no field: the body (the preamble) starts
	 * there; the delimiter with 100 KB of junk after it still counts */
	ck_assert_uint_eq(root->body_off, strlen("Content-Type: multipart/mixed;"
	    " boundary=L\r\n"));
	ck_assert(root->is_multipart);
	ck_assert_uint_eq(root->n_children, 1);
	ck_assert_uint_eq(root->children[0]->end_off -
	    root->children[0]->body_off, junk);
	imap_mime_free(&root);

	/* the same without the monster name: two levels */
	n = 0;
	n += (size_t)sprintf(msg + n,
	    "Content-Type: multipart/mixed; boundary=L\r\n\r\n--L");
	memset(msg + n, ' ', junk);
	n += junk;
	n += (size_t)sprintf(msg + n, "\r\n\r\n");
	memset(msg + n, 'b', junk);
	n += junk;
	n += (size_t)sprintf(msg + n, "\r\n--L--\r\n");
	root = imap_mime_parse(msg, n);
	check_tree(root, msg, n, 0);
	ck_assert(root->is_multipart);
	ck_assert_uint_eq(root->n_children, 1);
	ck_assert_uint_eq(root->children[0]->end_off -
	    root->children[0]->body_off, junk);
	imap_mime_free(&root);
	free(msg);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
mime_suite(void)
{
	Suite *s = suite_create("imap_mime");
	TCase *tc;

	tc = tcase_create("corpus");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_corpus_answers, 0, (int)N_CORPUS);
	tcase_add_loop_test(tc, test_corpus_feeding, 0, (int)N_CORPUS);
	tcase_add_loop_test(tc, test_corpus_serialize, 0, (int)N_CORPUS);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, test_inline, 0,
	    (int)(sizeof(inline_cases) / sizeof(inline_cases[0])));
	tcase_add_test(tc, test_long_boundary);
	tcase_add_test(tc, test_kept_fields_only);
	tcase_add_test(tc, test_kept_header_capped);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_header_fields);
	tcase_add_test(tc, test_header_get);
	tcase_add_loop_test(tc, test_decode_words, 0,
	    (int)(sizeof(words_cases) / sizeof(words_cases[0])));
	tcase_add_loop_test(tc, test_parse_date, 0,
	    (int)(sizeof(date_cases) / sizeof(date_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_loop_test(tc, test_deserialize_bad, 0,
	    (int)(sizeof(bad_serial) / sizeof(bad_serial[0])));
	tcase_add_test(tc, test_deserialize_good);
	suite_add_tcase(s, tc);

	tc = tcase_create("pathological");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_random_bytes, 0, 25);
	tcase_add_test(tc, test_big_message);
	tcase_add_test(tc, test_runaway_nesting);
	tcase_add_test(tc, test_runaway_parts);
	tcase_add_test(tc, test_long_lines);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
