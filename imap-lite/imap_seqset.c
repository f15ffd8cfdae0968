/* SPDX-License-Identifier: ISC */
/*
 * Sequence sets (RFC 3501 sequence-set, also UID sets of RFC 4315):
 * "1:5,7,9:*".  Parsing keeps '*' symbolic because its value depends on
 * the mailbox at the time of use; resolving substitutes it, orders every
 * range and merges overlaps, after which membership is a binary search.
 *
 * A client may send one range per message (100,000 of them for a big
 * mailbox), so parsing allocates once and resolving is one sort.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-lite/imap_parser.h"

/* seq-number: nz-number (no leading zero) or '*'.  *pp advances. */
static bool
parse_seq_number(const char **pp, uint32_t *n_r)
{
	const char *p = *pp;
	uint64_t n = 0;

	if (*p == '*') {
		*n_r = IMAP_SEQ_STAR;
		*pp = p + 1;
		return true;
	}
	if (*p < '1' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return false;
	}
	*n_r = (uint32_t)n;
	*pp = p;
	return true;
}

bool
imap_seqset_parse(const char *s, struct imap_arena *a, struct imap_seqset *out)
{
	const char *p;
	size_t n = 1, i;

	out->r = NULL;
	out->n = 0;
	if (*s == '\0')
		return false;
	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			n++;
	out->r = imap_arena_alloc(a, n * sizeof(*out->r));
	for (i = 0, p = s; i < n; i++) {
		uint32_t lo, hi;

		if (!parse_seq_number(&p, &lo))
			return false;
		hi = lo;
		if (*p == ':') {
			p++;
			if (!parse_seq_number(&p, &hi))
				return false;
		}
		if (*p != (i + 1 == n ? '\0' : ','))
			return false;
		p++;
		out->r[i].lo = lo < hi ? lo : hi;
		out->r[i].hi = lo < hi ? hi : lo;
	}
	out->n = n;
	return true;
}

static int
range_cmp(const void *va, const void *vb)
{
	const struct imap_seq_range *a = va, *b = vb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return 0;
}

/*
 * '*' becomes star; a range like "10:*" with star 5 is 5:10 (RFC 3501
 * 6.4.8: the range covers the largest number in use even when the other
 * end is beyond it).  Then sort and merge overlapping or adjacent ranges.
 */
void
imap_seqset_resolve(struct imap_seqset *set, uint32_t star)
{
	bool sorted = true;
	size_t i, j;

	for (i = 0; i < set->n; i++) {
		struct imap_seq_range *r = &set->r[i];
		uint32_t lo = r->lo == IMAP_SEQ_STAR ? star : r->lo;
		uint32_t hi = r->hi == IMAP_SEQ_STAR ? star : r->hi;

		r->lo = lo < hi ? lo : hi;
		r->hi = lo < hi ? hi : lo;
		if (i > 0 && range_cmp(&set->r[i - 1], r) > 0)
			sorted = false;
	}
	if (!sorted)
		qsort(set->r, set->n, sizeof(*set->r), range_cmp);
	for (i = 0, j = 0; i < set->n; i++) {
		if (j > 0 && (set->r[j - 1].hi == UINT32_MAX ||
		    set->r[i].lo <= set->r[j - 1].hi + 1)) {
			if (set->r[i].hi > set->r[j - 1].hi)
				set->r[j - 1].hi = set->r[i].hi;
			continue;
		}
		set->r[j++] = set->r[i];
	}
	set->n = j;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t v)
{
	size_t lo = 0, hi = set->n;

	/* The last range whose lo is <= v is the only candidate. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->r[mid].lo <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && v <= set->r[lo - 1].hi;
}
