/* SPDX-License-Identifier: ISC */
/*
 * The incremental MIME structure parser: message bytes in, a tree of part
 * offsets with pre-rendered BODY / BODYSTRUCTURE / ENVELOPE out.
 *
 * The input is cut into lines (LF ends a line; a CR before it belongs to
 * the line ending) and each line is looked at once, when its LF arrives.
 * Only the first LINE_PREFIX bytes of a line are kept, which is enough to
 * recognise a boundary (RFC 2046 5.1.1: a line that begins with "--" and
 * the boundary, prefix match) or a header field name.  Header fields are
 * kept only if the structure needs them (Content-*, and the envelope
 * fields), so a 100 KB DKIM-Signature or References field costs nothing
 * and the one header buffer stays under IMAP_MIME_MAX_HEADER.  Bodies are
 * never stored; line counts come from one running count of LFs.
 *
 * Open parts form a stack (root at the bottom).  The top part is either
 * reading its header or its body.  A delimiter line may belong to any
 * multipart on the stack; the innermost one whose boundary matches (the
 * longest, if several do) wins, and every part above it ends there, which
 * is how a missing closing boundary of an inner multipart is forgiven.
 *
 * Offsets follow RFC 2046: the line ending before a delimiter line belongs
 * to the delimiter, so a part ends before it (unless a header ran right
 * up to the delimiter: see finish_top()).  A header ends at a blank
 * line (the body starts after it), at a delimiter line, or at the first
 * line that is neither a field nor a continuation: such a line is the
 * first line of the body (a part written without the blank line).
 */
#include "autoconfig.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_mime_int.h"

#define LINE_PREFIX	1024	/* bytes of each line kept for classifying it */

enum line_keep {
	KEEP_UNKNOWN,		/* not enough of the line seen yet */
	KEEP_YES,		/* a field the structure needs: into the buffer */
	KEEP_NO,
};

struct open_part {
	struct imap_mime_part	*part;
	struct mime_content	 ct;		/* valid once the header ended */
	uint64_t		 lf_header;	/* LFs before header_off */
	uint64_t		 lf_body;	/* LFs before body_off */
	uint64_t		 lf_end;	/* LFs before end_off, once ended */
	unsigned int		 depth;		/* 0 for the root */
	bool			 in_header;
	bool			 boundary_live;	/* multipart before its close
						   delimiter */
	bool			 digest;	/* multipart/digest: children
						   default to message/rfc822 */
	bool			 default_message; /* child of a digest */
	bool			 message_root;	/* root, or the message inside
						   a message/rfc822 part */
};

struct imap_mime_parser {
	struct open_part	 open[IMAP_MIME_MAX_DEPTH + 1];
	size_t			 n_open;
	struct imap_mime_part	*root;
	size_t			 n_parts;	/* created, root excluded */
	uint64_t		 offset;	/* bytes consumed */
	uint64_t		 lf_count;	/* LFs consumed */

	/* the current line */
	uint64_t		 line_start;
	uint64_t		 lf_line_start;	/* LFs before line_start */
	size_t			 line_len;
	char			 prefix[LINE_PREFIX];
	size_t			 prefix_len;
	bool			 last_cr;	/* the last byte seen was CR */
	unsigned int		 eol;		/* 0, 1 (LF) or 2 (CRLF) */
	unsigned int		 prev_eol;	/* ending of the previous line */
	enum line_keep		 keep;

	/* the header being read (kept fields only) */
	struct mime_buf		 header;
	size_t			 header_mark;	/* header.len at line start */
	bool			 last_field_kept; /* for continuation lines */
};

/* Header fields the envelope or the body structure are made from. */
static const char *const kept_fields[] = {
	"Content-Type", "Content-Transfer-Encoding", "Content-ID",
	"Content-Description", "Content-MD5", "Content-Disposition",
	"Content-Language", "Content-Location",
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID",
};

static bool
field_is_kept(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(kept_fields) / sizeof(kept_fields[0]); i++) {
		if (strlen(kept_fields[i]) == len &&
		    strncasecmp(kept_fields[i], name, len) == 0)
			return true;
	}
	return false;
}

