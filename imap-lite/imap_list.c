/* SPDX-License-Identifier: ISC */
/*
 * LIST and LSUB (RFC 3501 6.3.8-9) with the parts of LIST-EXTENDED
 * (RFC 5258) that clients use: selection options SUBSCRIBED, REMOTE,
 * RECURSIVEMATCH and SPECIAL-USE (RFC 6154), return options SUBSCRIBED,
 * CHILDREN, SPECIAL-USE and STATUS (LIST-STATUS, RFC 5819), and several
 * patterns at once.
 *
 * A user has tens of folders, rarely thousands: the whole list is read
 * once per command, completed with the parents of nested names that do
 * not exist themselves (those are \Noselect), sorted, and matched against
 * the patterns.  Every entry carries \HasChildren or \HasNoChildren
 * (CHILDREN, RFC 3348) and its special-use attribute.  The aliases a user
 * created for special folders (imap_mailbox.c) are listed among the
 * mailboxes, matched and subscribed on their own.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "imap-lite/imap_session.h"
#include "mailstore/ms_imap.h"

#define SEL_SUBSCRIBED		0x01
#define SEL_RECURSIVE		0x02
#define SEL_SPECIAL		0x04
#define RET_SUBSCRIBED		0x10
#define RET_STATUS		0x20

struct list_entry {
	struct ms_mailbox_info info;	/* name, special_use: the copies below */
	char	*name;
	char	*special_use;
	bool	 exists;		/* false: only a parent of others */
	bool	 children;
	bool	 sub_children;		/* a descendant is subscribed */
};

struct list_set {
	struct list_entry *v;
	size_t	 n, cap;
};

static void
list_add(struct list_set *set, const struct ms_mailbox_info *mb, bool exists)
{
	struct list_entry *e;

	if (set->n == set->cap) {
		set->cap = set->cap < 16 ? 16 : set->cap * 2;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	e = &set->v[set->n++];
	*e = (struct list_entry){ .info = *mb, .exists = exists };
	e->info.name = e->name = xstrdup(mb->name);
	e->info.special_use = e->special_use = mb->special_use != NULL ?
	    xstrdup(mb->special_use) : NULL;
}

static void
list_collect_cb(void *arg, const struct ms_mailbox_info *mb)
{
	list_add(arg, mb, true);
}

/*
 * An alias the user created is listed like a mailbox: its own name and
 * subscription, the counts of the mailbox it names (for LIST-STATUS), no
 * special-use attribute (SPECIAL-USE clients keep to the folder itself)
 * and no children (an alias is one level and nothing is created under
 * it).  Called before the set is sorted: the mailboxes are all in it.
 */
static void
list_alias_cb(void *arg, const struct ms_mailbox_alias *a)
{
	struct list_set *set = arg;
	struct ms_mailbox_info info;
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].exists && set->v[i].info.id == a->mailbox_id)
			break;
	if (i == set->n)
		return;
	/* A copy: list_add() may move the entries. */
	info = set->v[i].info;
	info.name = a->name;
	info.special_use = NULL;
	info.subscribed = a->subscribed;
	list_add(set, &info, true);
}

static void
list_free(struct list_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->v[i].name);
		free(set->v[i].special_use);
	}
	free(set->v);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;

	return strcmp(x->info.name, y->info.name);
}

static struct list_entry *
list_find(struct list_set *set, const char *name)
{
	struct list_entry key = { .info.name = name };

	return bsearch(&key, set->v, set->n, sizeof(*set->v), entry_cmp);
}

/*
 * Read the user's mailboxes, add the missing parents of nested names,
 * sort by name and work out the children flags.
 */
