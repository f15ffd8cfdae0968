/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the pure IMAP parsing library (imap-lite/imap_parser.h):
 * the command tokenizer on tables of good and bad commands (every prefix
 * of each good one must fail cleanly, never crash), literal
 * announcements, argument helpers, sequence sets against a brute-force
 * model, FETCH items, SEARCH keys, dates against timegm(), flag lists,
 * modified UTF-7 and the arena.  Inputs are copied into heap buffers of
 * exactly their length so that the sanitizer build catches any read past
 * the end.  Large inputs (deep nesting, 100,000 ranges) run within
 * Check's default timeout only if the code is linear.
 */
#include "autoconfig.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-lite/imap_parser.h"
#include "mailstore/ms.h"

#define S(lit)		lit, sizeof(lit) - 1
#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

/* A growable string for dumps. */
struct dump {
	char	*s;
	size_t	 len, cap;
};

static void
dump_add(struct dump *d, const char *p, size_t n)
{
	if (d->len + n + 1 > d->cap) {
		d->cap = (d->len + n + 1) * 2;
		d->s = realloc(d->s, d->cap);
		ck_assert_ptr_nonnull(d->s);
	}
	memcpy(d->s + d->len, p, n);
	d->len += n;
	d->s[d->len] = '\0';
}

static void
dump_str(struct dump *d, const char *s)
{
	dump_add(d, s, strlen(s));
}

/* Bytes with non-printable ones as \xHH. */
static void
dump_bytes(struct dump *d, const char *p, size_t n)
{
	char hex[8];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f) {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			dump_str(d, hex);
		} else
			dump_add(d, &p[i], 1);
	}
}

/*
 * An argument tree as text: atoms as they are, NIL as NIL, "quoted",
 * {n:literal} (~{ for literal8), @section-token and (lists).
 */
static void
dump_arg(struct dump *d, const struct imap_arg *arg)
{
	char num[32];
	size_t i;

	/* Every string is NUL-terminated at len. */
	ck_assert_ptr_nonnull(arg->str);
	ck_assert_int_eq(arg->str[arg->len], '\0');
	switch (arg->type) {
	case IMAP_ARG_ATOM:
		dump_bytes(d, arg->str, arg->len);
		break;
	case IMAP_ARG_NIL:
		dump_str(d, "NIL");
		break;
	case IMAP_ARG_QUOTED:
		dump_str(d, "\"");
		dump_bytes(d, arg->str, arg->len);
		dump_str(d, "\"");
		break;
	case IMAP_ARG_LITERAL:
		snprintf(num, sizeof(num), "%s{%zu:", arg->literal8 ? "~" : "",
		    arg->len);
		dump_str(d, num);
		dump_bytes(d, arg->str, arg->len);
		dump_str(d, "}");
		break;
	case IMAP_ARG_SECTION:
		dump_str(d, "@");
		dump_bytes(d, arg->str, arg->len);
		break;
	case IMAP_ARG_LIST:
		dump_str(d, "(");
		for (i = 0; i < arg->n; i++) {
			if (i > 0)
				dump_str(d, " ");
			dump_arg(d, &arg->list[i]);
		}
		dump_str(d, ")");
		break;
	}
}

static char *
dump_command(const struct imap_command *cmd)
{
	struct dump d = { 0 };
	size_t i;

	dump_str(&d, cmd->tag);
	dump_str(&d, "|");
	dump_str(&d, cmd->name);
	dump_str(&d, "|");
	for (i = 0; i < cmd->nargs; i++) {
		if (i > 0)
			dump_str(&d, " ");
		dump_arg(&d, &cmd->args[i]);
	}
	return d.s;
}

/* imap_parse_command() on an exact-size heap copy of buf. */
static enum imap_parse_result
parse(const char *buf, size_t len, struct imap_arena *a,
    struct imap_command *cmd, const char **error)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum imap_parse_result r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, buf, len);
	r = imap_parse_command(copy, len, a, cmd, error);
	/* Results must not point into the caller's buffer: it is reused
	 * once the command is parsed.  Scribble over it to prove that. */
	memset(copy, 'Z', len);
	free(copy);
	return r;
}

/* ------------------------------------------------------------ commands */

struct cmd_case {
	const char *in;
	size_t	 len;
	enum imap_parse_result r;
	const char *out;	/* dump if OK; tag if BAD (NULL for none) */
};

static const struct cmd_case good_cases[] = {
	{ S("a1 NOOP"), IMAP_PARSE_OK, "a1|NOOP|" },
	{ S("a1 noop"), IMAP_PARSE_OK, "a1|NOOP|" },
	{ S("a1 NOOP\r\n"), IMAP_PARSE_OK, "a1|NOOP|" },
	{ S("A001 LOGIN joe secret"), IMAP_PARSE_OK, "A001|LOGIN|joe secret" },
	{ S("!#$&'-./:;<=>?@[]^_`|}~ NOOP"), IMAP_PARSE_OK,
	    "!#$&'-./:;<=>?@[]^_`|}~|NOOP|" },
	{ S("]a Capability"), IMAP_PARSE_OK, "]a|CAPABILITY|" },
	{ S("a LOGIN \"jo\\\"e\" \"p\\\\w d\""), IMAP_PARSE_OK,
	    "a|LOGIN|\"jo\"e\" \"p\\w d\"" },
	{ S("a LOGIN \"\" \"(x) {3} %*\""), IMAP_PARSE_OK,
	    "a|LOGIN|\"\" \"(x) {3} %*\"" },
	{ S("a SELECT \"caf\xc3\xa9\""), IMAP_PARSE_OK,
	    "a|SELECT|\"caf\\xc3\\xa9\"" },
	{ S("a LOGIN {3}\r\nfoo {4+}\r\nb\0ar"), IMAP_PARSE_OK,
	    "a|LOGIN|{3:foo} {4:b\\x00ar}" },
	{ S("a LOGIN {3}\r\n\r\n\" {0}\r\n"), IMAP_PARSE_OK,
	    "a|LOGIN|{3:\\x0d\\x0a\"} {0:}" },
	{ S("a X {3}\r\nabc\r\n"), IMAP_PARSE_OK, "a|X|{3:abc}" },
	{ S("a APPEND INBOX (\\Seen) ~{3}\r\na\xffz"), IMAP_PARSE_OK,
	    "a|APPEND|INBOX (\\Seen) ~{3:a\\xffz}" },
	{ S("a APPEND INBOX ~{2+}\r\n\0\0"), IMAP_PARSE_OK,
	    "a|APPEND|INBOX ~{2:\\x00\\x00}" },
	{ S("a X ({1}\r\n)) ({2}\r\n() {0}\r\n)"), IMAP_PARSE_OK,
	    "a|X|({1:)}) ({2:()} {0:})" },
	{ S("a X (a (b (c)) ()) d"), IMAP_PARSE_OK, "a|X|(a (b (c)) ()) d" },
	{ S("a X ((((((((((((((((x))))))))))))))))"), IMAP_PARSE_OK,
	    "a|X|((((((((((((((((x))))))))))))))))" },
	{ S("a X NIL nil (Nil) NILS"), IMAP_PARSE_OK,
	    "a|X|NIL NIL (NIL) NILS" },
	{ S("a X \\Seen \\* ~tilde"), IMAP_PARSE_OK, "a|X|\\Seen \\* ~tilde" },
	{ S("a LIST \"\" %/foo*"), IMAP_PARSE_OK, "a|LIST|\"\" %/foo*" },
	{ S("a LIST \"\" *"), IMAP_PARSE_OK, "a|LIST|\"\" *" },
	{ S("a uid fetch 1:*,3 (FLAGS)"), IMAP_PARSE_OK,
	    "a|UID FETCH|1:*,3 (FLAGS)" },
	{ S("a FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\" \"a]b\")]<0.10> UID)"),
	    IMAP_PARSE_OK,
	    "a|FETCH|1 (FLAGS @BODY.PEEK[HEADER.FIELDS (From \"To\" \"a]b\")]<0.10> UID)" },
	{ S("a FETCH 1 BODY[]"), IMAP_PARSE_OK, "a|FETCH|1 @BODY[]" },
	{ S("a SELECT foo[bar]baz"), IMAP_PARSE_OK, "a|SELECT|@foo[bar]baz" },
	{ S("a SELECT a]b"), IMAP_PARSE_OK, "a|SELECT|a]b" },
	{ S("a SEARCH SUBJECT {5}\r\nhello UNSEEN"), IMAP_PARSE_OK,
	    "a|SEARCH|SUBJECT {5:hello} UNSEEN" },
	{ S("a X {3}\r\nabc {3}\r\ndef"), IMAP_PARSE_OK,
	    "a|X|{3:abc} {3:def}" },
	{ S("a X {03}\r\nabc"), IMAP_PARSE_OK, "a|X|{3:abc}" },
	{ S("a X \"\\\\\""), IMAP_PARSE_OK, "a|X|\"\\\"" },
};

