/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for server/iptable.c: address keys, and a reference-model run
 * of random increments and decrements against a plain array, with enough
 * keys to force growth and long probe chains, so backward-shift deletion
 * is exercised at every position.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "server/iptable.h"

START_TEST(test_keys)
{
	uint8_t a[IPTABLE_KEY_LEN], b[IPTABLE_KEY_LEN];
	static const uint8_t v4[IPTABLE_KEY_LEN] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };

	ck_assert_int_eq(iptable_key_from_text("192.0.2.1", a), 0);
	ck_assert_mem_eq(a, v4, IPTABLE_KEY_LEN);
	ck_assert_int_eq(iptable_key_from_text("::ffff:192.0.2.1", b), 0);
	ck_assert_mem_eq(a, b, IPTABLE_KEY_LEN);
	ck_assert_int_eq(iptable_key_from_text("::1", b), 0);
	ck_assert_int_eq(b[15], 1);
	ck_assert_int_eq(iptable_key_from_text("2001:DB8::1", a), 0);
	ck_assert_int_eq(iptable_key_from_text("2001:db8:0::1", b), 0);
	ck_assert_mem_eq(a, b, IPTABLE_KEY_LEN);
	ck_assert_int_eq(iptable_key_from_text("", a), -1);
	ck_assert_int_eq(iptable_key_from_text("localhost", a), -1);
	ck_assert_int_eq(iptable_key_from_text("192.0.2.256", a), -1);
	ck_assert_int_eq(iptable_key_from_text("192.0.2.1 ", a), -1);
}
END_TEST

START_TEST(test_basic)
{
	struct iptable *t = iptable_new(42);
	uint8_t a[IPTABLE_KEY_LEN], b[IPTABLE_KEY_LEN];

	iptable_key_from_text("10.0.0.1", a);
	iptable_key_from_text("10.0.0.2", b);
	ck_assert_uint_eq(iptable_get(t, a), 0);
	ck_assert_int_eq(iptable_decr(t, a), -1);
	ck_assert_uint_eq(iptable_incr(t, a), 1);
	ck_assert_uint_eq(iptable_incr(t, a), 2);
	ck_assert_uint_eq(iptable_incr(t, b), 1);
	ck_assert_uint_eq(iptable_entries(t), 2);
	ck_assert_int_eq(iptable_decr(t, a), 0);
	ck_assert_uint_eq(iptable_get(t, a), 1);
	ck_assert_int_eq(iptable_decr(t, a), 0);
	ck_assert_uint_eq(iptable_get(t, a), 0);
	ck_assert_uint_eq(iptable_entries(t), 1);
	ck_assert_int_eq(iptable_decr(t, a), -1);
	ck_assert_uint_eq(iptable_get(t, b), 1);
	iptable_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

#define MODEL_KEYS	3000

/*
 * Random operations against a reference array.  The loop index picks the
 * seed, so several hash layouts are covered.  Keys cycle between a tiny
 * pool (long chains in a small table) and many (growth).
 */
START_TEST(test_model)
{
	static unsigned model[MODEL_KEYS];
	struct iptable *t = iptable_new((uint64_t)_i * 0x9e3779b97f4a7c15u);
	unsigned seedv = (unsigned)_i + 1;
	size_t live = 0;

	memset(model, 0, sizeof(model));
	for (int step = 0; step < 200000; step++) {
		unsigned pool = (step / 20000) % 2 == 0 ? 40 : MODEL_KEYS;
		unsigned k = (unsigned)rand_r(&seedv) % pool;
		uint8_t key[IPTABLE_KEY_LEN] = { 0x20, 0x01, 0x0d, 0xb8 };
		bool up = rand_r(&seedv) % 100 < 52;

		key[14] = (uint8_t)(k >> 8);
		key[15] = (uint8_t)k;
		if (up) {
			live += model[k] == 0;
			ck_assert_uint_eq(iptable_incr(t, key), ++model[k]);
		} else if (model[k] == 0) {
			ck_assert_int_eq(iptable_decr(t, key), -1);
		} else {
			ck_assert_int_eq(iptable_decr(t, key), 0);
			live -= --model[k] == 0;
		}
		ck_assert_uint_eq(iptable_entries(t), live);
		/* Now and then, every key must read back exactly. */
		if (step % 5000 == 0) {
			for (unsigned j = 0; j < MODEL_KEYS; j++) {
				key[14] = (uint8_t)(j >> 8);
				key[15] = (uint8_t)j;
				ck_assert_uint_eq(iptable_get(t, key), model[j]);
			}
		}
	}
	/* Drain everything: the table must end empty. */
	for (unsigned j = 0; j < MODEL_KEYS; j++) {
		uint8_t key[IPTABLE_KEY_LEN] = { 0x20, 0x01, 0x0d, 0xb8 };

		key[14] = (uint8_t)(j >> 8);
		key[15] = (uint8_t)j;
		while (model[j] > 0) {
			ck_assert_int_eq(iptable_decr(t, key), 0);
			model[j]--;
		}
		ck_assert_uint_eq(iptable_get(t, key), 0);
	}
	ck_assert_uint_eq(iptable_entries(t), 0);
	iptable_free(&t);
}
END_TEST

static Suite *
iptable_suite(void)
{
	Suite *s = suite_create("iptable");
	TCase *tc = tcase_create("iptable");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_basic);
	tcase_add_loop_test(tc, test_model, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(iptable_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
