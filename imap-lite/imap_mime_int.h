/* SPDX-License-Identifier: ISC */
/*
 * Internal interfaces of the MIME structure engine, shared by its files:
 * a growable byte buffer, the header field scanner, the Content-* and
 * envelope renderers and the address-list parser.  Nothing here is used
 * outside imap_mime*.c.
 */
#ifndef POSTROOM_IMAP_MIME_INT_H
#define POSTROOM_IMAP_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-lite/imap_mime.h"

/* Longest boundary parameter honoured (RFC 2046 allows 70; some mailers
 * go further).  Longer ones make the multipart a single text part. */
#define MIME_BOUNDARY_MAX	200
/* Strings longer than this are sent as literals rather than quoted. */
#define MIME_QUOTED_MAX		1000

/* ------------------------------------------------------------- buffer */

/* A growable byte buffer; always NUL-terminated once anything was added. */
struct mime_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

void mime_buf_add(struct mime_buf *b, const void *data, size_t len);
void mime_buf_adds(struct mime_buf *b, const char *s);
void mime_buf_addc(struct mime_buf *b, char c);
void mime_buf_add_u64(struct mime_buf *b, uint64_t v);
/* Hand the contents over (malloc'ed, never NULL) and reset the buffer. */
char *mime_buf_steal(struct mime_buf *b);
void mime_buf_free(struct mime_buf *b);

/* Append a child (the array grows at powers of two). */
void mime_part_add_child(struct imap_mime_part *parent,
    struct imap_mime_part *child);

/* ------------------------------------------------------- header scan */

/*
 * Length of the field name at the start of a header line, or 0 if the
 * line is not "name *WSP ':'" with name made of printable US-ASCII other
 * than ':'.  *colon_r gets the offset of the colon.
 */
size_t mime_field_name(const char *line, size_t len, size_t *colon_r);

/* One header field as found in a raw header block. */
struct mime_field {
	const char	*name;
	size_t		 name_len;
	const char	*value;		/* after the colon, folding kept */
	size_t		 value_len;	/* line ending of the last line excluded */
	const char	*raw;		/* the whole field, line endings included */
	size_t		 raw_len;
};

/*
 * Next field of a header block starting at *pos.  Lines that are not
 * fields (and continuation lines without a field before them) are
 * skipped; a blank line ends the block.  Returns false at the end.
 */
bool mime_field_next(const char *hdr, size_t len, size_t *pos,
    struct mime_field *f);
/* Unfolded value: CR and LF removed, NULs dropped, surrounding
 * whitespace trimmed.  Malloc'ed. */
char *mime_unfold(const char *value, size_t len);
/* The first field called name (case-insensitive), unfolded; NULL if the
 * block has none. */
char *mime_header_value(const char *hdr, size_t len, const char *name);

/* ----------------------------------------------------------- render */

/* Append an IMAP nstring: NIL for NULL, a quoted string, or a literal
 * when the value has 8-bit bytes, CR, LF or is long.  NULs are dropped. */
void mime_render_nstring(struct mime_buf *b, const char *s, size_t len);
void mime_render_string(struct mime_buf *b, const char *s);

enum mime_kind {
	MIME_KIND_LEAF,
	MIME_KIND_MULTIPART,
	MIME_KIND_MESSAGE,	/* message/rfc822 or message/global */
};

/*
 * What a part's MIME header says, pre-rendered as IMAP text so that only
 * the sizes are missing when the part ends.  Every string is malloc'ed.
 */
struct mime_content {
	enum mime_kind	 kind;
	bool		 text;		/* type TEXT: lines are sent */
	char		*type;		/* quoted media type, e.g. "TEXT" */
	char		*subtype;	/* quoted subtype */
	char		*params;	/* body-fld-param: (...) or NIL */
	char		*fields;	/* body-fld-id SP body-fld-desc SP body-fld-enc */
	char		*md5;		/* body-fld-md5 */
	char		*ext;		/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
	char		*boundary;	/* raw boundary (multipart), else NULL */
	size_t		 boundary_len;
};

/* Parse the Content-* fields of a header block.  default_message: the
 * default type is message/rfc822 (children of multipart/digest). */
void mime_content_parse(struct mime_content *c, const char *hdr, size_t len,
    bool default_message);
/* Turn a multipart or message part into a leaf (nesting or part limits,
 * or a multipart that held no part): multiparts read as text/plain,
 * messages as application/octet-stream. */
void mime_content_make_leaf(struct mime_content *c);
void mime_content_free(struct mime_content *c);

/* Fill part->body and part->bodystructure from c, the part's offsets and
 * its children's strings. */
void mime_render_part(struct imap_mime_part *part, const struct mime_content *c);

/* ENVELOPE of a message whose (kept) header block is hdr. */
char *mime_render_envelope(const char *hdr, size_t len);

/* Append an address list (RFC 5322 address-list, obsolete forms and
 * groups) as a parenthesised IMAP list of addresses.  Returns false, and
 * appends nothing, if the value holds no address at all. */
bool mime_render_addresses(struct mime_buf *b, const char *value);

#endif
