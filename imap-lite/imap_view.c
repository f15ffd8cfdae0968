/* SPDX-License-Identifier: ISC */
/*
 * The selected mailbox as one client sees it, and how it follows the
 * store.
 *
 * A view is the array of messages the client knows, by ascending uid, so
 * a message's sequence number is its index + 1.  It changes only at
 * points the protocol allows: new messages are appended (EXISTS), flag
 * changes made elsewhere are reported (FETCH), and messages expunged
 * elsewhere are first only marked IMAP_MSG_EXPUNGED and removed (EXPUNGE)
 * when RFC 3501 7.4.1 lets us renumber: never during FETCH, STORE or
 * SEARCH, which would shift the numbers under the client's feet.
 *
 * Following the store costs nothing while nothing happens.  The mailstore
 * writer calls one change hook after each commit with the mailboxes it
 * touched; a small registry (mailbox id -> views) marks those views dirty
 * and wakes the ones in IDLE at once.  A sync asks the store only for the
 * changes since the view's modseq (ms_mailbox_changes), never for the
 * whole mailbox, and is skipped when HIGHESTMODSEQ did not move.
 *
 * \Recent (RFC 3501 2.3.2) lives in the registry too: per mailbox the
 * highest uid some session has already announced as recent.  A read-write
 * view claims what is above it; a read-only one (EXAMINE) shows it as
 * recent without claiming it (RFC 3501 6.3.2).  Each claim is also written
 * to the mailbox row, without waiting, so that after a restart the mail
 * that nobody has seen yet is still new to the first session.
 *
 * The registry also keeps, per mailbox, the catalog: one imap_msg_info
 * (size, date, modseq, message id) per message any view holds, shared by
 * all the views, so that a view itself costs 8 bytes a message and a
 * thousand sessions on one big INBOX do not hold a thousand copies.  Each
 * entry counts the views holding its uid; an entry no view holds is a free
 * slot until the next squeeze, and the catalog goes with the last view.
 *
 * The store keeps a tombstone per expunged uid so that views learn of
 * expunges; only live views need them, so the registry has them pruned:
 * all of a mailbox's when its last view closes, and below the oldest
 * view's modseq now and then while views stay open for days (an IDLEing
 * desktop client).
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <ev.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_session.h"
#include "mailstore/ms_imap.h"

#define WATCH_BUCKETS	1024
/* Free catalog slots are squeezed out once there are this many and they
 * are a quarter of the catalog. */
#define CATALOG_SQUEEZE	256
/* With views open, tombstones are pruned after this many expunges seen,
 * at most once per PRUNE_INTERVAL seconds. */
#define PRUNE_EXPUNGES	1000
#define PRUNE_INTERVAL	600.

/* The shared imap_msg_info of the messages the views hold, by uid. */
struct imap_catalog {
	struct imap_msg_info *e;
	size_t		 n, cap;
	size_t		 n_free;	/* entries with refs == 0 */
	size_t		 hint;		/* where the last lookup ended */
};

/* A mailbox some session has selected (now or earlier). */
struct imap_watch {
	ms_id		 mailbox_id;
	uint32_t	 recent_uid;	/* highest uid announced as \Recent */
	LIST_HEAD(, imap_view) views;	/* sessions that have it selected */
	size_t		 n_views;
	struct imap_catalog cat;	/* empty while no view is open */
	size_t		 n_expunges;	/* seen by the views since the last prune */
	ev_tstamp	 pruned_at;
	struct imap_watch *next;	/* hash chain */
};

static struct imap_watch *watches[WATCH_BUCKETS];
static struct ms_store *watched_store;

static struct imap_watch **
watch_slot(ms_id id)
{
	struct imap_watch **wp = &watches[(uint64_t)id % WATCH_BUCKETS];

	while (*wp != NULL && (*wp)->mailbox_id != id)
		wp = &(*wp)->next;
	return wp;
}

static struct imap_watch *
watch_get(ms_id id, uint32_t recent_uid)
{
	struct imap_watch **wp = watch_slot(id);

	if (*wp == NULL) {
		/* First select since start: the row says what was announced
		 * before (it can lag behind only while the daemon runs, and
		 * then the watch exists). */
		*wp = xcalloc(1, sizeof(**wp));
		(*wp)->mailbox_id = id;
		(*wp)->recent_uid = recent_uid;
		LIST_INIT(&(*wp)->views);
	}
	return *wp;
}