static int
list_load(struct imap_session *s, struct list_set *set)
{
	struct ms_mailbox_info virt = { 0 };
	size_t i, n;
	int rc;

	rc = ms_mailbox_list(imap_store(s), s->user_id, list_collect_cb, set);
	if (rc == MS_OK)
		rc = ms_mailbox_alias_list(imap_store(s), s->user_id,
		    list_alias_cb, set);
	if (rc != MS_OK)
		return rc;
	qsort(set->v, set->n, sizeof(*set->v), entry_cmp);
	n = set->n;
	for (i = 0; i < n; i++) {
		char *name = xstrdup(set->v[i].info.name), *slash;

		while ((slash = strrchr(name, '/')) != NULL) {
			*slash = '\0';
			if (list_find(set, name) != NULL)
				break;
			virt.name = name;
			list_add(set, &virt, false);
			/* Keep bsearch valid for the next lookups. */
			qsort(set->v, set->n, sizeof(*set->v), entry_cmp);
		}
		free(name);
	}
	for (i = 0; i < set->n; i++) {
		struct list_entry *e = &set->v[i], *p;
		char *name = xstrdup(e->info.name), *slash;
		bool sub = e->exists && e->info.subscribed;

		while ((slash = strrchr(name, '/')) != NULL) {
			*slash = '\0';
			/* Every ancestor exists by now, at least as a
			 * parent entry, so each has a child. */
			if ((p = list_find(set, name)) == NULL)
				break;
			p->children = true;
			p->sub_children |= sub;
		}
		free(name);
	}
	return MS_OK;
}

/*
 * Does name match pattern?  '*' matches anything, '%' anything but the
 * hierarchy separator.  Positions are tracked as a set, so a pattern full
 * of wildcards costs length x length, never exponential time.
 */
static bool
list_match(const char *pat, const char *name)
{
	size_t n = strlen(name), j, k;
	bool *cur = xcalloc(n + 1, sizeof(bool));
	bool *nxt = xcalloc(n + 1, sizeof(bool)), *tmp, ok;

	cur[0] = true;
	for (; *pat != '\0'; pat++) {
		memset(nxt, 0, (n + 1) * sizeof(bool));
		for (j = 0; j <= n; j++) {
			if (!cur[j])
				continue;
			if (*pat == '*') {
				for (k = j; k <= n; k++)
					nxt[k] = true;
				break;
			} else if (*pat == '%') {
				nxt[j] = true;
				for (k = j; k < n && name[k] != '/'; k++)
					nxt[k + 1] = true;
			} else if (j < n && name[j] == *pat) {
				nxt[j + 1] = true;
			}
		}
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	ok = cur[n];
	free(cur);
	free(nxt);
	return ok;
}

/* Reference and pattern as one UTF-8 pattern with INBOX canonical. */
static char *
list_pattern(struct imap_session *s, const char *ref, const char *pat)
{
	char *r = imap_utf7_to_utf8(ref, &s->arena);
	char *p = imap_utf7_to_utf8(pat, &s->arena);
	char *full;
	size_t rl, pl;

	if (r == NULL || p == NULL)
		return NULL;
	rl = strlen(r);
	pl = strlen(p);
	full = imap_arena_alloc(&s->arena, rl + pl + 1);
	memcpy(full, r, rl);
	memcpy(full + rl, p, pl + 1);
	if (strncasecmp(full, "INBOX", 5) == 0 && (full[5] == '\0' ||
	    full[5] == '/'))
		memcpy(full, "INBOX", 5);
	return full;
}

static bool
list_matches_any(char *const *pats, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list_match(pats[i], name))
			return true;
	return false;
}

