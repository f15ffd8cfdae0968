/* SPDX-License-Identifier: ISC */
/*
 * IMAP command tokenizer (RFC 3501 section 9): tag, command name and a
 * tree of arguments from one complete command buffer.
 *
 * The grammar of each command is left to the command handlers and to the
 * typed helpers (sequence sets, FETCH items, SEARCH keys, flags); this
 * file only knows the lexical layer: atoms, quoted strings, literals, NIL
 * and parenthesised lists, separated by exactly one space.  The input is
 * hostile, so every read is bounded by the end pointer, list nesting is
 * capped at IMAP_MAX_DEPTH and every token is scanned a constant number of
 * times.  List children are collected on one growing stack and copied
 * into the arena when their list closes, which keeps a list of 100,000
 * elements linear.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_parser.h"
#include "imap-lite/imap_parser_int.h"

struct parser {
	const char	*p;		/* next byte */
	const char	*end;
	struct imap_arena *a;
	struct imap_arg	*stack;		/* children of the open lists */
	size_t		 n_stack, cap_stack;
	const char	*error;
};

bool
imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*': case '"':
	case '\\': case ']':
		return false;
	default:
		return true;
	}
}

bool
imap_is_astring_char(unsigned char c)
{
	return c == ']' || imap_is_atom_char(c);
}

/* What is wrong with a byte that may not appear where it does. */
static const char *
bad_byte(unsigned char c)
{
	if (c == '\0')
		return "NUL byte outside a literal";
	if (c >= 0x80)
		return "8-bit byte outside a quoted string or literal";
	if (c == '\r' || c == '\n')
		return "Line break outside a literal";
	if (c < 0x20 || c == 0x7f)
		return "Control character in command";
	if (c == ' ')
		return "Extra space";
	return "Invalid character in command";
}

/* The bytes an argument token may hold, besides '[': ASTRING-CHAR, the
 * list wildcards and sequence-set '*'. */
static bool
is_token_char(unsigned char c)
{
	return imap_is_astring_char(c) || c == '%' || c == '*';
}

static void
push(struct parser *pr, const struct imap_arg *arg)
{
	if (pr->n_stack == pr->cap_stack) {
		pr->cap_stack = pr->cap_stack == 0 ? 16 : pr->cap_stack * 2;
		pr->stack = xreallocarray(pr->stack, pr->cap_stack,
		    sizeof(*pr->stack));
	}
	pr->stack[pr->n_stack++] = *arg;
}

static bool
fail(struct parser *pr, const char *error)
{
	pr->error = error;
	return false;
}

/* True at the end of the command, allowing for one final CRLF. */
static bool
at_end(const struct parser *pr)
{
	size_t left = (size_t)(pr->end - pr->p);

	return left == 0 || (left == 2 && pr->p[0] == '\r' && pr->p[1] == '\n');
}

/*
 * A quoted string starting at p (on the '"').  Validates and measures in
 * one pass, then unescapes into the arena.  Only '\"' and '\\' are escapes;
 * CR, LF and NUL are not TEXT-CHARs.
 */
static bool
parse_quoted(struct parser *pr, struct imap_arg *arg)
{
	const char *s = pr->p + 1, *q;
	size_t n = 0;
	char *out;

	for (q = s; ; q++) {
		if (q == pr->end)
			return fail(pr, "Missing '\"'");
		if (*q == '"')
			break;
		if (*q == '\\') {
			if (q + 1 == pr->end)
				return fail(pr, "Missing '\"'");
			q++;
			if (*q != '"' && *q != '\\')
				return fail(pr, "Invalid escape in quoted string");
		} else if (*q == '\0' || *q == '\r' || *q == '\n')
			return fail(pr, bad_byte((unsigned char)*q));
		n++;
	}
	out = imap_arena_alloc(pr->a, n + 1);
	arg->type = IMAP_ARG_QUOTED;
	arg->str = out;
	arg->len = n;
	for (; s < q; s++) {
		if (*s == '\\')
			s++;
		*out++ = *s;
	}
	pr->p = q + 1;
	return true;
}

/*
 * Skip a quoted string inside a section ("BODY[HEADER.FIELDS ("X")]"),
 * same rules as parse_quoted().  Returns the byte after the closing quote
 * or NULL.
 */