/* ------------------------------------------------------------ catalog */

/*
 * The view's messages, its keyword entries and the catalog are arrays of
 * structs that start with their uid, in ascending uid order: one binary
 * search serves all three.  Returns the first index whose uid is >= uid.
 */
_Static_assert(offsetof(struct imap_msg, uid) == 0, "uid first");
_Static_assert(offsetof(struct imap_msg_info, uid) == 0, "uid first");
_Static_assert(offsetof(struct imap_kw_entry, uid) == 0, "uid first");

static size_t
uid_lower_bound(const void *base, size_t n, size_t size, uint32_t uid)
{
	const unsigned char *p = base;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t u;

		memcpy(&u, p + mid * size, sizeof(u));
		if (u < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First catalog index whose uid is >= uid. */
static size_t
cat_lower_bound(const struct imap_catalog *c, uint32_t uid)
{
	/* Views load and grow in uid order: the end is the usual place. */
	if (c->n == 0 || c->e[c->n - 1].uid < uid)
		return c->n;
	return uid_lower_bound(c->e, c->n, sizeof(*c->e), uid);
}

/* A view takes message m: count it, adding the entry if it is new. */
static void
cat_ref(struct imap_catalog *c, const struct ms_msg *m)
{
	size_t pos = cat_lower_bound(c, m->uid);
	struct imap_msg_info *e;

	if (pos < c->n && c->e[pos].uid == m->uid) {
		e = &c->e[pos];
		if (e->refs++ == 0)
			c->n_free--;
		if (m->modseq > e->modseq)
			e->modseq = m->modseq;
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap < 16 ? 16 : c->cap + c->cap / 2;
		c->e = xreallocarray(c->e, c->cap, sizeof(*c->e));
	}
	memmove(&c->e[pos + 1], &c->e[pos], (c->n - pos) * sizeof(*c->e));
	c->n++;
	c->e[pos] = (struct imap_msg_info){
		.uid = m->uid,
		.refs = 1,
		.size = m->size > UINT32_MAX ? UINT32_MAX : (uint32_t)m->size,
		.date = m->internaldate < 0 ? 0 : m->internaldate > UINT32_MAX ?
		    UINT32_MAX : (uint32_t)m->internaldate,
		.modseq = m->modseq,
		.message_id = m->message_id,
	};
}

static struct imap_msg_info *
cat_find(struct imap_catalog *c, uint32_t uid)
{
	size_t pos = c->hint;

	/* FETCH and SEARCH walk in uid order: try where the last lookup
	 * ended and the entry after it before searching. */
	if (pos < c->n && c->e[pos].uid == uid)
		return &c->e[pos];
	if (++pos < c->n && c->e[pos].uid == uid) {
		c->hint = pos;
		return &c->e[pos];
	}
	pos = cat_lower_bound(c, uid);
	if (pos < c->n && c->e[pos].uid == uid) {
		c->hint = pos;
		return &c->e[pos];
	}
	return NULL;
}

/* A view lets go of uid. */
static void
cat_unref(struct imap_catalog *c, uint32_t uid)
{
	struct imap_msg_info *e = cat_find(c, uid);

	if (e != NULL && e->refs > 0 && --e->refs == 0)
		c->n_free++;
}

/* Drop the free slots when there are enough of them to be worth a pass. */
static void
cat_squeeze(struct imap_catalog *c)
{
	size_t i, j = 0;

	if (c->n_free < CATALOG_SQUEEZE || c->n_free < c->n / 4)
		return;
	for (i = 0; i < c->n; i++)
		if (c->e[i].refs > 0)
			c->e[j++] = c->e[i];
	c->n = j;
	c->n_free = 0;
}

static void
cat_free(struct imap_catalog *c)
{
	free(c->e);
	*c = (struct imap_catalog){ 0 };
}

const struct imap_msg_info *
imap_view_info(const struct imap_view *v, size_t idx)
{
	const struct imap_msg_info *e;

	e = cat_find(&v->watch->cat, v->msgs[idx].uid);
	/* Every uid a view holds has its entry: a broken count is a bug
	 * that would otherwise show as a wrong message. */
	if (e == NULL)
		fatalx("imap view: uid %u missing from the catalog",
		    v->msgs[idx].uid);
	return e;
}

/* The change hook: mark the views, wake the sessions in IDLE. */
static void
imap_view_changed(void *arg, const ms_id *ids, size_t n)
{
	struct imap_watch *w;
	struct imap_view *v;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((w = *watch_slot(ids[i])) == NULL)
			continue;
		LIST_FOREACH(v, &w->views, entry) {
			v->dirty = true;
			if (v->s->flags & IMAP_F_IDLE)
				imap_idle_wake(v->s);
		}
	}
}

void
imap_view_hook_install(struct ms_store *ms)
{
	size_t i;

	/* A different store (tests open one per case): forget the recent
	 * marks of the old one; watches with live views cannot exist then. */
	if (ms != watched_store) {
		for (i = 0; i < WATCH_BUCKETS; i++) {
			struct imap_watch **wp = &watches[i];

			while (*wp != NULL) {
				struct imap_watch *w = *wp;

				if (!LIST_EMPTY(&w->views)) {
					wp = &w->next;
					continue;
				}
				*wp = w->next;
				free(w);
			}
		}
		watched_store = ms;
	}
	ms_set_change_hook(ms, imap_view_changed, NULL);
}

/* ------------------------------------------------------------ keywords */

static ssize_t
kw_find(const struct imap_view *v, uint32_t uid)
{
	size_t k = uid_lower_bound(v->kw, v->n_kw, sizeof(*v->kw), uid);

	return k < v->n_kw && v->kw[k].uid == uid ? (ssize_t)k : -1;
}

/* Remember keyword names for FLAGS; true when one was new. */
static bool
names_learn(struct imap_view *v, const char *keywords)
{
	const char *p = keywords;
	bool learned = false;
	size_t i;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		for (i = 0; i < v->n_names; i++)
			if (strlen(v->names[i]) == n &&
			    strncasecmp(v->names[i], p, n) == 0)
				break;
		if (n > 0 && i == v->n_names) {
			v->names = xreallocarray(v->names, v->n_names + 1,
			    sizeof(*v->names));
			v->names[v->n_names++] = xstrndup(p, n);
			learned = true;
		}
		p += n;
		p += strspn(p, " ");
	}
	return learned;
}

