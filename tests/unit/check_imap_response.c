/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for imap-lite/imap_response.c: the wire form chosen for each
 * kind of string (atom, quoted, literal, NIL), escaping, the bounds that
 * force a literal, and compact UID sets.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-lite/imap_response.h"

/* Encode with fn and compare the whole buffer. */
#define ENC(call, want) do {						\
	struct imap_buf b = { 0 };					\
	call;								\
	ck_assert_uint_eq(b.len, sizeof(want) - 1);			\
	if (b.len > 0)							\
		ck_assert_mem_eq(b.data, want, sizeof(want) - 1);	\
	imap_buf_free(&b);						\
} while (0)

START_TEST(test_astring)
{
	ENC(imap_buf_astring(&b, "INBOX"), "INBOX");
	ENC(imap_buf_astring(&b, "$Label1"), "$Label1");
	ENC(imap_buf_astring(&b, "Sent Items"), "\"Sent Items\"");
	ENC(imap_buf_astring(&b, ""), "\"\"");
	ENC(imap_buf_astring(&b, "NIL"), "\"NIL\"");
	ENC(imap_buf_astring(&b, "nil"), "\"nil\"");
	ENC(imap_buf_astring(&b, "a]b"), "\"a]b\"");
	ENC(imap_buf_astring(&b, "a{b"), "\"a{b\"");
	ENC(imap_buf_astring(&b, "a\"b"), "\"a\\\"b\"");
	ENC(imap_buf_astring(&b, "a\\b"), "\"a\\\\b\"");
	ENC(imap_buf_astring(&b, "caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");
}
END_TEST

START_TEST(test_string_forms)
{
	ENC(imap_buf_string(&b, "plain", 5), "\"plain\"");
	ENC(imap_buf_string(&b, "\"\\", 2), "\"\\\"\\\\\"");
	ENC(imap_buf_string(&b, "two\r\nlines", 10), "{10}\r\ntwo\r\nlines");
	ENC(imap_buf_string(&b, "bare\nlf", 7), "{7}\r\nbare\nlf");
	ENC(imap_buf_string(&b, "nul\0x", 5), "{5}\r\nnul\0x");
	ENC(imap_buf_nstring(&b, NULL), "NIL");
	ENC(imap_buf_nstring(&b, "x"), "\"x\"");
	ENC(imap_buf_literal(&b, "", 0), "{0}\r\n");
}
END_TEST

START_TEST(test_quoted_bound)
{
	char s[IMAP_QUOTED_MAX + 2];
	struct imap_buf b = { 0 };

	memset(s, 'a', sizeof(s));
	ck_assert(imap_quotable(s, IMAP_QUOTED_MAX));
	ck_assert(!imap_quotable(s, IMAP_QUOTED_MAX + 1));
	imap_buf_string(&b, s, IMAP_QUOTED_MAX);
	ck_assert_uint_eq(b.len, IMAP_QUOTED_MAX + 2);
	ck_assert_int_eq(b.data[0], '"');
	imap_buf_reset(&b, 0);
	ck_assert_uint_eq(b.len, 0);
	imap_buf_string(&b, s, IMAP_QUOTED_MAX + 1);
	ck_assert_int_eq(strncmp(b.data, "{1025}\r\naaa", 11), 0);
	ck_assert_uint_eq(b.len, 8 + IMAP_QUOTED_MAX + 1);
	imap_buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_uidset)
{
	static const uint32_t a[] = { 1, 2, 3, 5, 7, 8, 10 };
	static const uint32_t one[] = { 42 };
	static const uint32_t big[] = { 4294967294u, 4294967295u };

	ENC(imap_buf_uidset(&b, a, 7), "1:3,5,7:8,10");
	ENC(imap_buf_uidset(&b, one, 1), "42");
	ENC(imap_buf_uidset(&b, big, 2), "4294967294:4294967295");
	ENC(imap_buf_uidset(&b, a, 0), "");
}
END_TEST

START_TEST(test_uint)
{
	static const uint64_t edges[] = { 0, 1, 9, 10, 99, 100, 4294967295u,
	    4294967296u, UINT64_MAX };
	struct imap_buf buf = { 0 };
	char want[32];
	uint64_t v;
	size_t i;

	ENC(imap_buf_uint(&b, 0), "0");
	ENC(imap_buf_uint(&b, UINT64_MAX), "18446744073709551615");
	/* Against printf: the edges, then a spread of magnitudes. */
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		imap_buf_reset(&buf, 0);
		imap_buf_uint(&buf, edges[i]);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)edges[i]);
		ck_assert_str_eq(buf.data, want);
	}
	for (v = 1; v < UINT64_MAX / 7; v = v * 7 + 3) {
		imap_buf_reset(&buf, 0);
		imap_buf_str(&buf, "x");
		imap_buf_uint(&buf, v);
		snprintf(want, sizeof(want), "x%llu", (unsigned long long)v);
		ck_assert_str_eq(buf.data, want);
	}
	imap_buf_free(&buf);
}
END_TEST

START_TEST(test_growth)
{
	struct imap_buf b = { 0 };
	size_t i;

	/* Many small pieces and one printf longer than any initial size. */
	for (i = 0; i < 10000; i++)
		imap_buf_add(&b, "x", 1);
	imap_buf_printf(&b, "%0500d", 7);
	ck_assert_uint_eq(b.len, 10500);
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert_int_eq(b.data[b.len - 1], '7');
	ck_assert_int_eq(b.data[10000], '0');
	imap_buf_reset(&b, 1 << 20);
	ck_assert_ptr_nonnull(b.data);
	imap_buf_reset(&b, 16);
	ck_assert_ptr_null(b.data);
	imap_buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("imap_response");
	TCase *tc = tcase_create("encode");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_astring);
	tcase_add_test(tc, test_string_forms);
	tcase_add_test(tc, test_quoted_bound);
	tcase_add_test(tc, test_uidset);
	tcase_add_test(tc, test_uint);
	tcase_add_test(tc, test_growth);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
