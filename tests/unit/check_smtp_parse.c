/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for smtp/smtp_parse.c: UTF-8 validation, command line split,
 * EHLO/AUTH/BDAT arguments, MAIL/RCPT paths and parameters (tables of good
 * and bad lines, every quoting case), and the DATA/BDAT body parser fed
 * whole, byte by byte, at every two-way split and in pseudo-random pieces,
 * including the SMTP smuggling variants that must not end a message.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

/* A counted string literal, so inputs may contain NUL. */
struct bytes {
	const char	*p;
	size_t		 n;
};
#define B(s)	{ (s), sizeof(s) - 1 }

/* ----------------------------------------------------------------- UTF-8 */

static const struct {
	struct bytes	in;
	bool		valid;
} utf8_cases[] = {
	{ B(""), true },
	{ B("plain ascii"), true },
	{ B("\xc3\xa9"), true },			/* é */
	{ B("\xe2\x82\xac"), true },			/* € */
	{ B("\xf0\x9f\x98\x80"), true },		/* U+1F600 */
	{ B("\xf4\x8f\xbf\xbf"), true },		/* U+10FFFF */
	{ B("\xed\x9f\xbf"), true },			/* U+D7FF */
	{ B("\xee\x80\x80"), true },			/* U+E000 */
	{ B("\xc2\x80"), true },			/* U+0080 */
	{ B("\xe0\xa0\x80"), true },			/* U+0800 */
	{ B("\xf0\x90\x80\x80"), true },		/* U+10000 */
	{ B("\x80"), false },				/* lone continuation */
	{ B("\xbf"), false },
	{ B("\xc0\xaf"), false },			/* overlong '/' */
	{ B("\xc1\xbf"), false },			/* overlong */
	{ B("\xe0\x80\xaf"), false },			/* overlong 3-byte */
	{ B("\xe0\x9f\xbf"), false },			/* overlong 3-byte */
	{ B("\xf0\x80\x80\xaf"), false },		/* overlong 4-byte */
	{ B("\xf0\x8f\xbf\xbf"), false },		/* overlong 4-byte */
	{ B("\xed\xa0\x80"), false },			/* surrogate D800 */
	{ B("\xed\xbf\xbf"), false },			/* surrogate DFFF */
	{ B("\xf4\x90\x80\x80"), false },		/* U+110000 */
	{ B("\xf5\x80\x80\x80"), false },
	{ B("\xff"), false },
	{ B("\xfe"), false },
	{ B("\xc3"), false },				/* truncated */
	{ B("\xe2\x82"), false },
	{ B("\xf0\x9f\x98"), false },
	{ B("\xc3\x28"), false },			/* bad continuation */
	{ B("\xe2\x28\xac"), false },
	{ B("\xe2\x82\x28"), false },
	{ B("ok\xc3\xa9then\xff"), false },
	{ B("a\0b"), true },				/* NUL is ASCII */
};

START_TEST(test_utf8)
{
	const struct bytes *in = &utf8_cases[_i].in;

	ck_assert_msg(smtp_utf8_valid(in->p, in->n) == utf8_cases[_i].valid,
	    "case %d", _i);
}
END_TEST

START_TEST(test_utf8_seqlen)
{
	ck_assert_uint_eq(smtp_utf8_seqlen("a", 1), 1);
	ck_assert_uint_eq(smtp_utf8_seqlen("\xc3\xa9x", 3), 2);
	ck_assert_uint_eq(smtp_utf8_seqlen("\xe2\x82\xac", 3), 3);
	ck_assert_uint_eq(smtp_utf8_seqlen("\xf0\x9f\x98\x80", 4), 4);
	ck_assert_uint_eq(smtp_utf8_seqlen("\xf0\x9f\x98\x80", 3), 0);
	ck_assert_uint_eq(smtp_utf8_seqlen("", 0), 0);
}
END_TEST

/* ---------------------------------------------------------- command line */

static const struct {
	const char	*line;
	int		 ret;
	const char	*verb;
	const char	*args;
} cmdline_cases[] = {
	{ "QUIT", 0, "QUIT", "" },
	{ "quit  ", 0, "quit", "" },
	{ "MAIL FROM:<a@b>", 0, "MAIL", "FROM:<a@b>" },
	{ "MAIL  FROM:<a@b> SIZE=1 \t ", 0, "MAIL", "FROM:<a@b> SIZE=1" },
	{ "EHLO\tfoo", 0, "EHLO", "foo" },
	{ "X", 0, "X", "" },
	{ "", -1, NULL, NULL },
	{ " QUIT", -1, NULL, NULL },
	{ "\tQUIT", -1, NULL, NULL },
};

START_TEST(test_cmdline)
{
	struct smtp_cmdline cl;
	const char *line = cmdline_cases[_i].line;
	int r = smtp_parse_cmdline(line, strlen(line), &cl);

	ck_assert_int_eq(r, cmdline_cases[_i].ret);
	if (r != 0)
		return;
	ck_assert_uint_eq(cl.verb_len, strlen(cmdline_cases[_i].verb));
	ck_assert(memcmp(cl.verb, cmdline_cases[_i].verb, cl.verb_len) == 0);
	ck_assert_uint_eq(cl.args_len, strlen(cmdline_cases[_i].args));
	ck_assert(memcmp(cl.args, cmdline_cases[_i].args, cl.args_len) == 0);
}
END_TEST

/* ------------------------------------------------------------------ HELO */