static const struct cmd_case bad_cases[] = {
	{ S(""), IMAP_PARSE_BAD_TAG, NULL },
	{ S(" NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("\r\n"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a+b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("+ NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("* NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a*b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a%b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a(b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a{b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a\"b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a\\b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a\0b NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a\xc3\xa9 NOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a\tNOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("a\rNOOP"), IMAP_PARSE_BAD_TAG, NULL },
	{ S("abc"), IMAP_PARSE_BAD, "abc" },
	{ S("abc\r\n"), IMAP_PARSE_BAD, "abc" },
	{ S("abc "), IMAP_PARSE_BAD, "abc" },
	{ S("a  NOOP"), IMAP_PARSE_BAD, "a" },
	{ S("a NOOP "), IMAP_PARSE_BAD, "a" },
	{ S("a NOOP  x"), IMAP_PARSE_BAD, "a" },
	{ S("a NOOP x "), IMAP_PARSE_BAD, "a" },
	{ S("a NOOP x  y"), IMAP_PARSE_BAD, "a" },
	{ S("a NO\0OP"), IMAP_PARSE_BAD, "a" },
	{ S("a NO\xc3\xa9OP"), IMAP_PARSE_BAD, "a" },
	{ S("a NOOP("), IMAP_PARSE_BAD, "a" },
	{ S("a (NOOP)"), IMAP_PARSE_BAD, "a" },
	{ S("a \"NOOP\""), IMAP_PARSE_BAD, "a" },
	{ S("a UID"), IMAP_PARSE_BAD, "a" },
	{ S("a UID "), IMAP_PARSE_BAD, "a" },
	{ S("a UID (x)"), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"a\\b\" c"), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"abc"), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"abc\\"), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"abc\\\""), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"a\0b\""), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"a\r\nb\""), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"a\"\"b\""), IMAP_PARSE_BAD, "a" },
	{ S("a LOGIN \"a\"b"), IMAP_PARSE_BAD, "a" },
	{ S("a X {5}\r\nabc"), IMAP_PARSE_BAD, "a" },
	{ S("a X {3}abc"), IMAP_PARSE_BAD, "a" },
	{ S("a X {3}\rabc"), IMAP_PARSE_BAD, "a" },
	{ S("a X {3}\r\nabcdef"), IMAP_PARSE_BAD, "a" },
	{ S("a X {-1}\r\n"), IMAP_PARSE_BAD, "a" },
	{ S("a X {}\r\n"), IMAP_PARSE_BAD, "a" },
	{ S("a X {+}\r\n"), IMAP_PARSE_BAD, "a" },
	{ S("a X {3++}\r\nabc"), IMAP_PARSE_BAD, "a" },
	{ S("a X {3"), IMAP_PARSE_BAD, "a" },
	{ S("a X {"), IMAP_PARSE_BAD, "a" },
	{ S("a X {99999999999999999999999}\r\n"), IMAP_PARSE_BAD, "a" },
	{ S("a X ~{x}\r\n"), IMAP_PARSE_BAD, "a" },
	{ S("a X ab{3}\r\nabc"), IMAP_PARSE_BAD, "a" },
	{ S("a X )"), IMAP_PARSE_BAD, "a" },
	{ S("a X a)"), IMAP_PARSE_BAD, "a" },
	{ S("a X (a"), IMAP_PARSE_BAD, "a" },
	{ S("a X (a\r\n"), IMAP_PARSE_BAD, "a" },
	{ S("a X (a )"), IMAP_PARSE_BAD, "a" },
	{ S("a X ( a)"), IMAP_PARSE_BAD, "a" },
	{ S("a X (a  b)"), IMAP_PARSE_BAD, "a" },
	{ S("a X a(b)"), IMAP_PARSE_BAD, "a" },
	{ S("a X (a)(b)"), IMAP_PARSE_BAD, "a" },
	{ S("a X (a)b"), IMAP_PARSE_BAD, "a" },
	{ S("a X (((((((((((((((((x)))))))))))))))))"), IMAP_PARSE_BAD, "a" },
	{ S("a X \\"), IMAP_PARSE_BAD, "a" },
	{ S("a X \\\\Seen"), IMAP_PARSE_BAD, "a" },
	{ S("a X a\\b"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT caf\xc3\xa9"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT \xff"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT a\0b"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT \0"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT a\tb"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT a\x7f"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT a\r"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT a\n"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT a\r\nb"), IMAP_PARSE_BAD, "a" },
	{ S("a SELECT a\r\n\r\n"), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY["), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY[HEADER"), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY[HEADER.FIELDS {3}\r\nabc]"), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY[HEADER.FIELDS (\"a)]"), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY[HEADER.FIELDS (\"a\\x\")]"), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY[\xc3\xa9]"), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY[\0]"), IMAP_PARSE_BAD, "a" },
	{ S("a FETCH 1 BODY[\t]"), IMAP_PARSE_BAD, "a" },
};

/* One good command: the expected tree, and strings owned by the arena. */
START_TEST(test_good)
{
	const struct cmd_case *c = &good_cases[_i];
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error = "unset";
	char *d;

	ck_assert_int_eq(parse(c->in, c->len, &a, &cmd, &error), IMAP_PARSE_OK);
	ck_assert_ptr_null(error);
	d = dump_command(&cmd);
	ck_assert_str_eq(d, c->out);
	free(d);
	ck_assert_int_eq(cmd.uid, strncmp(cmd.name, "UID ", 4) == 0);
	imap_arena_free(&a);
}
END_TEST

START_TEST(test_bad)
{
	const struct cmd_case *c = &bad_cases[_i];
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error = NULL;

	ck_assert_int_eq(parse(c->in, c->len, &a, &cmd, &error), c->r);
	ck_assert_ptr_nonnull(error);
	ck_assert_ptr_null(cmd.args);
	ck_assert_uint_eq(cmd.nargs, 0);
	if (c->out == NULL)
		ck_assert_ptr_null(cmd.tag);
	else
		ck_assert_str_eq(cmd.tag, c->out);
	imap_arena_free(&a);
}
END_TEST

/*
 * Every proper prefix of a good command is what a broken session or a
 * fuzzer could hand over: it must give BAD (with the tag, which is itself
 * a prefix of a good tag) or a clean OK, and nothing may be read past the
 * end.  Only the empty prefix has no tag.
 */
START_TEST(test_good_prefixes)
{
	const struct cmd_case *c = &good_cases[_i];
	struct imap_arena a = { 0 };
	size_t k;

	for (k = 0; k < c->len; k++) {
		struct imap_command cmd;
		const char *error = NULL;
		enum imap_parse_result r;
		char *d;

		r = parse(c->in, k, &a, &cmd, &error);
		if (k == 0) {
			ck_assert_int_eq(r, IMAP_PARSE_BAD_TAG);
			continue;
		}
		ck_assert_msg(r == IMAP_PARSE_OK || r == IMAP_PARSE_BAD,
		    "prefix %zu of case %d: %d", k, _i, (int)r);
		ck_assert_ptr_nonnull(cmd.tag);
		ck_assert(strncmp(cmd.tag, c->in, strlen(cmd.tag)) == 0);
		if (r == IMAP_PARSE_BAD) {
			ck_assert_ptr_nonnull(error);
			ck_assert_uint_eq(cmd.nargs, 0);
		} else {
			ck_assert_ptr_null(error);
			d = dump_command(&cmd);
			free(d);
		}
		imap_arena_reset(&a);
	}
	imap_arena_free(&a);
}
END_TEST

/* Random byte flips of good commands: the result is one of the three
 * codes, with the error set exactly when it is not OK. */
START_TEST(test_mutations)
{
	struct imap_arena a = { 0 };
	char buf[256];
	size_t i, j;

	srandom(1234);
	for (i = 0; i < NELEM(good_cases); i++) {
		const struct cmd_case *c = &good_cases[i];

		ck_assert_uint_le(c->len, sizeof(buf));
		for (j = 0; j < 300; j++) {
			static const char interesting[] = "(){}[]\"\\ \r\n\0+~*%<>.";
			struct imap_command cmd;
			const char *error = NULL;
			enum imap_parse_result r;
			size_t pos, flips = 1 + (size_t)random() % 3;

			memcpy(buf, c->in, c->len);
			while (flips-- > 0) {
				pos = (size_t)random() % c->len;
				buf[pos] = random() % 2 ?
				    interesting[random() % (sizeof(interesting) - 1)] :
				    (char)random();
			}
			r = parse(buf, c->len, &a, &cmd, &error);
			ck_assert(r == IMAP_PARSE_OK || r == IMAP_PARSE_BAD ||
			    r == IMAP_PARSE_BAD_TAG);
			ck_assert((r == IMAP_PARSE_OK) == (error == NULL));
			ck_assert((r == IMAP_PARSE_BAD_TAG) == (cmd.tag == NULL));
			if (r == IMAP_PARSE_OK)
				free(dump_command(&cmd));
			imap_arena_reset(&a);
		}
	}
	imap_arena_free(&a);
}
END_TEST

/* 256 KB of '(' stops at the nesting limit without deep recursion. */
START_TEST(test_deep_parens)
{
	size_t len = IMAP_MAX_COMMAND, i;
	char *buf = malloc(len);
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "a X ", 4);
	for (i = 4; i < len; i++)
		buf[i] = '(';
	ck_assert_int_eq(imap_parse_command(buf, len, &a, &cmd, &error),
	    IMAP_PARSE_BAD);
	ck_assert_str_eq(cmd.tag, "a");
	free(buf);
	imap_arena_free(&a);
}
END_TEST

