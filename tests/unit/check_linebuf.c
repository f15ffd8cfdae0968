/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/linebuf.c.
 *
 * Most cases are table driven: each input is fed in two pieces split at
 * every byte position (and once byte by byte), the lines are drained after
 * every append, and the sequence of results is compared with the expected
 * one written as a compact string: "+text|" for a CRLF line, "-text|" for
 * a bare-LF line, "!|" for LINEBUF_TOO_LONG.  Inside text, CR, LF and NUL
 * are shown as \r, \n and \0 so the tables stay readable.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/linebuf.h"

struct line_case {
	const char	*input;
	size_t		 len;		/* inputs may contain NUL */
	size_t		 cap;
	const char	*expect;	/* results, see the file comment */
	size_t		 left;		/* bytes still pending at the end */
};

#define S(s)	(s), sizeof(s) - 1

static const struct line_case line_cases[] = {
	{ S("HELO x\r\n"), 1000, "+HELO x|", 0 },
	{ S("a\r\nb\nc\r\n"), 1000, "+a|-b|+c|", 0 },
	{ S("\r\n\n"), 1000, "+|-|", 0 },
	{ S("a\0b\r\n"), 1000, "+a\\0b|", 0 },
	{ S("a\rb\r\n"), 1000, "+a\\rb|", 0 },
	{ S("\r\r\n"), 1000, "+\\r|", 0 },
	{ S("x\r\ry\n"), 1000, "-x\\r\\ry|", 0 },
	{ S("one\r\ntwo"), 1000, "+one|", 3 },
	{ S("trailing cr\r"), 1000, "", 12 },
	/* cap counts the terminator: 8 + CRLF fits in 10 ... */
	{ S("12345678\r\nok\r\n"), 10, "+12345678|+ok|", 0 },
	/* ... 9 + CRLF does not, and the line after it survives. */
	{ S("123456789\r\nok\r\n"), 10, "!|+ok|", 0 },
	{ S("0123456789\nX\n"), 10, "!|-X|", 0 },
	{ S("0123456789abcdefghijklmnopqrstuvwxyz\r\nok\n"), 10, "!|-ok|", 0 },
	{ S("0123456789abc\r\n0123456789abc\r\nfine\r\n"), 10,
	    "!|!|+fine|", 0 },
	{ S("short\r\n0123456789abc\r\nfine\r\n"), 10, "+short|!|+fine|", 0 },
	{ S("\0\0\0\0\0\0\0\0\0\0\0\nz\n"), 10, "!|-z|", 0 },
};

/* Append the escaped form of p[0..n) to out. */
static void
escape_into(char *out, size_t outsize, const char *p, size_t n)
{
	size_t o = strlen(out);

	for (size_t i = 0; i < n && o + 3 < outsize; i++) {
		switch (p[i]) {
		case '\r':
			out[o++] = '\\';
			out[o++] = 'r';
			break;
		case '\n':
			out[o++] = '\\';
			out[o++] = 'n';
			break;
		case '\0':
			out[o++] = '\\';
			out[o++] = '0';
			break;
		default:
			out[o++] = p[i];
			break;
		}
	}
	out[o] = '\0';
}

/* Take every complete result out of lb and record it in out. */
static void
drain_lines(struct linebuf *lb, char *out, size_t outsize)
{
	enum linebuf_result r;
	enum linebuf_eol eol;
	const char *line;
	size_t len;

	for (;;) {
		r = linebuf_next_line(lb, &line, &len, &eol);
		if (r == LINEBUF_NEED_MORE)
			break;
		if (r == LINEBUF_TOO_LONG) {
			strncat(out, "!|", outsize - strlen(out) - 1);
			continue;
		}
		ck_assert_int_eq(r, LINEBUF_OK);
		strncat(out, eol == LINEBUF_EOL_CRLF ? "+" : "-",
		    outsize - strlen(out) - 1);
		escape_into(out, outsize, line, len);
		strncat(out, "|", outsize - strlen(out) - 1);
	}
}