static const struct {
	struct bytes	in;
	enum smtp_parse_status st;
} helo_cases[] = {
	{ B("mail.example.org"), SMTP_PARSE_OK },
	{ B("[192.0.2.1]"), SMTP_PARSE_OK },
	{ B("[IPv6:2001:db8::1]"), SMTP_PARSE_OK },
	{ B("DESKTOP-AB_12"), SMTP_PARSE_OK },
	{ B("localhost"), SMTP_PARSE_OK },
	{ B("b\xc3\xbc\x63her.example"), SMTP_PARSE_OK },
	{ B(""), SMTP_PARSE_SYNTAX },
	{ B("two words"), SMTP_PARSE_SYNTAX },
	{ B("tab\there"), SMTP_PARSE_SYNTAX },
	{ B("nul\0byte"), SMTP_PARSE_SYNTAX },
	{ B("cr\rhere"), SMTP_PARSE_SYNTAX },
	{ B("del\x7f"), SMTP_PARSE_SYNTAX },
	{ B("bad\xc0\xafutf8"), SMTP_PARSE_SYNTAX },
};

START_TEST(test_helo)
{
	ck_assert_int_eq(smtp_parse_helo(helo_cases[_i].in.p, helo_cases[_i].in.n),
	    helo_cases[_i].st);
}
END_TEST

START_TEST(test_helo_length)
{
	char buf[SMTP_HELO_MAX + 2];

	memset(buf, 'h', sizeof(buf));
	ck_assert_int_eq(smtp_parse_helo(buf, SMTP_HELO_MAX), SMTP_PARSE_OK);
	ck_assert_int_eq(smtp_parse_helo(buf, SMTP_HELO_MAX + 1), SMTP_PARSE_SYNTAX);
}
END_TEST

/* ------------------------------------------------------------ MAIL FROM */

