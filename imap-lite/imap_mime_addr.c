/* SPDX-License-Identifier: ISC */
/*
 * Address lists for ENVELOPE (RFC 3501 7.4.2): each address becomes
 * (name adl mailbox host); a group "name: a, b;" becomes the marker
 * (NIL NIL "name" NIL), its members, and (NIL NIL NIL NIL).
 *
 * Real From/To/Cc fields are often broken, so the parser works on tokens
 * and never rejects anything: an address without a domain gets the host
 * "MISSING_DOMAIN", one without a local part the mailbox
 * "MISSING_MAILBOX" (a NIL host would turn it into a group marker), an
 * unclosed "<" ends at the next comma, an unclosed group at the end of
 * the field.  Display names are phrases with quoting removed and words
 * joined by one space; encoded-words stay as they are, for the client to
 * decode.  Without a display name, a comment next to the address is the
 * name ("user@host (Real Name)").
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_mime_int.h"

enum tok_type {
	TOK_ATOM,	/* also dots, 8-bit and stray ')' ']' '\' */
	TOK_QUOTED,	/* quoted string, unescaped */
	TOK_COMMENT,	/* comment text without the outer parentheses */
	TOK_DLIT,	/* domain literal, brackets kept */
	TOK_SPECIAL,	/* one of < > @ , : ; */
};

struct tok {
	enum tok_type	 type;
	char		 special;
	bool		 ws_before;	/* blank or comment before it */
	size_t		 off;		/* text in the scratch buffer */
	size_t		 len;
};

struct toks {
	struct tok	*v;
	size_t		 n;
	size_t		 cap;
	struct mime_buf	 text;		/* token texts, back to back */
};

static void
tok_add(struct toks *t, enum tok_type type, char special, bool ws,
    size_t off)
{
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n] = (struct tok){ .type = type, .special = special,
	    .ws_before = ws, .off = off, .len = t->text.len - off };
	t->n++;
}

/* Copy a quoted string or comment starting at s[i] (the opener) into the
 * text buffer, unescaped; returns the index after the closer. */
static size_t
scan_delimited(struct toks *t, const char *s, size_t i, char open, char close)
{
	int depth = 1;

	for (i++; s[i] != '\0'; i++) {
		if (s[i] == '\\' && s[i + 1] != '\0') {
			mime_buf_addc(&t->text, s[++i]);
			continue;
		}
		if (open == '(' && s[i] == '(')
			depth++;
		else if (s[i] == close && --depth == 0)
			return i + 1;
		mime_buf_addc(&t->text, s[i]);
	}
	return i;
}

static void
tokenize(struct toks *t, const char *s)
{
	size_t i = 0, off;
	bool ws = false;

	mime_buf_add(&t->text, "", 0);	/* tok_text() of empty tokens */
	while (s[i] != '\0') {
		unsigned char c = (unsigned char)s[i];

		off = t->text.len;
		if (c <= ' ' || c == 0x7f) {
			ws = true;
			i++;
			continue;
		}
		if (c == '(') {
			i = scan_delimited(t, s, i, '(', ')');
			tok_add(t, TOK_COMMENT, 0, ws, off);
			ws = true;
			continue;
		}
		if (c == '"') {
			i = scan_delimited(t, s, i, '"', '"');
			tok_add(t, TOK_QUOTED, 0, ws, off);
		} else if (c == '[') {
			size_t start = i;

			while (s[i] != '\0' && s[i] != ']')
				i++;
			if (s[i] == ']')
				i++;
			mime_buf_add(&t->text, s + start, i - start);
			tok_add(t, TOK_DLIT, 0, ws, off);
		} else if (strchr("<>@,:;", c) != NULL) {
			mime_buf_addc(&t->text, (char)c);
			tok_add(t, TOK_SPECIAL, (char)c, ws, off);
			i++;
		} else {
			size_t start = i;

			while (s[i] != '\0' && (unsigned char)s[i] > ' ' &&
			    s[i] != 0x7f && strchr("(\"[<>@,:;", s[i]) == NULL)
				i++;
			mime_buf_add(&t->text, s + start, i - start);
			tok_add(t, TOK_ATOM, 0, ws, off);
		}
		ws = false;
	}
}

static bool
is_special(const struct toks *t, size_t i, char c)
{
	return i < t->n && t->v[i].type == TOK_SPECIAL && t->v[i].special == c;
}

static const char *
tok_text(const struct toks *t, size_t i)
{
	return t->text.p + t->v[i].off;
}

/* The words of tokens [a, b) joined by one blank where the field had
 * white space (a display name or group name); comments are dropped. */
static char *
phrase(const struct toks *t, size_t a, size_t b)
{
	struct mime_buf out = { 0 };
	size_t i;

	for (i = a; i < b; i++) {
		if (t->v[i].type == TOK_COMMENT)
			continue;
		if (out.len > 0 && t->v[i].ws_before)
			mime_buf_addc(&out, ' ');
		mime_buf_add(&out, tok_text(t, i), t->v[i].len);
	}
	return mime_buf_steal(&out);
}