/* Append all of p[0..n), draining whenever the buffer is full. */
static void
feed(struct linebuf *lb, const char *p, size_t n, char *out, size_t outsize)
{
	size_t took;

	while (n > 0) {
		took = linebuf_append(lb, p, n);
		ck_assert_uint_le(linebuf_pending(lb), lb->cap);
		ck_assert_uint_le(lb->size, lb->cap);
		p += took;
		n -= took;
		drain_lines(lb, out, outsize);
		/* A full buffer must always make progress once drained. */
		ck_assert(took > 0 || linebuf_room(lb) > 0);
	}
	drain_lines(lb, out, outsize);
}

START_TEST(test_lines_split)
{
	const struct line_case *tc = &line_cases[_i];
	struct linebuf lb;
	char out[512];

	for (size_t split = 0; split <= tc->len; split++) {
		linebuf_init(&lb, tc->cap);
		out[0] = '\0';
		feed(&lb, tc->input, split, out, sizeof(out));
		feed(&lb, tc->input + split, tc->len - split, out, sizeof(out));
		ck_assert_msg(strcmp(out, tc->expect) == 0,
		    "case %d split %zu: got \"%s\" want \"%s\"", _i, split,
		    out, tc->expect);
		ck_assert_uint_eq(linebuf_pending(&lb), tc->left);
		linebuf_free(&lb);
	}
}
END_TEST

START_TEST(test_lines_bytewise)
{
	const struct line_case *tc = &line_cases[_i];
	struct linebuf lb;
	char out[512] = "";

	linebuf_init(&lb, tc->cap);
	for (size_t i = 0; i < tc->len; i++)
		feed(&lb, tc->input + i, 1, out, sizeof(out));
	ck_assert_msg(strcmp(out, tc->expect) == 0, "case %d: got \"%s\"", _i,
	    out);
	ck_assert_uint_eq(linebuf_pending(&lb), tc->left);
	linebuf_free(&lb);
}
END_TEST

/* Three pieces: exercises a split inside the discarded tail and inside
 * the CRLF of the recovered line at the same time. */
START_TEST(test_lines_three_pieces)
{
	static const char in[] = "0123456789abcdef\r\nnext\r\n";
	size_t n = sizeof(in) - 1;
	struct linebuf lb;
	char out[256];

	for (size_t a = 0; a <= n; a++) {
		for (size_t b = a; b <= n; b++) {
			linebuf_init(&lb, 8);
			out[0] = '\0';
			feed(&lb, in, a, out, sizeof(out));
			feed(&lb, in + a, b - a, out, sizeof(out));
			feed(&lb, in + b, n - b, out, sizeof(out));
			ck_assert_msg(strcmp(out, "!|+next|") == 0,
			    "split %zu/%zu: %s", a, b, out);
			linebuf_free(&lb);
		}
	}
}
END_TEST