static void
header_add(struct imap_mime_parser *p, const char *data, size_t len)
{
	size_t room = IMAP_MIME_MAX_HEADER - p->header.len;

	if (p->header.len >= IMAP_MIME_MAX_HEADER)
		return;
	mime_buf_add(&p->header, data, len < room ? len : room);
}

/*
 * Decide from the start of a header line whether it goes into the header
 * buffer: continuation lines follow their field, fields are kept if
 * listed, anything else is not.  UNKNOWN while the name is still
 * incomplete and the prefix has room.
 */
static enum line_keep
decide_keep(const struct imap_mime_parser *p)
{
	const char *s = p->prefix;
	size_t len = p->prefix_len, i, name_len;

	if (len == 0)
		return KEEP_UNKNOWN;
	if (s[0] == ' ' || s[0] == '\t')
		return p->last_field_kept ? KEEP_YES : KEEP_NO;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':' || c <= ' ' || c >= 0x7f)
			break;
	}
	name_len = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len)
		return len == LINE_PREFIX ? KEEP_NO : KEEP_UNKNOWN;
	if (name_len == 0 || s[i] != ':')
		return KEEP_NO;
	return field_is_kept(s, name_len) ? KEEP_YES : KEEP_NO;
}

/* ------------------------------------------------------------ parts */

void
mime_part_add_child(struct imap_mime_part *parent, struct imap_mime_part *child)
{
	size_t n = parent->n_children;

	/* grow at powers of two; the capacity is not stored */
	if (n == 0 || (n & (n - 1)) == 0)
		parent->children = xreallocarray(parent->children,
		    n == 0 ? 1 : n * 2, sizeof(*parent->children));
	parent->children[n] = child;
	parent->n_children = n + 1;
}

/* Open a new part whose header starts at header_off, below the top. */
static void
push_child(struct imap_mime_parser *p, uint64_t header_off, uint64_t lf,
    bool default_message, bool message_root)
{
	struct open_part *parent = &p->open[p->n_open - 1];
	struct imap_mime_part *part = xcalloc(1, sizeof(*part));

	assert(p->n_open <= IMAP_MIME_MAX_DEPTH);
	part->header_off = header_off;
	mime_part_add_child(parent->part, part);
	p->n_parts++;
	p->open[p->n_open] = (struct open_part){
		.part = part,
		.lf_header = lf,
		.depth = parent->depth + 1,
		.in_header = true,
		.default_message = default_message,
		.message_root = message_root,
	};
	p->n_open++;
}

/*
 * The top part's header ends; its body starts at body_off (lf LFs before
 * it).  The kept fields decide what the part is; limits may make a
 * container a leaf; a message/rfc822 part opens its message at once.
 */
static void
header_end(struct imap_mime_parser *p, uint64_t body_off, uint64_t lf)
{
	struct open_part *top = &p->open[p->n_open - 1];
	const char *hdr = p->header.p != NULL ? p->header.p : "";

	top->part->body_off = body_off;
	top->part->header_lines = lf - top->lf_header;
	top->lf_body = lf;
	top->in_header = false;
	mime_content_parse(&top->ct, hdr, p->header.len, top->default_message);
	if (top->message_root) {
		top->part->envelope = mime_render_envelope(hdr, p->header.len);
		/* the message/rfc822 part answers with its message's envelope
		 * too, unless it is a message itself and has its own */
		if (p->n_open > 1 && !p->open[p->n_open - 2].message_root)
			p->open[p->n_open - 2].part->envelope =
			    xstrdup(top->part->envelope);
	}
	p->header.len = 0;
	p->header_mark = 0;
	p->last_field_kept = false;

	if (top->ct.kind != MIME_KIND_LEAF && (top->depth >= IMAP_MIME_MAX_DEPTH ||
	    (top->ct.kind == MIME_KIND_MESSAGE &&
	    p->n_parts >= IMAP_MIME_MAX_PARTS)))
		mime_content_make_leaf(&top->ct);
	if (top->ct.kind == MIME_KIND_MULTIPART) {
		top->boundary_live = true;
		top->digest = strcmp(top->ct.subtype, "\"DIGEST\"") == 0;
	} else if (top->ct.kind == MIME_KIND_MESSAGE) {
		push_child(p, body_off, lf, false, true);
	}
}