/* Set the keywords of message idx; true when a new name appeared. */
static bool
kw_set(struct imap_view *v, size_t idx, const char *keywords)
{
	struct imap_msg *m = &v->msgs[idx];
	ssize_t k = kw_find(v, m->uid);
	size_t pos;

	if (keywords == NULL || keywords[0] == '\0') {
		if (k >= 0) {
			free(v->kw[k].kw);
			memmove(&v->kw[k], &v->kw[k + 1],
			    (v->n_kw - (size_t)k - 1) * sizeof(*v->kw));
			v->n_kw--;
		}
		m->flags &= ~IMAP_MSG_KEYWORDS;
		return false;
	}
	m->flags |= IMAP_MSG_KEYWORDS;
	if (k >= 0) {
		free(v->kw[k].kw);
		v->kw[k].kw = xstrdup(keywords);
		return names_learn(v, keywords);
	}
	/* Insert in uid order; usually at the end. */
	pos = v->n_kw;
	while (pos > 0 && v->kw[pos - 1].uid > m->uid)
		pos--;
	v->kw = xreallocarray(v->kw, v->n_kw + 1, sizeof(*v->kw));
	memmove(&v->kw[pos + 1], &v->kw[pos], (v->n_kw - pos) * sizeof(*v->kw));
	v->kw[pos] = (struct imap_kw_entry){ .uid = m->uid,
	    .kw = xstrdup(keywords) };
	v->n_kw++;
	return names_learn(v, keywords);
}

const char *
imap_view_keywords(const struct imap_view *v, size_t idx)
{
	ssize_t k;

	if (!(v->msgs[idx].flags & IMAP_MSG_KEYWORDS))
		return "";
	k = kw_find(v, v->msgs[idx].uid);
	return k >= 0 ? v->kw[k].kw : "";
}

/* --------------------------------------------------------------- flags */

static const struct {
	uint32_t bit;
	const char *name;
} sysflags[] = {
	{ MS_FLAG_SEEN, "\\Seen" },
	{ MS_FLAG_ANSWERED, "\\Answered" },
	{ MS_FLAG_FLAGGED, "\\Flagged" },
	{ MS_FLAG_DELETED, "\\Deleted" },
	{ MS_FLAG_DRAFT, "\\Draft" },
	{ IMAP_MSG_RECENT, "\\Recent" },
};