START_TEST(test_too_long_lf_later)
{
	struct linebuf lb;
	const char *line;
	size_t len;
	enum linebuf_eol eol;

	linebuf_init(&lb, 16);
	ck_assert_uint_eq(linebuf_append(&lb, "0123456789abcdefXYZ", 19), 16);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol),
	    LINEBUF_TOO_LONG);
	/* The start of the line is shown, so a caller can name it. */
	ck_assert_uint_eq(len, 16);
	ck_assert(memcmp(line, "0123456789abcdef", 16) == 0);
	/* Reported once only; later bytes of the same line vanish. */
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol),
	    LINEBUF_NEED_MORE);
	ck_assert_uint_eq(linebuf_append(&lb, "more junk", 9), 9);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol),
	    LINEBUF_NEED_MORE);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	ck_assert_uint_eq(linebuf_append(&lb, "still\r", 6), 6);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol),
	    LINEBUF_NEED_MORE);
	ck_assert_uint_eq(linebuf_append(&lb, "\nQUIT\r\n", 7), 7);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert(memcmp(line, "QUIT", 4) == 0);
	ck_assert_int_eq(eol, LINEBUF_EOL_CRLF);
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_clear_resets)
{
	struct linebuf lb;
	const char *line;
	size_t len;
	enum linebuf_eol eol;

	linebuf_init(&lb, 4);
	linebuf_append(&lb, "abcd", 4);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol),
	    LINEBUF_TOO_LONG);
	/* After clear (STARTTLS), the new stream owes nothing to the old. */
	linebuf_clear(&lb);
	linebuf_append(&lb, "ab\n", 3);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 2);

	linebuf_append(&lb, "xyz", 3);
	linebuf_clear(&lb);
	ck_assert_uint_eq(linebuf_pending(&lb), 0);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol),
	    LINEBUF_NEED_MORE);
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_chunks)
{
	struct linebuf lb;
	const char *p;
	size_t len;

	linebuf_init(&lb, 64);
	ck_assert_int_eq(linebuf_next_chunk(&lb, 10, &p, &len),
	    LINEBUF_NEED_MORE);
	linebuf_append(&lb, "abcdef", 6);
	ck_assert_int_eq(linebuf_next_chunk(&lb, 4, &p, &len), LINEBUF_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert(memcmp(p, "abcd", 4) == 0);
	linebuf_unread(&lb, 2);
	ck_assert_uint_eq(linebuf_pending(&lb), 4);
	ck_assert_int_eq(linebuf_next_chunk(&lb, 100, &p, &len), LINEBUF_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert(memcmp(p, "cdef", 4) == 0);
	ck_assert_int_eq(linebuf_next_chunk(&lb, 100, &p, &len),
	    LINEBUF_NEED_MORE);
	/* Giving back a whole chunk restores it exactly. */
	linebuf_unread(&lb, 4);
	ck_assert_int_eq(linebuf_next_chunk(&lb, 1, &p, &len), LINEBUF_OK);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(*p, 'c');
	linebuf_free(&lb);
}
END_TEST

/* The SMTP DATA pattern: a command line, a body read as chunks, the end
 * found in the middle of a chunk, the rest given back and read as lines. */
START_TEST(test_chunk_then_lines)
{
	static const char in[] = "DATA\r\nbody\r\n.\r\nQUIT\r\n";
	size_t n = sizeof(in) - 1;
	struct linebuf lb;
	const char *p, *line, *dot;
	size_t len, body = 0;
	enum linebuf_eol eol;

	for (size_t split = 0; split <= n; split++) {
		char got[64] = "";
		size_t got_len = 0;
		bool in_body = false, done = false, quit = false;

		linebuf_init(&lb, 64);
		for (int piece = 0; piece < 2; piece++) {
			if (piece == 0)
				linebuf_append(&lb, in, split);
			else
				linebuf_append(&lb, in + split, n - split);
			for (;;) {
				if (!in_body) {
					if (linebuf_next_line(&lb, &line, &len,
					    &eol) != LINEBUF_OK)
						break;
					if (len == 4 &&
					    !memcmp(line, "DATA", 4))
						in_body = true;
					else if (len == 4 &&
					    !memcmp(line, "QUIT", 4))
						quit = true;
					continue;
				}
				if (linebuf_next_chunk(&lb, 7, &p, &len) !=
				    LINEBUF_OK)
					break;
				memcpy(got + got_len, p, len);
				got_len += len;
				dot = memmem(got, got_len, "\r\n.\r\n", 5);
				if (dot != NULL) {
					body = (size_t)(dot - got) + 5;
					linebuf_unread(&lb, got_len - body);
					in_body = false;
					done = true;
				}
			}
		}
		ck_assert_msg(done && quit, "split %zu: done=%d quit=%d",
		    split, done, quit);
		ck_assert_uint_eq(body, 9);
		ck_assert_uint_eq(linebuf_pending(&lb), 0);
		linebuf_free(&lb);
	}
}
END_TEST

/* Chunks read at every split point reassemble the input exactly. */
START_TEST(test_chunks_split)
{
	static const char in[] = "binary\0\r\n\r.\nstuff";
	size_t n = sizeof(in) - 1;
	struct linebuf lb;
	const char *p;
	size_t len;

	for (size_t split = 0; split <= n; split++) {
		char got[64];
		size_t got_len = 0;

		linebuf_init(&lb, 8);
		for (size_t off = 0; off < n;) {
			size_t end = off < split ? split : n;

			off += linebuf_append(&lb, in + off, end - off);
			while (linebuf_next_chunk(&lb, 3, &p, &len) ==
			    LINEBUF_OK) {
				ck_assert_uint_le(len, 3);
				memcpy(got + got_len, p, len);
				got_len += len;
			}
		}
		ck_assert_uint_eq(got_len, n);
		ck_assert(memcmp(got, in, n) == 0);
		linebuf_free(&lb);
	}
}
END_TEST

START_TEST(test_write_ptr)
{
	struct linebuf lb;
	size_t avail;
	char *p;
	const char *line;
	size_t len;
	enum linebuf_eol eol;

	linebuf_init(&lb, 100);
	p = linebuf_write_ptr(&lb, 16384, &avail);
	ck_assert_ptr_nonnull(p);
	/* Never more than the cap, even when asked for more. */
	ck_assert_uint_eq(avail, 100);
	memcpy(p, "hi\r\n", 4);
	linebuf_commit(&lb, 4);
	ck_assert_uint_eq(linebuf_room(&lb), 96);
	p = linebuf_write_ptr(&lb, 10, &avail);
	ck_assert_uint_ge(avail, 10);
	ck_assert_uint_le(avail, 96);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 2);

	/* Full: nothing writable until something is consumed. */
	linebuf_append(&lb, "0123456789", 10);
	while (linebuf_room(&lb) > 0)
		linebuf_append(&lb, "x", 1);
	(void)linebuf_write_ptr(&lb, 10, &avail);
	ck_assert_uint_eq(avail, 0);
	ck_assert_uint_eq(linebuf_append(&lb, "y", 1), 0);
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_growth_and_compaction)
{
	struct linebuf lb;
	const char *line;
	size_t len, first;
	enum linebuf_eol eol;
	char big[3000];

	linebuf_init(&lb, 65536);
	ck_assert_ptr_null(lb.buf);
	linebuf_append(&lb, "ab", 2);
	first = lb.size;
	ck_assert_uint_ge(first, 2);
	ck_assert_uint_le(first, 1024);

	/* Growth is geometric: never more than twice what is needed. */
	memset(big, 'z', sizeof(big));
	linebuf_append(&lb, big, sizeof(big));
	ck_assert_uint_ge(lb.size, sizeof(big) + 2);
	ck_assert_uint_le(lb.size, 2 * (sizeof(big) + 2));
	linebuf_clear(&lb);
	linebuf_shrink(&lb);

	/* Many short lines, consumed as they come: compaction keeps the
	 * block at its first size. */
	for (int i = 0; i < 5000; i++) {
		linebuf_append(&lb,
		    "MAIL FROM:<someone@example.org>\r\nNO", 35);
		while (linebuf_next_line(&lb, &line, &len, &eol) == LINEBUF_OK)
			;
		ck_assert_uint_eq(lb.size, first);
	}
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_shrink)
{
	struct linebuf lb;
	const char *line;
	size_t len;
	enum linebuf_eol eol;

	linebuf_init(&lb, 1000);
	linebuf_shrink(&lb);
	ck_assert_ptr_null(lb.buf);
	linebuf_append(&lb, "abc\r\nde", 7);
	linebuf_shrink(&lb);
	/* Not empty: nothing is lost. */
	ck_assert_ptr_nonnull(lb.buf);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(linebuf_pending(&lb), 2);
	linebuf_shrink(&lb);
	ck_assert_ptr_nonnull(lb.buf);
	linebuf_append(&lb, "\n", 1);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert(memcmp(line, "de", 2) == 0);
	linebuf_shrink(&lb);
	ck_assert_ptr_null(lb.buf);
	ck_assert_uint_eq(lb.size, 0);
	/* And it is usable again afterwards. */
	linebuf_append(&lb, "x\n", 2);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 1);
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_set_cap)
{
	struct linebuf lb;
	const char *line;
	size_t len;
	enum linebuf_eol eol;
	char big[5000];

	memset(big, 'q', sizeof(big));
	linebuf_init(&lb, 10);
	linebuf_append(&lb, "0123456789", 10);
	/* Raising the cap turns a would-be TOO_LONG into a longer line. */
	linebuf_set_cap(&lb, 20);
	ck_assert_uint_eq(linebuf_room(&lb), 10);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol),
	    LINEBUF_NEED_MORE);
	linebuf_append(&lb, "ab\r\n", 4);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 12);

	/* Never below what is buffered. */
	linebuf_append(&lb, "abcdef", 6);
	linebuf_set_cap(&lb, 2);
	ck_assert_uint_eq(lb.cap, 6);
	ck_assert_uint_eq(linebuf_room(&lb), 0);
	ck_assert_uint_eq(linebuf_pending(&lb), 6);
	ck_assert_int_eq(linebuf_next_chunk(&lb, 100, &line, &len), LINEBUF_OK);
	ck_assert(memcmp(line, "abcdef", 6) == 0);

	/* A big cap for a body, then back to the command limit: the
	 * storage follows the cap down. */
	linebuf_set_cap(&lb, 65536);
	linebuf_append(&lb, big, sizeof(big));
	ck_assert_uint_ge(lb.size, sizeof(big));
	while (linebuf_next_chunk(&lb, 1000, &line, &len) == LINEBUF_OK)
		;
	linebuf_set_cap(&lb, 1000);
	ck_assert_uint_le(lb.size, 1000);
	linebuf_append(&lb, "HELO\r\n", 6);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 4);
	linebuf_free(&lb);
}
END_TEST