/*
 * The top part ends at end (lf LFs before it): count, render, pop.
 * A part never ends before its last child: when a header runs up to a
 * delimiter, the line ending before the delimiter is the header's, and
 * the parts around it keep it too.
 */
static void
finish_top(struct imap_mime_parser *p, uint64_t end, uint64_t lf)
{
	struct open_part *top = &p->open[--p->n_open];
	struct imap_mime_part *part = top->part;

	if (part->n_children > 0 &&
	    part->children[part->n_children - 1]->end_off > end) {
		/* the last child was the entry just above this one */
		end = part->children[part->n_children - 1]->end_off;
		lf = p->open[p->n_open + 1].lf_end;
	}
	part->end_off = end;
	top->lf_end = lf;
	part->body_lines = lf - top->lf_body;
	if (top->ct.kind == MIME_KIND_MULTIPART) {
		if (part->n_children == 0)
			mime_content_make_leaf(&top->ct);
		else
			part->is_multipart = true;
	} else if (top->ct.kind == MIME_KIND_MESSAGE) {
		part->is_message = true;
	}
	mime_render_part(part, &top->ct);
	mime_content_free(&top->ct);
}

/* End every part above stack level `level` at the delimiter line that
 * starts the current line. */
static void
close_above(struct imap_mime_parser *p, size_t level)
{
	while (p->n_open - 1 > level) {
		struct open_part *top = &p->open[p->n_open - 1];

		if (top->in_header) {
			header_end(p, p->line_start, p->lf_line_start);
			continue;
		}
		if (top->part->body_off < p->line_start) {
			/* the previous line's ending belongs to the delimiter */
			finish_top(p, p->line_start - p->prev_eol,
			    p->lf_line_start - 1);
		} else {
			finish_top(p, top->part->body_off, top->lf_body);
		}
	}
}

/* --------------------------------------------------------------- lines */

/* Stack level of the multipart whose delimiter the current line is, or
 * -1; *close_r tells a close delimiter ("--boundary--"). */
static int
match_boundary(const struct imap_mime_parser *p, size_t clen, bool *close_r)
{
	size_t avail = p->prefix_len < clen ? p->prefix_len : clen;
	size_t i, best_len = 0;
	int best = -1;

	if (avail < 3 || p->prefix[0] != '-' || p->prefix[1] != '-')
		return -1;
	for (i = p->n_open; i-- > 0;) {
		const struct open_part *op = &p->open[i];
		size_t bl = op->ct.boundary_len;

		if (!op->boundary_live || bl <= best_len || 2 + bl > avail)
			continue;
		if (memcmp(p->prefix + 2, op->ct.boundary, bl) == 0) {
			best = (int)i;
			best_len = bl;
		}
	}
	if (best >= 0)
		*close_r = 2 + best_len + 2 <= avail &&
		    p->prefix[2 + best_len] == '-' &&
		    p->prefix[3 + best_len] == '-';
	return best;
}

static void
delimiter(struct imap_mime_parser *p, size_t level, bool close)
{
	/* past the part limit, delimiters that would open a part are just
	 * text; close delimiters still end their multipart */
	if (!close && p->n_parts >= IMAP_MIME_MAX_PARTS)
		return;
	close_above(p, level);
	if (close)
		p->open[level].boundary_live = false;
	else
		push_child(p, p->offset, p->lf_count, p->open[level].digest,
		    false);
}

/* Is the current line (clen bytes without its ending) a header field or
 * a continuation line? */
static bool
is_header_line(struct imap_mime_parser *p, size_t clen)
{
	size_t avail = p->prefix_len < clen ? p->prefix_len : clen, colon;

	if (p->prefix[0] == ' ' || p->prefix[0] == '\t')
		return true;
	if (mime_field_name(p->prefix, avail, &colon) == 0)
		return false;
	p->last_field_kept = p->keep == KEEP_YES;
	return true;
}