/* Tokens [a, b) glued together without blanks (local parts, domains). */
static char *
glue(const struct toks *t, size_t a, size_t b)
{
	struct mime_buf out = { 0 };
	size_t i;

	for (i = a; i < b; i++) {
		if (t->v[i].type != TOK_COMMENT)
			mime_buf_add(&out, tok_text(t, i), t->v[i].len);
	}
	return mime_buf_steal(&out);
}

static void
emit(struct mime_buf *b, const char *name, const char *adl,
    const char *mailbox, const char *host)
{
	mime_buf_addc(b, '(');
	mime_render_string(b, name != NULL && *name != '\0' ? name : NULL);
	mime_buf_addc(b, ' ');
	mime_render_string(b, adl);
	mime_buf_addc(b, ' ');
	mime_render_string(b, mailbox);
	mime_buf_addc(b, ' ');
	mime_render_string(b, host);
	mime_buf_addc(b, ')');
}

/* An addr-spec in tokens [a, b): local part up to the first '@', the
 * domain after it. */
static void
emit_spec(struct mime_buf *b, const struct toks *t, size_t a, size_t end,
    const char *name, const char *adl)
{
	size_t at = a;
	char *local, *domain = NULL;

	while (at < end && !is_special(t, at, '@'))
		at++;
	local = glue(t, a, at);
	if (at < end)
		domain = glue(t, at + 1, end);
	emit(b, name, adl, *local != '\0' ? local : "MISSING_MAILBOX",
	    domain != NULL && *domain != '\0' ? domain : "MISSING_DOMAIN");
	free(local);
	free(domain);
}

/* An obsolete source route "@a,@b:" at *i inside angle brackets; NULL
 * (and *i unchanged) if there is none. */
static char *
parse_route(const struct toks *t, size_t *i)
{
	struct mime_buf r = { 0 };
	size_t j = *i;

	while (is_special(t, j, '@')) {
		size_t start = ++j;
		char *dom;

		while (j < t->n && (t->v[j].type == TOK_ATOM ||
		    t->v[j].type == TOK_DLIT || t->v[j].type == TOK_COMMENT))
			j++;
		dom = glue(t, start, j);
		if (r.len > 0)
			mime_buf_addc(&r, ',');
		mime_buf_addc(&r, '@');
		mime_buf_adds(&r, dom);
		free(dom);
		while (is_special(t, j, ','))
			j++;
	}
	if (r.len == 0 || !is_special(t, j, ':')) {
		mime_buf_free(&r);
		return NULL;
	}
	*i = j + 1;
	return mime_buf_steal(&r);
}

/* "name <addr>" with the '<' at lt; returns the index of the ',' or ';'
 * that ends the address (or t->n). */
static size_t
parse_angle(struct mime_buf *b, const struct toks *t, size_t a, size_t lt)
{
	char *name = phrase(t, a, lt), *adl;
	size_t i = lt + 1, end;

	adl = parse_route(t, &i);
	end = i;
	while (end < t->n && !is_special(t, end, '>') &&
	    !is_special(t, end, ',') && !is_special(t, end, ';') &&
	    !is_special(t, end, '<'))
		end++;
	emit_spec(b, t, i, end, name, adl);
	free(name);
	free(adl);
	/* whatever follows the address up to the next one is ignored */
	while (end < t->n && !is_special(t, end, ',') && !is_special(t, end, ';'))
		end++;
	return end;
}

/* A bare addr-spec in [a, b); a comment in it names the address. */
static void
parse_bare(struct mime_buf *b, const struct toks *t, size_t a, size_t end)
{
	const char *name = NULL;
	size_t i, words = 0;
	char *copy = NULL;

	for (i = a; i < end; i++) {
		if (t->v[i].type != TOK_COMMENT)
			words++;
		else if (name == NULL && t->v[i].len > 0)
			name = copy = mime_unfold(tok_text(t, i), t->v[i].len);
	}
	if (words > 0)
		emit_spec(b, t, a, end, name, NULL);
	free(copy);
}

bool
mime_render_addresses(struct mime_buf *b, const char *value)
{
	struct toks t = { 0 };
	size_t start = b->len, i = 0;
	bool in_group = false;

	tokenize(&t, value);
	mime_buf_addc(b, '(');
	while (i < t.n) {
		size_t j = i;

		while (j < t.n && !is_special(&t, j, ',') &&
		    !is_special(&t, j, ';') && !is_special(&t, j, ':') &&
		    !is_special(&t, j, '<'))
			j++;
		if (is_special(&t, j, ':')) {
			if (!in_group) {
				char *name = phrase(&t, i, j);

				emit(b, NULL, NULL, name, NULL);
				free(name);
				in_group = true;
			}
			i = j + 1;
			continue;
		}
		if (is_special(&t, j, '<'))
			j = parse_angle(b, &t, i, j);
		else
			parse_bare(b, &t, i, j);
		if (is_special(&t, j, ';') && in_group) {
			emit(b, NULL, NULL, NULL, NULL);
			in_group = false;
		}
		i = j + 1;
	}
	if (in_group)
		emit(b, NULL, NULL, NULL, NULL);
	free(t.v);
	mime_buf_free(&t.text);
	if (b->len == start + 1) {
		b->len = start;
		b->p[start] = '\0';
		return false;
	}
	mime_buf_addc(b, ')');
	return true;
}
