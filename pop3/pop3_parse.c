/* SPDX-License-Identifier: ISC */
/*
 * POP3 command-line parsing and response byte-stuffing.
 *
 * Commands are short single lines, so the parsers take a whole line (the
 * linebuf has already found the CRLF and enforced the length limit) and
 * answer 0 or -1; the session turns -1 into an -ERR reply.  Numbers are
 * checked digit by digit against UINT32_MAX so "RETR 99999999999999999999"
 * is a syntax error, not a wrapped-around message number.
 *
 * The stuffing encoder is the one piece that sees message bytes.  It runs
 * over chunks of whatever size ms_message_read() returned, so all of its
 * state (are we at a line start, is this line blank, how many TOP body
 * lines are left) lives in struct pop3_stuff and not in the position of
 * the chunk boundaries.
 */
#include "autoconfig.h"

#include <string.h>

#include "pop3/pop3_parse.h"

static bool
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

int
pop3_parse_command(const char *line, size_t len, char *kw_r,
    const char **args_r, size_t *args_len_r)
{
	size_t i;

	for (i = 0; i < len && is_alpha(line[i]); i++) {
		if (i == POP3_KEYWORD_MAX)
			return -1;
		kw_r[i] = to_upper(line[i]);
	}
	if (i == 0)
		return -1;
	kw_r[i] = '\0';

	if (i == len) {
		*args_r = NULL;
		*args_len_r = 0;
		return 0;
	}
	if (line[i] != ' ')
		return -1;
	*args_r = line + i + 1;
	*args_len_r = len - i - 1;
	return 0;
}

int
pop3_parse_number(const char *s, size_t len, uint32_t *n_r)
{
	uint32_t n = 0;
	size_t i;

	if (s == NULL || len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (!is_digit(s[i]))
			return -1;
		d = (unsigned)(s[i] - '0');
		if (n > (UINT32_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*n_r = n;
	return 0;
}

int
pop3_parse_opt_msgnum(const char *args, size_t len, bool *present_r,
    uint32_t *n_r)
{
	/* "LIST " with nothing after the space is treated like "LIST":
	 * some clients add a trailing space and nothing is ambiguous. */
	if (args == NULL || len == 0) {
		*present_r = false;
		return 0;
	}
	if (pop3_parse_number(args, len, n_r) < 0)
		return -1;
	*present_r = true;
	return 0;
}

int
pop3_parse_top(const char *args, size_t len, uint32_t *msg_r,
    uint32_t *lines_r)
{
	const char *sp;

	if (args == NULL)
		return -1;
	sp = memchr(args, ' ', len);
	if (sp == NULL)
		return -1;
	if (pop3_parse_number(args, (size_t)(sp - args), msg_r) < 0)
		return -1;
	return pop3_parse_number(sp + 1, len - (size_t)(sp - args) - 1,
	    lines_r);
}

int
pop3_parse_user(const char *args, size_t len, const char **name_r,
    size_t *name_len_r)
{
	size_t i;

	if (args == NULL || len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)args[i];

		if (c <= ' ' || c == 0x7f)
			return -1;
	}
	*name_r = args;
	*name_len_r = len;
	return 0;
}

int
pop3_parse_pass(const char *args, size_t len, const char **pass_r,
    size_t *pass_len_r)
{
	if (args == NULL || len == 0)
		return -1;
	*pass_r = args;
	*pass_len_r = len;
	return 0;
}

int
pop3_parse_auth(const char *args, size_t len, char *mech_r,
    const char **initial_r, size_t *initial_len_r, bool *has_initial_r)
{
	size_t i;

	if (args == NULL)
		return -1;
	for (i = 0; i < len && args[i] != ' '; i++) {
		char c = to_upper(args[i]);

		if (i == POP3_MECH_MAX)
			return -1;
		if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_'))
			return -1;
		mech_r[i] = c;
	}
	if (i == 0)
		return -1;
	mech_r[i] = '\0';

	if (i == len) {
		*initial_r = NULL;
		*initial_len_r = 0;
		*has_initial_r = false;
		return 0;
	}
	/* A space must be followed by a response: "=" stands for an empty
	 * one (RFC 5034 section 4), so an empty string is never valid. */
	if (i + 1 == len)
		return -1;
	*initial_r = args + i + 1;
	*initial_len_r = len - i - 1;
	if (memchr(*initial_r, ' ', *initial_len_r) != NULL)
		return -1;
	*has_initial_r = true;
	return 0;
}

void
pop3_stuff_init(struct pop3_stuff *st, bool top, uint32_t lines)
{
	*st = (struct pop3_stuff){
		.at_bol = true,
		.top = top,
		.lines_left = lines,
	};
}

/*
 * Called at every LF while encoding for TOP.  The header ends at the first
 * blank line ("\r\n" or a bare "\n"); from then on each LF finishes one of
 * the requested body lines.  TOP n 0 stops right after the blank line.
 */
static void
stuff_end_of_line(struct pop3_stuff *st)
{
	bool blank = st->line_len == 0 || (st->line_len == 1 && st->last_cr);

	if (!st->in_body) {
		if (blank) {
			st->in_body = true;
			if (st->lines_left == 0)
				st->done = true;
		}
		return;
	}
	if (--st->lines_left == 0)
		st->done = true;
}

size_t
pop3_stuff_chunk(struct pop3_stuff *st, const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len && !st->done; i++) {
		char c = in[i];

		if (st->at_bol && c == '.')
			out[o++] = '.';
		out[o++] = c;
		if (c == '\n') {
			if (st->top)
				stuff_end_of_line(st);
			st->at_bol = true;
			st->line_len = 0;
			st->last_cr = false;
		} else {
			st->at_bol = false;
			if (st->line_len < 2)
				st->line_len++;
			st->last_cr = c == '\r';
		}
	}
	return o;
}

bool
pop3_stuff_done(const struct pop3_stuff *st)
{
	return st->done;
}

size_t
pop3_stuff_finish(struct pop3_stuff *st, char *out)
{
	size_t o = 0;

	/* A trailing bare CR is completed to CRLF rather than followed by a
	 * second CR, so the terminator is still on a line of its own. */
	if (!st->at_bol) {
		if (!st->last_cr)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	st->at_bol = true;
	st->line_len = 0;
	st->last_cr = false;
	return o;
}
