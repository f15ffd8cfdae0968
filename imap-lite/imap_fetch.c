/* SPDX-License-Identifier: ISC */
/*
 * FETCH and UID FETCH (RFC 3501 6.4.5), with MODSEQ and CHANGEDSINCE
 * (RFC 7162).
 *
 * A FETCH is a small state machine over the messages of its set, so that
 * any amount of output is written only as the socket drains: the loop
 * writes responses while conn's output is below CONN_LOW_WATER, then waits
 * for CONN_EV_WRITABLE with command input suspended.  Message bytes are
 * read from the store IMAP_CHUNK at a time (ms_message_read, a short read
 * transaction each), so BODY[] of a 50 MB message costs a session about
 * 64 KB, and FETCH 1:* of a 100,000-message mailbox never queues more
 * than the low-water mark.
 *
 * Structure (ENVELOPE, BODYSTRUCTURE, section offsets) comes from the MIME
 * parser, run once per message on first need and then cached in the
 * store; BODY[] and RFC822 need no structure at all.  Sections are byte
 * ranges of the stored message, sliced for <partial>.
 *
 * Fetching a body without .PEEK marks the message \Seen (read-write
 * selections only).  That flag change is one writer job for the whole
 * set, committed before the first response, so the FLAGS each response
 * carries is the truth.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/conn.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_mime.h"
#include "imap-lite/imap_session.h"
#include "mailstore/ms_imap.h"

/* Sections up to this size are read whole; longer ones stream. */
#define FETCH_INLINE_MAX	(16 * 1024)
/* Header blocks read for HEADER.FIELDS are capped: a header that long is
 * broken anyway and the fields clients ask for come first. */
#define FETCH_HEADER_MAX	(1024 * 1024)

struct imap_fetch {
	struct imap_fetch_req req;	/* in the session arena */
	struct imap_seqset set;
	struct imap_view_iter it;
	size_t		 idx;		/* current message (view index) */
	bool		 in_msg;	/* its "* n FETCH (" is written */
	size_t		 body_i;	/* next section of the message */
	struct imap_mime_part *mime;	/* current message's, or NULL */
	uint32_t	*seen;		/* uids just marked \Seen, ascending */
	size_t		 n_seen;
	bool		 missing;	/* a message could not be read */
	bool		 needs_mime;	/* fetch_needs_mime(&req) */
	bool		 needs_info;	/* more than UID and FLAGS */

	/* A section being streamed. */
	bool		 streaming;
	ms_id		 stream_msg;
	uint64_t	 stream_pos, stream_end;
	char		*chunk;		/* IMAP_CHUNK bytes while streaming */
};

void
imap_fetch_free(struct imap_fetch **fp)
{
	struct imap_fetch *f = *fp;

	if (f == NULL)
		return;
	imap_mime_free(&f->mime);
	free(f->seen);
	free(f->chunk);
	free(f);
	*fp = NULL;
}

size_t
imap_fetch_memory(const struct imap_fetch *f)
{
	if (f == NULL)
		return 0;
	return sizeof(*f) + f->n_seen * sizeof(*f->seen) +
	    (f->chunk != NULL ? IMAP_CHUNK : 0);
}

/* ------------------------------------------------------ message access */

char *
imap_message_range(struct imap_session *s, ms_id message_id, uint64_t off,
    size_t len)
{
	char *buf = xmalloc(len + 1);
	size_t have = 0;

	while (have < len) {
		ssize_t got = ms_message_read(imap_store(s), message_id,
		    off + have, buf + have, len - have);

		if (got <= 0) {
			free(buf);
			return NULL;
		}
		have += (size_t)got;
	}
	buf[len] = '\0';
	return buf;
}

