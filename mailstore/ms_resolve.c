/* SPDX-License-Identifier: ISC */
/*
 * Recipient resolution: from an envelope address in a local domain to the
 * users (and outside addresses) that get the message.
 *
 * For one address, in order, until something matches:
 *   1. the address itself: the user of that name gets it, and every alias
 *      target of that name is resolved in turn (both, if both exist: an
 *      alias on a user's own address forwards a copy);
 *   2. the same without its "+detail" ("alice+lists@d" -> "alice@d");
 *   3. the domain's catch-all "@d" aliases.
 * Alias targets outside the local domains become remote recipients.  Each
 * address is expanded once per resolution (loops end there), chains stop
 * at MS_ALIAS_DEPTH, and a user or remote address already in the output
 * list is not added twice.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms_addr.h"
#include "mailstore/ms_internal.h"

#define MS_ALIAS_DEPTH	10

struct resolve {
	struct ms_store	*ms;
	bool		 catchall;
	struct ms_rcpt_list *out;
	char		**seen;		/* addresses already expanded */
	size_t		 nseen;
	size_t		 targets;	/* found, duplicates included */
};

enum { R_ERROR = -1, R_NONE = 0, R_MATCH = 1 };

static int expand(struct resolve *r, const char *addr, int depth);

static void
add_target(struct resolve *r, enum ms_rcpt_kind kind, ms_id user_id,
    const char *addr)
{
	struct ms_rcpt_list *l = r->out;
	size_t i;

	r->targets++;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind != kind)
			continue;
		if (kind == MS_RCPT_LOCAL ? l->v[i].user_id == user_id :
		    strcmp(l->v[i].address, addr) == 0)
			return;
	}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = (struct ms_rcpt){
		.kind = kind,
		.user_id = user_id,
		.address = xstrdup(addr),
	};
}

/* True if addr was expanded before; else remember it. */
static bool
seen_before(struct resolve *r, const char *addr)
{
	size_t i;

	for (i = 0; i < r->nseen; i++)
		if (strcmp(r->seen[i], addr) == 0)
			return true;
	r->seen = xreallocarray(r->seen, r->nseen + 1, sizeof(*r->seen));
	r->seen[r->nseen++] = xstrdup(addr);
	return false;
}

static int
find_user(struct resolve *r, const char *addr, ms_id *id_r)
{
	static const char sql[] = "SELECT id FROM users WHERE address = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = ms_stmt(r->ms, sql)) == NULL)
		return R_ERROR;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = ms_step(r->ms, st);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return R_MATCH;
	return rc == SQLITE_DONE ? R_NONE : R_ERROR;
}

/* The targets of source, copied out: the statement is reset before the
 * recursion needs it again. */
static int
alias_targets(struct resolve *r, const char *source, char ***v_r, size_t *n_r)
{
	static const char sql[] =
	    "SELECT target FROM aliases WHERE source = ?1 ORDER BY id";
	sqlite3_stmt *st;
	char **v = NULL;
	size_t n = 0;
	int rc;

	if ((st = ms_stmt(r->ms, sql)) == NULL)
		return R_ERROR;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	while ((rc = ms_step(r->ms, st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	*v_r = v;
	*n_r = n;
	return rc == SQLITE_DONE ? R_MATCH : R_ERROR;
}

static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Step 1 for one name: the user of that name and its alias targets. */
static int
lookup(struct resolve *r, const char *name, bool user_too, int depth)
{
	char **targets;
	size_t n, i;
	ms_id id;
	int res = R_NONE, sub;

	if (user_too) {
		if ((sub = find_user(r, name, &id)) == R_ERROR)
			return R_ERROR;
		if (sub == R_MATCH) {
			add_target(r, MS_RCPT_LOCAL, id, name);
			res = R_MATCH;
		}
	}
	if (alias_targets(r, name, &targets, &n) == R_ERROR)
		return R_ERROR;
	for (i = 0; i < n && res != R_ERROR; i++) {
		res = R_MATCH;
		if (expand(r, targets[i], depth + 1) == R_ERROR)
			res = R_ERROR;
	}
	free_strv(targets, n);
	return res;
}

/*
 * Resolve one normalized address.  R_MATCH means the name exists here
 * (even if everything it points to was already in the list), R_NONE that
 * nothing by that name exists.
 */
static int
expand(struct resolve *r, const char *addr, int depth)
{
	char *alt;
	int res;

	if (depth > MS_ALIAS_DEPTH) {
		log_warnx("mailstore: alias chain longer than %d, cut",
		    MS_ALIAS_DEPTH);
		return R_NONE;
	}
	if (ms_domain_id(r->ms, ms_addr_domain(addr)) == 0) {
		add_target(r, MS_RCPT_REMOTE, 0, addr);
		return R_MATCH;
	}
	if (seen_before(r, addr))
		return R_MATCH;
	res = lookup(r, addr, true, depth);
	if (res == R_NONE && (alt = ms_addr_strip_detail(addr)) != NULL) {
		if (!seen_before(r, alt))
			res = lookup(r, alt, true, depth);
		else
			res = R_MATCH;
		free(alt);
	}
	if (res == R_NONE && r->catchall) {
		alt = ms_addr_catchall(addr);
		if (!seen_before(r, alt))
			res = lookup(r, alt, false, depth);
		free(alt);
	}
	return res;
}

int
ms_resolve(struct ms_store *ms, const char *address, bool catchall,
    struct ms_rcpt_list *out)
{
	struct resolve r = { .ms = ms, .catchall = catchall, .out = out };
	char *addr;
	size_t n0;
	int res, status;

	if ((addr = ms_addr_normalize(address, false)) == NULL)
		return MS_INVALID;
	if (ms_domain_id(ms, ms_addr_domain(addr)) == 0) {
		free(addr);
		return MS_INVALID;
	}
	n0 = out->n;
	res = expand(&r, addr, 0);
	if (res == R_ERROR) {
		/* Leave the caller's list as it was. */
		while (out->n > n0)
			free(out->v[--out->n].address);
		status = MS_ERROR;
	} else
		status = r.targets > 0 ? MS_OK : MS_NOT_FOUND;
	free_strv(r.seen, r.nseen);
	free(addr);
	return status;
}

int
ms_resolve_recipient(struct ms_store *ms, const char *address,
    struct ms_rcpt_list *out)
{
	return ms_resolve(ms, address, true, out);
}

void
ms_rcpt_list_free(struct ms_rcpt_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].address);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * The catch-all is left out on purpose: it "delivers to" its target for
 * every name in the domain, which must not let that user send as anyone.
 */
bool
ms_user_may_send_as(struct ms_store *ms, ms_id user_id, const char *address)
{
	struct ms_rcpt_list l = { 0 };
	bool ok = false;
	size_t i;

	if (ms_resolve(ms, address, false, &l) == MS_OK) {
		for (i = 0; i < l.n && !ok; i++)
			ok = l.v[i].kind == MS_RCPT_LOCAL &&
			    l.v[i].user_id == user_id;
	}
	ms_rcpt_list_free(&l);
	return ok;
}
