/* SPDX-License-Identifier: ISC */
/*
 * Flag lists for STORE and APPEND (RFC 3501 flag-list): system flags
 * become MS_FLAG_* bits, keywords a space-separated string as the
 * mailstore keeps them.  Keywords are case-insensitive in IMAP, so the
 * string holds each one once, spelt as first given; duplicates are
 * found by sorting, not by comparing every pair, because a 256 KB STORE
 * can carry tens of thousands of them.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-lite/imap_parser.h"
#include "imap-lite/imap_parser_int.h"
#include "mailstore/ms.h"

static const struct {
	const char *name;
	uint32_t bit;
} system_flags[] = {
	{ "\\Seen", MS_FLAG_SEEN },
	{ "\\Answered", MS_FLAG_ANSWERED },
	{ "\\Flagged", MS_FLAG_FLAGGED },
	{ "\\Deleted", MS_FLAG_DELETED },
	{ "\\Draft", MS_FLAG_DRAFT },
};

struct keyword {
	const char *s;
	size_t	 len;
	size_t	 idx;		/* position in the request */
	bool	 dup;
};

static int
keyword_cmp(const void *va, const void *vb)
{
	const struct keyword *a = *(const struct keyword *const *)va;
	const struct keyword *b = *(const struct keyword *const *)vb;
	int c = strcasecmp(a->s, b->s);

	if (c != 0)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Join the keywords, in request order, skipping the duplicates. */
static const char *
join_keywords(struct keyword *kw, size_t n, struct imap_arena *a)
{
	struct keyword **sorted;
	size_t i, total = 0;
	char *out, *p;

	if (n == 0)
		return "";
	sorted = imap_arena_alloc(a, n * sizeof(*sorted));
	for (i = 0; i < n; i++)
		sorted[i] = &kw[i];
	qsort(sorted, n, sizeof(*sorted), keyword_cmp);
	for (i = 1; i < n; i++)
		if (strcasecmp(sorted[i - 1]->s, sorted[i]->s) == 0)
			sorted[i]->dup = true;
	for (i = 0; i < n; i++)
		if (!kw[i].dup)
			total += kw[i].len + 1;
	p = out = imap_arena_alloc(a, total);
	for (i = 0; i < n; i++) {
		if (kw[i].dup)
			continue;
		if (p != out)
			*p++ = ' ';
		memcpy(p, kw[i].s, kw[i].len);
		p += kw[i].len;
	}
	*p = '\0';
	return out;
}

bool
imap_flags_parse(const struct imap_arg *arg, struct imap_arena *a,
    uint32_t *flags_r, const char **keywords_r, const char **error_r)
{
	const struct imap_arg *items = arg;
	struct keyword *kw;
	size_t n = 1, i, j, nkw = 0;
	uint32_t flags = 0;

	if (arg->type == IMAP_ARG_LIST) {
		items = arg->list;
		n = arg->n;
	}
	kw = imap_arena_alloc(a, (n > 0 ? n : 1) * sizeof(*kw));
	for (i = 0; i < n; i++) {
		const struct imap_arg *it = &items[i];

		if (it->type == IMAP_ARG_ATOM && it->str[0] == '\\') {
			for (j = 0; j < sizeof(system_flags) /
			    sizeof(system_flags[0]); j++)
				if (strcasecmp(it->str, system_flags[j].name) == 0)
					break;
			if (j < sizeof(system_flags) / sizeof(system_flags[0])) {
				flags |= system_flags[j].bit;
				continue;
			}
			*error_r = strcasecmp(it->str, "\\Recent") == 0 ?
			    "\\Recent cannot be set" : "Unknown system flag";
			return false;
		}
		if (!imap_arg_is_atom(it)) {
			*error_r = "Invalid flag";
			return false;
		}
		kw[nkw] = (struct keyword){ .s = it->str, .len = it->len,
		    .idx = nkw };
		nkw++;
	}
	*flags_r = flags;
	*keywords_r = join_keywords(kw, nkw, a);
	return true;
}
