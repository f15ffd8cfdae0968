/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for pop3/pop3_parse.c: tables of good and bad command lines,
 * and the byte-stuffing encoder fed every one- and two-point split of each
 * input, plus random messages checked against a simple line-by-line
 * reference encoder that sees the whole message at once.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_parse.h"

#define S(lit)	lit, sizeof(lit) - 1

/* ------------------------------------------------------------ commands */

struct cmd_case {
	const char *line;
	size_t	 len;
	int	 ret;
	const char *kw;
	const char *args;	/* NULL: no arguments */
	size_t	 args_len;
};

static const struct cmd_case cmd_cases[] = {
	{ S("STAT"), 0, "STAT", NULL, 0 },
	{ S("stat"), 0, "STAT", NULL, 0 },
	{ S("Top 1 2"), 0, "TOP", "1 2", 3 },
	{ S("LIST "), 0, "LIST", "", 0 },
	{ S("PASS  secret with spaces "), 0, "PASS", " secret with spaces ", 20 },
	{ S("AUTH PLAIN AGFsaWNlAHB3"), 0, "AUTH", "PLAIN AGFsaWNlAHB3", 18 },
	{ S("X"), 0, "X", NULL, 0 },
	{ S("capa"), 0, "CAPA", NULL, 0 },
	{ S("PASS a\0b"), 0, "PASS", "a\0b", 3 },
	{ S(""), -1, NULL, NULL, 0 },
	{ S(" STAT"), -1, NULL, NULL, 0 },
	{ S("STATS"), -1, NULL, NULL, 0 },
	{ S("STARTTLS"), -1, NULL, NULL, 0 },
	{ S("ST4T"), -1, NULL, NULL, 0 },
	{ S("STAT\t1"), -1, NULL, NULL, 0 },
	{ S("RETR\0 1"), -1, NULL, NULL, 0 },
	{ S("1234"), -1, NULL, NULL, 0 },
	{ S("\xc3\xa9TAT"), -1, NULL, NULL, 0 },
	{ S("STAT\r"), -1, NULL, NULL, 0 },
};

START_TEST(test_command)
{
	const struct cmd_case *c = &cmd_cases[_i];
	char kw[POP3_KEYWORD_MAX + 1];
	const char *args = (const char *)1;
	size_t args_len = 99;
	int ret;

	memset(kw, 'Z', sizeof(kw));
	ret = pop3_parse_command(c->line, c->len, kw, &args, &args_len);
	ck_assert_int_eq(ret, c->ret);
	if (ret < 0)
		return;
	ck_assert_str_eq(kw, c->kw);
	if (c->args == NULL) {
		ck_assert_ptr_null(args);
		ck_assert_uint_eq(args_len, 0);
	} else {
		ck_assert_ptr_nonnull(args);
		ck_assert_uint_eq(args_len, c->args_len);
		ck_assert_mem_eq(args, c->args, args_len);
		/* Arguments point into the line, not into a copy. */
		ck_assert(args > c->line && args + args_len == c->line + c->len);
	}
}
END_TEST

/* ------------------------------------------------------------- numbers */

struct num_case {
	const char *s;
	size_t	 len;
	int	 ret;
	uint32_t n;
};

static const struct num_case num_cases[] = {
	{ S("1"), 0, 1 },
	{ S("0"), 0, 0 },
	{ S("007"), 0, 7 },
	{ S("123456"), 0, 123456 },
	{ S("4294967295"), 0, 4294967295u },
	{ S("0004294967295"), 0, 4294967295u },
	{ S("4294967296"), -1, 0 },
	{ S("4294967300"), -1, 0 },
	{ S("42949672950"), -1, 0 },
	{ S("99999999999999999999999"), -1, 0 },
	{ S(""), -1, 0 },
	{ S("-1"), -1, 0 },
	{ S("+1"), -1, 0 },
	{ S(" 1"), -1, 0 },
	{ S("1 "), -1, 0 },
	{ S("1a"), -1, 0 },
	{ S("0x1"), -1, 0 },
	{ S("1\0"), -1, 0 },
	{ S("\xd9\xa1"), -1, 0 },	/* ARABIC-INDIC DIGIT ONE */
};

