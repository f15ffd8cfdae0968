/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for imap-lite/imap_casefold.c: the folding of every code
 * point against Python's case mapping (check_imap_casefold_vectors.h says
 * how that file was written), invalid and truncated UTF-8 passing through
 * unchanged, the held-back tail of a chunk, and the substring search fed
 * in one piece, in two at every split point and a byte at a time.
 *
 * Inputs are copied into heap buffers of their exact length, so a read
 * past the end shows up under the sanitizers.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_casefold.h"

#define NCODEPOINTS	0x110000

static const struct {
	uint32_t from, to;
} vectors[] = {
#include "tests/unit/check_imap_casefold_vectors.h"
};

/* UTF-8 for cp; written here again so the test does not trust the
 * encoder under test. */
static size_t
enc(uint32_t cp, char *d)
{
	unsigned char *u = (unsigned char *)d;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 + (cp >> 6));
		u[1] = (unsigned char)(0x80 + (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 + (cp >> 12));
		u[1] = (unsigned char)(0x80 + ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 + (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 + (cp >> 18));
	u[1] = (unsigned char)(0x80 + ((cp >> 12) & 0x3f));
	u[2] = (unsigned char)(0x80 + ((cp >> 6) & 0x3f));
	u[3] = (unsigned char)(0x80 + (cp & 0x3f));
	return 4;
}

/* Fold len bytes held in a buffer of exactly that size. */
static size_t
fold_exact(const char *s, size_t len, char *out)
{
	char *in = xmalloc(len > 0 ? len : 1);
	size_t n;

	memcpy(in, s, len);
	n = imap_casefold(in, len, out);
	free(in);
	ck_assert_uint_le(n, IMAP_CASEFOLD_MAX(len));
	return n;
}

/* in (with its length) must fold to want. */
static void
check_fold(const char *in, size_t len, const char *want, size_t wlen)
{
	char *out = xmalloc(IMAP_CASEFOLD_MAX(len) + 1);
	size_t n = fold_exact(in, len, out);

	ck_assert_msg(n == wlen && memcmp(out, want, wlen) == 0,
	    "folding %zu bytes gave %zu, want %zu", len, n, wlen);
	free(out);
}

#define FOLD(in, want)	check_fold(in, sizeof(in) - 1, want, sizeof(want) - 1)

/*
 * Every code point, by itself and as UTF-8, against the Python vectors;
 * the surrogates have no UTF-8 form and are only looked up.
 */
START_TEST(test_table_matches_python)
{
	uint32_t *want = xcalloc(NCODEPOINTS, sizeof(*want));
	uint32_t cp, got, bad = 0, first_bad = 0;
	char in[4], exp[4], out[IMAP_CASEFOLD_MAX(4)];
	size_t i, n, en;

	for (cp = 0; cp < NCODEPOINTS; cp++)
		want[cp] = cp;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		want[vectors[i].from] = vectors[i].to;
	for (cp = 0; cp < NCODEPOINTS; cp++) {
		if ((got = imap_casefold_cp(cp)) != want[cp]) {
			if (bad++ == 0)
				first_bad = cp;
			continue;
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = enc(cp, in);
		en = enc(want[cp], exp);
		if (imap_casefold(in, n, out) != en ||
		    memcmp(out, exp, en) != 0) {
			if (bad++ == 0)
				first_bad = cp;
		}
	}
	free(want);
	ck_assert_msg(bad == 0, "%u code points fold wrongly, first U+%04X",
	    (unsigned)bad, (unsigned)first_bad);
	ck_assert_uint_gt(sizeof(vectors) / sizeof(vectors[0]), 1400);
}
END_TEST

/* The scripts SEARCH users write in, in readable form. */
START_TEST(test_scripts)
{
	FOLD("ÄRGER über Öl", "ärger über öl");
	FOLD("ÀÉÎÕÜÝÞ", "àéîõüýþ");
	FOLD("ŁÓDŹ ŽLUŤOUČKÝ ĞİŞ", "łódź žluťoučký ğİş");
	FOLD("ΣΟΦΙΑ σοφιας ΆΈΉΊΌΎΏ", "σοφια σοφιασ άέήίόύώ");
	FOLD("МОСКВА ЀЁЂЏ Ґ", "москва ѐёђџ ґ");
	FOLD("ԱՐԱՄ", "արամ");
	FOLD("ႠႡ ᲐᲑ", "ⴀⴁ აბ");
	FOLD("TIẾNG VIỆT ĐƯỜNG", "tiếng việt đường");
	FOLD("ＡＢＣ", "ａｂｃ");
	FOLD("ẞ ß", "ß ß");
	FOLD("\xe2\x84\xaa\xe2\x84\xa6", "kω");	/* Kelvin, Ohm signs */
	FOLD("ſ", "s");
	FOLD("Ⱥ", "ⱥ");				/* two bytes grow to three */
}
END_TEST

START_TEST(test_four_byte)
{
	FOLD("\xf0\x90\x90\x80", "\xf0\x90\x90\xa8");	/* Deseret */
	FOLD("\xf0\x9e\xa4\x80", "\xf0\x9e\xa4\xa2");	/* Adlam */
	FOLD("\xf0\x9f\x98\x80X", "\xf0\x9f\x98\x80x");	/* emoji stays */
	FOLD("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
}
END_TEST

/* Not UTF-8: every byte stays; letters around it still fold. */
START_TEST(test_invalid_passes)
{
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\xaf", "\xc1\x81", "\xc2",
		"\xe0\x80\x81", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xf0\x80\x80\x81", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"\xc3", "\xe2\x82", "\xf0\x90\x90", "\xf0", "\x80\x80\x80\x80",
	};
	char buf[16], want[16];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = strlen(bad[i]);
		check_fold(bad[i], n, bad[i], n);
		/* The same between two letters that fold: Ä ... Ä */
		memcpy(buf, "\xc3\x84", 2);
		memcpy(buf + 2, bad[i], n);
		memcpy(buf + 2 + n, "\xc3\x84", 2);
		memcpy(want, "\xc3\xa4", 2);
		memcpy(want + 2, bad[i], n);
		memcpy(want + 2 + n, "\xc3\xa4", 2);
		check_fold(buf, n + 4, want, n + 4);
	}
	/* A lead byte whose sequence a letter interrupts. */
	FOLD("\xc3\xc3\x84", "\xc3\xc3\xa4");
	FOLD("\xe2\x82Q", "\xe2\x82q");
	FOLD("\xf0\x90\x90\xc3\x84", "\xf0\x90\x90\xc3\xa4");
	/* An overlong 'A' is no 'A'. */
	FOLD("\xc1\x81\xe0\x81\x81", "\xc1\x81\xe0\x81\x81");
	check_fold("", 0, "", 0);
	check_fold("A\0B", 3, "a\0b", 3);
}
END_TEST

/* Every proper prefix of every code point is a tail; whole ones are not. */
START_TEST(test_tail)
{
	static const char *const never[] = {
		"\xc0", "\xc1", "\xf5", "\xff", "\xe0\x80", "\xe0\x9f",
		"\xed\xa0", "\xf0\x8f", "\xf4\x90", "\xf0\x90\x7f",
		"\x80", "\x80\x80\x80", "abc", "",
	};
	char s[5] = "x";
	size_t n, k, i;
	uint32_t cp;

	for (cp = 0x80; cp < NCODEPOINTS; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = enc(cp, s + 1);
		/* No ck_assert in this loop: each one costs a write to Check's
		 * pipe, a million of them a long time. */
		if (imap_casefold_tail(s, n + 1) != 0)
			ck_abort_msg("U+%04X whole is a tail", (unsigned)cp);
		for (k = 1; k < n; k++)
			if (imap_casefold_tail(s, k + 1) != k)
				ck_abort_msg("U+%04X cut after %zu bytes",
				    (unsigned)cp, k);
	}
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		ck_assert_uint_eq(imap_casefold_tail(never[i],
		    strlen(never[i])), 0);
}
END_TEST

START_TEST(test_contains)
{
#define HAS(hay, needle, want)						\
	ck_assert_msg(imap_casefold_contains(hay, strlen(hay), needle,	\
	    strlen(needle)) == (want), "%s in %s", needle, hay)
	HAS("Viele GRÜSSE aus München", "grüsse", true);
	HAS("Viele GRÜSSE aus München", "MÜNCHEN", true);
	HAS("ΣΟΦΙΑ", "σοφια", true);
	HAS("ὈΔΥΣΣΕΎΣ ΟΔΥΣΣΕΥΣ", "οδυσσευς", true);
	HAS("Привет из МОСКВЫ", "москв", true);
	HAS("Привет из МОСКВЫ", "москва", false);
	HAS("ärger", "ARGER", false);
	HAS("Grüße", "GRÜSSE", false);		/* simple folding: ß is not ss */
	HAS("ẞ", "ß", true);
	HAS("abc", "", true);
	HAS("", "", true);
	HAS("ab", "abc", false);
	HAS("x\xc3" "y", "\xc3Y", true);	/* invalid bytes match as bytes */
#undef HAS
}
END_TEST

/* The same answer however the text is cut into chunks. */
START_TEST(test_search_chunks)
{
	static const struct {
		const char *hay, *needle;
	} cases[] = {
		{ "prefix ÄRGER über ΣΟΦΙΑ", "ärger über σοφια" },
		{ "МОСКВА\xf0\x90\x90\x80z", "москва\xf0\x90\x90\xa8Z" },
		{ "aaaaaaaaÄb", "aäB" },
		{ "ⱥⱥȺ", "ȺȺȺ" },
		{ "no match here at all, ÄRGER", "ärgern" },
		{ "tail \xc3", "\xc3" },
		{ "\xe2\x82\xe2\x82\xac", "\xe2\x82\xac" },
	};
	struct imap_casefold_search cs;
	size_t i, cut, j, hlen;
	bool whole;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hlen = strlen(cases[i].hay);
		whole = imap_casefold_contains(cases[i].hay, hlen,
		    cases[i].needle, strlen(cases[i].needle));
		ck_assert_msg(whole == (i != 4), "case %zu", i);
		for (cut = 0; cut <= hlen; cut++) {
			imap_casefold_search_init(&cs, cases[i].needle,
			    strlen(cases[i].needle));
			(void)imap_casefold_search_feed(&cs, cases[i].hay, cut);
			(void)imap_casefold_search_feed(&cs,
			    cases[i].hay + cut, hlen - cut);
			ck_assert_msg(imap_casefold_search_finish(&cs) == whole,
			    "case %zu cut at %zu", i, cut);
			imap_casefold_search_free(&cs);
		}
		imap_casefold_search_init(&cs, cases[i].needle,
		    strlen(cases[i].needle));
		for (j = 0; j < hlen; j++)
			(void)imap_casefold_search_feed(&cs, cases[i].hay + j,
			    1);
		ck_assert_msg(imap_casefold_search_finish(&cs) == whole,
		    "case %zu byte by byte", i);
		imap_casefold_search_free(&cs);
	}
}
END_TEST