void
imap_view_put_flags(const struct imap_view *v, struct imap_buf *b, size_t idx)
{
	const struct imap_msg *m = &v->msgs[idx];
	const char *kw;
	bool first = true;
	size_t i;

	imap_buf_add(b, "(", 1);
	for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++) {
		if (!(m->flags & sysflags[i].bit))
			continue;
		if (!first)
			imap_buf_add(b, " ", 1);
		imap_buf_str(b, sysflags[i].name);
		first = false;
	}
	kw = imap_view_keywords(v, idx);
	if (kw[0] != '\0') {
		if (!first)
			imap_buf_add(b, " ", 1);
		imap_buf_str(b, kw);
	}
	imap_buf_add(b, ")", 1);
}

void
imap_view_update(struct imap_view *v, size_t idx, uint32_t flags,
    const char *keywords, uint64_t modseq)
{
	struct imap_msg *m = &v->msgs[idx];

	struct imap_msg_info *e = cat_find(&v->watch->cat, m->uid);

	m->flags = (m->flags & ~IMAP_MSG_SYSTEM) | (flags & IMAP_MSG_SYSTEM);
	if (kw_set(v, idx, keywords))
		v->names_changed = true;
	if (e != NULL && modseq > e->modseq)
		e->modseq = modseq;
}

void
imap_view_stored(struct imap_view *v, const struct ms_flag_change *c)
{
	ssize_t idx = imap_view_find(v, c->uid);

	if (idx < 0)
		return;
	imap_view_update(v, (size_t)idx, c->flags, c->keywords, c->modseq);
	if (v->msgs[idx].flags & IMAP_MSG_CHANGED) {
		v->msgs[idx].flags &= ~IMAP_MSG_CHANGED;
		v->n_changed--;
	}
}