START_TEST(test_number)
{
	const struct num_case *c = &num_cases[_i];
	uint32_t n = 12345;

	ck_assert_int_eq(pop3_parse_number(c->s, c->len, &n), c->ret);
	if (c->ret == 0)
		ck_assert_uint_eq(n, c->n);
	else
		ck_assert_uint_eq(n, 12345);	/* untouched on error */
}
END_TEST

START_TEST(test_number_null)
{
	uint32_t n;

	ck_assert_int_eq(pop3_parse_number(NULL, 0, &n), -1);
}
END_TEST

START_TEST(test_opt_msgnum)
{
	bool present = true;
	uint32_t n = 0;

	ck_assert_int_eq(pop3_parse_opt_msgnum(NULL, 0, &present, &n), 0);
	ck_assert(!present);
	present = true;
	ck_assert_int_eq(pop3_parse_opt_msgnum("", 0, &present, &n), 0);
	ck_assert(!present);
	ck_assert_int_eq(pop3_parse_opt_msgnum(S("17"), &present, &n), 0);
	ck_assert(present);
	ck_assert_uint_eq(n, 17);
	ck_assert_int_eq(pop3_parse_opt_msgnum(S("1 2"), &present, &n), -1);
	ck_assert_int_eq(pop3_parse_opt_msgnum(S(" 1"), &present, &n), -1);
	ck_assert_int_eq(pop3_parse_opt_msgnum(S("x"), &present, &n), -1);
}
END_TEST

struct top_case {
	const char *s;
	size_t	 len;
	int	 ret;
	uint32_t msg, lines;
};

static const struct top_case top_cases[] = {
	{ S("1 0"), 0, 1, 0 },
	{ S("3 10"), 0, 3, 10 },
	{ S("4294967295 4294967295"), 0, 4294967295u, 4294967295u },
	{ S("1"), -1, 0, 0 },
	{ S("1 "), -1, 0, 0 },
	{ S(" 1"), -1, 0, 0 },
	{ S("1  2"), -1, 0, 0 },
	{ S("1 2 "), -1, 0, 0 },
	{ S("1 2 3"), -1, 0, 0 },
	{ S("1 -2"), -1, 0, 0 },
	{ S("1 4294967296"), -1, 0, 0 },
	{ S(""), -1, 0, 0 },
	{ S("a 1"), -1, 0, 0 },
};

START_TEST(test_top)
{
	const struct top_case *c = &top_cases[_i];
	uint32_t msg = 0, lines = 0;

	ck_assert_int_eq(pop3_parse_top(c->s, c->len, &msg, &lines), c->ret);
	if (c->ret == 0) {
		ck_assert_uint_eq(msg, c->msg);
		ck_assert_uint_eq(lines, c->lines);
	}
}
END_TEST

START_TEST(test_top_null)
{
	uint32_t msg, lines;

	ck_assert_int_eq(pop3_parse_top(NULL, 0, &msg, &lines), -1);
}
END_TEST

/* ------------------------------------------------------- USER and PASS */

START_TEST(test_user)
{
	static const struct {
		const char *s;
		size_t	 len;
		int	 ret;
	} cases[] = {
		{ S("alice@example.org"), 0 },
		{ S("a"), 0 },
		{ S("\xc3\xa9l\xc3\xa8ve@example.org"), 0 },
		{ S(""), -1 },
		{ S("alice bob"), -1 },
		{ S(" alice"), -1 },
		{ S("alice "), -1 },
		{ S("al\tice"), -1 },
		{ S("al\0ice"), -1 },
		{ S("alice\x7f"), -1 },
	};
	const char *name;
	size_t len, i;

	ck_assert_int_eq(pop3_parse_user(NULL, 0, &name, &len), -1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		name = NULL;
		len = 0;
		ck_assert_msg(pop3_parse_user(cases[i].s, cases[i].len, &name,
		    &len) == cases[i].ret, "case %zu", i);
		if (cases[i].ret == 0) {
			ck_assert_ptr_eq(name, cases[i].s);
			ck_assert_uint_eq(len, cases[i].len);
		}
	}
}
END_TEST

START_TEST(test_pass)
{
	const char *pw;
	size_t len;

	ck_assert_int_eq(pop3_parse_pass(NULL, 0, &pw, &len), -1);
	ck_assert_int_eq(pop3_parse_pass("", 0, &pw, &len), -1);
	ck_assert_int_eq(pop3_parse_pass(S("  two  words  "), &pw, &len), 0);
	ck_assert_uint_eq(len, 14);
	ck_assert_mem_eq(pw, "  two  words  ", 14);
	ck_assert_int_eq(pop3_parse_pass(S("x"), &pw, &len), 0);
	ck_assert_uint_eq(len, 1);
}
END_TEST