/*
 * 10 MB of two-byte letters in 32 KB chunks, with a needle that almost
 * matches everywhere: found only when it is really there, and in linear
 * time (a quadratic search would run into Check's timeout).
 */
START_TEST(test_search_big)
{
	const size_t total = 10 * 1024 * 1024, chunk = 32 * 1024;
	char *body = xmalloc(total), *needle;
	size_t nlen = 2 * 500 + 1, off, i;
	struct imap_casefold_search cs;
	int round;

	for (i = 0; i + 1 < total; i += 2)
		memcpy(body + i, "\xc3\x84", 2);	/* Ä */
	needle = xmalloc(nlen);
	for (i = 0; i + 1 < nlen; i += 2)
		memcpy(needle + i, "\xc3\xa4", 2);	/* ä */
	needle[nlen - 1] = 'x';
	for (round = 0; round < 2; round++) {
		if (round == 1)
			memcpy(body + total - 2, "XX", 2);	/* ...ÄÄXX */
		imap_casefold_search_init(&cs, needle, nlen);
		/* Chunks cut every Ä in two at odd offsets. */
		for (off = 0; off < total; off += chunk - 1)
			(void)imap_casefold_search_feed(&cs, body + off,
			    total - off < chunk - 1 ? total - off : chunk - 1);
		ck_assert(imap_casefold_search_finish(&cs) == (round == 1));
		imap_casefold_search_free(&cs);
	}
	free(needle);
	free(body);
}
END_TEST

static Suite *
casefold_suite(void)
{
	Suite *s = suite_create("imap_casefold");
	TCase *tc = tcase_create("fold");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_table_matches_python);
	tcase_add_test(tc, test_scripts);
	tcase_add_test(tc, test_four_byte);
	tcase_add_test(tc, test_invalid_passes);
	tcase_add_test(tc, test_tail);
	suite_add_tcase(s, tc);
	tc = tcase_create("search");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_contains);
	tcase_add_test(tc, test_search_chunks);
	tcase_add_test(tc, test_search_big);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(casefold_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
