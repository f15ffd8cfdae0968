/* SPDX-License-Identifier: ISC */
/*
 * IMAP text: strings (quoted, or literals for 8-bit bytes, CR, LF and
 * long values), BODY and BODYSTRUCTURE of a part put together from its
 * pre-rendered Content-* pieces and its children (RFC 3501 7.4.2 and the
 * body grammar of section 9), and the ENVELOPE of a message.
 *
 * Header values in the envelope are sent as they are (unfolded, RFC 2047
 * encoded-words left for the client); Sender and Reply-To fall back to
 * From when missing or empty, as 7.4.2 asks.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_mime_int.h"

/* ----------------------------------------------------------- strings */

void
mime_render_nstring(struct mime_buf *b, const char *s, size_t len)
{
	size_t i, n = 0;
	bool literal = false;

	if (s == NULL) {
		mime_buf_adds(b, "NIL");
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			continue;
		n++;
		if (c >= 0x80 || c == '\r' || c == '\n')
			literal = true;
	}
	if (literal || n > MIME_QUOTED_MAX) {
		mime_buf_addc(b, '{');
		mime_buf_add_u64(b, n);
		mime_buf_adds(b, "}\r\n");
		for (i = 0; i < len; i++) {
			if (s[i] != '\0')
				mime_buf_addc(b, s[i]);
		}
		return;
	}
	mime_buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			continue;
		if (s[i] == '"' || s[i] == '\\')
			mime_buf_addc(b, '\\');
		mime_buf_addc(b, s[i]);
	}
	mime_buf_addc(b, '"');
}

void
mime_render_string(struct mime_buf *b, const char *s)
{
	mime_render_nstring(b, s, s == NULL ? 0 : strlen(s));
}

/* ------------------------------------------------------------- parts */

/* "(" type SP subtype SP params SP id SP desc SP enc SP size */
static void
render_basic_head(struct mime_buf *b, const struct imap_mime_part *part,
    const struct mime_content *c)
{
	mime_buf_addc(b, '(');
	mime_buf_adds(b, c->type);
	mime_buf_addc(b, ' ');
	mime_buf_adds(b, c->subtype);
	mime_buf_addc(b, ' ');
	mime_buf_adds(b, c->params);
	mime_buf_addc(b, ' ');
	mime_buf_adds(b, c->fields);
	mime_buf_addc(b, ' ');
	mime_buf_add_u64(b, part->end_off - part->body_off);
}

/*
 * BODY (extensible false) or BODYSTRUCTURE of one part: a multipart lists
 * its children's answers (with no blank between them, as the grammar has
 * it) and its subtype; a message part adds the envelope, structure and
 * line count of its message; a text part its line count.
 */
static void
render_one(struct mime_buf *b, const struct imap_mime_part *part,
    const struct mime_content *c, bool extensible)
{
	size_t i;

	if (c->kind == MIME_KIND_MULTIPART) {
		mime_buf_addc(b, '(');
		for (i = 0; i < part->n_children; i++) {
			const struct imap_mime_part *ch = part->children[i];

			mime_buf_adds(b, extensible ? ch->bodystructure : ch->body);
		}
		mime_buf_addc(b, ' ');
		mime_buf_adds(b, c->subtype);
		if (extensible) {
			mime_buf_addc(b, ' ');
			mime_buf_adds(b, c->params);
			mime_buf_addc(b, ' ');
			mime_buf_adds(b, c->ext);
		}
		mime_buf_addc(b, ')');
		return;
	}
	render_basic_head(b, part, c);
	if (c->kind == MIME_KIND_MESSAGE) {
		const struct imap_mime_part *msg = part->children[0];

		mime_buf_addc(b, ' ');
		mime_buf_adds(b, msg->envelope);
		mime_buf_addc(b, ' ');
		mime_buf_adds(b, extensible ? msg->bodystructure : msg->body);
		mime_buf_addc(b, ' ');
		mime_buf_add_u64(b, part->body_lines);
	} else if (c->text) {
		mime_buf_addc(b, ' ');
		mime_buf_add_u64(b, part->body_lines);
	}
	if (extensible) {
		mime_buf_addc(b, ' ');
		mime_buf_adds(b, c->md5);
		mime_buf_addc(b, ' ');
		mime_buf_adds(b, c->ext);
	}
	mime_buf_addc(b, ')');
}

void
mime_render_part(struct imap_mime_part *part, const struct mime_content *c)
{
	struct mime_buf b = { 0 };

	render_one(&b, part, c, false);
	part->body = mime_buf_steal(&b);
	render_one(&b, part, c, true);
	part->bodystructure = mime_buf_steal(&b);
}

/* ---------------------------------------------------------- envelope */

static void
render_field(struct mime_buf *b, const char *hdr, size_t len, const char *name)
{
	char *v = mime_header_value(hdr, len, name);

	mime_render_string(b, v);
	free(v);
}

/* An address field; false (nothing appended) if absent or empty. */
static bool
render_addr_field(struct mime_buf *b, const char *hdr, size_t len,
    const char *name)
{
	char *v = mime_header_value(hdr, len, name);
	bool ok = v != NULL && mime_render_addresses(b, v);

	free(v);
	return ok;
}

char *
mime_render_envelope(const char *hdr, size_t len)
{
	static const char *const rest[] = { "To", "Cc", "Bcc" };
	struct mime_buf b = { 0 };
	size_t from_start, from_len, i;
	char *from;

	mime_buf_addc(&b, '(');
	render_field(&b, hdr, len, "Date");
	mime_buf_addc(&b, ' ');
	render_field(&b, hdr, len, "Subject");
	mime_buf_addc(&b, ' ');
	from_start = b.len;
	if (!render_addr_field(&b, hdr, len, "From"))
		mime_buf_adds(&b, "NIL");
	from_len = b.len - from_start;
	from = xstrndup(b.p + from_start, from_len);
	/* RFC 3501: Sender and Reply-To default to From when absent or
	 * empty. */
	mime_buf_addc(&b, ' ');
	if (!render_addr_field(&b, hdr, len, "Sender"))
		mime_buf_add(&b, from, from_len);
	mime_buf_addc(&b, ' ');
	if (!render_addr_field(&b, hdr, len, "Reply-To"))
		mime_buf_add(&b, from, from_len);
	free(from);
	for (i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
		mime_buf_addc(&b, ' ');
		if (!render_addr_field(&b, hdr, len, rest[i]))
			mime_buf_adds(&b, "NIL");
	}
	mime_buf_addc(&b, ' ');
	render_field(&b, hdr, len, "In-Reply-To");
	mime_buf_addc(&b, ' ');
	render_field(&b, hdr, len, "Message-ID");
	mime_buf_addc(&b, ')');
	return mime_buf_steal(&b);
}