/* ---------------------------------------------------------------- AUTH */

struct auth_case {
	const char *s;
	size_t	 len;
	int	 ret;
	const char *mech;
	const char *initial;	/* NULL: none */
};

static const struct auth_case auth_cases[] = {
	{ S("PLAIN"), 0, "PLAIN", NULL },
	{ S("plain"), 0, "PLAIN", NULL },
	{ S("PLAIN AGFsaWNlAHB3"), 0, "PLAIN", "AGFsaWNlAHB3" },
	{ S("PLAIN ="), 0, "PLAIN", "=" },
	{ S("SCRAM-SHA-256"), 0, "SCRAM-SHA-256", NULL },
	{ S("X_Y-9"), 0, "X_Y-9", NULL },
	{ S("ABCDEFGHIJKLMNOPQRST"), 0, "ABCDEFGHIJKLMNOPQRST", NULL },
	{ S("ABCDEFGHIJKLMNOPQRSTU"), -1, NULL, NULL },
	{ S(""), -1, NULL, NULL },
	{ S(" PLAIN"), -1, NULL, NULL },
	{ S("PLAIN "), -1, NULL, NULL },
	{ S("PLAIN a b"), -1, NULL, NULL },
	{ S("PLAIN  a"), -1, NULL, NULL },
	{ S("PL.AIN"), -1, NULL, NULL },
	{ S("PL\0AIN"), -1, NULL, NULL },
};

START_TEST(test_auth)
{
	const struct auth_case *c = &auth_cases[_i];
	char mech[POP3_MECH_MAX + 1];
	const char *initial = (const char *)1;
	size_t initial_len = 99;
	bool has_initial = true;
	int ret;

	ret = pop3_parse_auth(c->s, c->len, mech, &initial, &initial_len,
	    &has_initial);
	ck_assert_int_eq(ret, c->ret);
	if (ret < 0)
		return;
	ck_assert_str_eq(mech, c->mech);
	if (c->initial == NULL) {
		ck_assert(!has_initial);
		ck_assert_ptr_null(initial);
	} else {
		ck_assert(has_initial);
		ck_assert_uint_eq(initial_len, strlen(c->initial));
		ck_assert_mem_eq(initial, c->initial, initial_len);
	}
}
END_TEST

START_TEST(test_auth_null)
{
	char mech[POP3_MECH_MAX + 1];
	const char *initial;
	size_t initial_len;
	bool has_initial;

	ck_assert_int_eq(pop3_parse_auth(NULL, 0, mech, &initial, &initial_len,
	    &has_initial), -1);
}
END_TEST

/* ------------------------------------------------------------ stuffing */

struct stuff_case {
	const char *in;
	size_t	 in_len;
	bool	 top;
	uint32_t lines;
	const char *out;	/* including the terminator */
	size_t	 out_len;
};

#define T(in, top, lines, out)	\
	{ in, sizeof(in) - 1, top, lines, out, sizeof(out) - 1 }

