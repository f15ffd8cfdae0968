/* SPDX-License-Identifier: ISC */
/*
 * FETCH attributes (RFC 3501 fetch-att, RFC 3516 BINARY, RFC 7162
 * MODSEQ and CHANGEDSINCE, RFC 7162 VANISHED): the argument tree from
 * imap_parse_command() becomes a bitmask of simple items plus an ordered
 * array of body sections.
 *
 * Each section also gets the canonical text the reply must echo
 * ("BODY[1.HEADER.FIELDS (FROM TO)]"): clients match replies to requests
 * by that text, so it is built once here, upper-cased, with field names
 * quoted only when they are not atoms.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap-lite/imap_parser.h"
#include "imap-lite/imap_parser_int.h"

static const struct {
	const char *name;
	unsigned items;
} simple_items[] = {
	{ "UID", IMAP_FETCH_UID },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
};

#define FETCH_FAST	(IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | \
			 IMAP_FETCH_RFC822_SIZE)
#define FETCH_ALL	(FETCH_FAST | IMAP_FETCH_ENVELOPE)
#define FETCH_FULL	(FETCH_ALL | IMAP_FETCH_BODY)

static const struct {
	const char *name;
	unsigned items;
} macros[] = {
	{ "ALL", FETCH_ALL },
	{ "FAST", FETCH_FAST },
	{ "FULL", FETCH_FULL },
};

/* RFC822, RFC822.HEADER and RFC822.TEXT are BODY sections under another
 * name (RFC 3501 6.4.5). */
static const struct {
	const char *name;
	enum imap_section_part part;
	bool peek;
	const char *section_text;
} rfc822_items[] = {
	{ "RFC822", IMAP_SECTION_ALL, false, "" },
	{ "RFC822.HEADER", IMAP_SECTION_HEADER, true, "HEADER" },
	{ "RFC822.TEXT", IMAP_SECTION_TEXT, false, "TEXT" },
};

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

static bool
fail(const char **error_r, const char *error)
{
	*error_r = error;
	return false;
}

/* A header field name as RFC 5322 allows: printable ASCII except ':'. */
static bool
valid_field_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
			return false;
	return true;
}

static bool
is_atom(const char *s)
{
	for (; *s != '\0'; s++)
		if (!imap_is_atom_char((unsigned char)*s))
			return false;
	return true;
}

/*
 * "(A "B" C)" after HEADER.FIELDS[.NOT]: one or more astrings (atoms or
 * quoted strings; the tokenizer allows no literal here), upper-cased into
 * body->fields.  p points at '(' and end at the section's ']'.
 */
static bool
parse_field_list(const char *p, const char *end, struct imap_arena *a,
    struct imap_fetch_body *body, const char **error_r)
{
	const char *q;
	size_t max = 1, n = 0, i;

	if (p == end || *p != '(')
		return fail(error_r, "Missing header field list");
	for (q = p; q < end; q++)
		if (*q == ' ')
			max++;
	body->fields = imap_arena_alloc(a, max * sizeof(*body->fields));
	for (p++; ; ) {
		char *name, *w;
		const char *start = p;

		if (p < end && *p == '"') {
			/* The tokenizer checked the escapes and the end. */
			for (q = ++p; *q != '"'; q++)
				if (*q == '\\')
					q++;
			name = w = imap_arena_alloc(a, (size_t)(q - p) + 1);
			for (; p < q; p++) {
				if (*p == '\\')
					p++;
				*w++ = *p;
			}
			p = q + 1;
		} else {
			while (p < end && imap_is_astring_char((unsigned char)*p))
				p++;
			name = imap_arena_strndup(a, start, (size_t)(p - start));
		}
		if (!valid_field_name(name, strlen(name)))
			return fail(error_r, "Invalid header field name");
		for (i = 0; name[i] != '\0'; i++)
			if (name[i] >= 'a' && name[i] <= 'z')
				name[i] = (char)(name[i] - 'a' + 'A');
		body->fields[n++] = name;
		if (p < end && *p == ' ' && p + 1 < end && p[1] != ' ' &&
		    p[1] != ')') {
			p++;
			continue;
		}
		break;
	}
	if (p == end || *p != ')' || p + 1 != end)
		return fail(error_r, "Invalid header field list");
	body->n_fields = n;
	return true;
}