/* 256 KB of one-letter arguments, then of one big list: linear. */
START_TEST(test_many_args)
{
	size_t len = IMAP_MAX_COMMAND - 1, i, n;
	char *buf = malloc(len);
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error;
	const struct imap_arg *list;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "a X ", 4);
	/* Letters at even positions, spaces between; len is odd so the
	 * buffer ends in a letter. */
	for (i = 4; i < len; i++)
		buf[i] = (i % 2 == 0) ? (char)('a' + i % 26) : ' ';
	n = (len - 3) / 2;
	ck_assert_int_eq(imap_parse_command(buf, len, &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, n);
	/* Plain comparisons in the loops: a Check assertion per element
	 * would cost more than the parse. */
	for (i = 0; i < n; i++)
		if (cmd.args[i].len != 1 ||
		    cmd.args[i].str[0] != (char)('a' + (4 + 2 * i) % 26))
			break;
	ck_assert_uint_eq(i, n);
	imap_arena_reset(&a);

	/* "(xg i k ... yz)": the same letters as one list. */
	buf[4] = '(';
	buf[5] = 'x';
	buf[len - 2] = 'z';
	buf[len - 1] = ')';
	ck_assert_int_eq(imap_parse_command(buf, len, &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 1);
	list = &cmd.args[0];
	ck_assert_int_eq(list->type, IMAP_ARG_LIST);
	ck_assert_uint_eq(list->n, n - 2);
	ck_assert_uint_eq(list->list[0].len, 2);
	ck_assert_int_eq(list->list[0].str[0], 'x');
	ck_assert_int_eq(list->list[0].str[1], 'a' + 6 % 26);
	ck_assert_int_eq(list->list[n - 3].str[0], 'a' + (len - 3) % 26);
	ck_assert_int_eq(list->list[n - 3].str[1], 'z');
	for (i = 1; i < n - 3; i++)
		if (list->list[i].len != 1)
			break;
	ck_assert_uint_eq(i, n - 3);
	free(buf);
	imap_arena_free(&a);
}
END_TEST

/* A literal of almost the whole command is copied intact. */
START_TEST(test_big_literal)
{
	size_t n = IMAP_MAX_COMMAND - 32, i, hdr;
	char *buf = malloc(IMAP_MAX_COMMAND);
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error;

	ck_assert_ptr_nonnull(buf);
	hdr = (size_t)snprintf(buf, 32, "t1 X {%zu}\r\n", n);
	for (i = 0; i < n; i++)
		buf[hdr + i] = (char)(i * 7);
	ck_assert_int_eq(imap_parse_command(buf, hdr + n, &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 1);
	ck_assert_int_eq(cmd.args[0].type, IMAP_ARG_LITERAL);
	ck_assert_uint_eq(cmd.args[0].len, n);
	ck_assert_mem_eq(cmd.args[0].str, buf + hdr, n);
	ck_assert_ptr_null(imap_arg_astring(&cmd.args[0]));
	free(buf);
	imap_arena_free(&a);
}
END_TEST

/* ----------------------------------------------------- literal lines */

struct lit_case {
	const char *line;
	size_t	 len;
	uint64_t max;
	int	 r;
	uint64_t size;
	bool	 nonsync;
};

static const struct lit_case lit_cases[] = {
	{ S("a LOGIN {3}"), 100, 1, 3, false },
	{ S("a LOGIN {3+}"), 100, 1, 3, true },
	{ S("a APPEND x ~{12}"), 100, 1, 12, false },
	{ S("{0}"), 100, 1, 0, false },
	{ S("a X {007}"), 100, 1, 7, false },
	{ S("a X {100}"), 100, 1, 100, false },
	{ S("a X {101}"), 100, -1, 0, false },
	{ S("a X {18446744073709551615}"), UINT64_MAX, 1, UINT64_MAX, false },
	{ S("a X {18446744073709551616}"), UINT64_MAX, -1, 0, false },
	{ S("a X {99999999999999999999999}"), UINT64_MAX, -1, 0, false },
	{ S("a X {}"), 100, -1, 0, false },
	{ S("a X {+}"), 100, -1, 0, false },
	{ S("a X {3++}"), 100, -1, 0, false },
	{ S("a X {+3}"), 100, -1, 0, false },
	{ S("a X {1+2}"), 100, -1, 0, false },
	{ S(""), 100, 0, 0, false },
	{ S("}"), 100, 0, 0, false },
	{ S("3}"), 100, 0, 0, false },
	{ S("a LOGIN foo}"), 100, 0, 0, false },
	{ S("a X {3 }"), 100, 0, 0, false },
	{ S("a X {a}"), 100, 0, 0, false },
	{ S("a X {3}x"), 100, 0, 0, false },
	{ S("a X {3}\r"), 100, 0, 0, false },
	{ S("a NOOP"), 100, 0, 0, false },
};

START_TEST(test_line_literal)
{
	const struct lit_case *c = &lit_cases[_i];
	char *copy = malloc(c->len + 1);
	uint64_t size = 12345;
	bool nonsync = !c->nonsync;
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->line, c->len);
	r = imap_line_literal(copy, c->len, c->max, &size, &nonsync);
	ck_assert_int_eq(r, c->r);
	if (r == 1) {
		ck_assert_uint_eq(size, c->size);
		ck_assert_int_eq(nonsync, c->nonsync);
	} else {
		/* Untouched on 0 and -1. */
		ck_assert_uint_eq(size, 12345);
	}
	free(copy);
}
END_TEST

/* The announcement is found only at the very end of the given length. */
START_TEST(test_line_literal_prefixes)
{
	static const char line[] = "a LOGIN {12+}";
	size_t k;
	uint64_t size;
	bool nonsync;

	for (k = 0; k < sizeof(line) - 1; k++) {
		char *copy = malloc(k + 1);
		int r;

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, line, k);
		r = imap_line_literal(copy, k, 100, &size, &nonsync);
		ck_assert_int_eq(r, 0);
		free(copy);
	}
}
END_TEST

/* ---------------------------------------------------- argument helpers */

