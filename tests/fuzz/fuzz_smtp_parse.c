/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the SMTP command line and body parsers.  Not part
 * of the default build:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I<builddir> \
 *       tests/fuzz/fuzz_smtp_parse.c smtp/smtp_parse.c \
 *       smtp/smtp_parse_body.c -o fuzz_smtp_parse
 *
 * or with the other harnesses through tests/fuzz/run.sh.
 *
 * The input after the first byte is offered to every argument parser as a
 * command line, then to the body parser as a message body, whole and in
 * chunks whose sizes come from the first byte (which also picks dot or
 * raw mode and normalisation).  The body parser promises the same result
 * however its input is cut, and raw mode without normalisation passes
 * bytes through untouched: a difference aborts.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	char	*p;
	size_t	 len;
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
sink_out(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	check(n >= 1);
	/* room for 2 * len: the worst case is every byte a bare line end
	 * written as CRLF */
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

static void
check_path(const struct smtp_path *path)
{
	size_t len = strnlen(path->addr, sizeof(path->addr));

	check(len <= SMTP_ADDR_MAX);
	check(path->local_len <= len);
}

/*
 * The canonical form is a fixed point: MAIL FROM with the address just
 * returned has to give the same address back.
 */
static void
check_canonical(const struct smtp_path *path, bool smtputf8)
{
	char line[SMTP_ADDR_MAX + 32];
	struct smtp_mail_args again;
	const char *error;
	int n;

	n = snprintf(line, sizeof(line), "FROM:<%s>%s", path->addr,
	    smtputf8 ? " SMTPUTF8" : "");
	check(n > 0 && (size_t)n < sizeof(line));
	check(smtp_parse_mail(line, (size_t)n, &again, &error) ==
	    SMTP_PARSE_OK);
	check(strcmp(again.path.addr, path->addr) == 0);
	check(again.path.local_len == path->local_len &&
	    again.path.utf8 == path->utf8);
}

static void
try_commands(const char *line, size_t len)
{
	struct smtp_cmdline cl;
	struct smtp_mail_args mail;
	struct smtp_rcpt_args rcpt;
	struct smtp_auth_args auth;
	const char *error;
	uint64_t size;
	bool last;

	if (smtp_parse_cmdline(line, len, &cl) == 0) {
		check(cl.verb >= line && cl.verb_len >= 1 &&
		    cl.verb + cl.verb_len <= line + len);
		check(cl.args_len == 0 ||
		    (cl.args >= line && cl.args + cl.args_len <= line + len));
	}
	(void)smtp_utf8_valid(line, len);
	(void)smtp_parse_helo(line, len);
	if (smtp_parse_mail(line, len, &mail, &error) == SMTP_PARSE_OK) {
		check_path(&mail.path);
		check_canonical(&mail.path, mail.smtputf8);
	}
	if (smtp_parse_rcpt(line, len, false, &rcpt, &error) == SMTP_PARSE_OK)
		check_path(&rcpt.path);
	if (smtp_parse_rcpt(line, len, true, &rcpt, &error) == SMTP_PARSE_OK)
		check_path(&rcpt.path);
	if (smtp_parse_auth(line, len, &auth) == SMTP_PARSE_OK) {
		check(auth.mech >= line && auth.mech + auth.mech_len <=
		    line + len);
		check(!auth.has_initial || (auth.initial >= line &&
		    auth.initial + auth.initial_len <= line + len));
	}
	(void)smtp_parse_bdat(line, len, &size, &last);
}

/* Feed the body in chunks of 1..step bytes (0: all at once). */
static void
run_body(const char *in, size_t len, bool dot, bool norm, size_t step,
    struct smtp_data_parser *dp, struct sink *s, size_t *consumed_r)
{
	size_t off = 0, n, used;

	smtp_data_parser_init(dp, dot, norm);
	*consumed_r = len;
	while (off < len) {
		n = step == 0 || step > len - off ? len - off : step;
		if (smtp_data_parse(dp, in + off, n, &used, sink_out, s) == 1) {
			check(used <= n);
			*consumed_r = off + used;
			return;
		}
		check(used == n);
		off += n;
	}
	if (!dot)
		smtp_data_parser_finish(dp, sink_out, s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_data_parser d1, d2;
	struct sink s1, s2;
	size_t c1, c2, step;
	const char *in;
	bool dot, norm;

	if (size < 1)
		return 0;
	dot = (data[0] & 1) != 0;
	norm = (data[0] & 2) != 0;
	step = 1 + (data[0] >> 2);
	in = (const char *)data + 1;
	size--;

	try_commands(in, size);

	s1 = (struct sink){ .p = malloc(2 * size + 2) };
	s2 = (struct sink){ .p = malloc(2 * size + 2) };
	run_body(in, size, dot, norm, 0, &d1, &s1, &c1);
	run_body(in, size, dot, norm, step, &d2, &s2, &c2);
	check(c1 == c2 && d1.done == d2.done);
	check(s1.len == s2.len && memcmp(s1.p, s2.p, s1.len) == 0);
	check(d1.saw_bare_cr == d2.saw_bare_cr &&
	    d1.saw_bare_lf == d2.saw_bare_lf);
	check(d1.max_line_len == d2.max_line_len);
	check(d1.out_bytes == s1.len && d2.out_bytes == s2.len);
	if (!dot && !norm)
		check(s1.len == size && memcmp(s1.p, in, size) == 0);
	free(s1.p);
	free(s2.p);
	return 0;
}