void
imap_view_send_flags(struct imap_session *s)
{
	struct imap_view *v = s->view;
	struct imap_buf *b = &s->out;
	size_t i;

	imap_flush(s);
	imap_buf_str(b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft");
	for (i = 0; i < v->n_names; i++)
		imap_buf_printf(b, " %s", v->names[i]);
	imap_buf_str(b, ")\r\n* OK [PERMANENTFLAGS (");
	if (!v->readonly) {
		imap_buf_str(b, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
		for (i = 0; i < v->n_names; i++)
			imap_buf_printf(b, " %s", v->names[i]);
		imap_buf_str(b, " \\*");
	}
	imap_buf_str(b, ")] Flags permitted.\r\n");
	imap_flush(s);
	v->names_changed = false;
}

/* ------------------------------------------------------------- lookup */

ssize_t
imap_view_find(const struct imap_view *v, uint32_t uid)
{
	size_t i = uid_lower_bound(v->msgs, v->n, sizeof(*v->msgs), uid);

	return i < v->n && v->msgs[i].uid == uid ? (ssize_t)i : -1;
}

/* First index whose uid is >= uid. */
static size_t
view_lower_bound(const struct imap_view *v, uint32_t uid)
{
	return uid_lower_bound(v->msgs, v->n, sizeof(*v->msgs), uid);
}

bool
imap_view_set(struct imap_session *s, const struct imap_arg *arg, bool uid,
    struct imap_seqset *set_r, const char **error_r)
{
	const struct imap_view *v = s->view;
	size_t i;

	if (arg->type != IMAP_ARG_ATOM ||
	    !imap_seqset_parse(arg->str, &s->arena, set_r)) {
		*error_r = "Invalid sequence set";
		return false;
	}
	if (uid) {
		imap_seqset_resolve(set_r, v->n > 0 ? v->msgs[v->n - 1].uid : 0);
		return true;
	}
	if (v->n == 0) {
		*error_r = "No messages in the mailbox";
		return false;
	}
	imap_seqset_resolve(set_r, (uint32_t)v->n);
	for (i = 0; i < set_r->n; i++) {
		if (set_r->r[i].lo == 0 || set_r->r[i].hi > v->n) {
			*error_r = "Invalid message sequence number";
			return false;
		}
	}
	return true;
}

void
imap_view_iter_init(struct imap_view_iter *it, const struct imap_seqset *set,
    bool uid)
{
	*it = (struct imap_view_iter){ .set = set, .uid = uid, .idx = SIZE_MAX };
}

bool
imap_view_iter_next(const struct imap_view *v, struct imap_view_iter *it,
    size_t *idx_r)
{
	while (it->r < it->set->n) {
		const struct imap_seq_range *rg = &it->set->r[it->r];

		if (it->idx == SIZE_MAX)
			it->idx = it->uid ? view_lower_bound(v, rg->lo) :
			    (size_t)rg->lo - 1;
		if (it->idx < v->n && (it->uid ? v->msgs[it->idx].uid <= rg->hi :
		    it->idx < rg->hi)) {
			*idx_r = it->idx++;
			return true;
		}
		it->r++;
		it->idx = SIZE_MAX;
	}
	return false;
}

/* ---------------------------------------------------------- open, close */

/* Add a message at the end; true when it brought a new keyword name. */
static bool
view_append(struct imap_view *v, const struct ms_msg *m, const char *keywords)
{
	struct imap_msg *im;

	if (v->n == v->cap) {
		v->cap = v->cap < 16 ? 16 : v->cap * 2;
		v->msgs = xreallocarray(v->msgs, v->cap, sizeof(*v->msgs));
	}
	im = &v->msgs[v->n++];
	*im = (struct imap_msg){
		.uid = m->uid,
		.flags = m->flags & IMAP_MSG_SYSTEM,
	};
	cat_ref(&v->watch->cat, m);
	return kw_set(v, v->n - 1, keywords);
}

static void
view_load_cb(void *arg, const struct ms_msg *m, const char *keywords)
{
	(void)view_append(arg, m, keywords);
}

/* Messages up to uid have been announced as recent by this view: no other
 * session may see them as recent, now or after a restart. */
static void
view_claim_recent(struct imap_view *v, uint32_t uid)
{
	struct imap_watch *w = v->watch;

	if (v->readonly || uid <= w->recent_uid)
		return;
	w->recent_uid = uid;
	ms_mailbox_set_recent(imap_store(v->s), w->mailbox_id, uid);
}

int
imap_view_open(struct imap_session *s, const struct ms_mailbox_info *mb,
    bool readonly, struct imap_view **view_r)
{
	struct ms_store *ms = imap_store(s);
	struct imap_view *v;
	struct imap_watch *w;
	uint64_t hms;
	uint32_t uidnext, uidvalidity;
	size_t i;
	int rc;

	/* The state first: a commit racing with the listing below is then
	 * seen again by the next sync, which is harmless. */
	rc = ms_mailbox_state(ms, mb->id, &uidnext, &hms, &uidvalidity);
	if (rc != MS_OK)
		return rc;
	v = xcalloc(1, sizeof(*v));
	v->s = s;
	v->mailbox_id = mb->id;
	v->readonly = readonly;
	v->uidvalidity = uidvalidity;
	v->modseq = hms;
	if (mb->messages > 0) {
		v->cap = mb->messages + 8;
		v->msgs = xreallocarray(NULL, v->cap, sizeof(*v->msgs));
	}
	/* Registered before loading: the messages go into the catalog. */
	w = watch_get(mb->id, mb->recent_uid);
	v->watch = w;
	LIST_INSERT_HEAD(&w->views, v, entry);
	w->n_views++;
	rc = ms_mailbox_changes(ms, mb->id, 0, view_load_cb, NULL, v);
	if (rc != MS_OK) {
		v->s = NULL;
		imap_view_close(&v);
		return rc;
	}
	if (v->n > 0 && v->msgs[v->n - 1].uid >= uidnext)
		uidnext = v->msgs[v->n - 1].uid + 1;
	v->uidnext = uidnext;

	for (i = 0; i < v->n; i++) {
		if (v->msgs[i].uid > w->recent_uid) {
			v->msgs[i].flags |= IMAP_MSG_RECENT;
			v->n_recent++;
		}
	}
	if (v->n > 0)
		view_claim_recent(v, v->msgs[v->n - 1].uid);
	v->exists = v->n;
	v->recent_sent = v->n_recent;
	*view_r = v;
	return MS_OK;
}

void
imap_view_close(struct imap_view **vp)
{
	struct imap_view *v = *vp;
	size_t i;

	if (v == NULL)
		return;
	if (v->watch != NULL) {
		struct imap_watch *w = v->watch;

		LIST_REMOVE(v, entry);
		if (--w->n_views == 0) {
			cat_free(&w->cat);
			/* Nobody is left to learn of these expunges. */
			if (w->n_expunges > 0 && watched_store != NULL)
				(void)ms_tombstones_prune(watched_store,
				    w->mailbox_id, UINT64_MAX, NULL, NULL);
			w->n_expunges = 0;
		} else {
			for (i = 0; i < v->n; i++)
				cat_unref(&w->cat, v->msgs[i].uid);
			cat_squeeze(&w->cat);
		}
	}
	for (i = 0; i < v->n_kw; i++)
		free(v->kw[i].kw);
	for (i = 0; i < v->n_names; i++)
		free(v->names[i]);
	free(v->kw);
	free(v->names);
	free(v->msgs);
	free(v);
	*vp = NULL;
}

size_t
imap_view_memory(const struct imap_view *v)
{
	size_t n, i;

	if (v == NULL)
		return 0;
	n = sizeof(*v) + v->cap * sizeof(*v->msgs) + v->n_kw * sizeof(*v->kw) +
	    v->n_names * sizeof(*v->names);
	/* This view's share of the catalog. */
	if (v->watch != NULL && v->watch->n_views > 0)
		n += v->watch->cat.cap * sizeof(*v->watch->cat.e) /
		    v->watch->n_views;
	for (i = 0; i < v->n_kw; i++)
		n += strlen(v->kw[i].kw) + 1;
	for (i = 0; i < v->n_names; i++)
		n += strlen(v->names[i]) + 1;
	return n;
}

uint32_t
imap_view_recent_count(struct imap_session *s, const struct ms_mailbox_info *mb)
{
	struct imap_watch *w = *watch_slot(mb->id);
	uint32_t mark = w != NULL ? w->recent_uid : mb->recent_uid, count;

	if (mb->uidnext == 0 || mb->uidnext - 1 <= mark)
		return 0;
	if (ms_mailbox_count_above(imap_store(s), mb->id, mark,
	    &count) != MS_OK)
		return 0;
	return count;
}

/* ---------------------------------------------------------------- sync */

/* Drop the messages marked expunged, announcing each unless silent. */
static void
view_compact(struct imap_session *s, bool silent)
{
	struct imap_view *v = s->view;
	size_t i, j = 0;

	imap_flush(s);
	for (i = 0; i < v->n; i++) {
		struct imap_msg *m = &v->msgs[i];

		if (!(m->flags & IMAP_MSG_EXPUNGED)) {
			v->msgs[j++] = *m;
			continue;
		}
		/* After the earlier removals this message is number j + 1. */
		if (!silent)
			imap_buf_printf(&s->out, "* %zu EXPUNGE\r\n", j + 1);
		if (m->flags & IMAP_MSG_KEYWORDS)
			(void)kw_set(v, i, NULL);
		cat_unref(&v->watch->cat, m->uid);
		if (m->flags & IMAP_MSG_RECENT)
			v->n_recent--;
		if (v->exists > 0)
			v->exists--;
		if (s->out.len > IMAP_CHUNK)
			imap_flush(s);
	}
	v->n = j;
	v->n_expunged = 0;
	cat_squeeze(&v->watch->cat);
	if (v->recent_sent > v->n_recent)
		v->recent_sent = v->n_recent;
	imap_flush(s);
}

static void
sync_changed(void *arg, const struct ms_msg *m, const char *keywords)
{
	struct imap_view *v = arg;
	struct imap_msg *im;
	ssize_t idx = imap_view_find(v, m->uid);

	if (idx < 0) {
		/* Uids only grow: anything unknown below our last one was
		 * expunged again before we heard of it. */
		if (v->n > 0 && m->uid <= v->msgs[v->n - 1].uid)
			return;
		if (view_append(v, m, keywords))
			v->names_changed = true;
		if (m->uid > v->watch->recent_uid) {
			v->msgs[v->n - 1].flags |= IMAP_MSG_RECENT;
			v->n_recent++;
		}
		return;
	}
	im = &v->msgs[idx];
	if (im->flags & IMAP_MSG_EXPUNGED)
		return;
	/* Our own STOREs come back here too: only a real difference is
	 * news for the client. */
	if ((im->flags & IMAP_MSG_SYSTEM) != (m->flags & IMAP_MSG_SYSTEM) ||
	    strcmp(imap_view_keywords(v, (size_t)idx),
	    keywords != NULL ? keywords : "") != 0) {
		imap_view_update(v, (size_t)idx, m->flags, keywords, m->modseq);
		if (!(im->flags & IMAP_MSG_CHANGED))
			v->n_changed++;
		im->flags |= IMAP_MSG_CHANGED;
	} else {
		struct imap_msg_info *e = cat_find(&v->watch->cat, m->uid);

		if (e != NULL && m->modseq > e->modseq)
			e->modseq = m->modseq;
	}
}

static void
sync_expunged(void *arg, uint32_t uid)
{
	struct imap_view *v = arg;
	ssize_t idx = imap_view_find(v, uid);

	if (idx < 0 || (v->msgs[idx].flags & IMAP_MSG_EXPUNGED))
		return;
	if (v->msgs[idx].flags & IMAP_MSG_CHANGED)
		v->n_changed--;
	v->msgs[idx].flags |= IMAP_MSG_EXPUNGED;
	v->msgs[idx].flags &= ~IMAP_MSG_CHANGED;
	v->n_expunged++;
	v->watch->n_expunges++;
}

/* Tombstones below the oldest modseq the views of w have seen serve no
 * one; forget them once enough have piled up. */
static void
view_prune_tombstones(struct imap_session *s, struct imap_watch *w)
{
	struct imap_view *v;
	uint64_t oldest = UINT64_MAX;
	ev_tstamp now = ev_now(s->srv->loop);

	if (w->n_expunges < PRUNE_EXPUNGES ||
	    (w->pruned_at > 0 && now - w->pruned_at < PRUNE_INTERVAL))
		return;
	LIST_FOREACH(v, &w->views, entry)
		if (v->modseq < oldest)
			oldest = v->modseq;
	if (oldest == UINT64_MAX)
		return;
	(void)ms_tombstones_prune(imap_store(s), w->mailbox_id, oldest + 1,
	    NULL, NULL);
	w->n_expunges = 0;
	w->pruned_at = now;
}

int
imap_view_sync(struct imap_session *s, bool allow_expunge)
{
	struct imap_view *v = s->view;
	uint32_t uidnext, uidvalidity;
	uint64_t hms;
	size_t i;
	int rc;

	rc = ms_mailbox_state(imap_store(s), v->mailbox_id, &uidnext, &hms,
	    &uidvalidity);
	if (rc == MS_NOT_FOUND || (rc == MS_OK &&
	    uidvalidity != v->uidvalidity)) {
		imap_close(s, "mailbox-deleted", "Selected mailbox was deleted.");
		return -1;
	}
	if (rc == MS_OK && hms != v->modseq) {
		if (ms_mailbox_changes(imap_store(s), v->mailbox_id, v->modseq,
		    sync_changed, sync_expunged, v) == MS_OK)
			v->modseq = hms;
		if (v->n > 0)
			view_claim_recent(v, v->msgs[v->n - 1].uid);
		view_prune_tombstones(s, v->watch);
	}
	v->dirty = false;

	if (allow_expunge && v->n_expunged > 0)
		view_compact(s, false);
	imap_flush(s);
	if (v->names_changed)
		imap_view_send_flags(s);
	if (v->n != v->exists) {
		imap_buf_printf(&s->out, "* %zu EXISTS\r\n", v->n);
		v->exists = v->n;
	}
	if (v->n_recent != v->recent_sent) {
		imap_buf_printf(&s->out, "* %zu RECENT\r\n", v->n_recent);
		v->recent_sent = v->n_recent;
	}
	for (i = 0; i < v->n && v->n_changed > 0; i++) {
		struct imap_msg *m = &v->msgs[i];

		if (!(m->flags & IMAP_MSG_CHANGED))
			continue;
		m->flags &= ~IMAP_MSG_CHANGED;
		v->n_changed--;
		imap_buf_printf(&s->out, "* %zu FETCH (UID %u FLAGS ", i + 1,
		    m->uid);
		imap_view_put_flags(v, &s->out, i);
		if (s->flags & IMAP_F_CONDSTORE)
			imap_buf_printf(&s->out, " MODSEQ (%llu)",
			    (unsigned long long)imap_view_info(v, i)->modseq);
		imap_buf_str(&s->out, ")\r\n");
		if (s->out.len > IMAP_CHUNK)
			imap_flush(s);
	}
	imap_flush(s);
	return 0;
}

void
imap_view_remove(struct imap_session *s, const uint32_t *uids, size_t n,
    bool silent)
{
	struct imap_view *v = s->view;
	size_t i;

	for (i = 0; i < n; i++)
		sync_expunged(v, uids[i]);
	if (v->n_expunged > 0)
		view_compact(s, silent);
}
