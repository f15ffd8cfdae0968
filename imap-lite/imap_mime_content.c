/* SPDX-License-Identifier: ISC */
/*
 * The Content-* fields of a part header turned into the pieces of BODY
 * and BODYSTRUCTURE: media type and parameters, id, description,
 * transfer encoding, MD5, disposition, language and location.
 *
 * Choices made where the RFC leaves room, following what common servers
 * send: media types, subtypes, transfer encodings, disposition types and
 * parameter names are upper-cased; parameter values and every other
 * string are sent as they appear in the header (unfolded).  A text part
 * without a charset gets ("CHARSET" "us-ascii") added (RFC 2045 5.2).
 * An invalid or missing Content-Type is text/plain; charset=us-ascii (or
 * message/rfc822 inside multipart/digest), an invalid transfer encoding is
 * 7BIT.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_mime_int.h"

static void
upcase(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
	}
}

/* ------------------------------------------------- structured values */

/*
 * A cursor over an unfolded structured field value (RFC 2045 / RFC 5322
 * lexical rules), tolerant of what mailers really send: comments
 * anywhere, unquoted parameter values with tspecials in them, missing
 * closing quotes.
 */
struct lex {
	const char	*s;
	size_t		 i;
};

static void
skip_cfws(struct lex *l)
{
	for (;;) {
		char c = l->s[l->i];

		if (c == ' ' || c == '\t') {
			l->i++;
		} else if (c == '(') {
			int depth = 0;

			do {
				c = l->s[l->i];
				if (c == '\\' && l->s[l->i + 1] != '\0')
					l->i++;
				else if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
				l->i++;
			} while (depth > 0 && l->s[l->i] != '\0');
		} else {
			return;
		}
	}
}

static bool
is_token_char(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 2045 token; NULL if there is none here. */
static char *
lex_token(struct lex *l)
{
	size_t start = l->i;

	while (is_token_char(l->s[l->i]))
		l->i++;
	if (l->i == start)
		return NULL;
	return xstrndup(l->s + start, l->i - start);
}

/* A quoted string (at the opening quote), unescaped; the closing quote
 * may be missing. */
static char *
lex_quoted(struct lex *l)
{
	struct mime_buf b = { 0 };

	l->i++;
	while (l->s[l->i] != '\0' && l->s[l->i] != '"') {
		if (l->s[l->i] == '\\' && l->s[l->i + 1] != '\0')
			l->i++;
		mime_buf_addc(&b, l->s[l->i++]);
	}
	if (l->s[l->i] == '"')
		l->i++;
	return mime_buf_steal(&b);
}

/* A parameter value: quoted string, or anything up to ';' or blank
 * (unquoted values often hold '=', '/' or '?', e.g. boundaries). */
static char *
lex_value(struct lex *l)
{
	size_t start = l->i;

	if (l->s[l->i] == '"')
		return lex_quoted(l);
	while (l->s[l->i] != '\0' && l->s[l->i] != ';' &&
	    l->s[l->i] != ' ' && l->s[l->i] != '\t')
		l->i++;
	return xstrndup(l->s + start, l->i - start);
}

struct param {
	char	*name;		/* upper-cased */
	char	*value;
};

struct params {
	struct param	*v;
	size_t		 n;
	size_t		 cap;
};

static void
params_free(struct params *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].value);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->cap = 0;
}

static void
params_add(struct params *ps, char *name, char *value)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap == 0 ? 4 : ps->cap * 2;
		ps->v = xreallocarray(ps->v, ps->cap, sizeof(*ps->v));
	}
	ps->v[ps->n].name = name;
	ps->v[ps->n].value = value;
	ps->n++;
}

/* ";" attribute "=" value pairs; attributes without a value and stray
 * bytes are skipped.  RFC 2231 names ("title*0*") are kept as sent. */
static void
parse_params(struct lex *l, struct params *ps)
{
	for (;;) {
		size_t start;
		char *name;

		skip_cfws(l);
		if (l->s[l->i] == '\0')
			return;
		if (l->s[l->i] == ';') {
			l->i++;
			continue;
		}
		start = l->i;
		while (l->s[l->i] != '\0' && l->s[l->i] != '=' &&
		    l->s[l->i] != ';' && l->s[l->i] != ' ' &&
		    l->s[l->i] != '\t' && l->s[l->i] != '(')
			l->i++;
		if (l->i == start) {
			l->i++;		/* a stray '=' */
			continue;
		}
		name = xstrndup(l->s + start, l->i - start);
		skip_cfws(l);
		if (l->s[l->i] != '=') {
			free(name);
			while (l->s[l->i] != '\0' && l->s[l->i] != ';')
				l->i++;
			continue;
		}
		l->i++;
		skip_cfws(l);
		upcase(name);
		params_add(ps, name, lex_value(l));
	}
}

static const char *
params_get(const struct params *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		if (strcasecmp(ps->v[i].name, name) == 0)
			return ps->v[i].value;
	}
	return NULL;
}

