/* SPDX-License-Identifier: ISC */
/*
 * Header blocks as bytes: finding fields, unfolding them, and cutting out
 * the fields that BODY[HEADER.FIELDS (...)] and its .NOT form ask for.
 * Also the small growable buffer the rest of the MIME code writes into.
 *
 * A header block is whatever lies between a part's header_off and
 * body_off: fields, their continuation lines, and usually the blank line
 * that ends it.  Line endings may be CRLF or bare LF; a line that is not
 * a field ("name:") is skipped, never allowed to end the scan early,
 * because the only thing that ends a header is a blank line.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_mime_int.h"

/* ------------------------------------------------------------- buffer */

static void
buf_reserve(struct mime_buf *b, size_t more)
{
	size_t want;

	if (b->len + more + 1 <= b->cap)
		return;
	want = b->cap == 0 ? 64 : b->cap;
	while (want < b->len + more + 1)
		want *= 2;
	b->p = xreallocarray(b->p, want, 1);
	b->cap = want;
}

void
mime_buf_add(struct mime_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
mime_buf_adds(struct mime_buf *b, const char *s)
{
	mime_buf_add(b, s, strlen(s));
}

void
mime_buf_addc(struct mime_buf *b, char c)
{
	mime_buf_add(b, &c, 1);
}

void
mime_buf_add_u64(struct mime_buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	mime_buf_add(b, tmp + i, sizeof(tmp) - i);
}

char *
mime_buf_steal(struct mime_buf *b)
{
	char *p;

	if (b->p == NULL)
		return xstrdup("");
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
mime_buf_free(struct mime_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* -------------------------------------------------------- field scan */

size_t
mime_field_name(const char *line, size_t len, size_t *colon_r)
{
	size_t i, name_len;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == ':' || c <= ' ' || c >= 0x7f)
			break;
	}
	name_len = i;
	if (name_len == 0)
		return 0;
	/* Obsolete syntax (RFC 5322 4.5.1) allows blanks before the colon. */
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != ':')
		return 0;
	*colon_r = i;
	return name_len;
}

/* End of the line starting at pos: the offset after its LF, or len. */
static size_t
line_end(const char *hdr, size_t len, size_t pos)
{
	const char *nl = memchr(hdr + pos, '\n', len - pos);

	return nl == NULL ? len : (size_t)(nl - hdr) + 1;
}

/* Length of a line without its CRLF or LF. */
static size_t
line_content(const char *hdr, size_t start, size_t end)
{
	if (end > start && hdr[end - 1] == '\n')
		end--;
	if (end > start && hdr[end - 1] == '\r')
		end--;
	return end - start;
}

bool
mime_field_next(const char *hdr, size_t len, size_t *pos,
    struct mime_field *f)
{
	while (*pos < len) {
		size_t start = *pos, end = line_end(hdr, len, start);
		size_t clen = line_content(hdr, start, end), colon, name_len;

		if (clen == 0) {
			*pos = len;	/* the blank line ends the header */
			return false;
		}
		*pos = end;
		if (hdr[start] == ' ' || hdr[start] == '\t')
			continue;	/* continuation of nothing */
		name_len = mime_field_name(hdr + start, clen, &colon);
		if (name_len == 0)
			continue;
		f->name = hdr + start;
		f->name_len = name_len;
		f->value = hdr + start + colon + 1;
		f->value_len = clen - colon - 1;
		while (*pos < len && (hdr[*pos] == ' ' || hdr[*pos] == '\t')) {
			size_t next = line_end(hdr, len, *pos);

			f->value_len = (size_t)(hdr + *pos - f->value) +
			    line_content(hdr, *pos, next);
			*pos = next;
		}
		f->raw = hdr + start;
		f->raw_len = *pos - start;
		return true;
	}
	return false;
}

char *
mime_unfold(const char *value, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0, start = 0;

	for (i = 0; i < len; i++) {
		if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
			continue;
		out[n++] = value[i];
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	while (start < n && (out[start] == ' ' || out[start] == '\t'))
		start++;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
	return out;
}

static bool
name_is(const struct mime_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	    strncasecmp(f->name, name, f->name_len) == 0;
}

char *
mime_header_value(const char *hdr, size_t len, const char *name)
{
	struct mime_field f;
	size_t pos = 0;

	while (mime_field_next(hdr, len, &pos, &f)) {
		if (name_is(&f, name))
			return mime_unfold(f.value, f.value_len);
	}
	return NULL;
}

/* -------------------------------------------------------- public API */

char *
imap_mime_header_get(const char *hdr, size_t len, const char *name)
{
	return mime_header_value(hdr, len, name);
}

char *
imap_mime_header_fields(const char *hdr, size_t len, const char *const *names,
    size_t n_names, bool not_, size_t *out_len_r)
{
	struct mime_buf b = { 0 };
	struct mime_field f;
	size_t pos = 0, i;

	while (mime_field_next(hdr, len, &pos, &f)) {
		bool listed = false;

		for (i = 0; i < n_names && !listed; i++)
			listed = name_is(&f, names[i]);
		if (listed == not_)
			continue;
		mime_buf_add(&b, f.raw, f.raw_len);
		/* A last field cut off without its line ending still has to
		 * be a line of its own before the blank line. */
		if (f.raw[f.raw_len - 1] != '\n')
			mime_buf_adds(&b, "\r\n");
	}
	mime_buf_adds(&b, "\r\n");
	*out_len_r = b.len;
	return mime_buf_steal(&b);
}