/* The canonical section text, e.g. "1.2.HEADER.FIELDS (FROM \"X Y\")". */
static void
build_section_text(struct imap_fetch_body *body, const char *keyword,
    struct imap_arena *a)
{
	size_t size = body->depth * 11 + strlen(keyword) + 4, i;
	char *out, *p;
	const char *f;

	for (i = 0; i < body->n_fields; i++)
		size += 2 * strlen(body->fields[i]) + 3;
	p = out = imap_arena_alloc(a, size);
	/* UNSAFE: size counts 11 bytes per part number ("4294967295."),
	 * the keyword, " ()" and a worst-case quoted form of each field. */
	for (i = 0; i < body->depth; i++)
		p += sprintf(p, "%s%u", i > 0 ? "." : "", body->path[i]);
	if (*keyword != '\0') {
		if (body->depth > 0)
			*p++ = '.';
		p = stpcpy(p, keyword);
	}
	if (body->n_fields > 0) {
		p = stpcpy(p, " (");
		for (i = 0; i < body->n_fields; i++) {
			f = body->fields[i];
			if (i > 0)
				*p++ = ' ';
			if (is_atom(f)) {
				p = stpcpy(p, f);
				continue;
			}
			*p++ = '"';
			for (; *f != '\0'; f++) {
				if (*f == '"' || *f == '\\')
					*p++ = '\\';
				*p++ = *f;
			}
			*p++ = '"';
		}
		*p++ = ')';
	}
	*p = '\0';
	body->section_text = out;
}

/*
 * The inside of the brackets: [part-path] [ "." ] [keyword [SP list]].
 * BINARY allows the part path only.
 */
static bool
parse_section_spec(const char *p, const char *end, bool binary,
    struct imap_arena *a, struct imap_fetch_body *body, const char **error_r)
{
	static const struct {
		const char *name;
		enum imap_section_part part;
	} keywords[] = {
		{ "HEADER", IMAP_SECTION_HEADER },
		{ "HEADER.FIELDS", IMAP_SECTION_HEADER_FIELDS },
		{ "HEADER.FIELDS.NOT", IMAP_SECTION_HEADER_FIELDS_NOT },
		{ "TEXT", IMAP_SECTION_TEXT },
		{ "MIME", IMAP_SECTION_MIME },
	};
	const char *kw = "", *start;
	size_t i, n;

	body->part = IMAP_SECTION_ALL;
	while (p < end && *p >= '0' && *p <= '9') {
		uint64_t num;

		start = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (*start == '0' ||
		    !imap_parse_number(start, (size_t)(p - start), UINT32_MAX, &num))
			return fail(error_r, "Invalid section part number");
		if (body->depth == IMAP_MAX_DEPTH)
			return fail(error_r, "Section part nested too deeply");
		body->path[body->depth++] = (uint32_t)num;
		if (p == end)
			break;
		if (*p != '.' || p + 1 == end)
			return fail(error_r, "Invalid section");
		p++;
	}
	if (p < end) {
		if (binary)
			return fail(error_r, "Invalid BINARY section");
		for (start = p; p < end && *p != ' '; p++)
			;
		n = (size_t)(p - start);
		for (i = 0; i < NELEM(keywords); i++)
			if (strlen(keywords[i].name) == n &&
			    strncasecmp(start, keywords[i].name, n) == 0)
				break;
		if (i == NELEM(keywords))
			return fail(error_r, "Unknown section");
		body->part = keywords[i].part;
		kw = keywords[i].name;
		if (body->part == IMAP_SECTION_MIME && body->depth == 0)
			return fail(error_r, "MIME needs a part number");
		if (body->part == IMAP_SECTION_HEADER_FIELDS ||
		    body->part == IMAP_SECTION_HEADER_FIELDS_NOT) {
			if (p == end || p + 1 == end)
				return fail(error_r, "Missing header field list");
			if (!parse_field_list(p + 1, end, a, body, error_r))
				return false;
		} else if (p != end)
			return fail(error_r, "Invalid section");
	}
	build_section_text(body, kw, a);
	return true;
}