static const struct {
	struct bytes	in;
	enum smtp_parse_status st;
	const char	*addr;		/* expected canonical path when OK */
	uint64_t	 size;
	enum smtp_body	 body;
	bool		 smtputf8;
	bool		 utf8;
} mail_cases[] = {
	{ B("FROM:<a@b.c>"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("from:<a@b.c>"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM: <a@b.c>"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:  <a@b.c>"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<>"), SMTP_PARSE_OK, "", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<> SIZE=100"), SMTP_PARSE_OK, "", 100, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@b.c> SIZE=0 BODY=8BITMIME"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_8BITMIME, false, false },
	{ B("FROM:<a@b.c> body=7bit"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_7BIT, false, false },
	{ B("FROM:<a@b.c> BODY=BINARYMIME"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_BINARYMIME, false, false },
	{ B("FROM:<a@b.c>  size=12345\t BODY=8bitmime"), SMTP_PARSE_OK, "a@b.c", 12345, SMTP_BODY_8BITMIME, false, false },
	{ B("FROM:<a@b.c> SIZE=99999999999999999999"), SMTP_PARSE_OK, "a@b.c", UINT64_MAX, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@b.c> SIZE=18446744073709551615"), SMTP_PARSE_OK, "a@b.c", UINT64_MAX, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@b.c> SIZE=18446744073709551614"), SMTP_PARSE_OK, "a@b.c", UINT64_MAX - 1, SMTP_BODY_DEFAULT, false, false },
	/* source routes are dropped */
	{ B("FROM:<@x.y:a@b.c>"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<@x.y,@[1.2.3.4]:a@b.c>"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	/* quoting: unquoted when a dot-atom, minimal escapes otherwise */
	{ B("FROM:<\"ab\"@c.d>"), SMTP_PARSE_OK, "ab@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a.b\"@c.d>"), SMTP_PARSE_OK, "a.b@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a b\"@c.d>"), SMTP_PARSE_OK, "\"a b\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a\\\"b\"@c.d>"), SMTP_PARSE_OK, "\"a\\\"b\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a\\\\b\"@c.d>"), SMTP_PARSE_OK, "\"a\\\\b\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a\\b\"@c.d>"), SMTP_PARSE_OK, "ab@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a\\ b\"@c.d>"), SMTP_PARSE_OK, "\"a b\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"\"@c.d>"), SMTP_PARSE_OK, "\"\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a..b\"@c.d>"), SMTP_PARSE_OK, "\"a..b\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\".a\"@c.d>"), SMTP_PARSE_OK, "\".a\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"a@b\"@c.d>"), SMTP_PARSE_OK, "\"a@b\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<\"<>\"@c.d>"), SMTP_PARSE_OK, "\"<>\"@c.d", 0, SMTP_BODY_DEFAULT, false, false },
	/* dot-atoms and domains */
	{ B("FROM:<a+tag@b.c>"), SMTP_PARSE_OK, "a+tag@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<!#$%&'*+-/=?^_`{|}~@b.c>"), SMTP_PARSE_OK, "!#$%&'*+-/=?^_`{|}~@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<First.Last@Example.ORG>"), SMTP_PARSE_OK, "First.Last@Example.ORG", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@b-c.d>"), SMTP_PARSE_OK, "a@b-c.d", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@localhost>"), SMTP_PARSE_OK, "a@localhost", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@1.2.3.4>"), SMTP_PARSE_OK, "a@1.2.3.4", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@xn--bcher-kva.example>"), SMTP_PARSE_OK, "a@xn--bcher-kva.example", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@[192.0.2.1]>"), SMTP_PARSE_OK, "a@[192.0.2.1]", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@[IPv6:2001:db8::1]>"), SMTP_PARSE_OK, "a@[IPv6:2001:db8::1]", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@[ipv6:::ffff:192.0.2.1]>"), SMTP_PARSE_OK, "a@[ipv6:::ffff:192.0.2.1]", 0, SMTP_BODY_DEFAULT, false, false },
	/* SMTPUTF8 */
	{ B("FROM:<a@b.c> SMTPUTF8"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, true, false },
	{ B("FROM:<\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1.example> SMTPUTF8"), SMTP_PARSE_OK,
	  "\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1.example", 0, SMTP_BODY_DEFAULT, true, true },
	{ B("FROM:<\"\xe2\x82\xac x\"@b.c> smtputf8 BODY=8BITMIME"), SMTP_PARSE_OK,
	  "\"\xe2\x82\xac x\"@b.c", 0, SMTP_BODY_8BITMIME, true, true },
	{ B("FROM:<a@b.c> SMTPUTF8 ENVID=\xc3\xa9t\xc3\xa9"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	/* other known parameters */
	{ B("FROM:<a@b.c> AUTH=<>"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@b.c> AUTH=joe+40example.com"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@b.c> RET=HDRS ENVID=QQ314159"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },
	{ B("FROM:<a@b.c> ret=full"), SMTP_PARSE_OK, "a@b.c", 0, SMTP_BODY_DEFAULT, false, false },

	/* command syntax */
	{ B(""), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM:"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM:a@b.c"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM: a@b.c"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM:<"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM:<\"abc@b.c>"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROM :<a@b.c>"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("TO:<a@b.c>"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	{ B("FROMX:<a@b.c>"), SMTP_PARSE_SYNTAX, NULL, 0, 0, 0, 0 },
	/* address syntax */
	{ B("FROM:<a>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<postmaster>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<@b.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<@x.y,a@b.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<@x.y:>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a..b@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<.a@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a.@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a b@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a(b)@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b..c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@.b.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@-b.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b-.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c.>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b_c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c >"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:< a@b.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[1.2.3]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[1.2.3.256]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[1.2.3.4.5]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[1.2.3.1234]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[IPv6:zz::1]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[IPv6:1:2]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[IPv6:]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[tag:value]>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@[1.2.3.4>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<\"a\x01\"@b.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<\"a\\\x01\"@b.c>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<\"a\"b@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a\0b@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@c\0.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a\r@c.d>"), SMTP_PARSE_BAD_ADDR, NULL, 0, 0, 0, 0 },
	/* UTF-8 */
	{ B("FROM:<\xce\xb4@b.c>"), SMTP_PARSE_NEED_SMTPUTF8, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@\xcf\x80.example>"), SMTP_PARSE_NEED_SMTPUTF8, NULL, 0, 0, 0, 0 },
	{ B("FROM:<\"\xce\xb4\"@b.c>"), SMTP_PARSE_NEED_SMTPUTF8, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> ENVID=\xc3\xa9"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<\xc0\xaf@b.c> SMTPUTF8"), SMTP_PARSE_BAD_UTF8, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@\xed\xa0\x80.c> SMTPUTF8"), SMTP_PARSE_BAD_UTF8, NULL, 0, 0, 0, 0 },
	{ B("FROM:<\"\xff\"@b.c> SMTPUTF8"), SMTP_PARSE_BAD_UTF8, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a\xe2\x82@b.c> SMTPUTF8"), SMTP_PARSE_BAD_UTF8, NULL, 0, 0, 0, 0 },
	/* parameters */
	{ B("FROM:<a@b.c>SIZE=1"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE="), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE=12a"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE=-1"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE=123456789012345678901"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE=1 SIZE=2"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> BODY=9BIT"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> BODY"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SMTPUTF8=yes"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> RET=ALL"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> ENVID=a=b"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> AUTH=a+zz"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> AUTH=a+4"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> =x"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> -X"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE=1\x01"), SMTP_PARSE_BAD_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> FOO=bar"), SMTP_PARSE_UNKNOWN_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> XFOO"), SMTP_PARSE_UNKNOWN_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> NOTIFY=NEVER"), SMTP_PARSE_UNKNOWN_PARAM, NULL, 0, 0, 0, 0 },
	{ B("FROM:<a@b.c> SIZE=10 ORCPT=rfc822;a@b.c"), SMTP_PARSE_UNKNOWN_PARAM, NULL, 0, 0, 0, 0 },
};

START_TEST(test_mail)
{
	struct smtp_mail_args m;
	const char *err = NULL;
	enum smtp_parse_status st;

	st = smtp_parse_mail(mail_cases[_i].in.p, mail_cases[_i].in.n, &m, &err);
	ck_assert_msg(st == mail_cases[_i].st, "case %d: status %d, want %d",
	    _i, st, mail_cases[_i].st);
	if (st != SMTP_PARSE_OK) {
		ck_assert_ptr_nonnull(err);
		return;
	}
	ck_assert_str_eq(m.path.addr, mail_cases[_i].addr);
	ck_assert_uint_eq(m.size, mail_cases[_i].size);
	ck_assert(m.size_set == (strstr(mail_cases[_i].in.p, "SIZE") != NULL ||
	    strstr(mail_cases[_i].in.p, "size") != NULL));
	ck_assert_int_eq(m.body, mail_cases[_i].body);
	ck_assert(m.smtputf8 == mail_cases[_i].smtputf8);
	ck_assert(m.path.utf8 == mail_cases[_i].utf8);
	if (m.path.addr[0] != '\0') {
		ck_assert_int_eq(m.path.addr[m.path.local_len], '@');
		ck_assert_ptr_eq(strrchr(m.path.addr, '@'),
		    m.path.addr + m.path.local_len);
	}
}
END_TEST

/* Limits: local part SMTP_LOCAL_MAX, labels 63, domain 255. */
START_TEST(test_mail_limits)
{
	char buf[1200], local[SMTP_LOCAL_MAX + 2], label[65];
	struct smtp_mail_args m;
	const char *err;
	size_t n;

	memset(local, 'l', sizeof(local) - 1);
	local[SMTP_LOCAL_MAX] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<%s@x.y>", local);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_OK);
	ck_assert_uint_eq(m.path.local_len, SMTP_LOCAL_MAX);
	local[SMTP_LOCAL_MAX] = 'l';
	local[SMTP_LOCAL_MAX + 1] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<%s@x.y>", local);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_BAD_ADDR);
	/* a quoted form that only fits once unquoted is fine */
	local[SMTP_LOCAL_MAX - 2] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<\"%s\"@x.y>", local);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_OK);
	/* a quoted form that needs its quotes and is too long is not */
	local[0] = ' ';
	local[SMTP_LOCAL_MAX - 2] = 'l';
	local[SMTP_LOCAL_MAX - 1] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<\"%s\"@x.y>", local);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_BAD_ADDR);

	memset(label, 'd', sizeof(label) - 1);
	label[63] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<a@%s.org>", label);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_OK);
	label[63] = 'd';
	label[64] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<a@%s.org>", label);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_BAD_ADDR);

	/* 4 labels of 63 + 3 dots = 255: ok; one more char: too long */
	label[63] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<a@%s.%s.%s.%s>", label,
	    label, label, label);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_OK);
	ck_assert_uint_eq(strlen(m.path.addr), 2 + 255);
	n = (size_t)snprintf(buf, sizeof(buf), "FROM:<a@%s.%s.%s.%s.x>", label,
	    label, label, label);
	ck_assert_int_eq(smtp_parse_mail(buf, n, &m, &err), SMTP_PARSE_BAD_ADDR);
}
END_TEST

