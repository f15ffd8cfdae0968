/* SPDX-License-Identifier: ISC */
/*
 * MIME structure of a stored message, for IMAP ENVELOPE, BODYSTRUCTURE and
 * BODY[section] (RFC 3501 7.4.2, RFC 2045-2047, RFC 2231 parameters left
 * as sent).
 *
 * The parser is incremental and pure: feed the message bytes in any
 * chunks (as they come out of the mailstore), then finish; the tree is
 * the same however the bytes were cut.  It keeps offsets and, of each
 * header, only the fields the answers are made of (Content-*, and Date,
 * Subject, From, Sender, Reply-To, To, Cc, Bcc, In-Reply-To, Message-ID),
 * capped at IMAP_MIME_MAX_HEADER per header (the rest is ignored for
 * structure purposes), never bodies, so memory is bounded whatever the
 * message size and the time is linear in it.
 *
 * It never fails: broken or missing headers and boundaries give the
 * structure a tolerant reader would see.  A header ends at a blank line,
 * at a delimiter line, or at the first line that is neither a field nor a
 * continuation (which starts the body: parts written without the blank
 * line).  Delimiters match by prefix (RFC 2046 5.1.1), the innermost
 * open multipart first, so a missing closing boundary ends the inner
 * parts at the outer delimiter, or at the end of the message.  A
 * multipart without a usable boundary, or without any part, is one
 * text/plain part; a message/rfc822 part that cannot be parsed (base64
 * or quoted-printable, or past the limits) is application/octet-stream.
 * Nesting is capped at IMAP_MIME_MAX_DEPTH (deeper parts are leaves) and
 * the parts besides the root at IMAP_MIME_MAX_PARTS (later delimiters
 * that would open a part are body text; close delimiters still count).
 *
 * The result is computed once per message and cached in the mailstore as
 * text (imap_mime_serialize), so FETCH never re-parses.
 */
#ifndef POSTROOM_IMAP_MIME_H
#define POSTROOM_IMAP_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_MIME_MAX_HEADER	(64 * 1024)
#define IMAP_MIME_MAX_DEPTH	16
#define IMAP_MIME_MAX_PARTS	1000

struct imap_mime_part {
	/* byte offsets into the message; [header_off, body_off) is the
	 * header with its blank line, [body_off, end_off) the body */
	uint64_t	 header_off;	/* start of this part's header */
	uint64_t	 body_off;	/* after the blank line ending the header */
	uint64_t	 end_off;	/* end of the body: before the line ending
					   that precedes the next delimiter (a
					   part never ends before its last
					   child, though) */
	uint64_t	 body_lines;	/* LFs in the body */
	uint64_t	 header_lines;	/* LFs in the header */

	/* Pre-rendered IMAP answers for this part (NUL-terminated, malloc'ed).
	 * envelope: for the root and for the message inside a message/rfc822
	 * part, that message's ENVELOPE; a message/rfc822 part that is not
	 * such a message itself (the usual attachment inside a multipart)
	 * carries a copy of its message's.  Otherwise NULL. */
	char		*envelope;
	char		*bodystructure;	/* extensible form (BODYSTRUCTURE) */
	char		*body;		/* non-extensible form (BODY) */
	/* These are sent as they are: strings with 8-bit bytes, CR or LF
	 * are already literals ("{n}\r\n..."). */

	bool		 is_multipart;
	bool		 is_message;	/* message/rfc822 (or global): child[0]
					   is the encapsulated message */
	struct imap_mime_part **children;
	size_t		 n_children;
};

struct imap_mime_parser;

struct imap_mime_parser *imap_mime_parser_new(void);
void imap_mime_parser_feed(struct imap_mime_parser *p, const char *data, size_t len);
/* Finish and return the tree (caller owns it; free with imap_mime_free).
 * The parser is freed. */
struct imap_mime_part *imap_mime_parser_finish(struct imap_mime_parser **pp);
/* Convenience: parse a whole message in memory. */
struct imap_mime_part *imap_mime_parse(const char *msg, size_t len);
void imap_mime_free(struct imap_mime_part **rootp);

/* Text form for the mailstore cache, and back (NULL if malformed). */
char *imap_mime_serialize(const struct imap_mime_part *root);
struct imap_mime_part *imap_mime_deserialize(const char *text);

/*
 * Find the part for a section path ("1.2" = {1,2}, depth 2; depth 0 = the
 * whole message).  Follows RFC 3501: in a non-multipart message, part 1 is
 * the body itself (the root, or the encapsulated message, is returned);
 * for message/rfc822 parts, numbers continue inside the encapsulated
 * message; a number after any other non-multipart part, or 0, finds
 * nothing.  NULL if there is no such part.
 */
const struct imap_mime_part *imap_mime_find(const struct imap_mime_part *root,
    const uint32_t *path, size_t depth);

/*
 * The byte range of BODY[path.which] in the stored message, for the
 * caller to slice (and, for HEADER.FIELDS, to filter with
 * imap_mime_header_fields()).  The bytes are the message's own: they
 * may hold NULs or bare LFs, which the FETCH writer has to deal with.  depth 0: BODY is the whole message, HEADER
 * and TEXT the message's header (blank line included) and body, MIME is
 * invalid.  depth > 0: BODY is the part's body, MIME the part's own
 * header; HEADER and TEXT exist only for message/rfc822 parts and are the
 * encapsulated message's.  false if there is no such section.
 */
enum imap_mime_section {
	IMAP_MIME_SECTION_BODY,		/* BODY[] / BODY[1.2] */
	IMAP_MIME_SECTION_HEADER,	/* also HEADER.FIELDS (.NOT) */
	IMAP_MIME_SECTION_TEXT,
	IMAP_MIME_SECTION_MIME,
};
bool imap_mime_section_range(const struct imap_mime_part *root,
    const uint32_t *path, size_t depth, enum imap_mime_section which,
    uint64_t *off_r, uint64_t *len_r);

/*
 * Header helpers on a raw header block (bytes from header_off to body_off):
 * imap_mime_header_fields() copies the fields named (or all but those, if
 * not_) in their original order and form, followed by the blank line, into
 * a malloc'ed buffer (for BODY[HEADER.FIELDS (...)]).  Names compare
 * case-insensitively.
 */
char *imap_mime_header_fields(const char *hdr, size_t len, const char *const *names,
    size_t n_names, bool not_, size_t *out_len_r);
/* The unfolded value of the first field called name, malloc'ed, or NULL. */
char *imap_mime_header_get(const char *hdr, size_t len, const char *name);
/* Decode RFC 2047 encoded-words in a header value into UTF-8 (charsets
 * utf-8, us-ascii, iso-8859-1 and windows-1252; others left as they are),
 * malloc'ed.  For SEARCH. */
char *imap_mime_decode_words(const char *value);
/* Parse an RFC 5322 date ("Tue, 1 Jul 2003 10:52:37 +0200"); false if
 * unparseable.  For SENTBEFORE/SENTON/SENTSINCE. */
bool imap_mime_parse_date(const char *value, int64_t *t_r);
/* The same, also giving the zone of the date in minutes east of UTC
 * (t_r stays UTC): SENTON and friends compare the date as written, i.e.
 * t + 60 * zone.  A missing or unknown zone reads as +0000. */
bool imap_mime_parse_date_tz(const char *value, int64_t *t_r, int *zone_r);

#endif