START_TEST(test_arg_helpers)
{
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error;
	uint32_t n32;
	uint64_t n64;
	static const char in[] =
	    "a X atom \"quo ted\" {3}\r\nlit nil foo[bar] BODY[HEADER.FIELDS (A)] "
	    "(l) {3}\r\na\0b 0 4294967295 4294967296 -1 1a \"7\" "
	    "9223372036854775807 9223372036854775808 00000000000000000000042";

	ck_assert_int_eq(parse(in, sizeof(in) - 1, &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 17);
	ck_assert_str_eq(imap_arg_astring(&cmd.args[0]), "atom");
	ck_assert_str_eq(imap_arg_astring(&cmd.args[1]), "quo ted");
	ck_assert_str_eq(imap_arg_astring(&cmd.args[2]), "lit");
	ck_assert_int_eq(cmd.args[3].type, IMAP_ARG_NIL);
	ck_assert_str_eq(imap_arg_astring(&cmd.args[3]), "nil");
	ck_assert_int_eq(cmd.args[4].type, IMAP_ARG_SECTION);
	ck_assert_str_eq(imap_arg_astring(&cmd.args[4]), "foo[bar]");
	ck_assert_ptr_null(imap_arg_astring(&cmd.args[5]));
	ck_assert_ptr_null(imap_arg_astring(&cmd.args[6]));
	ck_assert_ptr_null(imap_arg_astring(&cmd.args[7]));

	ck_assert(imap_arg_number32(&cmd.args[8], &n32));
	ck_assert_uint_eq(n32, 0);
	ck_assert(imap_arg_number32(&cmd.args[9], &n32));
	ck_assert_uint_eq(n32, 4294967295u);
	ck_assert(!imap_arg_number32(&cmd.args[10], &n32));
	ck_assert(imap_arg_number64(&cmd.args[10], &n64));
	ck_assert_uint_eq(n64, 4294967296u);
	ck_assert(!imap_arg_number32(&cmd.args[11], &n32));
	ck_assert(!imap_arg_number32(&cmd.args[12], &n32));
	ck_assert(!imap_arg_number32(&cmd.args[13], &n32));	/* quoted */
	ck_assert(!imap_arg_number32(&cmd.args[0], &n32));
	ck_assert(imap_arg_number64(&cmd.args[14], &n64));
	ck_assert_uint_eq(n64, INT64_MAX);
	ck_assert(!imap_arg_number64(&cmd.args[15], &n64));
	ck_assert(imap_arg_number64(&cmd.args[16], &n64));
	ck_assert_uint_eq(n64, 42);
	ck_assert(!imap_arg_number64(&cmd.args[6], &n64));	/* list */
	imap_arena_free(&a);
}
END_TEST

/* ------------------------------------------------------- sequence sets */

struct seq_case {
	const char *in;
	bool	 ok;
	const char *parsed;	/* ranges as "lo-hi," with * for star */
	uint32_t star;
	const char *resolved;
};

static const struct seq_case seq_cases[] = {
	{ "1", true, "1-1", 10, "1-1" },
	{ "1:5", true, "1-5", 10, "1-5" },
	{ "5:1", true, "1-5", 10, "1-5" },
	{ "*", true, "*-*", 10, "10-10" },
	{ "1:*", true, "1-*", 10, "1-10" },
	{ "*:3", true, "3-*", 10, "3-10" },
	{ "12:*", true, "12-*", 10, "10-12" },
	{ "*:12", true, "12-*", 10, "10-12" },
	{ "1,3,5:7", true, "1-1,3-3,5-7", 10, "1-1,3-3,5-7" },
	{ "3,1,2", true, "3-3,1-1,2-2", 10, "1-3" },
	{ "1:3,2:5,7,9:8", true, "1-3,2-5,7-7,8-9", 10, "1-5,7-9" },
	{ "10:20,1:2,15:30,3", true, "10-20,1-2,15-30,3-3", 10, "1-3,10-30" },
	{ "1:*", true, "1-*", 0, "0-1" },
	{ "4294967295", true, "*-*", 7, "7-7" },
	{ "4294967294:*", true, "4294967294-*", 4294967294u,
	    "4294967294-4294967294" },
	{ "1:4294967294,4294967294", true, "1-4294967294,4294967294-4294967294",
	    5, "1-4294967294" },
	{ "4294967296", false, NULL, 0, NULL },
	{ "99999999999999999999", false, NULL, 0, NULL },
	{ "0", false, NULL, 0, NULL },
	{ "0:5", false, NULL, 0, NULL },
	{ "01", false, NULL, 0, NULL },
	{ "", false, NULL, 0, NULL },
	{ ",", false, NULL, 0, NULL },
	{ "1,", false, NULL, 0, NULL },
	{ ",1", false, NULL, 0, NULL },
	{ "1,,2", false, NULL, 0, NULL },
	{ "1:", false, NULL, 0, NULL },
	{ ":1", false, NULL, 0, NULL },
	{ "1::2", false, NULL, 0, NULL },
	{ "1:2:3", false, NULL, 0, NULL },
	{ "**", false, NULL, 0, NULL },
	{ "1*", false, NULL, 0, NULL },
	{ "a", false, NULL, 0, NULL },
	{ "$", false, NULL, 0, NULL },
	{ "1 2", false, NULL, 0, NULL },
	{ "-1", false, NULL, 0, NULL },
	{ "+1", false, NULL, 0, NULL },
	{ "1.5", false, NULL, 0, NULL },
};

static char *
dump_set(const struct imap_seqset *set)
{
	struct dump d = { 0 };
	char num[16];
	size_t i;

	dump_str(&d, "");
	for (i = 0; i < set->n; i++) {
		if (i > 0)
			dump_str(&d, ",");
		if (set->r[i].lo == IMAP_SEQ_STAR)
			dump_str(&d, "*");
		else {
			snprintf(num, sizeof(num), "%u", set->r[i].lo);
			dump_str(&d, num);
		}
		dump_str(&d, "-");
		if (set->r[i].hi == IMAP_SEQ_STAR)
			dump_str(&d, "*");
		else {
			snprintf(num, sizeof(num), "%u", set->r[i].hi);
			dump_str(&d, num);
		}
	}
	return d.s;
}

START_TEST(test_seqset)
{
	const struct seq_case *c = &seq_cases[_i];
	struct imap_arena a = { 0 };
	struct imap_seqset set;
	char *d;

	ck_assert_int_eq(imap_seqset_parse(c->in, &a, &set), c->ok);
	if (c->ok) {
		d = dump_set(&set);
		ck_assert_str_eq(d, c->parsed);
		free(d);
		imap_seqset_resolve(&set, c->star);
		d = dump_set(&set);
		ck_assert_str_eq(d, c->resolved);
		free(d);
	}
	imap_arena_free(&a);
}
END_TEST

/*
 * Random sets against a model: a value is in the set if it lies between
 * the two ends of some range once '*' is replaced by star.
 */
START_TEST(test_seqset_model)
{
	struct imap_arena a = { 0 };
	int round;

	srandom(42);
	for (round = 0; round < 300; round++) {
		uint32_t lo[20], hi[20], star = (uint32_t)random() % 60, v;
		size_t n = 1 + (size_t)random() % 20, i;
		char buf[512], *p = buf;
		struct imap_seqset set;

		for (i = 0; i < n; i++) {
			lo[i] = random() % 8 == 0 ? IMAP_SEQ_STAR :
			    1 + (uint32_t)random() % 50;
			hi[i] = random() % 3 == 0 ? lo[i] :
			    random() % 8 == 0 ? IMAP_SEQ_STAR :
			    1 + (uint32_t)random() % 50;
			p += sprintf(p, "%s", i > 0 ? "," : "");
			if (lo[i] == IMAP_SEQ_STAR)
				p += sprintf(p, "*");
			else
				p += sprintf(p, "%u", lo[i]);
			if (hi[i] != lo[i] || random() % 2) {
				if (hi[i] == IMAP_SEQ_STAR)
					p += sprintf(p, ":*");
				else
					p += sprintf(p, ":%u", hi[i]);
			}
		}
		ck_assert(imap_seqset_parse(buf, &a, &set));
		imap_seqset_resolve(&set, star);
		for (i = 1; i < set.n; i++)
			ck_assert_uint_gt(set.r[i].lo, set.r[i - 1].hi + 1);
		for (v = 0; v < 70; v++) {
			bool in = false;

			for (i = 0; i < n; i++) {
				uint32_t l = lo[i] == IMAP_SEQ_STAR ? star : lo[i];
				uint32_t h = hi[i] == IMAP_SEQ_STAR ? star : hi[i];

				if ((v >= l && v <= h) || (v >= h && v <= l))
					in = true;
			}
			ck_assert_msg(imap_seqset_contains(&set, v) == in,
			    "%s star %u value %u", buf, star, v);
		}
		imap_arena_reset(&a);
	}
	imap_arena_free(&a);
}
END_TEST

/* 100,000 ranges in descending order through the whole path: command,
 * set, resolve, lookups. */
START_TEST(test_seqset_large)
{
	size_t n = 100000, i, len;
	char *buf = malloc(n * 16 + 32), *p = buf;
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	struct imap_seqset set;
	const char *error;

	ck_assert_ptr_nonnull(buf);
	p += sprintf(p, "a FETCH ");
	for (i = n; i > 0; i--)
		p += sprintf(p, "%zu:%zu%s", 4 * i, 4 * i - 2, i > 1 ? "," : "");
	p += sprintf(p, " FLAGS");
	len = (size_t)(p - buf);
	ck_assert_int_eq(imap_parse_command(buf, len, &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert(imap_seqset_parse(cmd.args[0].str, &a, &set));
	ck_assert_uint_eq(set.n, n);
	imap_seqset_resolve(&set, (uint32_t)(4 * n));
	ck_assert_uint_eq(set.n, n);
	for (i = 1; i <= 4 * n + 1; i++)
		if (imap_seqset_contains(&set, (uint32_t)i) !=
		    (i <= 4 * n && i % 4 != 1))
			break;
	ck_assert_uint_eq(i, 4 * n + 2);
	free(buf);
	imap_arena_free(&a);
}
END_TEST

/* --------------------------------------------------------- FETCH items */

struct fetch_case {
	const char *cmd;	/* arguments after "a FETCH 1 " */
	bool	 ok;
	unsigned items;
	const char *bodies;	/* dump of the bodies */
	uint64_t changedsince;
	bool	 vanished;
};

#define F_FAST	(IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE)
#define F_ALL	(F_FAST | IMAP_FETCH_ENVELOPE)

static const struct fetch_case fetch_cases[] = {
	{ "ALL", true, F_ALL, "", 0, false },
	{ "fast", true, F_FAST, "", 0, false },
	{ "Full", true, F_ALL | IMAP_FETCH_BODY, "", 0, false },
	{ "UID", true, IMAP_FETCH_UID, "", 0, false },
	{ "FLAGS", true, IMAP_FETCH_FLAGS, "", 0, false },
	{ "INTERNALDATE", true, IMAP_FETCH_INTERNALDATE, "", 0, false },
	{ "RFC822.SIZE", true, IMAP_FETCH_RFC822_SIZE, "", 0, false },
	{ "ENVELOPE", true, IMAP_FETCH_ENVELOPE, "", 0, false },
	{ "BODY", true, IMAP_FETCH_BODY, "", 0, false },
	{ "BODYSTRUCTURE", true, IMAP_FETCH_BODYSTRUCTURE, "", 0, false },
	{ "modseq", true, IMAP_FETCH_MODSEQ, "", 0, false },
	{ "(FLAGS UID rfc822.size FLAGS)", true,
	    IMAP_FETCH_FLAGS | IMAP_FETCH_UID | IMAP_FETCH_RFC822_SIZE, "", 0, false },
	{ "RFC822", true, 0, "RFC822:ALL[]R;", 0, false },
	{ "RFC822.HEADER", true, 0, "RFC822.HEADER:HEADER[HEADER]RP;", 0, false },
	{ "rfc822.text", true, 0, "RFC822.TEXT:TEXT[TEXT]R;", 0, false },
	{ "BODY[]", true, 0, "BODY:ALL[];", 0, false },
	{ "BODY.PEEK[]", true, 0, "BODY:ALL[]P;", 0, false },
	{ "body[header]", true, 0, "BODY:HEADER[HEADER];", 0, false },
	{ "BODY[TEXT]", true, 0, "BODY:TEXT[TEXT];", 0, false },
	{ "BODY[1]", true, 0, "BODY:ALL/1[1];", 0, false },
	{ "BODY[1.2.3]", true, 0, "BODY:ALL/1.2.3[1.2.3];", 0, false },
	{ "BODY[4294967295]", true, 0, "BODY:ALL/4294967295[4294967295];", 0, false },
	{ "BODY[1.mime]", true, 0, "BODY:MIME/1[1.MIME];", 0, false },
	{ "BODY[1.2.HEADER]", true, 0, "BODY:HEADER/1.2[1.2.HEADER];", 0, false },
	{ "BODY[2.TEXT]", true, 0, "BODY:TEXT/2[2.TEXT];", 0, false },
	{ "BODY[HEADER.FIELDS (From To)]", true, 0,
	    "BODY:FIELDS{FROM,TO}[HEADER.FIELDS (FROM TO)];", 0, false },
	{ "BODY.PEEK[header.fields.not (x-spam \"Content-Type\")]", true, 0,
	    "BODY:NOT{X-SPAM,CONTENT-TYPE}[HEADER.FIELDS.NOT (X-SPAM CONTENT-TYPE)]P;",
	    0, false },
	{ "BODY[3.HEADER.FIELDS (\"X%Y\" \"a\\\"b\" date)]", true, 0,
	    "BODY:FIELDS/3{X%Y,A\"B,DATE}[3.HEADER.FIELDS (\"X%Y\" \"A\\\"B\" DATE)];",
	    0, false },
	{ "BODY[]<0.100>", true, 0, "BODY:ALL[]<0.100>;", 0, false },
	{ "BODY.PEEK[TEXT]<10.20>", true, 0, "BODY:TEXT[TEXT]<10.20>P;", 0, false },
	{ "BODY[]<00.1>", true, 0, "BODY:ALL[]<0.1>;", 0, false },
	{ "BINARY[1]", true, 0, "BINARY:ALL/1[1]B;", 0, false },
	{ "BINARY.PEEK[]<5.6>", true, 0, "BINARY:ALL[]<5.6>PB;", 0, false },
	{ "BINARY.SIZE[2.1]", true, 0, "BINARY.SIZE:ALL/2.1[2.1]PBS;", 0, false },
	{ "(UID FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)] RFC822 BODY[1]<0.5>)",
	    true, IMAP_FETCH_UID | IMAP_FETCH_FLAGS,
	    "BODY:FIELDS{DATE,FROM}[HEADER.FIELDS (DATE FROM)]P;RFC822:ALL[]R;"
	    "BODY:ALL/1[1]<0.5>;", 0, false },
	{ "(FLAGS) (CHANGEDSINCE 12345)", true,
	    IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ, "", 12345, false },
	/* Thunderbird's first CONDSTORE sync: every message, with MODSEQ. */
	{ "(FLAGS) (CHANGEDSINCE 0)", true,
	    IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ, "", 0, false },
	{ "FLAGS (changedsince 9223372036854775807 VANISHED)", true,
	    IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ, "", INT64_MAX, true },
	{ "(VANISHED CHANGEDSINCE 1) (FLAGS)", false, 0, NULL, 0, false },
	{ "(ALL)", false, 0, NULL, 0, false },
	{ "(FLAGS FAST)", false, 0, NULL, 0, false },
	{ "()", false, 0, NULL, 0, false },
	{ "FOO", false, 0, NULL, 0, false },
	{ "NIL", false, 0, NULL, 0, false },
	{ "\"FLAGS\"", false, 0, NULL, 0, false },
	{ "{5}\r\nFLAGS", false, 0, NULL, 0, false },
	{ "(FLAGS (UID))", false, 0, NULL, 0, false },
	{ "RFC822.PEEK", false, 0, NULL, 0, false },
	{ "BODYX[]", false, 0, NULL, 0, false },
	{ "BODY.PEEK.X[]", false, 0, NULL, 0, false },
	{ "X[]", false, 0, NULL, 0, false },
	{ "BODY[FOO]", false, 0, NULL, 0, false },
	{ "BODY[0]", false, 0, NULL, 0, false },
	{ "BODY[01]", false, 0, NULL, 0, false },
	{ "BODY[4294967296]", false, 0, NULL, 0, false },
	{ "BODY[1.]", false, 0, NULL, 0, false },
	{ "BODY[.1]", false, 0, NULL, 0, false },
	{ "BODY[1..2]", false, 0, NULL, 0, false },
	{ "BODY[MIME]", false, 0, NULL, 0, false },
	{ "BODY[TEXT.MIME]", false, 0, NULL, 0, false },
	{ "BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16]", true, 0,
	    "BODY:ALL/1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16"
	    "[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16];", 0, false },
	{ "BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17]", false, 0, NULL, 0, false },
	{ "BODY[TEXT ]", false, 0, NULL, 0, false },
	{ "BODY[ TEXT]", false, 0, NULL, 0, false },
	{ "BODY[HEADER (A)]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS ]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS ()]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS A]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (A]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (A:B)]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (\"\")]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (\"A B\")]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (\"\xc3\xa9\")]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (A  B)]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (A )]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS ( A)]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (A) ]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS (A)(B)]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS ((A))]", false, 0, NULL, 0, false },
	{ "BODY[HEADER.FIELDS  (A)]", false, 0, NULL, 0, false },
	{ "BODY[]<>", false, 0, NULL, 0, false },
	{ "BODY[]<1>", false, 0, NULL, 0, false },
	{ "BODY[]<1.0>", false, 0, NULL, 0, false },
	{ "BODY[]<1.01>", false, 0, NULL, 0, false },
	{ "BODY[]<.1>", false, 0, NULL, 0, false },
	{ "BODY[]<a.1>", false, 0, NULL, 0, false },
	{ "BODY[]<1.2", false, 0, NULL, 0, false },
	{ "BODY[]<1.2.3>", false, 0, NULL, 0, false },
	{ "BODY[]<1.2>x", false, 0, NULL, 0, false },
	{ "BODY[]x", false, 0, NULL, 0, false },
	{ "BODY[][]", false, 0, NULL, 0, false },
	{ "BINARY[TEXT]", false, 0, NULL, 0, false },
	{ "BINARY[1.MIME]", false, 0, NULL, 0, false },
	{ "BINARY.SIZE[1]<0.1>", false, 0, NULL, 0, false },
	{ "FLAGS FLAGS", false, 0, NULL, 0, false },
	{ "FLAGS ()", false, 0, NULL, 0, false },
	{ "FLAGS (CHANGEDSINCE)", false, 0, NULL, 0, false },
	{ "FLAGS (CHANGEDSINCE x)", false, 0, NULL, 0, false },
	{ "FLAGS (CHANGEDSINCE 9223372036854775808)", false, 0, NULL, 0, false },
	{ "FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", false, 0, NULL, 0, false },
	{ "FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)", false, 0, NULL, 0, false },
	{ "FLAGS (VANISHED)", false, 0, NULL, 0, false },
	{ "FLAGS (FOO)", false, 0, NULL, 0, false },
	{ "FLAGS ((CHANGEDSINCE 1))", false, 0, NULL, 0, false },
};

static const char *
part_name(enum imap_section_part part)
{
	switch (part) {
	case IMAP_SECTION_ALL: return "ALL";
	case IMAP_SECTION_HEADER: return "HEADER";
	case IMAP_SECTION_HEADER_FIELDS: return "FIELDS";
	case IMAP_SECTION_HEADER_FIELDS_NOT: return "NOT";
	case IMAP_SECTION_TEXT: return "TEXT";
	case IMAP_SECTION_MIME: return "MIME";
	}
	return "?";
}

/* reply:part/path{fields}[section_text]<o.c>flags; per body. */
static char *
dump_bodies(const struct imap_fetch_req *req)
{
	struct dump d = { 0 };
	char num[64];
	size_t i, j;

	dump_str(&d, "");
	for (i = 0; i < req->n_bodies; i++) {
		const struct imap_fetch_body *b = &req->bodies[i];

		ck_assert_ptr_nonnull(b->reply_name);
		ck_assert_ptr_nonnull(b->section_text);
		dump_str(&d, b->reply_name);
		dump_str(&d, ":");
		dump_str(&d, part_name(b->part));
		for (j = 0; j < b->depth; j++) {
			snprintf(num, sizeof(num), "%s%u", j == 0 ? "/" : ".",
			    b->path[j]);
			dump_str(&d, num);
		}
		if (b->n_fields > 0) {
			dump_str(&d, "{");
			for (j = 0; j < b->n_fields; j++) {
				if (j > 0)
					dump_str(&d, ",");
				dump_str(&d, b->fields[j]);
			}
			dump_str(&d, "}");
		}
		dump_str(&d, "[");
		dump_str(&d, b->section_text);
		dump_str(&d, "]");
		if (b->partial) {
			snprintf(num, sizeof(num), "<%llu.%llu>",
			    (unsigned long long)b->offset,
			    (unsigned long long)b->count);
			dump_str(&d, num);
		}
		if (b->rfc822_name)
			dump_str(&d, "R");
		if (b->peek)
			dump_str(&d, "P");
		if (b->binary)
			dump_str(&d, "B");
		if (b->binary_size)
			dump_str(&d, "S");
		dump_str(&d, ";");
	}
	return d.s;
}

START_TEST(test_fetch)
{
	const struct fetch_case *c = &fetch_cases[_i];
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	struct imap_fetch_req req;
	const char *error = NULL;
	char buf[512];
	bool ok;

	snprintf(buf, sizeof(buf), "a FETCH 1 %s", c->cmd);
	ck_assert_int_eq(parse(buf, strlen(buf), &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_ge(cmd.nargs, 2);
	ok = imap_fetch_parse(&cmd.args[1], cmd.nargs > 2 ? &cmd.args[2] : NULL,
	    &a, &req, &error);
	if (ok && cmd.nargs > 3)
		ok = false;	/* as a FETCH handler would see it */
	ck_assert_msg(ok == c->ok, "%s: %s", c->cmd, ok ? "ok" : error);
	if (!c->ok) {
		ck_assert_ptr_nonnull(error);
	} else {
		char *d = dump_bodies(&req);

		ck_assert_uint_eq(req.items, c->items);
		ck_assert_str_eq(d, c->bodies);
		ck_assert_uint_eq(req.changedsince, c->changedsince);
		ck_assert_int_eq(req.vanished, c->vanished);
		free(d);
	}
	imap_arena_free(&a);
}
END_TEST

/* -------------------------------------------------------- SEARCH keys */

struct search_case {
	const char *cmd;	/* after "a SEARCH " */
	size_t	 len;
	int	 result;	/* 1 ok, 0 bad, -1 bad charset */
	const char *tree;
};

#define SC(lit, r, t)	{ lit, sizeof(lit) - 1, r, t }

/* The flag bits as the dump shows them. */
#define SEEN_S		"1"
#define ANSWERED_S	"2"
#define FLAGGED_S	"4"
#define DELETED_S	"8"
#define DRAFT_S		"16"

static const struct search_case search_cases[] = {
	SC("ALL", 1, "(and all)"),
	SC("all", 1, "(and all)"),
	SC("ANSWERED", 1, "(and set:" ANSWERED_S ")"),
	SC("DELETED", 1, "(and set:" DELETED_S ")"),
	SC("DRAFT", 1, "(and set:" DRAFT_S ")"),
	SC("FLAGGED", 1, "(and set:" FLAGGED_S ")"),
	SC("SEEN", 1, "(and set:" SEEN_S ")"),
	SC("UNANSWERED", 1, "(and unset:" ANSWERED_S ")"),
	SC("UNDELETED", 1, "(and unset:" DELETED_S ")"),
	SC("UNDRAFT", 1, "(and unset:" DRAFT_S ")"),
	SC("UNFLAGGED", 1, "(and unset:" FLAGGED_S ")"),
	SC("UNSEEN", 1, "(and unset:" SEEN_S ")"),
	SC("NEW OLD RECENT", 1, "(and new old recent)"),
	SC("KEYWORD $Junk UNKEYWORD NonJunk", 1,
	    "(and kw:$Junk unkw:NonJunk)"),
	SC("BEFORE 1-Feb-1994", 1, "(and before:760060800)"),
	SC("ON \"01-feb-1994\"", 1, "(and on:760060800)"),
	SC("SINCE 1-Jan-1970", 1, "(and since:0)"),
	SC("SENTBEFORE 2-Feb-1994 SENTON 1-Feb-1994 SENTSINCE 31-Jan-1994", 1,
	    "(and sentbefore:760147200 senton:760060800 sentsince:759974400)"),
	SC("LARGER 100 SMALLER 0", 1, "(and larger:100 smaller:0)"),
	SC("BODY foo TEXT \"bar baz\"", 1, "(and body:foo text:bar baz)"),
	SC("FROM joe TO ann CC \"x y\" BCC {3}\r\nabc SUBJECT \"\"", 1,
	    "(and hdr:FROM=joe hdr:TO=ann hdr:CC=x y hdr:BCC=abc hdr:SUBJECT=)"),
	SC("HEADER X-Spam yes HEADER \"Message-ID\" \"<a@b>\"", 1,
	    "(and hdr:X-Spam=yes hdr:Message-ID=<a@b>)"),
	SC("UID 1:* 2,4:3 *", 1, "(and uid[1-*] seq[2-2,3-4] seq[*-*])"),
	SC("NOT SEEN", 1, "(and (not set:" SEEN_S "))"),
	SC("OR FROM a TO b", 1, "(and (or hdr:FROM=a hdr:TO=b))"),
	SC("OR (SEEN FLAGGED) NOT (DELETED)", 1,
	    "(and (or (and set:" SEEN_S " set:" FLAGGED_S ") "
	    "(not (and set:" DELETED_S "))))"),
	SC("OR OR a:1 SEEN NOT NOT ALL 5", 0, NULL),
	SC("OR OR 1 SEEN NOT NOT ALL 5", 1,
	    "(and (or (or seq[1-1] set:" SEEN_S ") (not (not all))) seq[5-5])"),
	SC("((((ALL))))", 1, "(and (and (and (and (and all)))))"),
	SC("MODSEQ 0", 1, "(and modseq:0)"),
	SC("MODSEQ 620162338", 1, "(and modseq:620162338)"),
	SC("MODSEQ \"/flags/\\\\draft\" all 620162338", 1,
	    "(and modseq:620162338)"),
	SC("MODSEQ \"/flags/$Junk\" PRIV 5 SEEN", 1,
	    "(and modseq:5 set:" SEEN_S ")"),
	SC("CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\"", 1,
	    "(and hdr:SUBJECT=caf\\xc3\\xa9)"),
	SC("charset us-ascii ALL", 1, "(and all)"),
	SC("CHARSET \"UTF-8\" ALL", 1, "(and all)"),
	SC("TEXT {4}\r\n\xe6\x97\xa5x", 1, "(and text:\\xe6\\x97\\xa5x)"),
	SC("CHARSET ISO-8859-1 ALL", -1, NULL),
	SC("CHARSET KOI8-R SUBJECT x", -1, NULL),
	SC("CHARSET", 0, NULL),
	SC("CHARSET (UTF-8) ALL", 0, NULL),
	SC("CHARSET UTF-8", 0, NULL),
	SC("()", 0, NULL),
	SC("FOO", 0, NULL),
	SC("NIL", 0, NULL),
	SC("\"ALL\"", 0, NULL),
	SC("FROM", 0, NULL),
	SC("FROM (a)", 0, NULL),
	SC("HEADER X", 0, NULL),
	SC("HEADER \"\" x", 0, NULL),
	SC("HEADER \"A:B\" x", 0, NULL),
	SC("SUBJECT \"\xff\"", 0, NULL),
	SC("SUBJECT \"\xc3\"", 0, NULL),
	SC("SUBJECT {3}\r\na\0b", 0, NULL),
	SC("BEFORE", 0, NULL),
	SC("BEFORE 1-Foo-2000", 0, NULL),
	SC("BEFORE 31-Apr-2000", 0, NULL),
	SC("SINCE 29-Feb-1900", 0, NULL),
	SC("ON 1-Feb-94", 0, NULL),
	SC("ON (1-Feb-1994)", 0, NULL),
	SC("LARGER", 0, NULL),
	SC("LARGER x", 0, NULL),
	SC("SMALLER -1", 0, NULL),
	SC("LARGER \"5\"", 0, NULL),
	SC("KEYWORD", 0, NULL),
	SC("KEYWORD \\Seen", 0, NULL),
	SC("KEYWORD \"a b\"", 0, NULL),
	SC("UNKEYWORD a%b", 0, NULL),
	SC("UID", 0, NULL),
	SC("UID x", 0, NULL),
	SC("UID 0", 0, NULL),
	SC("UID \"1\"", 0, NULL),
	SC("OR SEEN", 0, NULL),
	SC("OR", 0, NULL),
	SC("NOT", 0, NULL),
	SC("0", 0, NULL),
	SC("1:", 0, NULL),
	SC("$", 0, NULL),
	SC("*x", 0, NULL),
	SC("MODSEQ", 0, NULL),
	SC("MODSEQ x", 0, NULL),
	SC("MODSEQ -1", 0, NULL),
	SC("MODSEQ 9223372036854775808", 0, NULL),
	SC("MODSEQ \"/foo\" all 1", 0, NULL),
	SC("MODSEQ \"/flags/\" all 1", 0, NULL),
	SC("MODSEQ \"/flags/x\" bad 1", 0, NULL),
	SC("MODSEQ \"/flags/x\" all", 0, NULL),
	SC("MODSEQ \"/flags/x\" all x", 0, NULL),
	SC("MODSEQ \"/flags/x\"", 0, NULL),
};

static void
dump_key(struct dump *d, const struct imap_search_key *k)
{
	static const char *names[] = {
		[IMAP_SK_NEW] = "new", [IMAP_SK_OLD] = "old",
		[IMAP_SK_RECENT] = "recent", [IMAP_SK_BEFORE] = "before:",
		[IMAP_SK_ON] = "on:", [IMAP_SK_SINCE] = "since:",
		[IMAP_SK_SENTBEFORE] = "sentbefore:",
		[IMAP_SK_SENTON] = "senton:", [IMAP_SK_SENTSINCE] = "sentsince:",
		[IMAP_SK_LARGER] = "larger:", [IMAP_SK_SMALLER] = "smaller:",
		[IMAP_SK_MODSEQ] = "modseq:", [IMAP_SK_FLAG_SET] = "set:",
		[IMAP_SK_FLAG_UNSET] = "unset:",
	};
	char num[32], *set;
	size_t i;

	switch (k->op) {
	case IMAP_SK_ALL:
		dump_str(d, "all");
		return;
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		dump_str(d, k->op == IMAP_SK_AND ? "(and" :
		    k->op == IMAP_SK_OR ? "(or" : "(not");
		ck_assert_uint_eq(k->n_kids, k->op == IMAP_SK_OR ? 2 :
		    k->op == IMAP_SK_NOT ? 1 : k->n_kids);
		for (i = 0; i < k->n_kids; i++) {
			dump_str(d, " ");
			dump_key(d, k->kids[i]);
		}
		dump_str(d, ")");
		return;
	case IMAP_SK_SEQSET:
	case IMAP_SK_UIDSET:
		dump_str(d, k->op == IMAP_SK_SEQSET ? "seq[" : "uid[");
		set = dump_set(&k->set);
		dump_str(d, set);
		free(set);
		dump_str(d, "]");
		return;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_UNKEYWORD:
		dump_str(d, k->op == IMAP_SK_KEYWORD ? "kw:" : "unkw:");
		dump_str(d, k->str);
		return;
	case IMAP_SK_HEADER:
		dump_str(d, "hdr:");
		dump_str(d, k->field);
		dump_str(d, "=");
		dump_bytes(d, k->str, strlen(k->str));
		return;
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		dump_str(d, k->op == IMAP_SK_BODY ? "body:" : "text:");
		dump_bytes(d, k->str, strlen(k->str));
		return;
	case IMAP_SK_NEW:
	case IMAP_SK_OLD:
	case IMAP_SK_RECENT:
		dump_str(d, names[k->op]);
		return;
	default:
		dump_str(d, names[k->op]);
		snprintf(num, sizeof(num), "%lld", (long long)(int64_t)k->num);
		dump_str(d, num);
		return;
	}
}

START_TEST(test_search)
{
	const struct search_case *c = &search_cases[_i];
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	struct imap_search_key *root = (void *)1;
	const char *error = NULL;
	char buf[512];
	bool badcharset = true, ok;
	size_t len;

	ck_assert_uint_lt(c->len + 9, sizeof(buf));
	memcpy(buf, "a SEARCH ", 9);
	memcpy(buf + 9, c->cmd, c->len);
	len = 9 + c->len;
	ck_assert_int_eq(parse(buf, len, &a, &cmd, &error), IMAP_PARSE_OK);
	ok = imap_search_parse(cmd.args, cmd.nargs, &a, &root, &badcharset,
	    &error);
	ck_assert_msg(ok == (c->result == 1), "%s: %s", c->cmd,
	    ok ? "ok" : error);
	ck_assert_int_eq(badcharset, c->result == -1);
	if (ok) {
		struct dump d = { 0 };

		dump_key(&d, root);
		ck_assert_str_eq(d.s, c->tree);
		free(d.s);
	} else {
		ck_assert_ptr_nonnull(error);
		ck_assert_ptr_null(root);
	}
	imap_arena_free(&a);
}
END_TEST

/* NOT chains up to the limit parse; one more fails, and 100,000 of them
 * fail quickly instead of recursing 100,000 deep. */
START_TEST(test_search_depth)
{
	static const size_t counts[] = { IMAP_SEARCH_MAX_DEPTH - 1,
	    IMAP_SEARCH_MAX_DEPTH, 100000 };
	size_t i, j, len;

	for (i = 0; i < NELEM(counts); i++) {
		size_t n = counts[i];
		char *buf = malloc(9 + 4 * n + 4), *p = buf;
		struct imap_arena a = { 0 };
		struct imap_command cmd;
		struct imap_search_key *root;
		const char *error;
		bool badcharset;

		ck_assert_ptr_nonnull(buf);
		p += sprintf(p, "a SEARCH ");
		for (j = 0; j < n; j++)
			p += sprintf(p, "NOT ");
		p += sprintf(p, "ALL");
		len = (size_t)(p - buf);
		ck_assert_int_eq(imap_parse_command(buf, len, &a, &cmd, &error),
		    IMAP_PARSE_OK);
		ck_assert_int_eq(imap_search_parse(cmd.args, cmd.nargs, &a,
		    &root, &badcharset, &error), n < IMAP_SEARCH_MAX_DEPTH);
		free(buf);
		imap_arena_free(&a);
	}
}
END_TEST

/* ---------------------------------------------------------------- dates */

struct date_case {
	const char *in;
	bool	 ok;
	int64_t	 t;
};

static const struct date_case date_cases[] = {
	{ "1-Feb-1994", true, 760060800 },
	{ "01-feb-1994", true, 760060800 },
	{ "\"1-FEB-1994\"", true, 760060800 },
	{ "1-Jan-1970", true, 0 },
	{ "31-Dec-1969", true, -86400 },
	{ "29-Feb-2000", true, 951782400 },
	{ "29-Feb-2004", true, 1078012800 },
	{ "31-Dec-9999", true, 253402214400 },
	{ "1-Mar-1600", true, -11670912000 },
	{ "29-Feb-1900", false, 0 },
	{ "29-Feb-2001", false, 0 },
	{ "31-Apr-2000", false, 0 },
	{ "32-Jan-2000", false, 0 },
	{ "0-Jan-2000", false, 0 },
	{ "00-Jan-2000", false, 0 },
	{ "123-Jan-2000", false, 0 },
	{ "1-Feb-94", false, 0 },
	{ "1-Feb-19944", false, 0 },
	{ "1 Feb 1994", false, 0 },
	{ "1-Fbr-1994", false, 0 },
	{ "1-Fe-1994", false, 0 },
	{ "1-Feb-1994 ", false, 0 },
	{ " 1-Feb-1994", false, 0 },
	{ "\"1-Feb-1994", false, 0 },
	{ "\"1-Feb-1994\"x", false, 0 },
	{ "\"", false, 0 },
	{ "\"\"", false, 0 },
	{ "", false, 0 },
	{ "-Feb-1994", false, 0 },
};

START_TEST(test_date)
{
	const struct date_case *c = &date_cases[_i];
	time_t t = 777;

	ck_assert_int_eq(imap_parse_date(c->in, &t), c->ok);
	if (c->ok)
		ck_assert_int_eq((int64_t)t, c->t);
	else
		ck_assert_int_eq((int64_t)t, 777);
}
END_TEST

static const struct date_case datetime_cases[] = {
	{ "17-Jul-1996 02:44:25 -0700", true, 837596665 },
	{ "\"17-Jul-1996 02:44:25 -0700\"", true, 837596665 },
	{ "17-jul-1996 09:44:25 +0000", true, 837596665 },
	{ "18-Jul-1996 01:14:25 +1530", true, 837596665 },
	{ " 7-Jul-1996 00:00:00 +0000", true, 836697600 },
	{ "07-Jul-1996 00:00:00 +0000", true, 836697600 },
	{ "7-Jul-1996 00:00:00 +0000", true, 836697600 },
	{ "\" 1-Jan-1970 00:00:00 +0000\"", true, 0 },
	{ "31-Dec-1969 23:59:59 +0000", true, -1 },
	{ "31-Dec-1998 23:59:60 +0000", true, 915148800 },
	{ "17-Jul-1996 24:00:00 +0000", false, 0 },
	{ "17-Jul-1996 02:60:00 +0000", false, 0 },
	{ "17-Jul-1996 02:44:61 +0000", false, 0 },
	{ "17-Jul-1996 02:44 +0000", false, 0 },
	{ "17-Jul-1996 2:44:25 +0000", false, 0 },
	{ "17-Jul-1996 02:44:25 0700", false, 0 },
	{ "17-Jul-1996 02:44:25 +07", false, 0 },
	{ "17-Jul-1996 02:44:25 +0760", false, 0 },
	{ "17-Jul-1996 02:44:25 +07000", false, 0 },
	{ "17-Jul-1996 02:44:25", false, 0 },
	{ "17-Jul-1996  02:44:25 +0000", false, 0 },
	{ "17-Jul-1996 02:44:25 +0000 ", false, 0 },
	{ "  7-Jul-1996 02:44:25 +0000", false, 0 },
	{ " 17-Jul-1996 02:44:25 +0000", false, 0 },
	{ "31-Jun-1996 02:44:25 +0000", false, 0 },
	{ "17-Jul-1996 02:44:25 GMT", false, 0 },
	{ "17-Jul-1996", false, 0 },
	{ "", false, 0 },
};

START_TEST(test_datetime)
{
	const struct date_case *c = &datetime_cases[_i];
	time_t t = 777;

	ck_assert_msg(imap_parse_datetime(c->in, &t) == c->ok, "%s", c->in);
	if (c->ok)
		ck_assert_int_eq((int64_t)t, c->t);
	else
		ck_assert_int_eq((int64_t)t, 777);
}
END_TEST

/* The calendar code against the C library, and format/parse round trips. */
START_TEST(test_date_model)
{
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char in[64], out[32];
	time_t t, u;
	int i;

	srandom(7);
	for (i = 0; i < 5000; i++) {
		struct tm tm = { 0 };

		/* 1900..2999 keeps timegm() within any time_t. */
		t = (time_t)((int64_t)(random() % 2000000) * 16000 -
		    2208988800LL);
		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		snprintf(in, sizeof(in), "%d-%s-%04d %02d:%02d:%02d +0000",
		    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		ck_assert(imap_parse_datetime(in, &u));
		ck_assert_int_eq((int64_t)u, (int64_t)t);
		snprintf(in, sizeof(in), "%d-%s-%04d", tm.tm_mday,
		    months[tm.tm_mon], tm.tm_year + 1900);
		ck_assert(imap_parse_date(in, &u));
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		ck_assert_int_eq((int64_t)u, (int64_t)timegm(&tm));

		imap_format_datetime(t, out);
		ck_assert_uint_eq(strlen(out), 26);
		ck_assert(imap_parse_datetime(out, &u));
		ck_assert_int_eq((int64_t)u, (int64_t)t);
	}
	imap_format_datetime(0, out);
	ck_assert_str_eq(out, " 1-Jan-1970 00:00:00 +0000");
	imap_format_datetime(837596665, out);
	ck_assert_str_eq(out, "17-Jul-1996 09:44:25 +0000");
	imap_format_datetime(-1, out);
	ck_assert_str_eq(out, "31-Dec-1969 23:59:59 +0000");
	imap_format_datetime(951825600, out);
	ck_assert_str_eq(out, "29-Feb-2000 12:00:00 +0000");
}
END_TEST

/* ---------------------------------------------------------------- flags */

struct flag_case {
	const char *arg;
	bool	 ok;
	uint32_t flags;
	const char *keywords;
};

static const struct flag_case flag_cases[] = {
	{ "(\\Seen \\Flagged $Junk)", true, MS_FLAG_SEEN | MS_FLAG_FLAGGED,
	    "$Junk" },
	{ "(\\seen \\ANSWERED \\Deleted \\Draft \\Flagged)", true,
	    MS_FLAG_SEEN | MS_FLAG_ANSWERED | MS_FLAG_DELETED | MS_FLAG_DRAFT |
	    MS_FLAG_FLAGGED, "" },
	{ "\\Deleted", true, MS_FLAG_DELETED, "" },
	{ "Junk", true, 0, "Junk" },
	{ "()", true, 0, "" },
	{ "(a B A b c \\Seen \\SEEN)", true, MS_FLAG_SEEN, "a B c" },
	{ "($Forwarded $MDNSent NIL)", true, 0, "$Forwarded $MDNSent NIL" },
	{ "(\\Recent)", false, 0, NULL },
	{ "\\Recent", false, 0, NULL },
	{ "(\\Foo)", false, 0, NULL },
	{ "(\\*)", false, 0, NULL },
	{ "((a))", false, 0, NULL },
	{ "(\"a\")", false, 0, NULL },
	{ "({1}\r\na)", false, 0, NULL },
	{ "(a[b])", false, 0, NULL },
	{ "(a%b)", false, 0, NULL },
	{ "(a*)", false, 0, NULL },
	{ "(a])", false, 0, NULL },
	{ "\"Seen\"", false, 0, NULL },
	{ "\"\\\\Seen\"", false, 0, NULL },
};

START_TEST(test_flags)
{
	const struct flag_case *c = &flag_cases[_i];
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error = NULL, *kw = NULL;
	uint32_t flags = 999;
	char buf[128];
	bool ok;

	snprintf(buf, sizeof(buf), "a STORE 1 FLAGS %s", c->arg);
	ck_assert_int_eq(parse(buf, strlen(buf), &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 3);
	ok = imap_flags_parse(&cmd.args[2], &a, &flags, &kw, &error);
	ck_assert_msg(ok == c->ok, "%s: %s", c->arg, ok ? "ok" : error);
	if (ok) {
		ck_assert_uint_eq(flags, c->flags);
		ck_assert_str_eq(kw, c->keywords);
	} else
		ck_assert_ptr_nonnull(error);
	imap_arena_free(&a);
}
END_TEST

/* 30,000 keywords, each written three times in different cases. */
START_TEST(test_flags_many)
{
	size_t n = 30000, i, k, len;
	char *buf = malloc(n * 3 * 12 + 32), *p = buf;
	struct imap_arena a = { 0 };
	struct imap_command cmd;
	const char *error, *kw, *q;
	uint32_t flags;
	char expect[16];

	ck_assert_ptr_nonnull(buf);
	p += sprintf(p, "a STORE 1 FLAGS (");
	for (k = 0; k < 3; k++)
		for (i = 0; i < n; i++)
			p += sprintf(p, "%s%s%zu", k + i > 0 ? " " : "",
			    k == 1 ? "KW" : "kw", (i * 7919) % n);
	p += sprintf(p, ")");
	len = (size_t)(p - buf);
	ck_assert_int_eq(imap_parse_command(buf, len, &a, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert(imap_flags_parse(&cmd.args[2], &a, &flags, &kw, &error));
	ck_assert_uint_eq(flags, 0);
	/* First occurrences only, in request order. */
	for (i = 0, q = kw; i < n; i++) {
		size_t elen = (size_t)snprintf(expect, sizeof(expect), "kw%zu",
		    (i * 7919) % n);

		if (strncmp(q, expect, elen) != 0 ||
		    q[elen] != (i + 1 < n ? ' ' : '\0'))
			break;
		q += elen + 1;
	}
	ck_assert_uint_eq(i, n);
	free(buf);
	imap_arena_free(&a);
}
END_TEST

/* ----------------------------------------------------------- UTF-7 */

struct utf7_case {
	const char *utf7;
	const char *utf8;
};

static const struct utf7_case utf7_pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
	{ "&-", "&" },
	{ "a&-b&-&-", "a&b&&" },
	{ "caf&AOk-", "caf\xc3\xa9" },
	{ "&AOk-t&AOk-", "\xc3\xa9t\xc3\xa9" },
	{ "&AOk-&-", "\xc3\xa9&" },
	{ "&-&AOk-", "&\xc3\xa9" },
	{ "&2D3eAA-", "\xf0\x9f\x98\x80" },
	{ "&AOnYPd4A-x", "\xc3\xa9\xf0\x9f\x98\x80x" },
	{ "&AAE-", "\x01" },
	{ "a&AAEAAg-b", "a\x01\x02" "b" },
	{ "&AH8-", "\x7f" },
	{ "Gesendete Elemente", "Gesendete Elemente" },
	{ "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-",
	    "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5"
	    "\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5" },
	{ "~!\"#$%'()*+,-./:;<=>?@[\\]^_`{|}", "~!\"#$%'()*+,-./:;<=>?@[\\]^_`{|}" },
};

START_TEST(test_utf7_pairs)
{
	const struct utf7_case *c = &utf7_pairs[_i];
	struct imap_arena a = { 0 };
	char *s;

	s = imap_utf7_to_utf8(c->utf7, &a);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, c->utf8);
	s = imap_utf8_to_utf7(c->utf8, &a);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, c->utf7);
	imap_arena_free(&a);
}
END_TEST

static const char *const utf7_bad[] = {
	"&",			/* unterminated */
	"a&",
	"&U,BTFw",
	"&U,BTFw/-",		/* '/' is not modified base64 */
	"&Jjo!-",
	"&AGE-",		/* encodes 'a' */
	"&ACY-",		/* encodes '&' */
	"&ACA-",		/* encodes ' ' */
	"&AAA-",		/* NUL */
	"&AOk-&AOk-",		/* two shifts back to back */
	"&AOl-",		/* non-zero padding bits */
	"&AOkA-",		/* a whole spare base64 character */
	"&AO-",			/* half a unit */
	"&+-",
	"&2D0-",		/* lone high surrogate (truncated) */
	"&2D0AYQ-",		/* high surrogate then a normal unit */
	"&3gA-",		/* lone low surrogate */
	"&2D3YPQ-",		/* two high surrogates */
	"caf\xc3\xa9",		/* raw 8-bit */
	"a\tb",
	"a\x7f",
	"a\x01",
};

START_TEST(test_utf7_bad)
{
	struct imap_arena a = { 0 };

	ck_assert_msg(imap_utf7_to_utf8(utf7_bad[_i], &a) == NULL, "%s",
	    utf7_bad[_i]);
	imap_arena_free(&a);
}
END_TEST

struct utf8_case {
	const char *s;
	size_t	 len;
	bool	 ok;
};

static const struct utf8_case utf8_cases[] = {
	{ S(""), true },
	{ S("abc"), true },
	{ S("a\0b"), true },
	{ S("\xc3\xa9"), true },
	{ S("\xe5\x8f\xb0"), true },
	{ S("\xf0\x9f\x98\x80"), true },
	{ S("\xf4\x8f\xbf\xbf"), true },
	{ S("\xef\xbf\xbf"), true },
	{ S("\xc3"), false },
	{ S("\xe5\x8f"), false },
	{ S("\xf0\x9f\x98"), false },
	{ S("\x80"), false },
	{ S("\xbf"), false },
	{ S("\xc0\x80"), false },
	{ S("\xc1\xbf"), false },
	{ S("\xe0\x9f\xbf"), false },
	{ S("\xf0\x8f\xbf\xbf"), false },
	{ S("\xed\xa0\x80"), false },
	{ S("\xed\xbf\xbf"), false },
	{ S("\xf4\x90\x80\x80"), false },
	{ S("\xf5\x80\x80\x80"), false },
	{ S("\xff"), false },
	{ S("\xc3\x28"), false },
	{ S("a\xc3\xa9\xc3"), false },
};

START_TEST(test_utf8_valid)
{
	const struct utf8_case *c = &utf8_cases[_i];
	char *copy = malloc(c->len + 1);
	struct imap_arena a = { 0 };

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, c->s, c->len);
	ck_assert_int_eq(imap_utf8_valid(copy, c->len), c->ok);
	copy[c->len] = '\0';
	/* The encoder refuses what is not UTF-8. */
	if (!c->ok && memchr(c->s, '\0', c->len) == NULL)
		ck_assert_ptr_null(imap_utf8_to_utf7(copy, &a));
	free(copy);
	imap_arena_free(&a);
}
END_TEST

static char *
put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80)
		*p++ = (char)cp;
	else if (cp < 0x800) {
		*p++ = (char)(0xc0 | (cp >> 6));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*p++ = (char)(0xe0 | (cp >> 12));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*p++ = (char)(0xf0 | (cp >> 18));
		*p++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	}
	return p;
}

/* Random names round-trip, encode to printable ASCII only and decode
 * strictly (re-encoding the decoded form gives the same bytes). */
START_TEST(test_utf7_random)
{
	struct imap_arena a = { 0 };
	int round;

	srandom(99);
	for (round = 0; round < 3000; round++) {
		char name[200], *p = name;
		const char *q;
		int i, n = random() % 30;
		char *u7, *u8;

		for (i = 0; i < n; i++) {
			uint32_t cp;

			switch (random() % 5) {
			case 0: cp = 0x20 + (uint32_t)random() % 0x5f; break;
			case 1: cp = random() % 2 ? '&' : 1 + (uint32_t)random() % 0x1f; break;
			case 2: cp = 0x80 + (uint32_t)random() % 0x780; break;
			case 3: cp = 0x800 + (uint32_t)random() % 0xf800; break;
			default: cp = 0x10000 + (uint32_t)random() % 0x100000; break;
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 'x';
			p = put_utf8(p, cp);
		}
		*p = '\0';
		u7 = imap_utf8_to_utf7(name, &a);
		ck_assert_ptr_nonnull(u7);
		for (q = u7; *q != '\0'; q++)
			ck_assert(*q >= 0x20 && *q <= 0x7e);
		u8 = imap_utf7_to_utf8(u7, &a);
		ck_assert_ptr_nonnull(u8);
		ck_assert_str_eq(u8, name);
		imap_arena_reset(&a);
	}
	imap_arena_free(&a);
}
END_TEST

/* ---------------------------------------------------------------- arena */

START_TEST(test_arena)
{
	struct imap_arena a = { 0 };
	static const unsigned char zeros[3000];
	unsigned char *first, *p;
	size_t i, total = 0;
	char *s;

	first = imap_arena_alloc(&a, 16);
	ck_assert_ptr_nonnull(first);
	for (i = 0; i < 2000; i++) {
		size_t n = (i * 37) % 3000;

		p = imap_arena_alloc(&a, n);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % _Alignof(max_align_t), 0);
		ck_assert(n == 0 || memcmp(p, zeros, n) == 0);
		memset(p, 0xa5, n);
		total += n;
	}
	ck_assert_uint_ge(a.used, total + 16);
	s = imap_arena_strndup(&a, "ab\0cd", 5);
	ck_assert_mem_eq(s, "ab\0cd", 6);
	s = imap_arena_strndup(&a, NULL, 0);
	ck_assert_str_eq(s, "");

	/* Reset keeps the first block: the next allocation is there again,
	 * and zeroed although it was written before. */
	memset(first, 0xff, 16);
	imap_arena_reset(&a);
	ck_assert_uint_eq(a.used, 0);
	p = imap_arena_alloc(&a, 16);
	ck_assert_ptr_eq(p, first);
	ck_assert(memcmp(p, zeros, 16) == 0);

	/* A big allocation first, then reset: still usable. */
	imap_arena_free(&a);
	ck_assert_ptr_null(a.blocks);
	p = imap_arena_alloc(&a, 100000);
	memset(p, 1, 100000);
	imap_arena_reset(&a);
	ck_assert_uint_eq(a.used, 0);
	p = imap_arena_alloc(&a, 10);
	ck_assert_ptr_nonnull(p);
	imap_arena_reset(&a);
	imap_arena_reset(&a);
	imap_arena_free(&a);
	imap_arena_free(&a);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
imap_parser_suite(void)
{
	Suite *s = suite_create("imap_parser");
	TCase *tc;

	tc = tcase_create("command");
	tcase_add_loop_test(tc, test_good, 0, NELEM(good_cases));
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad_cases));
	tcase_add_loop_test(tc, test_good_prefixes, 0, NELEM(good_cases));
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_deep_parens);
	tcase_add_test(tc, test_many_args);
	tcase_add_test(tc, test_big_literal);
	tcase_add_loop_test(tc, test_line_literal, 0, NELEM(lit_cases));
	tcase_add_test(tc, test_line_literal_prefixes);
	tcase_add_test(tc, test_arg_helpers);
	suite_add_tcase(s, tc);

	tc = tcase_create("seqset");
	tcase_add_loop_test(tc, test_seqset, 0, NELEM(seq_cases));
	tcase_add_test(tc, test_seqset_model);
	tcase_add_test(tc, test_seqset_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("fetch");
	tcase_add_loop_test(tc, test_fetch, 0, NELEM(fetch_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("search");
	tcase_add_loop_test(tc, test_search, 0, NELEM(search_cases));
	tcase_add_test(tc, test_search_depth);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_loop_test(tc, test_date, 0, NELEM(date_cases));
	tcase_add_loop_test(tc, test_datetime, 0, NELEM(datetime_cases));
	tcase_add_test(tc, test_date_model);
	tcase_add_loop_test(tc, test_flags, 0, NELEM(flag_cases));
	tcase_add_test(tc, test_flags_many);
	tcase_add_loop_test(tc, test_utf7_pairs, 0, NELEM(utf7_pairs));
	tcase_add_loop_test(tc, test_utf7_bad, 0, NELEM(utf7_bad));
	tcase_add_loop_test(tc, test_utf8_valid, 0, NELEM(utf8_cases));
	tcase_add_test(tc, test_utf7_random);
	tcase_add_test(tc, test_arena);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(imap_parser_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