static void
list_send(struct imap_session *s, const char *verb, const struct list_entry *e,
    unsigned opts, bool lsub, bool childinfo)
{
	struct imap_buf *b = &s->out;
	const char *sep = "";

	imap_buf_printf(b, "* %s (", verb);
	if (!e->exists || (lsub && !e->info.subscribed)) {
		imap_buf_str(b, "\\Noselect");
		sep = " ";
	}
	if (!lsub) {
		imap_buf_printf(b, "%s%s", sep, e->children ? "\\HasChildren" :
		    "\\HasNoChildren");
		sep = " ";
		if ((opts & (SEL_SUBSCRIBED | RET_SUBSCRIBED)) && e->exists &&
		    e->info.subscribed)
			imap_buf_str(b, " \\Subscribed");
		if (e->exists && e->info.special_use != NULL)
			imap_buf_printf(b, " %s", e->info.special_use);
	}
	imap_buf_str(b, ") \"/\" ");
	imap_mailbox_put(s, b, e->info.name);
	if (childinfo)
		imap_buf_str(b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	imap_buf_str(b, "\r\n");
	if (s->out.len > IMAP_CHUNK)
		imap_flush(s);
}

/* Parse the selection or return options of LIST-EXTENDED. */
static bool
list_options(const struct imap_arg *arg, bool ret, unsigned *opts,
    unsigned *status_items)
{
	size_t i;

	if (arg->type != IMAP_ARG_LIST)
		return false;
	for (i = 0; i < arg->n; i++) {
		const struct imap_arg *o = &arg->list[i];

		if (o->type != IMAP_ARG_ATOM)
			return false;
		if (strcasecmp(o->str, "SUBSCRIBED") == 0)
			*opts |= ret ? RET_SUBSCRIBED : SEL_SUBSCRIBED;
		else if (!ret && strcasecmp(o->str, "REMOTE") == 0)
			continue;
		else if (!ret && strcasecmp(o->str, "RECURSIVEMATCH") == 0)
			*opts |= SEL_RECURSIVE;
		else if (strcasecmp(o->str, "SPECIAL-USE") == 0)
			*opts |= ret ? 0 : SEL_SPECIAL;
		else if (ret && strcasecmp(o->str, "CHILDREN") == 0)
			continue;
		else if (ret && strcasecmp(o->str, "STATUS") == 0 &&
		    i + 1 < arg->n && imap_status_items(&arg->list[i + 1],
		    status_items)) {
			*opts |= RET_STATUS;
			i++;
		} else
			return false;
	}
	/* RFC 5258 3: RECURSIVEMATCH needs another selection option. */
	return !(*opts & SEL_RECURSIVE) ||
	    (*opts & (SEL_SUBSCRIBED | SEL_SPECIAL));
}

/* Is a subscribed descendant of e listed in its own right? */
static bool
list_sub_child_shown(const struct list_set *set, const struct list_entry *e,
    char *const *pats, size_t npats)
{
	size_t i, len = strlen(e->info.name);

	for (i = 0; i < set->n; i++) {
		const struct list_entry *c = &set->v[i];

		if (c->exists && c->info.subscribed &&
		    strncmp(c->info.name, e->info.name, len) == 0 &&
		    c->info.name[len] == '/' &&
		    list_matches_any(pats, npats, c->info.name))
			return true;
	}
	return false;
}

/* Run a listing: patterns already combined with the reference. */
static void
list_run(struct imap_session *s, char *const *pats, size_t npats,
    unsigned opts, unsigned status_items, bool lsub)
{
	const char *verb = lsub ? "LSUB" : "LIST";
	struct list_set set = { 0 };
	size_t i;

	if (list_load(s, &set) != MS_OK) {
		list_free(&set);
		imap_cmd_done(s, "NO [SERVERBUG] Cannot list mailboxes.");
		return;
	}
	/* INBOX first, as clients show it. */
	for (i = 1; i < set.n; i++) {
		if (strcmp(set.v[i].info.name, "INBOX") == 0) {
			struct list_entry t = set.v[i];

			memmove(&set.v[1], &set.v[0], i * sizeof(*set.v));
			set.v[0] = t;
			break;
		}
	}
	for (i = 0; i < set.n; i++) {
		struct list_entry *e = &set.v[i];
		bool selected, childinfo = false;

		if (!list_matches_any(pats, npats, e->info.name))
			continue;
		selected = true;
		if (lsub || (opts & SEL_SUBSCRIBED))
			selected = e->exists && e->info.subscribed;
		if ((opts & SEL_SPECIAL) && (!e->exists ||
		    e->info.special_use == NULL))
			selected = false;
		if ((opts & SEL_RECURSIVE) && e->sub_children)
			childinfo = true;
		/* A parent whose subscribed descendant the pattern does not
		 * reach ("%") is shown for it: as \Noselect in LSUB (RFC 3501
		 * 6.3.9), with CHILDINFO under RECURSIVEMATCH (RFC 5258). */
		if (!selected && e->sub_children && (lsub || childinfo) &&
		    !list_sub_child_shown(&set, e, pats, npats))
			selected = true;
		if (!selected)
			continue;
		list_send(s, verb, e, opts, lsub, childinfo);
		if ((opts & RET_STATUS) && e->exists)
			imap_status_send(s, e->info.name, &e->info,
			    status_items);
	}
	list_free(&set);
	imap_flush(s);
	imap_cmd_done(s, "OK %s completed.", verb);
}

/* The pattern argument: one astring or a list of them. */
static size_t
list_patterns(struct imap_session *s, const char *ref, const struct imap_arg *arg,
    char ***pats_r)
{
	const struct imap_arg *items = arg;
	size_t n = 1, i;
	char **pats;

	if (arg->type == IMAP_ARG_LIST) {
		items = arg->list;
		n = arg->n;
	}
	if (n == 0)
		return 0;
	pats = imap_arena_alloc(&s->arena, n * sizeof(*pats));
	for (i = 0; i < n; i++) {
		const char *p = imap_arg_astring(&items[i]);

		if (p == NULL || (pats[i] = list_pattern(s, ref, p)) == NULL)
			return 0;
	}
	*pats_r = pats;
	return n;
}

void
imap_cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	unsigned opts = 0, status_items = 0;
	const struct imap_arg *a = cmd->args;
	size_t n = cmd->nargs, npats;
	const char *ref;
	char **pats;

	if (n > 0 && a[0].type == IMAP_ARG_LIST) {
		if (!list_options(&a[0], false, &opts, &status_items)) {
			imap_cmd_bad(s, "Invalid LIST selection options");
			return;
		}
		a++;
		n--;
	}
	if (n == 4 && a[2].type == IMAP_ARG_ATOM &&
	    strcasecmp(a[2].str, "RETURN") == 0) {
		if (!list_options(&a[3], true, &opts, &status_items)) {
			imap_cmd_bad(s, "Invalid LIST return options");
			return;
		}
		n = 2;
	}
	if (n != 2 || (ref = imap_arg_astring(&a[0])) == NULL) {
		imap_cmd_bad(s, "LIST takes a reference and a pattern");
		return;
	}
	/* An empty pattern asks for the delimiter (RFC 3501 6.3.8). */
	if (a[1].type != IMAP_ARG_LIST && imap_arg_astring(&a[1]) != NULL &&
	    imap_arg_astring(&a[1])[0] == '\0') {
		imap_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		imap_cmd_done(s, "OK LIST completed.");
		return;
	}
	if ((npats = list_patterns(s, ref, &a[1], &pats)) == 0) {
		imap_cmd_bad(s, "Invalid LIST pattern");
		return;
	}
	if (opts & RET_STATUS)
		s->flags |= (status_items & IMAP_STATUS_HIGHESTMODSEQ) ?
		    IMAP_F_CONDSTORE : 0;
	list_run(s, pats, npats, opts, status_items, false);
}

void
imap_cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	const char *ref;
	char **pats;

	if (cmd->nargs != 2 || cmd->args[1].type == IMAP_ARG_LIST ||
	    (ref = imap_arg_astring(&cmd->args[0])) == NULL) {
		imap_cmd_bad(s, "LSUB takes a reference and a pattern");
		return;
	}
	if (list_patterns(s, ref, &cmd->args[1], &pats) != 1) {
		imap_cmd_bad(s, "Invalid LSUB pattern");
		return;
	}
	list_run(s, pats, 1, 0, 0, true);
}