static void
render_params(struct mime_buf *b, const struct params *ps)
{
	size_t i;

	if (ps->n == 0) {
		mime_buf_adds(b, "NIL");
		return;
	}
	mime_buf_addc(b, '(');
	for (i = 0; i < ps->n; i++) {
		if (i > 0)
			mime_buf_addc(b, ' ');
		mime_render_string(b, ps->v[i].name);
		mime_buf_addc(b, ' ');
		mime_render_string(b, ps->v[i].value);
	}
	mime_buf_addc(b, ')');
}

/* ---------------------------------------------------- Content-* fields */

static char *
quoted_upper(const char *s)
{
	struct mime_buf b = { 0 };
	char *tmp = xstrdup(s);

	upcase(tmp);
	mime_render_string(&b, tmp);
	free(tmp);
	return mime_buf_steal(&b);
}

/* Content-Type: fills type, subtype and params; false if invalid. */
static bool
parse_content_type(const char *value, char **type_r, char **subtype_r,
    struct params *ps)
{
	struct lex l = { .s = value };
	char *type, *subtype;

	skip_cfws(&l);
	if ((type = lex_token(&l)) == NULL)
		return false;
	skip_cfws(&l);
	if (l.s[l.i] != '/') {
		free(type);
		return false;
	}
	l.i++;
	skip_cfws(&l);
	if ((subtype = lex_token(&l)) == NULL) {
		free(type);
		return false;
	}
	parse_params(&l, ps);
	upcase(type);
	upcase(subtype);
	*type_r = type;
	*subtype_r = subtype;
	return true;
}

static char *
render_encoding(const char *value)
{
	struct lex l = { .s = value == NULL ? "" : value };
	char *tok, *out;

	skip_cfws(&l);
	if ((tok = lex_token(&l)) == NULL)
		return xstrdup("\"7BIT\"");
	out = quoted_upper(tok);
	free(tok);
	return out;
}

/* body-fld-dsp: ("TYPE" params) or NIL. */
static void
render_disposition(struct mime_buf *b, const char *value)
{
	struct lex l = { .s = value == NULL ? "" : value };
	struct params ps = { 0 };
	char *type;

	skip_cfws(&l);
	if ((type = lex_token(&l)) == NULL) {
		mime_buf_adds(b, "NIL");
		return;
	}
	upcase(type);
	parse_params(&l, &ps);
	mime_buf_addc(b, '(');
	mime_render_string(b, type);
	mime_buf_addc(b, ' ');
	render_params(b, &ps);
	mime_buf_addc(b, ')');
	params_free(&ps);
	free(type);
}

/* body-fld-lang: a list of the comma-separated language tags, or NIL. */
static void
render_language(struct mime_buf *b, const char *value)
{
	struct lex l = { .s = value == NULL ? "" : value };
	size_t n = 0;

	for (;;) {
		size_t start;

		skip_cfws(&l);
		if (l.s[l.i] == '\0')
			break;
		if (l.s[l.i] == ',') {
			l.i++;
			continue;
		}
		start = l.i;
		while (l.s[l.i] != '\0' && l.s[l.i] != ',' &&
		    l.s[l.i] != ' ' && l.s[l.i] != '\t' && l.s[l.i] != '(')
			l.i++;
		if (l.i == start) {
			l.i++;
			continue;
		}
		mime_buf_addc(b, n++ == 0 ? '(' : ' ');
		mime_render_nstring(b, l.s + start, l.i - start);
	}
	mime_buf_adds(b, n == 0 ? "NIL" : ")");
}

static char *
render_nstring_dup(const char *s)
{
	struct mime_buf b = { 0 };

	mime_render_string(&b, s);
	return mime_buf_steal(&b);
}

/* Known media types decide the kind; a multipart is only one if it has
 * a usable boundary. */
static void
classify(struct mime_content *c, const char *type, const char *subtype,
    const struct params *ps, const char *encoding)
{
	c->text = strcmp(type, "TEXT") == 0;
	if (strcmp(type, "MULTIPART") == 0) {
		const char *bnd = params_get(ps, "BOUNDARY");
		size_t len = bnd == NULL ? 0 : strlen(bnd);

		if (len > 0 && len <= MIME_BOUNDARY_MAX) {
			c->kind = MIME_KIND_MULTIPART;
			c->boundary = xstrdup(bnd);
			c->boundary_len = len;
		}
	} else if (strcmp(type, "MESSAGE") == 0 &&
	    (strcmp(subtype, "RFC822") == 0 || strcmp(subtype, "GLOBAL") == 0)) {
		/* RFC 2046 5.2.1 forbids encoding a message/rfc822 body; one
		 * that is base64 or quoted-printable anyway cannot be parsed
		 * as a message. */
		if (encoding == NULL || (strcasecmp(encoding, "base64") != 0 &&
		    strcasecmp(encoding, "quoted-printable") != 0))
			c->kind = MIME_KIND_MESSAGE;
	}
}