static void
process_line(struct imap_mime_parser *p)
{
	size_t clen = p->line_len - p->eol;

	for (;;) {
		struct open_part *top = &p->open[p->n_open - 1];
		bool close = false;
		int level = match_boundary(p, clen, &close);

		if (!top->in_header) {
			if (level >= 0)
				delimiter(p, (size_t)level, close);
			return;
		}
		if (level < 0 && clen == 0) {
			header_end(p, p->offset, p->lf_count);
			return;
		}
		if (level < 0 && is_header_line(p, clen))
			return;
		/* a delimiter or a body line: not part of the header */
		p->header.len = p->header_mark;
		if (p->header.p != NULL)
			p->header.p[p->header.len] = '\0';
		header_end(p, p->line_start, p->lf_line_start);
		if (level >= 0) {
			delimiter(p, (size_t)level, close);
			return;
		}
		/* look at the line again as the first line of the body */
	}
}

static void
end_line(struct imap_mime_parser *p)
{
	process_line(p);
	p->prev_eol = p->eol;
	p->line_start = p->offset;
	p->lf_line_start = p->lf_count;
	p->line_len = 0;
	p->prefix_len = 0;
	p->eol = 0;
	p->keep = KEEP_UNKNOWN;
	p->header_mark = p->header.len;
}

/* n bytes of the current line; only the last may be its LF. */
static void
line_bytes(struct imap_mime_parser *p, const char *data, size_t n)
{
	size_t room = LINE_PREFIX - p->prefix_len, take = n < room ? n : room;
	bool was_cr = p->last_cr;

	memcpy(p->prefix + p->prefix_len, data, take);
	p->prefix_len += take;
	p->line_len += n;
	p->offset += n;
	p->last_cr = data[n - 1] == '\r';
	if (data[n - 1] == '\n') {
		p->lf_count++;
		p->eol = (n >= 2 ? data[n - 2] == '\r' : was_cr) ? 2 : 1;
	}
	if (!p->open[p->n_open - 1].in_header)
		return;
	if (p->keep == KEEP_UNKNOWN) {
		p->keep = decide_keep(p);
		if (p->keep == KEEP_YES) {
			/* everything of the line so far is in the prefix */
			header_add(p, p->prefix, p->prefix_len);
			header_add(p, data + take, n - take);
		}
	} else if (p->keep == KEEP_YES) {
		header_add(p, data, n);
	}
}

/* ------------------------------------------------------------- API */

struct imap_mime_parser *
imap_mime_parser_new(void)
{
	struct imap_mime_parser *p = xcalloc(1, sizeof(*p));

	p->root = xcalloc(1, sizeof(*p->root));
	p->open[0] = (struct open_part){
		.part = p->root,
		.in_header = true,
		.message_root = true,
	};
	p->n_open = 1;
	return p;
}

void
imap_mime_parser_feed(struct imap_mime_parser *p, const char *data, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl == NULL ? len : (size_t)(nl - data) + 1;

		line_bytes(p, data, n);
		data += n;
		len -= n;
		if (nl != NULL)
			end_line(p);
	}
}

struct imap_mime_part *
imap_mime_parser_finish(struct imap_mime_parser **pp)
{
	struct imap_mime_parser *p = *pp;
	struct imap_mime_part *root = p->root;

	if (p->line_len > 0)
		end_line(p);	/* a last line without LF */
	while (p->n_open > 0) {
		if (p->open[p->n_open - 1].in_header)
			header_end(p, p->offset, p->lf_count);
		else
			finish_top(p, p->offset, p->lf_count);
	}
	mime_buf_free(&p->header);
	free(p);
	*pp = NULL;
	return root;
}

struct imap_mime_part *
imap_mime_parse(const char *msg, size_t len)
{
	struct imap_mime_parser *p = imap_mime_parser_new();

	imap_mime_parser_feed(p, msg, len);
	return imap_mime_parser_finish(&p);
}

static void
part_free(struct imap_mime_part *part)
{
	size_t i;

	for (i = 0; i < part->n_children; i++)
		part_free(part->children[i]);
	free(part->children);
	free(part->envelope);
	free(part->bodystructure);
	free(part->body);
	free(part);
}

void
imap_mime_free(struct imap_mime_part **rootp)
{
	if (*rootp == NULL)
		return;
	part_free(*rootp);
	*rootp = NULL;
}