/* -------------------------------------------------------------- RCPT TO */

static const struct {
	struct bytes	in;
	bool		smtputf8;
	enum smtp_parse_status st;
	const char	*addr;
} rcpt_cases[] = {
	{ B("TO:<a@b.c>"), false, SMTP_PARSE_OK, "a@b.c" },
	{ B("to: <a@b.c>"), false, SMTP_PARSE_OK, "a@b.c" },
	{ B("TO:<@relay.example:a@b.c>"), false, SMTP_PARSE_OK, "a@b.c" },
	{ B("TO:<postmaster>"), false, SMTP_PARSE_OK, "postmaster" },
	{ B("TO:<PostMaster>"), false, SMTP_PARSE_OK, "PostMaster" },
	{ B("TO:<\"postmaster\">"), false, SMTP_PARSE_OK, "postmaster" },
	{ B("TO:<postmaster@b.c>"), false, SMTP_PARSE_OK, "postmaster@b.c" },
	{ B("TO:<\"x y\"@b.c>"), false, SMTP_PARSE_OK, "\"x y\"@b.c" },
	{ B("TO:<a@b.c> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b.c"), false, SMTP_PARSE_OK, "a@b.c" },
	{ B("TO:<a@b.c> notify=never"), false, SMTP_PARSE_OK, "a@b.c" },
	{ B("TO:<a@b.c> NOTIFY=DELAY"), false, SMTP_PARSE_OK, "a@b.c" },
	{ B("TO:<\xce\xb4@b.c>"), true, SMTP_PARSE_OK, "\xce\xb4@b.c" },
	{ B("TO:<a@b.c> ORCPT=utf-8;\xce\xb4@b.c"), true, SMTP_PARSE_OK, "a@b.c" },

	{ B("TO:<\xce\xb4@b.c>"), false, SMTP_PARSE_NEED_SMTPUTF8, NULL },
	{ B("TO:<a@b.c> ORCPT=utf-8;\xce\xb4@b.c"), false, SMTP_PARSE_NEED_SMTPUTF8, NULL },
	{ B("TO:<\xce@b.c>"), true, SMTP_PARSE_BAD_UTF8, NULL },
	{ B("TO:<>"), false, SMTP_PARSE_BAD_ADDR, NULL },
	{ B("TO:<bob>"), false, SMTP_PARSE_BAD_ADDR, NULL },
	{ B("TO:<postmaster2>"), false, SMTP_PARSE_BAD_ADDR, NULL },
	{ B("TO:<a@b.c"), false, SMTP_PARSE_SYNTAX, NULL },
	{ B("TO:a@b.c"), false, SMTP_PARSE_SYNTAX, NULL },
	{ B("FROM:<a@b.c>"), false, SMTP_PARSE_SYNTAX, NULL },
	{ B("TO"), false, SMTP_PARSE_SYNTAX, NULL },
	{ B("TO:<a@b.c> NOTIFY=NEVER,DELAY"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> NOTIFY=SOMETIMES"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> NOTIFY=SUCCESS,"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> NOTIFY"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> ORCPT=rfc822"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> ORCPT=;a@b.c"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> ORCPT=rfc822;"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> NOTIFY=NEVER NOTIFY=NEVER"), false, SMTP_PARSE_BAD_PARAM, NULL },
	{ B("TO:<a@b.c> SIZE=1"), false, SMTP_PARSE_UNKNOWN_PARAM, NULL },
	{ B("TO:<a@b.c> BODY=8BITMIME"), false, SMTP_PARSE_UNKNOWN_PARAM, NULL },
};

START_TEST(test_rcpt)
{
	struct smtp_rcpt_args r;
	const char *err = NULL;
	enum smtp_parse_status st;

	st = smtp_parse_rcpt(rcpt_cases[_i].in.p, rcpt_cases[_i].in.n,
	    rcpt_cases[_i].smtputf8, &r, &err);
	ck_assert_msg(st == rcpt_cases[_i].st, "case %d: status %d, want %d",
	    _i, st, rcpt_cases[_i].st);
	if (st == SMTP_PARSE_OK)
		ck_assert_str_eq(r.path.addr, rcpt_cases[_i].addr);
	else
		ck_assert_ptr_nonnull(err);
}
END_TEST

/* -------------------------------------------------------- AUTH and BDAT */

static const struct {
	const char	*in;
	enum smtp_parse_status st;
	const char	*mech;
	const char	*initial;	/* NULL: none */
} auth_cases[] = {
	{ "PLAIN", SMTP_PARSE_OK, "PLAIN", NULL },
	{ "plain AGFsaWNlAHNlY3JldA==", SMTP_PARSE_OK, "plain", "AGFsaWNlAHNlY3JldA==" },
	{ "PLAIN =", SMTP_PARSE_OK, "PLAIN", "=" },
	{ "LOGIN  YWxpY2U=", SMTP_PARSE_OK, "LOGIN", "YWxpY2U=" },
	{ "SCRAM-SHA-256", SMTP_PARSE_OK, "SCRAM-SHA-256", NULL },
	{ "X_MECH", SMTP_PARSE_OK, "X_MECH", NULL },
	{ "", SMTP_PARSE_SYNTAX, NULL, NULL },
	{ "PLAIN AB$C", SMTP_PARSE_SYNTAX, NULL, NULL },
	{ "PLAIN AB C", SMTP_PARSE_SYNTAX, NULL, NULL },
	{ "PL/AIN", SMTP_PARSE_SYNTAX, NULL, NULL },
	{ "ABCDEFGHIJKLMNOPQRSTU", SMTP_PARSE_SYNTAX, NULL, NULL },
};

START_TEST(test_auth)
{
	struct smtp_auth_args a;
	const char *in = auth_cases[_i].in;
	enum smtp_parse_status st = smtp_parse_auth(in, strlen(in), &a);

	ck_assert_int_eq(st, auth_cases[_i].st);
	if (st != SMTP_PARSE_OK)
		return;
	ck_assert_uint_eq(a.mech_len, strlen(auth_cases[_i].mech));
	ck_assert(memcmp(a.mech, auth_cases[_i].mech, a.mech_len) == 0);
	ck_assert(a.has_initial == (auth_cases[_i].initial != NULL));
	if (a.has_initial) {
		ck_assert_uint_eq(a.initial_len, strlen(auth_cases[_i].initial));
		ck_assert(memcmp(a.initial, auth_cases[_i].initial, a.initial_len) == 0);
	}
}
END_TEST

static const struct {
	const char	*in;
	enum smtp_parse_status st;
	uint64_t	 size;
	bool		 last;
} bdat_cases[] = {
	{ "0", SMTP_PARSE_OK, 0, false },
	{ "0 LAST", SMTP_PARSE_OK, 0, true },
	{ "1000 last", SMTP_PARSE_OK, 1000, true },
	{ "18446744073709551615", SMTP_PARSE_OK, UINT64_MAX, false },
	{ "42  LAST", SMTP_PARSE_OK, 42, true },
	{ "", SMTP_PARSE_SYNTAX, 0, false },
	{ "LAST", SMTP_PARSE_SYNTAX, 0, false },
	{ "-1", SMTP_PARSE_SYNTAX, 0, false },
	{ "12x", SMTP_PARSE_SYNTAX, 0, false },
	{ "12 FIRST", SMTP_PARSE_SYNTAX, 0, false },
	{ "12 LASTX", SMTP_PARSE_SYNTAX, 0, false },
	{ "18446744073709551616", SMTP_PARSE_SYNTAX, 0, false },
};

START_TEST(test_bdat)
{
	uint64_t size = 7;
	bool last = false;
	const char *in = bdat_cases[_i].in;
	enum smtp_parse_status st = smtp_parse_bdat(in, strlen(in), &size, &last);

	ck_assert_int_eq(st, bdat_cases[_i].st);
	if (st != SMTP_PARSE_OK)
		return;
	ck_assert_uint_eq(size, bdat_cases[_i].size);
	ck_assert(last == bdat_cases[_i].last);
}
END_TEST

/* ------------------------------------------------------------ body parser */

struct sink {
	char	*buf;
	size_t	 len;
	size_t	 size;
	size_t	 calls;
};

static void
sink_out(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	ck_assert_uint_gt(n, 0);
	if (s->len + n + 1 > s->size) {
		s->size = (s->len + n + 1) * 2;
		s->buf = realloc(s->buf, s->size);
		ck_assert_ptr_nonnull(s->buf);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	s->calls++;
}

static const struct data_case {
	struct bytes	in;
	bool		normalize;
	bool		done;		/* end-of-data expected */
	struct bytes	out;
	size_t		rest;		/* input bytes left after the end */
	bool		bare_lf;
	bool		bare_cr;
} data_cases[] = {
	{ B(".\r\n"), false, true, B(""), 0, false, false },
	{ B(".\r\nQUIT\r\n"), false, true, B(""), 6, false, false },
	{ B("abc\r\n.\r\n"), false, true, B("abc\r\n"), 0, false, false },
	{ B("abc\r\n.\r\nMAIL"), false, true, B("abc\r\n"), 4, false, false },
	{ B("\r\n.\r\n"), false, true, B("\r\n"), 0, false, false },
	{ B("..abc\r\n.\r\n"), false, true, B(".abc\r\n"), 0, false, false },
	{ B("..\r\n.\r\n"), false, true, B(".\r\n"), 0, false, false },
	{ B("a\r\n..\r\n...\r\n.\r\n"), false, true, B("a\r\n.\r\n..\r\n"), 0, false, false },
	{ B("a\r\n.x\r\n.\r\n"), false, true, B("a\r\nx\r\n"), 0, false, false },
	{ B("a.\r\nb..c\r\n.\r\n"), false, true, B("a.\r\nb..c\r\n"), 0, false, false },
	{ B("a\r\n.\r\n.\r\n"), false, true, B("a\r\n"), 3, false, false },
	{ B("line\0nul\r\n.\r\n"), false, true, B("line\0nul\r\n"), 0, false, false },
	/* smuggling variants: none of these ends the message */
	{ B("a\n.\nb\r\n.\r\n"), false, true, B("a\n.\nb\r\n"), 0, true, false },
	{ B("a\r.\rb\r\n.\r\n"), false, true, B("a\r.\rb\r\n"), 0, false, true },
	{ B("a\r\n.\nb\r\n.\r\n"), false, true, B("a\r\n.\nb\r\n"), 0, true, false },
	{ B("a\n.\r\nb\r\n.\r\n"), false, true, B("a\n.\r\nb\r\n"), 0, true, false },
	{ B("a\r\n.\r.\r\n.\r\n"), false, true, B("a\r\n.\r.\r\n"), 0, false, true },
	{ B("a\r\n.\r\r\n.\r\n"), false, true, B("a\r\n.\r\r\n"), 0, false, true },
	{ B("\n.\r\n.\r\n"), false, true, B("\n.\r\n"), 0, true, false },
	{ B("a\r\r\n.\r\n"), false, true, B("a\r\r\n"), 0, false, true },
	{ B("a\n\n.\n\n"), false, false, B("a\n\n.\n\n"), 0, true, false },
	{ B("a\r\n.\n\r\n"), false, false, B("a\r\n.\n\r\n"), 0, true, false },
	/* incomplete: the dot and CR are held back */
	{ B("abc"), false, false, B("abc"), 0, false, false },
	{ B("abc\r\n."), false, false, B("abc\r\n"), 0, false, false },
	{ B("abc\r\n.\r"), false, false, B("abc\r\n"), 0, false, false },
	{ B("abc\r"), false, false, B("abc"), 0, false, false },
	{ B(""), false, false, B(""), 0, false, false },
	/* normalize: bare line ends become CRLF, still never the end */
	{ B("a\nb\r\n.\r\n"), true, true, B("a\r\nb\r\n"), 0, true, false },
	{ B("a\rb\r\n.\r\n"), true, true, B("a\r\nb\r\n"), 0, false, true },
	{ B("a\n.\nb\r\n.\r\n"), true, true, B("a\r\n.\r\nb\r\n"), 0, true, false },
	{ B("a\r.\rb\r\n.\r\n"), true, true, B("a\r\n.\r\nb\r\n"), 0, false, true },
	{ B("a\n.\r\nb\r\n.\r\n"), true, true, B("a\r\n.\r\nb\r\n"), 0, true, false },
	{ B("a\r\n.\nb\r\n.\r\n"), true, true, B("a\r\n.\r\nb\r\n"), 0, true, false },
	{ B("a\n..b\r\n.\r\n"), true, true, B("a\r\n.b\r\n"), 0, true, false },
	{ B("a\r\r\n.\r\n"), true, true, B("a\r\n\r\n"), 0, false, true },
	{ B("a\r\n.\r.\r\n.\r\n"), true, true, B("a\r\n.\r\n.\r\n"), 0, false, true },
	{ B("ok\r\n.\r\n"), true, true, B("ok\r\n"), 0, false, false },
};

/*
 * Feed a case cut at the given offsets (cuts[0..ncuts), ascending) and
 * check the output, where it stopped and the flags.
 */
static void
run_data_case(const struct data_case *dc, const size_t *cuts, size_t ncuts,
    const char *what)
{
	struct smtp_data_parser dp;
	struct sink s = { 0 };
	size_t off = 0, k, end, consumed = 0;
	int r = 0;

	smtp_data_parser_init(&dp, true, dc->normalize);
	for (k = 0; k <= ncuts && off <= dc->in.n; k++) {
		end = k < ncuts ? cuts[k] : dc->in.n;
		if (end < off)
			continue;
		r = smtp_data_parse(&dp, dc->in.p + off, end - off, &consumed,
		    sink_out, &s);
		if (r == 1) {
			off += consumed;
			break;
		}
		ck_assert_uint_eq(consumed, end - off);
		off = end;
		if (end == dc->in.n)
			break;
	}
	ck_assert_msg(r == (dc->done ? 1 : 0), "%s: done=%d", what, r);
	ck_assert_msg(dp.done == dc->done, "%s", what);
	ck_assert_msg(s.len == dc->out.n &&
	    (s.len == 0 || memcmp(s.buf, dc->out.p, s.len) == 0),
	    "%s: output \"%.*s\" (%zu bytes)", what, (int)s.len,
	    s.buf != NULL ? s.buf : "", s.len);
	ck_assert_uint_eq(dp.out_bytes, dc->out.n);
	if (dc->done)
		ck_assert_msg(dc->in.n - off == dc->rest, "%s: rest %zu", what,
		    dc->in.n - off);
	ck_assert_msg(dp.saw_bare_lf == dc->bare_lf, "%s: bare lf", what);
	ck_assert_msg(dp.saw_bare_cr == dc->bare_cr, "%s: bare cr", what);
	free(s.buf);
}

START_TEST(test_data_whole)
{
	run_data_case(&data_cases[_i], NULL, 0, "whole");
}
END_TEST

START_TEST(test_data_bytewise)
{
	const struct data_case *dc = &data_cases[_i];
	size_t cuts[64], k;

	ck_assert_uint_lt(dc->in.n, 64);
	for (k = 0; k < dc->in.n; k++)
		cuts[k] = k + 1;
	run_data_case(dc, cuts, dc->in.n, "bytewise");
}
END_TEST

START_TEST(test_data_splits)
{
	const struct data_case *dc = &data_cases[_i];
	size_t a, b, cuts[2];
	char what[64];

	for (a = 0; a <= dc->in.n; a++) {
		cuts[0] = a;
		snprintf(what, sizeof(what), "split at %zu", a);
		run_data_case(dc, cuts, 1, what);
		for (b = a; b <= dc->in.n; b++) {
			cuts[1] = b;
			snprintf(what, sizeof(what), "split at %zu,%zu", a, b);
			run_data_case(dc, cuts, 2, what);
		}
	}
}
END_TEST

/* A small deterministic generator, so failures are reproducible. */
static uint32_t
rnd(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* The smuggling sequences inside a body, fed in random pieces: only the
 * real terminator at the end may stop the parser. */
START_TEST(test_data_smuggling_random)
{
	static const char *inner[] = {
		"\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\n.\r",
		"\r\n.\r", ".\n", "\r\n \r\n.\r\n",
	};
	char in[256];
	size_t cuts[16], n, k, m;
	uint32_t seed = 42;
	struct smtp_data_parser dp;
	struct sink s;
	size_t i, off, consumed;
	int r;

	for (i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
		bool is_real = strcmp(inner[i], "\r\n \r\n.\r\n") == 0;

		n = (size_t)snprintf(in, sizeof(in), "Subject: x\r\n\r\nbody%sMAIL FROM:<evil@x>\r\n.\r\nNEXT",
		    inner[i]);
		for (k = 0; k < 200; k++) {
			size_t nc = 1 + rnd(&seed) % 8;

			for (m = 0; m < nc; m++)
				cuts[m] = rnd(&seed) % (n + 1);
			/* sort the cuts */
			for (m = 1; m < nc; m++) {
				size_t v = cuts[m], j = m;

				while (j > 0 && cuts[j - 1] > v) {
					cuts[j] = cuts[j - 1];
					j--;
				}
				cuts[j] = v;
			}
			memset(&s, 0, sizeof(s));
			smtp_data_parser_init(&dp, true, false);
			off = 0;
			r = 0;
			for (m = 0; m <= nc; m++) {
				size_t end = m < nc ? cuts[m] : n;

				if (end < off)
					continue;
				r = smtp_data_parse(&dp, in + off, end - off,
				    &consumed, sink_out, &s);
				off += consumed;
				if (r == 1)
					break;
			}
			ck_assert_int_eq(r, 1);
			if (is_real) {
				/* the real terminator inside ends it early */
				ck_assert_str_eq(s.buf, "Subject: x\r\n\r\nbody\r\n \r\n");
				ck_assert(memcmp(in + off, "MAIL", 4) == 0);
			} else {
				ck_assert_uint_eq(n - off, 4);
				ck_assert(memcmp(in + off, "NEXT", 4) == 0);
				ck_assert(strstr(s.buf, "MAIL FROM:<evil@x>\r\n") != NULL);
				ck_assert(dp.saw_bare_cr || dp.saw_bare_lf);
			}
			free(s.buf);
		}
	}
}
END_TEST

/*
 * Round trip: a random body with many dot lines, dot-stuffed by an
 * independent encoder here, comes back identical whatever the chunking.
 * It is big enough to pass the parser's internal output buffer many times.
 */
START_TEST(test_data_roundtrip)
{
	size_t body_len = 200000, i, enc_len = 0, off, consumed, chunk;
	char *body = malloc(body_len), *enc = malloc(body_len * 2 + 8);
	uint32_t seed = 7;
	bool bol = true;
	struct smtp_data_parser dp;
	struct sink s = { 0 };
	int r = 0;

	ck_assert_ptr_nonnull(body);
	ck_assert_ptr_nonnull(enc);
	/* lines of random printable text, many starting with dots */
	for (i = 0; i < body_len; i++) {
		uint32_t v = rnd(&seed) % 100;

		if (v < 6 && i + 1 < body_len && body[i > 0 ? i - 1 : 0] != '\r') {
			body[i++] = '\r';
			body[i] = '\n';
		} else if (v < 20)
			body[i] = '.';
		else
			body[i] = (char)(' ' + rnd(&seed) % 95);
	}
	/* end with CRLF so the terminator follows a line end */
	body[body_len - 3] = 'x';
	body[body_len - 2] = '\r';
	body[body_len - 1] = '\n';
	for (i = 0; i < body_len; i++) {
		if (bol && body[i] == '.')
			enc[enc_len++] = '.';
		enc[enc_len++] = body[i];
		bol = body[i] == '\n';
	}
	memcpy(enc + enc_len, ".\r\nRSET\r\n", 9);
	enc_len += 9;

	smtp_data_parser_init(&dp, true, false);
	for (off = 0; off < enc_len; off += consumed) {
		chunk = 1 + rnd(&seed) % 5000;
		if (chunk > enc_len - off)
			chunk = enc_len - off;
		r = smtp_data_parse(&dp, enc + off, chunk, &consumed, sink_out, &s);
		if (r == 1) {
			off += consumed;
			break;
		}
		ck_assert_uint_eq(consumed, chunk);
	}
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(enc_len - off, 6);
	ck_assert_uint_eq(s.len, body_len);
	ck_assert(memcmp(s.buf, body, body_len) == 0);
	ck_assert(!dp.saw_bare_cr && !dp.saw_bare_lf);
	ck_assert_uint_lt(s.calls, body_len / 100);
	free(s.buf);
	free(body);
	free(enc);
}
END_TEST

START_TEST(test_data_line_length)
{
	static const char in[] = "abcd\r\nab\r\n123456789\r\n\r\n.\r\n";
	struct smtp_data_parser dp;
	struct sink s = { 0 };
	size_t consumed;

	smtp_data_parser_init(&dp, true, false);
	ck_assert_int_eq(smtp_data_parse(&dp, in, sizeof(in) - 1, &consumed,
	    sink_out, &s), 1);
	ck_assert_uint_eq(dp.max_line_len, 9);
	/* a done parser takes nothing more */
	ck_assert_int_eq(smtp_data_parse(&dp, "x", 1, &consumed, sink_out, &s), 1);
	ck_assert_uint_eq(consumed, 0);
	free(s.buf);
}
END_TEST

/* Raw (BDAT) mode: no dot handling, no end, a trailing CR is flushed by
 * finish(); chunks split a CRLF without making it bare. */
START_TEST(test_data_raw)
{
	static const struct {
		struct bytes	in;
		bool		normalize;
		struct bytes	out;
		bool		bare_lf, bare_cr;
	} cases[] = {
		{ B("a\r\n.\r\nb\r\n"), false, B("a\r\n.\r\nb\r\n"), false, false },
		{ B("..x\r\n"), false, B("..x\r\n"), false, false },
		{ B("a\r"), false, B("a\r"), false, true },
		{ B("a\nb"), false, B("a\nb"), true, false },
		{ B("a\nb\r"), true, B("a\r\nb\r\n"), true, true },
		{ B("x\r\r\n"), true, B("x\r\n\r\n"), false, true },
	};
	size_t c, cut, consumed;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (cut = 0; cut <= cases[c].in.n; cut++) {
			struct smtp_data_parser dp;
			struct sink s = { 0 };

			smtp_data_parser_init(&dp, false, cases[c].normalize);
			ck_assert_int_eq(smtp_data_parse(&dp, cases[c].in.p, cut,
			    &consumed, sink_out, &s), 0);
			ck_assert_uint_eq(consumed, cut);
			ck_assert_int_eq(smtp_data_parse(&dp, cases[c].in.p + cut,
			    cases[c].in.n - cut, &consumed, sink_out, &s), 0);
			smtp_data_parser_finish(&dp, sink_out, &s);
			ck_assert_msg(s.len == cases[c].out.n &&
			    memcmp(s.buf, cases[c].out.p, s.len) == 0,
			    "raw case %zu cut %zu", c, cut);
			ck_assert(dp.saw_bare_lf == cases[c].bare_lf);
			ck_assert(dp.saw_bare_cr == cases[c].bare_cr);
			ck_assert(!dp.done);
			free(s.buf);
		}
	}
}
END_TEST

#define NCASES(t)	((int)(sizeof(t) / sizeof((t)[0])))

static Suite *
smtp_parse_suite(void)
{
	Suite *s = suite_create("smtp_parse");
	TCase *tc;

	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, test_utf8, 0, NCASES(utf8_cases));
	tcase_add_test(tc, test_utf8_seqlen);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_add_loop_test(tc, test_cmdline, 0, NCASES(cmdline_cases));
	tcase_add_loop_test(tc, test_helo, 0, NCASES(helo_cases));
	tcase_add_test(tc, test_helo_length);
	tcase_add_loop_test(tc, test_auth, 0, NCASES(auth_cases));
	tcase_add_loop_test(tc, test_bdat, 0, NCASES(bdat_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("paths");
	tcase_add_loop_test(tc, test_mail, 0, NCASES(mail_cases));
	tcase_add_test(tc, test_mail_limits);
	tcase_add_loop_test(tc, test_rcpt, 0, NCASES(rcpt_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("data");
	tcase_add_loop_test(tc, test_data_whole, 0, NCASES(data_cases));
	tcase_add_loop_test(tc, test_data_bytewise, 0, NCASES(data_cases));
	tcase_add_loop_test(tc, test_data_splits, 0, NCASES(data_cases));
	tcase_add_test(tc, test_data_smuggling_random);
	tcase_add_test(tc, test_data_roundtrip);
	tcase_add_test(tc, test_data_line_length);
	tcase_add_test(tc, test_data_raw);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtp_parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