static const struct stuff_case stuff_cases[] = {
	T("", false, 0, ".\r\n"),
	T("a\r\n", false, 0, "a\r\n.\r\n"),
	T("no final newline", false, 0, "no final newline\r\n.\r\n"),
	T("ends in CR\r", false, 0, "ends in CR\r\n.\r\n"),
	T(".\r\n", false, 0, "..\r\n.\r\n"),
	T(".", false, 0, "..\r\n.\r\n"),
	T("a\r\n.b\r\n..c\r\nd.\r\n", false, 0,
	    "a\r\n..b\r\n...c\r\nd.\r\n.\r\n"),
	T("a\n.b\n", false, 0, "a\n..b\n.\r\n"),
	T("a\r.b\r\n", false, 0, "a\r.b\r\n.\r\n"),
	T("\r\n.\r\n.\r\n", false, 0, "\r\n..\r\n..\r\n.\r\n"),
	T("x\0.\r\n.\0\r\n", false, 0, "x\0.\r\n..\0\r\n.\r\n"),

	/* TOP: header, blank line, n body lines. */
	T("H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 0, "H: 1\r\n\r\n.\r\n"),
	T("H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 1, "H: 1\r\n\r\nb1\r\n.\r\n"),
	T("H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 2,
	    "H: 1\r\n\r\nb1\r\nb2\r\n.\r\n"),
	T("H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 3,
	    "H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"),
	T("H: 1\r\n\r\nb1\r\nb2\r\nb3", true, 99,
	    "H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"),
	T("H: 1\r\nH: 2\r\n", true, 0, "H: 1\r\nH: 2\r\n.\r\n"),
	T("H: 1\r\n.H: 2", true, 5, "H: 1\r\n..H: 2\r\n.\r\n"),
	T("H: 1\r\n\r\n\r\n\r\nx\r\n", true, 2, "H: 1\r\n\r\n\r\n\r\n.\r\n"),
	T("H: 1\r\n\r\n.\r\n..\r\nx\r\n", true, 2,
	    "H: 1\r\n\r\n..\r\n...\r\n.\r\n"),
	T("H: 1\n\nb1\nb2\n", true, 1, "H: 1\n\nb1\n.\r\n"),
	T("\r\nbody\r\nmore\r\n", true, 1, "\r\nbody\r\n.\r\n"),
	T("\r\nbody\r\n", true, 0, "\r\n.\r\n"),
	/* "\r\r\n" and " \r\n" are not blank lines. */
	T("H\r\n\r\r\n \r\n\r\nb\r\nc\r\n", true, 1,
	    "H\r\n\r\r\n \r\n\r\nb\r\n.\r\n"),
	T("H: 1\r\n\r\nb1 no newline", true, 3,
	    "H: 1\r\n\r\nb1 no newline\r\n.\r\n"),
};

/* Encode in as the given pieces (cut at the offsets in cuts, ascending)
 * and return the malloc'ed output, terminator included. */
static char *
encode_pieces(const struct stuff_case *c, const size_t *cuts, size_t ncuts,
    size_t *len_r)
{
	struct pop3_stuff st;
	char *out = malloc(2 * c->in_len + POP3_STUFF_FINISH_MAX + 1);
	size_t o = 0, from = 0, k;

	ck_assert_ptr_nonnull(out);
	pop3_stuff_init(&st, c->top, c->lines);
	for (k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : c->in_len;

		o += pop3_stuff_chunk(&st, c->in + from, to - from, out + o);
		from = to;
	}
	o += pop3_stuff_finish(&st, out + o);
	*len_r = o;
	return out;
}

static void
check_output(const struct stuff_case *c, const char *out, size_t len,
    const char *what)
{
	size_t want = c->out_len;

	ck_assert_msg(len == want && memcmp(out, c->out, len) == 0,
	    "%s: got %zu bytes, want %zu", what, len, want);
}

START_TEST(test_stuff_splits)
{
	const struct stuff_case *c = &stuff_cases[_i];
	size_t cuts[2], i, j, len;
	char *out;

	out = encode_pieces(c, NULL, 0, &len);
	check_output(c, out, len, "whole");
	free(out);

	for (i = 0; i <= c->in_len; i++) {
		cuts[0] = i;
		out = encode_pieces(c, cuts, 1, &len);
		check_output(c, out, len, "one split");
		free(out);
		for (j = i; j <= c->in_len; j++) {
			cuts[1] = j;
			out = encode_pieces(c, cuts, 2, &len);
			check_output(c, out, len, "two splits");
			free(out);
		}
	}
}
END_TEST

START_TEST(test_stuff_bytewise)
{
	const struct stuff_case *c = &stuff_cases[_i];
	size_t *cuts, i, len;
	char *out;

	cuts = calloc(c->in_len + 1, sizeof(*cuts));
	ck_assert_ptr_nonnull(cuts);
	for (i = 0; i < c->in_len; i++)
		cuts[i] = i;
	out = encode_pieces(c, cuts, c->in_len, &len);
	check_output(c, out, len, "bytewise");
	free(out);
	free(cuts);
}
END_TEST

START_TEST(test_stuff_done)
{
	struct pop3_stuff st;
	char out[64];
	size_t n;

	pop3_stuff_init(&st, true, 1);
	n = pop3_stuff_chunk(&st, S("H\r\n\r\nb"), out);
	ck_assert_uint_eq(n, 6);
	ck_assert(!pop3_stuff_done(&st));
	n = pop3_stuff_chunk(&st, S("1\r\nb2\r\n"), out);
	ck_assert_uint_eq(n, 3);
	ck_assert(pop3_stuff_done(&st));
	/* Anything after is consumed and dropped. */
	ck_assert_uint_eq(pop3_stuff_chunk(&st, S(".more\r\n"), out), 0);

	/* RETR is never done early. */
	pop3_stuff_init(&st, false, 0);
	pop3_stuff_chunk(&st, S("H\r\n\r\nb\r\n"), out);
	ck_assert(!pop3_stuff_done(&st));
}
END_TEST

/*
 * Reference encoder: whole message at once, one line at a time, written
 * the obvious way (find the LF, look at the line, copy it).
 */
static size_t
reference_encode(const char *in, size_t len, bool top, uint32_t lines,
    char *out)
{
	size_t pos = 0, o = 0;
	bool in_body = false;

	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t line_len = lf ? (size_t)(lf - (in + pos)) + 1 : len - pos;
		bool blank;

		if (top && in_body) {
			if (lines == 0)
				break;
			lines--;
		}
		blank = lf != NULL && (line_len == 1 ||
		    (line_len == 2 && in[pos] == '\r'));
		if (in[pos] == '.')
			out[o++] = '.';
		memcpy(out + o, in + pos, line_len);
		o += line_len;
		pos += line_len;
		if (top && !in_body && blank)
			in_body = true;
	}
	if (o > 0 && out[o - 1] != '\n') {
		if (out[o - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

START_TEST(test_stuff_random)
{
	static const char alphabet[] = "..\r\n\r\n\n\rab: ";
	char in[600], want[1300], got[1300 + POP3_STUFF_FINISH_MAX];
	unsigned seed = 0x5eed + (unsigned)_i;
	int round;

	for (round = 0; round < 200; round++) {
		struct pop3_stuff st;
		size_t len = (size_t)rand_r(&seed) % sizeof(in);
		bool top = rand_r(&seed) % 2;
		uint32_t lines = (uint32_t)rand_r(&seed) % 8;
		size_t i, o = 0, want_len;

		for (i = 0; i < len; i++)
			in[i] = alphabet[(size_t)rand_r(&seed) %
			    (sizeof(alphabet) - 1)];
		want_len = reference_encode(in, len, top, lines, want);

		pop3_stuff_init(&st, top, lines);
		for (i = 0; i < len; ) {
			size_t n = 1 + (size_t)rand_r(&seed) % 40;

			if (n > len - i)
				n = len - i;
			o += pop3_stuff_chunk(&st, in + i, n, got + o);
			i += n;
		}
		o += pop3_stuff_finish(&st, got + o);
		ck_assert_msg(o == want_len && memcmp(got, want, o) == 0,
		    "round %d: len %zu top %d lines %u", round, len, top,
		    lines);
	}
}
END_TEST

static Suite *
pop3_parse_suite(void)
{
	Suite *s = suite_create("pop3_parse");
	TCase *tc;

	tc = tcase_create("command");
	tcase_add_loop_test(tc, test_command, 0,
	    sizeof(cmd_cases) / sizeof(cmd_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("numbers");
	tcase_add_loop_test(tc, test_number, 0,
	    sizeof(num_cases) / sizeof(num_cases[0]));
	tcase_add_test(tc, test_number_null);
	tcase_add_test(tc, test_opt_msgnum);
	tcase_add_loop_test(tc, test_top, 0,
	    sizeof(top_cases) / sizeof(top_cases[0]));
	tcase_add_test(tc, test_top_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("login");
	tcase_add_test(tc, test_user);
	tcase_add_test(tc, test_pass);
	tcase_add_loop_test(tc, test_auth, 0,
	    sizeof(auth_cases) / sizeof(auth_cases[0]));
	tcase_add_test(tc, test_auth_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("stuffing");
	tcase_add_loop_test(tc, test_stuff_splits, 0,
	    sizeof(stuff_cases) / sizeof(stuff_cases[0]));
	tcase_add_loop_test(tc, test_stuff_bytewise, 0,
	    sizeof(stuff_cases) / sizeof(stuff_cases[0]));
	tcase_add_test(tc, test_stuff_done);
	tcase_add_loop_test(tc, test_stuff_random, 0, 20);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pop3_parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