/* Media type, subtype and parameters, and with them the kind of part. */
static void
content_type(struct mime_content *c, const char *hdr, size_t len,
    bool default_message)
{
	struct params ps = { 0 };
	struct mime_buf b = { 0 };
	char *ct, *enc, *enc_token, *type = NULL, *subtype = NULL;
	struct lex l;

	ct = mime_header_value(hdr, len, "Content-Type");
	enc = mime_header_value(hdr, len, "Content-Transfer-Encoding");
	l = (struct lex){ .s = enc == NULL ? "" : enc };
	skip_cfws(&l);
	enc_token = lex_token(&l);
	if (ct == NULL || !parse_content_type(ct, &type, &subtype, &ps)) {
		params_free(&ps);
		type = xstrdup(default_message ? "MESSAGE" : "TEXT");
		subtype = xstrdup(default_message ? "RFC822" : "PLAIN");
	}
	classify(c, type, subtype, &ps, enc_token);
	if (strcmp(type, "MULTIPART") == 0 && c->kind != MIME_KIND_MULTIPART) {
		/* a multipart without a usable boundary is one text part */
		params_free(&ps);
		free(type);
		free(subtype);
		type = xstrdup("TEXT");
		subtype = xstrdup("PLAIN");
		c->text = true;
	}
	if (strcmp(type, "MESSAGE") == 0 && c->kind != MIME_KIND_MESSAGE &&
	    (strcmp(subtype, "RFC822") == 0 || strcmp(subtype, "GLOBAL") == 0)) {
		/* "MESSAGE" "RFC822" promises an envelope and a body; one we
		 * cannot parse is sent as opaque data. */
		free(type);
		free(subtype);
		type = xstrdup("APPLICATION");
		subtype = xstrdup("OCTET-STREAM");
	}
	if (c->text && params_get(&ps, "CHARSET") == NULL)
		params_add(&ps, xstrdup("CHARSET"), xstrdup("us-ascii"));
	c->type = render_nstring_dup(type);
	c->subtype = render_nstring_dup(subtype);
	render_params(&b, &ps);
	c->params = mime_buf_steal(&b);
	params_free(&ps);
	free(enc_token);
	free(enc);
	free(type);
	free(subtype);
	free(ct);
}

/* body-fld-id SP body-fld-desc SP body-fld-enc */
static char *
content_fields(const char *hdr, size_t len)
{
	struct mime_buf b = { 0 };
	char *id, *desc, *enc, *enc_r;

	id = mime_header_value(hdr, len, "Content-ID");
	desc = mime_header_value(hdr, len, "Content-Description");
	enc = mime_header_value(hdr, len, "Content-Transfer-Encoding");
	enc_r = render_encoding(enc);
	mime_render_string(&b, id);
	mime_buf_addc(&b, ' ');
	mime_render_string(&b, desc);
	mime_buf_addc(&b, ' ');
	mime_buf_adds(&b, enc_r);
	free(enc_r);
	free(enc);
	free(id);
	free(desc);
	return mime_buf_steal(&b);
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static char *
content_ext(const char *hdr, size_t len)
{
	struct mime_buf b = { 0 };
	char *dsp, *lang, *loc;

	dsp = mime_header_value(hdr, len, "Content-Disposition");
	lang = mime_header_value(hdr, len, "Content-Language");
	loc = mime_header_value(hdr, len, "Content-Location");
	render_disposition(&b, dsp);
	mime_buf_addc(&b, ' ');
	render_language(&b, lang);
	mime_buf_addc(&b, ' ');
	mime_render_string(&b, loc);
	free(dsp);
	free(lang);
	free(loc);
	return mime_buf_steal(&b);
}

void
mime_content_parse(struct mime_content *c, const char *hdr, size_t len,
    bool default_message)
{
	char *md5;

	memset(c, 0, sizeof(*c));
	content_type(c, hdr, len, default_message);
	c->fields = content_fields(hdr, len);
	md5 = mime_header_value(hdr, len, "Content-MD5");
	c->md5 = render_nstring_dup(md5);
	free(md5);
	c->ext = content_ext(hdr, len);
}

void
mime_content_make_leaf(struct mime_content *c)
{
	if (c->kind == MIME_KIND_MULTIPART) {
		free(c->type);
		free(c->subtype);
		free(c->params);
		c->type = xstrdup("\"TEXT\"");
		c->subtype = xstrdup("\"PLAIN\"");
		c->params = xstrdup("(\"CHARSET\" \"us-ascii\")");
		c->text = true;
	} else if (c->kind == MIME_KIND_MESSAGE) {
		free(c->type);
		free(c->subtype);
		c->type = xstrdup("\"APPLICATION\"");
		c->subtype = xstrdup("\"OCTET-STREAM\"");
	}
	free(c->boundary);
	c->boundary = NULL;
	c->boundary_len = 0;
	c->kind = MIME_KIND_LEAF;
}

void
mime_content_free(struct mime_content *c)
{
	free(c->type);
	free(c->subtype);
	free(c->params);
	free(c->fields);
	free(c->md5);
	free(c->ext);
	free(c->boundary);
	memset(c, 0, sizeof(*c));
}