/* "<offset.count>" after the section. */
static bool
parse_partial(const char *p, const char *end, struct imap_fetch_body *body,
    const char **error_r)
{
	const char *dot, *close = end - 1;

	if (end - p < 5 || *p != '<' || *close != '>')
		return fail(error_r, "Invalid partial");
	for (dot = p + 1; dot < close && *dot != '.'; dot++)
		;
	if (dot == close || dot[1] == '0' ||
	    !imap_parse_number(p + 1, (size_t)(dot - p - 1), INT64_MAX,
	    &body->offset) ||
	    !imap_parse_number(dot + 1, (size_t)(close - dot - 1), INT64_MAX,
	    &body->count))
		return fail(error_r, "Invalid partial");
	body->partial = true;
	return true;
}

/* BODY[...]<...> and its BODY.PEEK / BINARY / BINARY.PEEK / BINARY.SIZE
 * spellings, from an IMAP_ARG_SECTION token. */
static bool
parse_body_section(const char *s, size_t len, struct imap_arena *a,
    struct imap_fetch_body *body, const char **error_r)
{
	static const struct {
		const char *name;
		bool peek, binary, size;
		const char *reply;
	} prefixes[] = {
		{ "BODY", false, false, false, "BODY" },
		{ "BODY.PEEK", true, false, false, "BODY" },
		{ "BINARY", false, true, false, "BINARY" },
		{ "BINARY.PEEK", true, true, false, "BINARY" },
		{ "BINARY.SIZE", true, true, true, "BINARY.SIZE" },
	};
	const char *open, *close, *end = s + len;
	size_t i, n;

	open = memchr(s, '[', len);
	n = (size_t)(open - s);
	for (i = 0; i < NELEM(prefixes); i++)
		if (strlen(prefixes[i].name) == n &&
		    strncasecmp(s, prefixes[i].name, n) == 0)
			break;
	if (i == NELEM(prefixes))
		return fail(error_r, "Unknown FETCH item");
	body->peek = prefixes[i].peek;
	body->binary = prefixes[i].binary;
	body->binary_size = prefixes[i].size;
	body->reply_name = prefixes[i].reply;

	/* The closing bracket: the first ']' outside a quoted string. */
	for (close = open + 1; close < end && *close != ']'; close++) {
		if (*close != '"')
			continue;
		for (close++; close < end && *close != '"'; close++)
			if (*close == '\\')
				close++;
	}
	if (close >= end)
		return fail(error_r, "Missing ']'");
	if (!parse_section_spec(open + 1, close, body->binary, a, body, error_r))
		return false;
	if (close + 1 == end)
		return true;
	if (body->binary_size)
		return fail(error_r, "BINARY.SIZE takes no partial");
	return parse_partial(close + 1, end, body, error_r);
}

static bool
parse_item(const struct imap_arg *arg, struct imap_arena *a,
    struct imap_fetch_req *req, const char **error_r)
{
	struct imap_fetch_body *body;
	size_t i;