/* A peer that never sends LF: memory stays at cap, TOO_LONG comes once,
 * and the first real line after the flood is still read. */
START_TEST(test_flood)
{
	struct linebuf lb;
	const char *line;
	size_t len, total = 0, avail;
	enum linebuf_eol eol;
	enum linebuf_result r;
	int too_long = 0;
	char junk[4096];
	char *p;

	memset(junk, 'J', sizeof(junk));
	linebuf_init(&lb, 1000);
	while (total < 4 * 1024 * 1024) {
		p = linebuf_write_ptr(&lb, 16384, &avail);
		ck_assert_uint_gt(avail, 0);
		if (avail > sizeof(junk))
			avail = sizeof(junk);
		memcpy(p, junk, avail);
		linebuf_commit(&lb, avail);
		total += avail;
		ck_assert_uint_le(lb.size, 1000);
		while ((r = linebuf_next_line(&lb, &line, &len, &eol)) !=
		    LINEBUF_NEED_MORE) {
			ck_assert_int_eq(r, LINEBUF_TOO_LONG);
			too_long++;
		}
	}
	ck_assert_int_eq(too_long, 1);
	linebuf_append(&lb, "\nok\r\n", 5);
	ck_assert_int_eq(linebuf_next_line(&lb, &line, &len, &eol), LINEBUF_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert(memcmp(line, "ok", 2) == 0);
	linebuf_free(&lb);
}
END_TEST

static Suite *
linebuf_suite(void)
{
	Suite *s = suite_create("linebuf");
	TCase *tc;
	int ncases = (int)(sizeof(line_cases) / sizeof(line_cases[0]));

	tc = tcase_create("lines");
	tcase_add_loop_test(tc, test_lines_split, 0, ncases);
	tcase_add_loop_test(tc, test_lines_bytewise, 0, ncases);
	tcase_add_test(tc, test_lines_three_pieces);
	tcase_add_test(tc, test_too_long_lf_later);
	tcase_add_test(tc, test_clear_resets);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunks");
	tcase_add_test(tc, test_chunks);
	tcase_add_test(tc, test_chunk_then_lines);
	tcase_add_test(tc, test_chunks_split);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_write_ptr);
	tcase_add_test(tc, test_growth_and_compaction);
	tcase_add_test(tc, test_shrink);
	tcase_add_test(tc, test_set_cap);
	tcase_add_test(tc, test_flood);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(linebuf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