static const char *
skip_quoted(struct parser *pr, const char *q)
{
	for (q++; q < pr->end; q++) {
		if (*q == '"')
			return q + 1;
		if (*q == '\\') {
			if (q + 1 == pr->end)
				break;
			q++;
			if (*q != '"' && *q != '\\') {
				fail(pr, "Invalid escape in quoted string");
				return NULL;
			}
		} else if (*q == '\0' || *q == '\r' || *q == '\n') {
			fail(pr, bad_byte((unsigned char)*q));
			return NULL;
		}
	}
	fail(pr, "Missing '\"'");
	return NULL;
}

/* A decimal number of at most max, for literal sizes.  *pp advances. */
static bool
parse_size(const char **pp, const char *end, uint64_t max, uint64_t *n_r)
{
	const char *p = *pp;
	uint64_t n = 0;

	if (p == end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (n > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*n_r = n;
	return true;
}

/* A literal "{n}" / "{n+}" / "~{n}" CRLF followed by n bytes. */
static bool
parse_literal(struct parser *pr, struct imap_arg *arg)
{
	const char *p = pr->p;
	uint64_t n;

	if (*p == '~') {
		arg->literal8 = true;
		p++;
	}
	p++;		/* '{' */
	if (!parse_size(&p, pr->end, UINT64_MAX, &n))
		return fail(pr, "Invalid literal size");
	if (p < pr->end && *p == '+')
		p++;
	if (p == pr->end || *p != '}')
		return fail(pr, "Invalid literal announcement");
	p++;
	if (pr->end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return fail(pr, "Missing CRLF after literal announcement");
	p += 2;
	if (n > (uint64_t)(pr->end - p))
		return fail(pr, "Literal shorter than announced");
	arg->type = IMAP_ARG_LITERAL;
	arg->str = imap_arena_strndup(pr->a, p, (size_t)n);
	arg->len = (size_t)n;
	pr->p = p + n;
	return true;
}

/*
 * An atom-like token: ASTRING-CHARs, '%', '*', a leading '\' for flags,
 * and bracketed sections that may contain spaces, parentheses and quoted
 * strings.  Stops at the first byte that cannot continue the token; the
 * caller checks that it is a separator.
 */
static bool
parse_atom(struct parser *pr, struct imap_arg *arg)
{
	const char *start = pr->p, *p = pr->p;
	bool section = false;

	if (*p == '\\')
		p++;
	while (p < pr->end) {
		unsigned char c = (unsigned char)*p;

		if (c == '[') {
			section = true;
			for (p++; ; ) {
				if (p == pr->end)
					return fail(pr, "Missing ']'");
				c = (unsigned char)*p;
				if (c == ']') {
					p++;
					break;
				}
				if (c == '"') {
					if ((p = skip_quoted(pr, p)) == NULL)
						return false;
					continue;
				}
				if (c == '{')
					return fail(pr, "Literal inside a section");
				if (c != ' ' && c != '(' && c != ')' &&
				    !is_token_char(c) && c != '\\')
					return fail(pr, bad_byte(c));
				p++;
			}
			continue;
		}
		if (!is_token_char(c))
			break;
		p++;
	}
	if (p == start || (p == start + 1 && *start == '\\')) {
		if (p < pr->end)
			return fail(pr, bad_byte((unsigned char)*p));
		return fail(pr, "Missing argument");
	}
	arg->len = (size_t)(p - start);
	arg->str = imap_arena_strndup(pr->a, start, arg->len);
	if (section)
		arg->type = IMAP_ARG_SECTION;
	else if (arg->len == 3 && strncasecmp(start, "NIL", 3) == 0)
		arg->type = IMAP_ARG_NIL;
	else
		arg->type = IMAP_ARG_ATOM;
	pr->p = p;
	return true;
}

static bool parse_elements(struct parser *, bool, size_t);

/* One argument of any type, pushed on the stack. */
static bool
parse_one(struct parser *pr, size_t depth)
{
	struct imap_arg arg = { .type = IMAP_ARG_ATOM };
	unsigned char c = (unsigned char)*pr->p;
	bool ok;

	switch (c) {
	case '(': {
		size_t mark = pr->n_stack;

		if (depth >= IMAP_MAX_DEPTH)
			return fail(pr, "Too deeply nested parentheses");
		pr->p++;
		if (!parse_elements(pr, true, depth + 1))
			return false;
		pr->p++;	/* ')' */
		arg.type = IMAP_ARG_LIST;
		arg.n = pr->n_stack - mark;
		if (arg.n > 0) {
			arg.list = imap_arena_alloc(pr->a,
			    arg.n * sizeof(*arg.list));
			memcpy(arg.list, pr->stack + mark,
			    arg.n * sizeof(*arg.list));
		}
		arg.str = "";
		pr->n_stack = mark;
		ok = true;
		break;
	}
	case '"':
		ok = parse_quoted(pr, &arg);
		break;
	case '{':
		ok = parse_literal(pr, &arg);
		break;
	case '~':
		if (pr->end - pr->p > 1 && pr->p[1] == '{')
			ok = parse_literal(pr, &arg);
		else
			ok = parse_atom(pr, &arg);
		break;
	case ')':
		return fail(pr, "Unexpected ')'");
	default:
		ok = parse_atom(pr, &arg);
		break;
	}
	if (ok)
		push(pr, &arg);
	return ok;
}

/*
 * Arguments separated by single spaces until the end of the command
 * (top level) or a ')' (in a list, left for the caller to consume).
 * pr->p is on the first argument, or on ')' / the end for none.
 */
static bool
parse_elements(struct parser *pr, bool in_list, size_t depth)
{
	if (in_list) {
		if (pr->p == pr->end)
			return fail(pr, "Missing ')'");
		if (*pr->p == ')')
			return true;
	} else if (at_end(pr)) {
		pr->p = pr->end;
		return true;
	}
	for (;;) {
		if (!parse_one(pr, depth))
			return false;
		if (in_list) {
			if (pr->p == pr->end)
				return fail(pr, "Missing ')'");
			if (*pr->p == ')')
				return true;
		} else {
			if (at_end(pr)) {
				pr->p = pr->end;
				return true;
			}
			if (*pr->p == ')')
				return fail(pr, "Unexpected ')'");
		}
		if (*pr->p != ' ')
			return fail(pr, bad_byte((unsigned char)*pr->p));
		pr->p++;
		if (pr->p == pr->end || at_end(pr))
			return fail(pr, "Trailing space");
		if (*pr->p == ' ')
			return fail(pr, "Extra space");
		if (in_list && *pr->p == ')')
			return fail(pr, "Space before ')'");
	}
}

/* The command name: atom characters, upper-cased into the arena. */
static const char *
parse_name(struct parser *pr)
{
	const char *start = pr->p;
	char *name;
	size_t i, n;

	while (pr->p < pr->end && imap_is_atom_char((unsigned char)*pr->p) &&
	    *pr->p != '[')
		pr->p++;
	n = (size_t)(pr->p - start);
	if (n == 0)
		return NULL;
	name = imap_arena_strndup(pr->a, start, n);
	for (i = 0; i < n; i++)
		if (name[i] >= 'a' && name[i] <= 'z')
			name[i] = (char)(name[i] - 'a' + 'A');
	return name;
}

/* After the tag or name: the end, or one space before more. */
static bool
expect_space(struct parser *pr, const char *missing)
{
	if (at_end(pr))
		return fail(pr, missing);
	if (*pr->p != ' ')
		return fail(pr, bad_byte((unsigned char)*pr->p));
	pr->p++;
	if (at_end(pr))
		return fail(pr, "Trailing space");
	if (*pr->p == ' ')
		return fail(pr, "Extra space");
	return true;
}

static bool
parse_rest(struct parser *pr, struct imap_command *cmd)
{
	const char *name;
	size_t nlen;

	if (!expect_space(pr, "Missing command"))
		return false;
	if ((name = parse_name(pr)) == NULL)
		return fail(pr, bad_byte((unsigned char)*pr->p));
	if (strcmp(name, "UID") == 0) {
		const char *sub;
		char *full;

		if (!expect_space(pr, "Missing command after UID"))
			return false;
		if ((sub = parse_name(pr)) == NULL)
			return fail(pr, bad_byte((unsigned char)*pr->p));
		nlen = strlen(sub);
		full = imap_arena_alloc(pr->a, 4 + nlen + 1);
		memcpy(full, "UID ", 4);
		memcpy(full + 4, sub, nlen + 1);
		name = full;
		cmd->uid = true;
	}
	cmd->name = name;
	if (at_end(pr))
		return true;
	if (!expect_space(pr, "Missing argument"))
		return false;
	if (!parse_elements(pr, false, 0))
		return false;
	cmd->nargs = pr->n_stack;
	if (cmd->nargs > 0) {
		cmd->args = imap_arena_alloc(pr->a,
		    cmd->nargs * sizeof(*cmd->args));
		memcpy(cmd->args, pr->stack, cmd->nargs * sizeof(*cmd->args));
	}
	return true;
}

enum imap_parse_result
imap_parse_command(const char *buf, size_t len, struct imap_arena *a,
    struct imap_command *cmd_r, const char **error_r)
{
	struct parser pr = { .p = buf, .end = buf + len, .a = a };
	const char *start = buf;
	bool ok;

	memset(cmd_r, 0, sizeof(*cmd_r));
	*error_r = NULL;
	while (pr.p < pr.end && imap_is_astring_char((unsigned char)*pr.p) &&
	    *pr.p != '+')
		pr.p++;
	if (pr.p == start) {
		*error_r = "Missing tag";
		return IMAP_PARSE_BAD_TAG;
	}
	/* A tag must end at a space (or at the end: then the command is
	 * missing, but the tag is good enough to answer with). */
	if (!at_end(&pr) && *pr.p != ' ') {
		*error_r = "Invalid tag";
		return IMAP_PARSE_BAD_TAG;
	}
	cmd_r->tag = imap_arena_strndup(a, start, (size_t)(pr.p - start));

	ok = parse_rest(&pr, cmd_r);
	free(pr.stack);
	if (!ok) {
		/* The name, if read, stays for the caller's log line. */
		cmd_r->args = NULL;
		cmd_r->nargs = 0;
		*error_r = pr.error;
		return IMAP_PARSE_BAD;
	}
	return IMAP_PARSE_OK;
}

int
imap_line_literal(const char *line, size_t len, uint64_t max,
    uint64_t *size_r, bool *nonsync_r)
{
	const char *p, *end = line + len;
	bool nonsync = false;
	uint64_t n;

	if (len == 0 || line[len - 1] != '}')
		return 0;
	/* Walk back over "n+" to the brace.  Anything else before the '}'
	 * makes it an ordinary atom character ('}' is an ATOM-CHAR). */
	p = end - 1;
	while (p > line && ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '+'))
		p--;
	if (p == line || p[-1] != '{')
		return 0;
	if (p < end - 1 && end[-2] == '+') {
		nonsync = true;
		end--;
	}
	end--;		/* '}' */
	if (p == end || !parse_size(&p, end, max, &n) || p != end)
		return -1;
	*size_r = n;
	*nonsync_r = nonsync;
	return 1;
}

const char *
imap_arg_astring(const struct imap_arg *arg)
{
	size_t i;

	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_QUOTED:
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_NIL:
		break;
	case IMAP_ARG_SECTION:
		for (i = 0; i < arg->len; i++)
			if (!is_token_char((unsigned char)arg->str[i]) &&
			    arg->str[i] != '[')
				return NULL;
		break;
	default:
		return NULL;
	}
	if (memchr(arg->str, '\0', arg->len) != NULL)
		return NULL;
	return arg->str;
}

static bool
arg_number(const struct imap_arg *arg, uint64_t max, uint64_t *n_r)
{
	const char *p = arg->str, *end = arg->str + arg->len;

	if (arg->type != IMAP_ARG_ATOM)
		return false;
	return parse_size(&p, end, max, n_r) && p == end;
}

bool
imap_arg_number32(const struct imap_arg *arg, uint32_t *n_r)
{
	uint64_t n;

	if (!arg_number(arg, UINT32_MAX, &n))
		return false;
	*n_r = (uint32_t)n;
	return true;
}

bool
imap_arg_is_atom(const struct imap_arg *arg)
{
	size_t i;

	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return false;
	for (i = 0; i < arg->len; i++)
		if (!imap_is_atom_char((unsigned char)arg->str[i]))
			return false;
	return arg->len > 0;
}

bool
imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r)
{
	return arg_number(arg, INT64_MAX, n_r);
}

bool
imap_parse_number(const char *s, size_t len, uint64_t max, uint64_t *n_r)
{
	const char *p = s;

	return parse_size(&p, s + len, max, n_r) && p == s + len;
}