struct imap_mime_part *
imap_message_mime(struct imap_session *s, const struct imap_msg_info *m)
{
	struct ms_store *ms = imap_store(s);
	struct imap_mime_parser *p;
	struct imap_mime_part *root;
	char *cache, *buf;
	uint64_t off = 0;

	if ((cache = ms_message_mime_cache(ms, m->message_id)) != NULL) {
		root = imap_mime_deserialize(cache);
		free(cache);
		if (root != NULL)
			return root;
	}
	p = imap_mime_parser_new();
	buf = xmalloc(IMAP_CHUNK);
	while (off < m->size) {
		size_t want = m->size - off < IMAP_CHUNK ?
		    (size_t)(m->size - off) : IMAP_CHUNK;
		ssize_t got = ms_message_read(ms, m->message_id, off, buf, want);

		if (got <= 0)
			break;
		imap_mime_parser_feed(p, buf, (size_t)got);
		off += (uint64_t)got;
	}
	free(buf);
	root = imap_mime_parser_finish(&p);
	if (off < m->size) {
		/* Expunged meanwhile (or a store error, logged there). */
		imap_mime_free(&root);
		return NULL;
	}
	if ((cache = imap_mime_serialize(root)) != NULL) {
		ms_message_set_mime_cache(ms, m->message_id, cache);
		free(cache);
	}
	return root;
}

/* ------------------------------------------------------------- output */

/* Does the request need the MIME structure of each message? */
static bool
fetch_needs_mime(const struct imap_fetch_req *req)
{
	size_t i;

	if (req->items & (IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY |
	    IMAP_FETCH_BODYSTRUCTURE))
		return true;
	for (i = 0; i < req->n_bodies; i++)
		if (req->bodies[i].part != IMAP_SECTION_ALL ||
		    req->bodies[i].depth > 0)
			return true;
	return false;
}

