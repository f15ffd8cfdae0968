/* SPDX-License-Identifier: ISC */
/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4) over the parsed key tree, with
 * MODSEQ (RFC 7162 3.1.5).
 *
 * Most searches never touch a message: flags, keywords, sequence and uid
 * sets, internal dates, sizes and modseqs are all in the session's view.
 * Keys are evaluated cheapest first inside every AND, so "UNSEEN SUBJECT
 * x" reads headers only of unseen messages.  Header keys read the
 * message's header block alone; BODY and TEXT stream the text parts of
 * the message through base64 / quoted-printable decoding into a
 * substring matcher, a chunk at a time, so even a search over big
 * messages holds little memory.  Matching is case-insensitive by Unicode
 * simple case folding (imap_casefold.h), so "ÄRGER" finds "ärger";
 * bytes that are not UTF-8 must match exactly.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>

#include "common/codec.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_casefold.h"
#include "imap-lite/imap_mime.h"
#include "imap-lite/imap_session.h"

/* Header blocks longer than this are searched only this far. */
#define SEARCH_HEADER_MAX	(256 * 1024)
#define DAY			86400

/* One message being looked at, with what was loaded for it. */
struct search_msg {
	struct imap_session *s;
	const struct imap_msg *m;
	const struct imap_msg_info *mi;	/* the shared facts of m */
	size_t	 idx;
	char	*hdr;		/* header block, NUL-terminated */
	size_t	 hdr_len;
	bool	 hdr_tried;
	struct imap_mime_part *mime;
	bool	 mime_tried;
};

/* -------------------------------------------------------- substring */

/*
 * Case-insensitive substring search across chunk boundaries: a thin
 * layer over the folding search of imap_casefold.c, which also keeps a
 * UTF-8 letter that a chunk boundary splits until its end arrives.
 */
struct matcher {
	struct imap_casefold_search cf;
	bool	 found;		/* copy of cf.found, read by the walkers */
};

static void
matcher_init(struct matcher *mt, const char *needle)
{
	imap_casefold_search_init(&mt->cf, needle, strlen(needle));
	mt->found = mt->cf.found;
}

static void
matcher_free(struct matcher *mt)
{
	imap_casefold_search_free(&mt->cf);
}

static void
matcher_feed(struct matcher *mt, const char *p, size_t n)
{
	mt->found = imap_casefold_search_feed(&mt->cf, p, n);
}

/* The text has ended: bytes held back as a cut-short letter count too. */
static void
matcher_finish(struct matcher *mt)
{
	mt->found = imap_casefold_search_finish(&mt->cf);
}

static bool
text_contains(const char *hay, const char *needle)
{
	return imap_casefold_contains(hay, strlen(hay), needle,
	    strlen(needle));
}

/* ---------------------------------------------------- transfer decoding */

enum cte { CTE_NONE, CTE_BASE64, CTE_QP };

struct decoder {
	enum cte kind;
	struct codec_b64 b64;	/* base64: bits not yet output */
	int	 qp_state;	/* 0, 1 after '=', 2 after '=X', 3 after "=\r" */
	char	 qp_hex;
};

/* Decode n bytes into out (at least n + 2 bytes); returns the length. */
static size_t
decode(struct decoder *d, const char *in, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned char byte;
	int v;

	for (i = 0; i < n; i++) {
		char c = in[i];

		switch (d->kind) {
		case CTE_NONE:
			out[o++] = c;
			break;
		case CTE_BASE64:
			/* Line breaks and padding are skipped. */
			if ((v = codec_b64_value(c, CODEC_B64_STD)) < 0)
				break;
			if (codec_b64_push(&d->b64, (unsigned int)v, &byte))
				out[o++] = (char)byte;
			break;
		case CTE_QP:
			if (d->qp_state == 0) {
				if (c == '=')
					d->qp_state = 1;
				else
					out[o++] = c;
			} else if (d->qp_state == 1) {
				if (c == '\r')
					d->qp_state = 3;
				else if (c == '\n')
					d->qp_state = 0;
				else if (codec_hex_value(c) >= 0) {
					d->qp_hex = c;
					d->qp_state = 2;
				} else {
					out[o++] = '=';
					out[o++] = c;
					d->qp_state = 0;
				}
			} else if (d->qp_state == 2) {
				if (codec_hex_value(c) >= 0) {
					out[o++] = (char)(16 *
					    codec_hex_value(d->qp_hex) +
					    codec_hex_value(c));
				} else {
					out[o++] = '=';
					out[o++] = d->qp_hex;
					out[o++] = c;
				}
				d->qp_state = 0;
			} else {
				/* "=\r" then anything: a soft break. */
				if (c != '\n')
					out[o++] = c;
				d->qp_state = 0;
			}
			break;
		}
	}
	return o;
}