	if (arg->type == IMAP_ARG_SECTION) {
		body = &req->bodies[req->n_bodies];
		if (!parse_body_section(arg->str, arg->len, a, body, error_r))
			return false;
		req->n_bodies++;
		return true;
	}
	if (arg->type != IMAP_ARG_ATOM)
		return fail(error_r, "Invalid FETCH item");
	for (i = 0; i < NELEM(simple_items); i++)
		if (strcasecmp(arg->str, simple_items[i].name) == 0) {
			req->items |= simple_items[i].items;
			return true;
		}
	for (i = 0; i < NELEM(rfc822_items); i++)
		if (strcasecmp(arg->str, rfc822_items[i].name) == 0) {
			body = &req->bodies[req->n_bodies++];
			body->part = rfc822_items[i].part;
			body->peek = rfc822_items[i].peek;
			body->section_text = rfc822_items[i].section_text;
			body->rfc822_name = true;
			body->reply_name = rfc822_items[i].name;
			return true;
		}
	for (i = 0; i < NELEM(macros); i++)
		if (strcasecmp(arg->str, macros[i].name) == 0)
			return fail(error_r, "FETCH macros cannot be in a list");
	return fail(error_r, "Unknown FETCH item");
}

/* RFC 4466 fetch-modifiers: CHANGEDSINCE n (RFC 7162), VANISHED. */
static bool
parse_modifiers(const struct imap_arg *mods, struct imap_fetch_req *req,
    const char **error_r)
{
	bool changedsince = false;
	size_t i;

	if (mods->type != IMAP_ARG_LIST || mods->n == 0)
		return fail(error_r, "Invalid FETCH modifiers");
	for (i = 0; i < mods->n; i++) {
		const struct imap_arg *m = &mods->list[i];

		if (m->type != IMAP_ARG_ATOM)
			return fail(error_r, "Invalid FETCH modifier");
		if (strcasecmp(m->str, "CHANGEDSINCE") == 0) {
			if (changedsince)
				return fail(error_r, "Duplicate CHANGEDSINCE");
			/* RFC 7162 asks for a non-zero mod-sequence, but
			 * Thunderbird sends CHANGEDSINCE 0 to mean "all of
			 * them" (as servers answer it), so 0 is accepted: no
			 * filter, MODSEQ still returned. */
			if (i + 1 == mods->n ||
			    !imap_arg_number64(&mods->list[i + 1],
			    &req->changedsince))
				return fail(error_r, "Invalid CHANGEDSINCE value");
			changedsince = true;
			i++;
		} else if (strcasecmp(m->str, "VANISHED") == 0) {
			if (req->vanished)
				return fail(error_r, "Duplicate VANISHED");
			req->vanished = true;
		} else
			return fail(error_r, "Unknown FETCH modifier");
	}
	if (req->vanished && !changedsince)
		return fail(error_r, "VANISHED needs CHANGEDSINCE");
	if (changedsince)
		req->items |= IMAP_FETCH_MODSEQ;
	return true;
}

bool
imap_fetch_parse(const struct imap_arg *items, const struct imap_arg *modifiers,
    struct imap_arena *a, struct imap_fetch_req *req, const char **error_r)
{
	size_t i;

	memset(req, 0, sizeof(*req));
	if (items->type == IMAP_ARG_ATOM) {
		for (i = 0; i < NELEM(macros); i++)
			if (strcasecmp(items->str, macros[i].name) == 0)
				break;
		if (i < NELEM(macros))
			req->items = macros[i].items;
		else {
			req->bodies = imap_arena_alloc(a, sizeof(*req->bodies));
			if (!parse_item(items, a, req, error_r))
				return false;
		}
	} else if (items->type == IMAP_ARG_SECTION) {
		req->bodies = imap_arena_alloc(a, sizeof(*req->bodies));
		if (!parse_item(items, a, req, error_r))
			return false;
	} else if (items->type == IMAP_ARG_LIST) {
		if (items->n == 0)
			return fail(error_r, "Empty FETCH item list");
		req->bodies = imap_arena_alloc(a,
		    items->n * sizeof(*req->bodies));
		for (i = 0; i < items->n; i++)
			if (!parse_item(&items->list[i], a, req, error_r))
				return false;
	} else
		return fail(error_r, "Invalid FETCH items");
	if (req->n_bodies == 0)
		req->bodies = NULL;
	if (modifiers != NULL && !parse_modifiers(modifiers, req, error_r))
		return false;
	return true;
}