static bool
seen_now(const struct imap_fetch *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n_seen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->seen[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n_seen && f->seen[lo] == uid;
}

/*
 * Start the response for message f->idx with the items that need no
 * section.  Returns false, having written nothing, when the message is
 * skipped (not changed since CHANGEDSINCE) or cannot be read.
 */
static bool
fetch_msg_begin(struct imap_session *s, struct imap_fetch *f)
{
	const struct imap_view *v = s->view;
	const struct imap_msg_info *m = NULL;
	const struct imap_fetch_req *req = &f->req;
	struct imap_buf *b = &s->out;
	const char *sep = "";
	uint32_t uid = v->msgs[f->idx].uid;
	char date[32];

	/* FETCH 1:* (UID FLAGS), what clients sync with, needs only the
	 * view: no catalog lookup, no printf. */
	if (!f->needs_info) {
		imap_buf_str(b, "* ");
		imap_buf_uint(b, f->idx + 1);
		imap_buf_str(b, " FETCH (");
		if (req->items & IMAP_FETCH_UID) {
			imap_buf_str(b, "UID ");
			imap_buf_uint(b, uid);
			sep = " ";
		}
		if ((req->items & IMAP_FETCH_FLAGS) || seen_now(f, uid)) {
			imap_buf_str(b, sep);
			imap_buf_str(b, "FLAGS ");
			imap_view_put_flags(v, b, f->idx);
		}
		f->in_msg = true;
		f->body_i = 0;
		return true;
	}
	m = imap_view_info(v, f->idx);
	if (req->changedsince > 0 && m->modseq <= req->changedsince)
		return false;
	if (f->needs_mime) {
		if ((f->mime = imap_message_mime(s, m)) == NULL) {
			f->missing = true;
			return false;
		}
	} else if (req->n_bodies > 0) {
		char probe;

		/* Streaming cannot take back a literal once announced:
		 * make sure the message is still there first. */
		if (ms_message_read(imap_store(s), m->message_id, 0, &probe,
		    1) < 0) {
			f->missing = true;
			return false;
		}
	}
	imap_buf_printf(b, "* %zu FETCH (", f->idx + 1);
	if (req->items & IMAP_FETCH_UID) {
		imap_buf_printf(b, "UID %u", m->uid);
		sep = " ";
	}
	if ((req->items & IMAP_FETCH_FLAGS) || seen_now(f, m->uid)) {
		imap_buf_printf(b, "%sFLAGS ", sep);
		imap_view_put_flags(v, b, f->idx);
		sep = " ";
	}
	if (req->items & IMAP_FETCH_INTERNALDATE) {
		imap_format_datetime((time_t)m->date, date);
		imap_buf_printf(b, "%sINTERNALDATE \"%s\"", sep, date);
		sep = " ";
	}
	if (req->items & IMAP_FETCH_RFC822_SIZE) {
		imap_buf_printf(b, "%sRFC822.SIZE %u", sep, m->size);
		sep = " ";
	}
	if (req->items & IMAP_FETCH_MODSEQ) {
		imap_buf_printf(b, "%sMODSEQ (%llu)", sep,
		    (unsigned long long)m->modseq);
		sep = " ";
	}
	if (req->items & IMAP_FETCH_ENVELOPE) {
		imap_buf_printf(b, "%sENVELOPE %s", sep, f->mime->envelope);
		sep = " ";
	}
	if (req->items & IMAP_FETCH_BODY) {
		imap_buf_printf(b, "%sBODY %s", sep, f->mime->body);
		sep = " ";
	}
	if (req->items & IMAP_FETCH_BODYSTRUCTURE)
		imap_buf_printf(b, "%sBODYSTRUCTURE %s", sep,
		    f->mime->bodystructure);
	f->in_msg = true;
	f->body_i = 0;
	return true;
}

/* The item name as the client must see it: "BODY[1.TEXT]<0>". */
static void
fetch_body_name(struct imap_buf *b, const struct imap_fetch_body *body,
    bool first)
{
	if (!first)
		imap_buf_add(b, " ", 1);
	if (body->rfc822_name) {
		imap_buf_printf(b, "%s ", body->reply_name);
		return;
	}
	imap_buf_printf(b, "%s[%s]", body->reply_name, body->section_text);
	if (body->partial)
		imap_buf_printf(b, "<%llu>", (unsigned long long)body->offset);
	imap_buf_add(b, " ", 1);
}

/* Cut [off, off+len) down to the <offset.count> the client asked for. */
static void
fetch_partial(const struct imap_fetch_body *body, uint64_t *off, uint64_t *len)
{
	uint64_t skip;

	if (!body->partial)
		return;
	skip = body->offset < *len ? body->offset : *len;
	*off += skip;
	*len -= skip;
	if (body->count < *len)
		*len = body->count;
}

/* HEADER.FIELDS (.NOT): the header block, filtered, sent whole. */
static bool
fetch_header_fields(struct imap_session *s, struct imap_fetch *f,
    const struct imap_fetch_body *body, uint64_t off, uint64_t len)
{
	const struct imap_msg_info *m = imap_view_info(s->view, f->idx);
	char *hdr, *out;
	size_t out_len;
	uint64_t poff = 0, plen;

	if (len > FETCH_HEADER_MAX)
		len = FETCH_HEADER_MAX;
	if ((hdr = imap_message_range(s, m->message_id, off, (size_t)len)) ==
	    NULL)
		return false;
	out = imap_mime_header_fields(hdr, (size_t)len, body->fields,
	    body->n_fields, body->part == IMAP_SECTION_HEADER_FIELDS_NOT,
	    &out_len);
	free(hdr);
	plen = out_len;
	fetch_partial(body, &poff, &plen);
	imap_buf_literal(&s->out, out + poff, (size_t)plen);
	free(out);
	return true;
}

/*
 * Write the next section of the current message: inline when small,
 * else the literal's announcement now and its bytes by fetch_stream().
 * Returns false when the message could not be read (the session is then
 * closed: a literal already announced cannot be taken back).
 */
static bool
fetch_body(struct imap_session *s, struct imap_fetch *f,
    const struct imap_fetch_body *body, bool first)
{
	const struct imap_msg_info *m = imap_view_info(s->view, f->idx);
	enum imap_mime_section which = IMAP_MIME_SECTION_BODY;
	uint64_t off = 0, len = m->size;
	char *data;

	fetch_body_name(&s->out, body, first);
	switch (body->part) {
	case IMAP_SECTION_ALL:
		which = IMAP_MIME_SECTION_BODY;
		break;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		which = IMAP_MIME_SECTION_HEADER;
		break;
	case IMAP_SECTION_TEXT:
		which = IMAP_MIME_SECTION_TEXT;
		break;
	case IMAP_SECTION_MIME:
		which = IMAP_MIME_SECTION_MIME;
		break;
	}
	if ((body->part != IMAP_SECTION_ALL || body->depth > 0) &&
	    !imap_mime_section_range(f->mime, body->path, body->depth, which,
	    &off, &len)) {
		imap_buf_str(&s->out, "NIL");
		return true;
	}
	if (body->part == IMAP_SECTION_HEADER_FIELDS ||
	    body->part == IMAP_SECTION_HEADER_FIELDS_NOT)
		return fetch_header_fields(s, f, body, off, len);
	fetch_partial(body, &off, &len);
	if (len <= FETCH_INLINE_MAX) {
		if ((data = imap_message_range(s, m->message_id, off,
		    (size_t)len)) == NULL)
			return false;
		imap_buf_literal(&s->out, data, (size_t)len);
		free(data);
		return true;
	}
	imap_buf_printf(&s->out, "{%llu}\r\n", (unsigned long long)len);
	imap_flush(s);
	f->streaming = true;
	f->stream_msg = m->message_id;
	f->stream_pos = off;
	f->stream_end = off + len;
	if (f->chunk == NULL)
		f->chunk = xmalloc(IMAP_CHUNK);
	return true;
}

/* Stream literal bytes while the socket takes them.  False on a read
 * error. */
static bool
fetch_stream(struct imap_session *s, struct imap_fetch *f)
{
	while (f->stream_pos < f->stream_end &&
	    conn_output_pending(s->conn) < CONN_LOW_WATER) {
		uint64_t left = f->stream_end - f->stream_pos;
		size_t want = left < IMAP_CHUNK ? (size_t)left : IMAP_CHUNK;
		ssize_t got;

		got = ms_message_read(imap_store(s), f->stream_msg,
		    f->stream_pos, f->chunk, want);
		if (got <= 0) {
			log_warnx(IMAP_LOG "event=error reason=read-failed "
			    "message=%lld offset=%llu", IMAP_LOG_ARGS(s),
			    (long long)f->stream_msg,
			    (unsigned long long)f->stream_pos);
			return false;
		}
		conn_write(s->conn, f->chunk, (size_t)got);
		f->stream_pos += (uint64_t)got;
	}
	if (f->stream_pos == f->stream_end) {
		f->streaming = false;
		XFREE(f->chunk);
	}
	return true;
}

/*
 * Write responses until the output is full or the set is done.  Returns 1
 * when done, 0 when waiting for the socket, -1 when the session had to
 * be closed.
 */
static int
fetch_write(struct imap_session *s, struct imap_fetch *f)
{
	while (conn_output_pending(s->conn) < CONN_LOW_WATER) {
		if (f->streaming) {
			if (!fetch_stream(s, f))
				return -1;
			continue;
		}
		if (!f->in_msg) {
			if (!imap_view_iter_next(s->view, &f->it, &f->idx))
				return 1;
			if (!fetch_msg_begin(s, f))
				continue;
		}
		if (f->body_i < f->req.n_bodies) {
			bool first = s->out.len > 0 &&
			    s->out.data[s->out.len - 1] == '(';

			if (!fetch_body(s, f, &f->req.bodies[f->body_i++],
			    first))
				return -1;
			continue;
		}
		imap_buf_str(&s->out, ")\r\n");
		imap_flush(s);
		imap_mime_free(&f->mime);
		f->in_msg = false;
	}
	return 0;
}

static void
fetch_step(struct imap_session *s)
{
	struct imap_fetch *f = s->fetch;
	bool missing;
	int r;

	r = fetch_write(s, f);
	if (r == 0) {
		imap_cmd_wait(s);
		conn_want_writable(s->conn, true);
		return;
	}
	missing = f->missing;
	imap_fetch_free(&s->fetch);
	conn_want_writable(s->conn, false);
	if (r < 0) {
		imap_close(s, "read-failed", NULL);
		return;
	}
	if (missing)
		imap_cmd_done(s, "NO [EXPUNGEISSUED] Some messages were "
		    "expunged and not fetched.");
	else
		imap_cmd_done(s, "OK FETCH completed.");
}

void
imap_fetch_continue(struct imap_session *s)
{
	fetch_step(s);
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
fetch_seen_done(void *arg, const struct ms_flags_result *r)
{
	struct imap_session *s = arg;
	struct imap_fetch *f = s->fetch;
	size_t i;

	if (imap_job_end(s))
		return;
	/* A failure only means \Seen stays unset; the data still goes. */
	if (r->status == MS_OK && r->n_changed > 0) {
		f->seen = xreallocarray(NULL, r->n_changed, sizeof(*f->seen));
		for (i = 0; i < r->n_changed; i++) {
			f->seen[i] = r->changed[i].uid;
			imap_view_stored(s->view, &r->changed[i]);
		}
		f->n_seen = r->n_changed;
		qsort(f->seen, f->n_seen, sizeof(*f->seen), uid_cmp);
	}
	fetch_step(s);
}

/* Non-PEEK sections in a read-write selection set \Seen first.  True
 * when a flag job was started (fetch_seen_done() continues). */
static bool
fetch_mark_seen(struct imap_session *s, struct imap_fetch *f, bool uid)
{
	const struct imap_view *v = s->view;
	struct imap_view_iter it;
	uint32_t *uids;
	size_t i, idx, n = 0;
	bool peek = true;

	for (i = 0; i < f->req.n_bodies; i++)
		peek &= f->req.bodies[i].peek;
	if (peek || v->readonly)
		return false;
	uids = imap_arena_alloc(&s->arena, v->n * sizeof(*uids));
	imap_view_iter_init(&it, &f->set, uid);
	while (imap_view_iter_next(v, &it, &idx)) {
		const struct imap_msg *m = &v->msgs[idx];

		if (!(m->flags & (MS_FLAG_SEEN | IMAP_MSG_EXPUNGED)) &&
		    (f->req.changedsince == 0 ||
		    imap_view_info(v, idx)->modseq > f->req.changedsince))
			uids[n++] = m->uid;
	}
	if (n == 0)
		return false;
	imap_job_begin(s);
	imap_cmd_wait(s);
	ms_flags_store(imap_store(s), v->mailbox_id, uids, n, MS_FLAGS_ADD,
	    MS_FLAG_SEEN, NULL, 0, fetch_seen_done, s);
	return true;
}

void
imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_fetch *f;
	struct imap_fetch_req req;
	struct imap_seqset set;
	const char *error;
	size_t i;

	if (cmd->nargs < 2 || cmd->nargs > 3) {
		imap_cmd_bad(s, "FETCH takes a set and items");
		return;
	}
	if (!imap_view_set(s, &cmd->args[0], cmd->uid, &set, &error) ||
	    !imap_fetch_parse(&cmd->args[1], cmd->nargs == 3 ? &cmd->args[2] :
	    NULL, &s->arena, &req, &error)) {
		imap_cmd_bad(s, "%s", error);
		return;
	}
	for (i = 0; i < req.n_bodies; i++) {
		if (req.bodies[i].binary) {
			imap_cmd_bad(s, "BINARY is not supported");
			return;
		}
	}
	if (req.vanished) {
		imap_cmd_bad(s, "VANISHED needs QRESYNC, which is not offered");
		return;
	}
	if (cmd->uid)
		req.items |= IMAP_FETCH_UID;
	if (req.items & IMAP_FETCH_MODSEQ)
		s->flags |= IMAP_F_CONDSTORE;
	f = xcalloc(1, sizeof(*f));
	f->req = req;
	f->set = set;
	f->needs_mime = fetch_needs_mime(&req);
	f->needs_info = f->needs_mime || req.n_bodies > 0 ||
	    req.changedsince > 0 || (req.items & (IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_MODSEQ | IMAP_FETCH_ENVELOPE |
	    IMAP_FETCH_BODY | IMAP_FETCH_BODYSTRUCTURE)) != 0;
	imap_view_iter_init(&f->it, &f->set, cmd->uid);
	s->fetch = f;
	if (fetch_mark_seen(s, f, cmd->uid))
		return;
	fetch_step(s);
}