/* -------------------------------------------------------- content access */

/* The header block: read until the blank line, at most SEARCH_HEADER_MAX. */
static const char *
msg_header(struct search_msg *sm, size_t *len_r)
{
	size_t cap = 0, have = 0, limit;
	char *buf = NULL, *end;

	if (sm->hdr_tried) {
		*len_r = sm->hdr_len;
		return sm->hdr;
	}
	sm->hdr_tried = true;
	limit = sm->mi->size < SEARCH_HEADER_MAX ? sm->mi->size :
	    SEARCH_HEADER_MAX;
	while (have < limit) {
		size_t want = limit - have < 8192 ? limit - have : 8192;
		ssize_t got;

		if (cap < have + want + 1) {
			cap = (have + want + 1) * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		got = ms_message_read(imap_store(sm->s), sm->mi->message_id,
		    have, buf + have, want);
		if (got <= 0) {
			free(buf);
			return NULL;
		}
		have += (size_t)got;
		buf[have] = '\0';
		if ((end = strstr(buf, "\n\r\n")) != NULL ||
		    (end = strstr(buf, "\n\n")) != NULL) {
			have = (size_t)(end - buf) + (end[1] == '\r' ? 3 : 2);
			break;
		}
	}
	if (buf == NULL)
		buf = xcalloc(1, 1);
	buf[have] = '\0';
	sm->hdr = buf;
	sm->hdr_len = have;
	*len_r = have;
	return buf;
}

static const struct imap_mime_part *
msg_mime(struct search_msg *sm)
{
	if (!sm->mime_tried) {
		sm->mime_tried = true;
		sm->mime = imap_message_mime(sm->s, sm->mi);
	}
	return sm->mime;
}

static bool
header_match(struct search_msg *sm, const char *field, const char *str)
{
	const char *hdr;
	char *value, *decoded;
	size_t len;
	bool found;

	if ((hdr = msg_header(sm, &len)) == NULL)
		return false;
	if ((value = imap_mime_header_get(hdr, len, field)) == NULL)
		return false;
	decoded = imap_mime_decode_words(value);
	found = text_contains(decoded != NULL ? decoded : value, str);
	free(decoded);
	free(value);
	return found;
}

/* Stream [off, off+len) of the message through a decoder into mt. */
static bool
feed_range(struct search_msg *sm, uint64_t off, uint64_t len, enum cte kind,
    struct matcher *mt)
{
	struct decoder d = { .kind = kind };
	char *in = xmalloc(IMAP_CHUNK), *out = xmalloc(3 * IMAP_CHUNK);
	bool ok = true;

	while (len > 0 && !mt->found) {
		size_t want = len < IMAP_CHUNK ? (size_t)len : IMAP_CHUNK;
		ssize_t got = ms_message_read(imap_store(sm->s),
		    sm->mi->message_id, off, in, want);

		if (got <= 0) {
			ok = false;
			break;
		}
		matcher_feed(mt, out, decode(&d, in, (size_t)got, out));
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	free(in);
	free(out);
	return ok;
}

/* Search the text of a part and everything below it. */
static void
body_walk(struct search_msg *sm, const struct imap_mime_part *p,
    struct matcher *mt, int depth)
{
	char *hdr, *ctype, *cte;
	enum cte kind = CTE_NONE;
	size_t i;
	bool text;

	if (mt->found || depth > IMAP_MIME_MAX_DEPTH)
		return;
	if (p->is_multipart) {
		for (i = 0; i < p->n_children && !mt->found; i++)
			body_walk(sm, p->children[i], mt, depth + 1);
		return;
	}
	hdr = imap_message_range(sm->s, sm->mi->message_id, p->header_off,
	    (size_t)(p->body_off - p->header_off));
	if (hdr == NULL)
		return;
	if (p->is_message) {
		/* The encapsulated header is text of the message too. */
		const struct imap_mime_part *inner = p->children[0];
		char *ih = imap_message_range(sm->s, sm->mi->message_id,
		    inner->header_off, (size_t)(inner->body_off -
		    inner->header_off));

		if (ih != NULL) {
			char *dec = imap_mime_decode_words(ih);

			matcher_feed(mt, dec != NULL ? dec : ih,
			    strlen(dec != NULL ? dec : ih));
			free(dec);
			free(ih);
		}
		free(hdr);
		body_walk(sm, inner, mt, depth + 1);
		return;
	}
	ctype = imap_mime_header_get(hdr, strlen(hdr), "Content-Type");
	cte = imap_mime_header_get(hdr, strlen(hdr),
	    "Content-Transfer-Encoding");
	free(hdr);
	/* Attachments (images, archives) are not text to search. */
	text = ctype == NULL || strncasecmp(ctype, "text/", 5) == 0 ||
	    strncasecmp(ctype, "message/", 8) == 0;
	if (cte != NULL) {
		const char *c = cte + strspn(cte, " \t");

		if (strncasecmp(c, "base64", 6) == 0)
			kind = CTE_BASE64;
		else if (strncasecmp(c, "quoted-printable", 16) == 0)
			kind = CTE_QP;
	}
	free(ctype);
	free(cte);
	if (text)
		(void)feed_range(sm, p->body_off, p->end_off - p->body_off, kind,
		    mt);
}

/* TEXT also looks at the header block, encoded-words decoded. */
static bool
header_text_match(struct search_msg *sm, const char *str)
{
	const char *hdr;
	char *decoded;
	size_t len;
	bool found;

	if ((hdr = msg_header(sm, &len)) == NULL)
		return false;
	decoded = imap_mime_decode_words(hdr);
	found = text_contains(decoded != NULL ? decoded : hdr, str);
	free(decoded);
	return found;
}

static bool
body_match(struct search_msg *sm, const char *str, bool with_header)
{
	const struct imap_mime_part *root;
	struct matcher mt;
	bool found;

	if (with_header && header_text_match(sm, str))
		return true;
	if ((root = msg_mime(sm)) == NULL)
		return false;
	matcher_init(&mt, str);
	body_walk(sm, root, &mt, 0);
	matcher_finish(&mt);
	found = mt.found;
	matcher_free(&mt);
	return found;
}

/* ------------------------------------------------------------ evaluation */

/* 0: from the view, 1: reads the header, 2: reads the body. */
static int
key_cost(const struct imap_search_key *k)
{
	int c = 0, kc;
	size_t i;

	switch (k->op) {
	case IMAP_SK_HEADER:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return 1;
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		return 2;
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		for (i = 0; i < k->n_kids; i++)
			if ((kc = key_cost(k->kids[i])) > c)
				c = kc;
		return c;
	default:
		return 0;
	}
}

/* Is keyword kw (case-insensitively) in the space-separated list? */
static bool
has_keyword(const char *list, const char *kw)
{
	size_t n = strlen(kw);

	while (*list != '\0') {
		size_t w = strcspn(list, " ");

		if (w == n && strncasecmp(list, kw, n) == 0)
			return true;
		list += w;
		list += strspn(list, " ");
	}
	return false;
}

/* The day (UTC midnight) of the Date: header as written, or of the
 * internal date when there is no usable Date: header. */
static int64_t
sent_day(struct search_msg *sm)
{
	const char *hdr;
	char *value;
	int64_t t;
	size_t len;
	int zone = 0;

	t = sm->mi->date;
	if ((hdr = msg_header(sm, &len)) != NULL &&
	    (value = imap_mime_header_get(hdr, len, "Date")) != NULL) {
		if (imap_mime_parse_date_tz(value, &t, &zone))
			t += (int64_t)zone * 60;
		else
			t = sm->mi->date;
		free(value);
	}
	return t - (((t % DAY) + DAY) % DAY);
}

static bool eval(struct search_msg *sm, const struct imap_search_key *k);

/* AND: the cheap kids first, so expensive ones run only when needed. */
static bool
eval_and(struct search_msg *sm, const struct imap_search_key *k)
{
	int cost;
	size_t i;

	for (cost = 0; cost <= 2; cost++)
		for (i = 0; i < k->n_kids; i++)
			if (key_cost(k->kids[i]) == cost &&
			    !eval(sm, k->kids[i]))
				return false;
	return true;
}

static bool
eval(struct search_msg *sm, const struct imap_search_key *k)
{
	const struct imap_msg *m = sm->m;
	const struct imap_msg_info *mi = sm->mi;
	const struct imap_view *v = sm->s->view;
	int64_t day = (int64_t)mi->date - (int64_t)(mi->date % DAY);

	switch (k->op) {
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_AND:
		return eval_and(sm, k);
	case IMAP_SK_OR:
		if (key_cost(k->kids[0]) > key_cost(k->kids[1]))
			return eval(sm, k->kids[1]) || eval(sm, k->kids[0]);
		return eval(sm, k->kids[0]) || eval(sm, k->kids[1]);
	case IMAP_SK_NOT:
		return !eval(sm, k->kids[0]);
	case IMAP_SK_SEQSET:
		return imap_seqset_contains(&k->set, (uint32_t)sm->idx + 1);
	case IMAP_SK_UIDSET:
		return imap_seqset_contains(&k->set, m->uid);
	case IMAP_SK_FLAG_SET:
		return (m->flags & k->num) != 0;
	case IMAP_SK_FLAG_UNSET:
		return (m->flags & k->num) == 0;
	case IMAP_SK_KEYWORD:
		return has_keyword(imap_view_keywords(v, sm->idx), k->str);
	case IMAP_SK_UNKEYWORD:
		return !has_keyword(imap_view_keywords(v, sm->idx), k->str);
	case IMAP_SK_NEW:
		return (m->flags & IMAP_MSG_RECENT) && !(m->flags & MS_FLAG_SEEN);
	case IMAP_SK_OLD:
		return !(m->flags & IMAP_MSG_RECENT);
	case IMAP_SK_RECENT:
		return (m->flags & IMAP_MSG_RECENT) != 0;
	case IMAP_SK_BEFORE:
		return day < (int64_t)k->num;
	case IMAP_SK_ON:
		return day == (int64_t)k->num;
	case IMAP_SK_SINCE:
		return day >= (int64_t)k->num;
	case IMAP_SK_SENTBEFORE:
		return sent_day(sm) < (int64_t)k->num;
	case IMAP_SK_SENTON:
		return sent_day(sm) == (int64_t)k->num;
	case IMAP_SK_SENTSINCE:
		return sent_day(sm) >= (int64_t)k->num;
	case IMAP_SK_LARGER:
		return mi->size > k->num;
	case IMAP_SK_SMALLER:
		return mi->size < k->num;
	case IMAP_SK_HEADER:
		return header_match(sm, k->field, k->str);
	case IMAP_SK_BODY:
		return body_match(sm, k->str, false);
	case IMAP_SK_TEXT:
		return body_match(sm, k->str, true);
	case IMAP_SK_MODSEQ:
		return mi->modseq >= k->num;
	}
	return false;
}

/* Resolve '*' in every set of the tree; true if it holds a MODSEQ key. */
static bool
resolve_sets(struct imap_search_key *k, const struct imap_view *v)
{
	bool modseq = k->op == IMAP_SK_MODSEQ;
	size_t i;

	if (k->op == IMAP_SK_SEQSET)
		imap_seqset_resolve(&k->set, (uint32_t)v->n);
	else if (k->op == IMAP_SK_UIDSET)
		imap_seqset_resolve(&k->set, v->n > 0 ? v->msgs[v->n - 1].uid :
		    0);
	for (i = 0; i < k->n_kids; i++)
		modseq |= resolve_sets(k->kids[i], v);
	return modseq;
}

/*
 * A SEARCH runs in slices so that one client's TEXT search of a big
 * mailbox never holds up the other sessions: after SEARCH_SLICE_IO
 * messages whose header or body had to be read, SEARCH_SLICE_BYTES of
 * message text read (what a slice costs is mostly reading and scanning
 * it), or SEARCH_SLICE_ALL messages in all, the command yields to the event loop and goes on from
 * a zero-delay timer, which libev runs in the same turn as the sockets
 * that became ready meanwhile (a fed event would run before them).  Input
 * stays suspended meanwhile and the view cannot change under the search:
 * syncs happen only between commands.
 */
#define SEARCH_SLICE_IO		64
#define SEARCH_SLICE_BYTES	(256 * 1024)
#define SEARCH_SLICE_ALL	8192

struct imap_search_run {
	struct ev_loop	*loop;
	ev_timer	 next;		/* the next slice */
	struct imap_search_key *root;	/* in the command arena */
	size_t	 idx;			/* next message */
	bool	 uid;
	bool	 modseq;		/* the criteria hold MODSEQ */
	uint64_t max_modseq;
};

void
imap_search_free(struct imap_search_run **rp)
{
	if (*rp == NULL)
		return;
	ev_timer_stop((*rp)->loop, &(*rp)->next);
	XFREE(*rp);
}

static void search_step(struct imap_session *s);

static void
search_next_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	ev_timer_stop(loop, w);
	search_step(w->data);
}

/* One slice; the tagged reply when the last message is done. */
static void
search_step(struct imap_session *s)
{
	struct imap_search_run *r = s->search;
	const struct imap_view *v = s->view;
	struct search_msg sm;
	size_t n_io = 0, n_all = 0, n_bytes = 0;

	while (r->idx < v->n) {
		size_t idx = r->idx++;

		sm = (struct search_msg){ .s = s, .m = &v->msgs[idx],
		    .mi = imap_view_info(v, idx), .idx = idx };
		if (eval(&sm, r->root)) {
			imap_buf_add(&s->out, " ", 1);
			imap_buf_uint(&s->out, r->uid ? sm.m->uid :
			    (uint32_t)idx + 1);
			if (sm.mi->modseq > r->max_modseq)
				r->max_modseq = sm.mi->modseq;
		}
		if (sm.hdr_tried || sm.mime_tried)
			n_io++;
		n_bytes += sm.mime_tried ? sm.mi->size : sm.hdr_len;
		free(sm.hdr);
		imap_mime_free(&sm.mime);
		/* Long result lines go out in pieces. */
		if (s->out.len > IMAP_CHUNK)
			imap_flush(s);
		if ((n_io >= SEARCH_SLICE_IO || n_bytes >= SEARCH_SLICE_BYTES ||
		    ++n_all >= SEARCH_SLICE_ALL) &&
		    r->idx < v->n) {
			imap_cmd_wait(s);
			ev_timer_set(&r->next, 0., 0.);
			ev_timer_start(r->loop, &r->next);
			return;
		}
	}
	if (r->modseq && r->max_modseq > 0)
		imap_buf_printf(&s->out, " (MODSEQ %llu)",
		    (unsigned long long)r->max_modseq);
	imap_buf_str(&s->out, "\r\n");
	imap_flush(s);
	imap_search_free(&s->search);
	imap_cmd_done(s, "OK SEARCH completed.");
}

void
imap_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_view *v = s->view;
	struct imap_search_key *root;
	const char *error = "Invalid search criteria";
	bool badcharset = false, modseq;

	if (cmd->nargs > 0 && cmd->args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(cmd->args[0].str, "RETURN") == 0) {
		imap_cmd_bad(s, "SEARCH RETURN (ESEARCH) is not supported");
		return;
	}
	if (!imap_search_parse(cmd->args, cmd->nargs, &s->arena, &root,
	    &badcharset, &error)) {
		if (badcharset)
			imap_cmd_done(s, "NO [BADCHARSET (UTF-8 US-ASCII)] "
			    "Unsupported charset.");
		else
			imap_cmd_bad(s, "%s", error);
		return;
	}
	modseq = resolve_sets(root, v);
	if (modseq)
		s->flags |= IMAP_F_CONDSTORE;
	s->search = xcalloc(1, sizeof(*s->search));
	*s->search = (struct imap_search_run){ .loop = s->srv->loop,
	    .root = root, .uid = cmd->uid, .modseq = modseq };
	ev_timer_init(&s->search->next, search_next_cb, 0., 0.);
	s->search->next.data = s;
	imap_buf_str(&s->out, "* SEARCH");
	search_step(s);
}
