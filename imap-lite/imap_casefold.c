/* SPDX-License-Identifier: ISC */
/*
 * Simple Unicode case folding of UTF-8 text and a substring search on
 * the folded text, for SEARCH's string keys.
 *
 * The folding data is one sorted array of ranges.  Most case pairs come
 * in runs that share one delta: whole alphabets (A-Z, Greek, Cyrillic
 * А-Я, Armenian, Georgian) are runs of neighbouring code points, and the
 * alternating upper/lower blocks (Latin Extended-A/B, Cyrillic Ѡ-ѿ,
 * Vietnamese in Latin Extended Additional) are runs over every other code
 * point.  A range therefore holds its first code point, its span, its
 * stride (1 or 2) and the delta to add; the 1454 mappings of Unicode 15.0
 * fit in about 200 ranges that never overlap, and a code point is looked
 * up with one binary search.  The table is the output of
 * imap_casefold_gen.py run on CaseFolding.txt, and check_imap_casefold
 * compares it with Python's case mapping for every code point.
 *
 * ASCII, the bulk of mail, never reaches the table.  The folded text is
 * searched with memmem(), which is linear, so even a 10 MB body costs one
 * pass.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "imap-lite/imap_casefold.h"

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

/* Code points first, first + stride, ... first + span fold to cp + delta. */
struct fold_range {
	uint32_t first;
	uint16_t span;		/* last - first */
	uint8_t	 stride;	/* 1 or 2 */
	int32_t	 delta;
};

static const struct fold_range fold_ranges[] = {
	/* CaseFolding-15.0.0, status C and S: 1454 mappings */
	{ 0x00041,   25, 1,     32 },
	{ 0x000B5,    0, 1,    775 },
	{ 0x000C0,   22, 1,     32 },
	{ 0x000D8,    6, 1,     32 },
	{ 0x00100,   46, 2,      1 },
	{ 0x00132,    4, 2,      1 },
	{ 0x00139,   14, 2,      1 },
	{ 0x0014A,   44, 2,      1 },
	{ 0x00178,    0, 1,   -121 },
	{ 0x00179,    4, 2,      1 },
	{ 0x0017F,    0, 1,   -268 },
	{ 0x00181,    0, 1,    210 },
	{ 0x00182,    2, 2,      1 },
	{ 0x00186,    0, 1,    206 },
	{ 0x00187,    0, 1,      1 },
	{ 0x00189,    1, 1,    205 },
	{ 0x0018B,    0, 1,      1 },
	{ 0x0018E,    0, 1,     79 },
	{ 0x0018F,    0, 1,    202 },
	{ 0x00190,    0, 1,    203 },
	{ 0x00191,    0, 1,      1 },
	{ 0x00193,    0, 1,    205 },
	{ 0x00194,    0, 1,    207 },
	{ 0x00196,    0, 1,    211 },
	{ 0x00197,    0, 1,    209 },
	{ 0x00198,    0, 1,      1 },
	{ 0x0019C,    0, 1,    211 },
	{ 0x0019D,    0, 1,    213 },
	{ 0x0019F,    0, 1,    214 },
	{ 0x001A0,    4, 2,      1 },
	{ 0x001A6,    0, 1,    218 },
	{ 0x001A7,    0, 1,      1 },
	{ 0x001A9,    0, 1,    218 },
	{ 0x001AC,    0, 1,      1 },
	{ 0x001AE,    0, 1,    218 },
	{ 0x001AF,    0, 1,      1 },
	{ 0x001B1,    1, 1,    217 },
	{ 0x001B3,    2, 2,      1 },
	{ 0x001B7,    0, 1,    219 },
	{ 0x001B8,    0, 1,      1 },
	{ 0x001BC,    0, 1,      1 },
	{ 0x001C4,    0, 1,      2 },
	{ 0x001C5,    0, 1,      1 },
	{ 0x001C7,    0, 1,      2 },
	{ 0x001C8,    0, 1,      1 },
	{ 0x001CA,    0, 1,      2 },
	{ 0x001CB,   16, 2,      1 },
	{ 0x001DE,   16, 2,      1 },
	{ 0x001F1,    0, 1,      2 },
	{ 0x001F2,    2, 2,      1 },
	{ 0x001F6,    0, 1,    -97 },
	{ 0x001F7,    0, 1,    -56 },
	{ 0x001F8,   38, 2,      1 },
	{ 0x00220,    0, 1,   -130 },
	{ 0x00222,   16, 2,      1 },
	{ 0x0023A,    0, 1,  10795 },
	{ 0x0023B,    0, 1,      1 },
	{ 0x0023D,    0, 1,   -163 },
	{ 0x0023E,    0, 1,  10792 },
	{ 0x00241,    0, 1,      1 },
	{ 0x00243,    0, 1,   -195 },
	{ 0x00244,    0, 1,     69 },
	{ 0x00245,    0, 1,     71 },
	{ 0x00246,    8, 2,      1 },
	{ 0x00345,    0, 1,    116 },
	{ 0x00370,    2, 2,      1 },
	{ 0x00376,    0, 1,      1 },
	{ 0x0037F,    0, 1,    116 },
	{ 0x00386,    0, 1,     38 },
	{ 0x00388,    2, 1,     37 },
	{ 0x0038C,    0, 1,     64 },
	{ 0x0038E,    1, 1,     63 },
	{ 0x00391,   16, 1,     32 },
	{ 0x003A3,    8, 1,     32 },
	{ 0x003C2,    0, 1,      1 },
	{ 0x003CF,    0, 1,      8 },
	{ 0x003D0,    0, 1,    -30 },
	{ 0x003D1,    0, 1,    -25 },
	{ 0x003D5,    0, 1,    -15 },
	{ 0x003D6,    0, 1,    -22 },
	{ 0x003D8,   22, 2,      1 },
	{ 0x003F0,    0, 1,    -54 },
	{ 0x003F1,    0, 1,    -48 },
	{ 0x003F4,    0, 1,    -60 },
	{ 0x003F5,    0, 1,    -64 },
	{ 0x003F7,    0, 1,      1 },
	{ 0x003F9,    0, 1,     -7 },
	{ 0x003FA,    0, 1,      1 },
	{ 0x003FD,    2, 1,   -130 },
	{ 0x00400,   15, 1,     80 },
	{ 0x00410,   31, 1,     32 },
	{ 0x00460,   32, 2,      1 },
	{ 0x0048A,   52, 2,      1 },
	{ 0x004C0,    0, 1,     15 },
	{ 0x004C1,   12, 2,      1 },
	{ 0x004D0,   94, 2,      1 },
	{ 0x00531,   37, 1,     48 },
	{ 0x010A0,   37, 1,   7264 },
	{ 0x010C7,    0, 1,   7264 },
	{ 0x010CD,    0, 1,   7264 },
	{ 0x013F8,    5, 1,     -8 },
	{ 0x01C80,    0, 1,  -6222 },
	{ 0x01C81,    0, 1,  -6221 },
	{ 0x01C82,    0, 1,  -6212 },
	{ 0x01C83,    1, 1,  -6210 },
	{ 0x01C85,    0, 1,  -6211 },
	{ 0x01C86,    0, 1,  -6204 },
	{ 0x01C87,    0, 1,  -6180 },
	{ 0x01C88,    0, 1,  35267 },
	{ 0x01C90,   42, 1,  -3008 },
	{ 0x01CBD,    2, 1,  -3008 },
	{ 0x01E00,  148, 2,      1 },
	{ 0x01E9B,    0, 1,    -58 },
	{ 0x01E9E,    0, 1,  -7615 },
	{ 0x01EA0,   94, 2,      1 },
	{ 0x01F08,    7, 1,     -8 },
	{ 0x01F18,    5, 1,     -8 },
	{ 0x01F28,    7, 1,     -8 },
	{ 0x01F38,    7, 1,     -8 },
	{ 0x01F48,    5, 1,     -8 },
	{ 0x01F59,    6, 2,     -8 },
	{ 0x01F68,    7, 1,     -8 },
	{ 0x01F88,    7, 1,     -8 },
	{ 0x01F98,    7, 1,     -8 },
	{ 0x01FA8,    7, 1,     -8 },
	{ 0x01FB8,    1, 1,     -8 },
	{ 0x01FBA,    1, 1,    -74 },
	{ 0x01FBC,    0, 1,     -9 },
	{ 0x01FBE,    0, 1,  -7173 },
	{ 0x01FC8,    3, 1,    -86 },
	{ 0x01FCC,    0, 1,     -9 },
	{ 0x01FD8,    1, 1,     -8 },
	{ 0x01FDA,    1, 1,   -100 },
	{ 0x01FE8,    1, 1,     -8 },
	{ 0x01FEA,    1, 1,   -112 },
	{ 0x01FEC,    0, 1,     -7 },
	{ 0x01FF8,    1, 1,   -128 },
	{ 0x01FFA,    1, 1,   -126 },
	{ 0x01FFC,    0, 1,     -9 },
	{ 0x02126,    0, 1,  -7517 },
	{ 0x0212A,    0, 1,  -8383 },
	{ 0x0212B,    0, 1,  -8262 },
	{ 0x02132,    0, 1,     28 },
	{ 0x02160,   15, 1,     16 },
	{ 0x02183,    0, 1,      1 },
	{ 0x024B6,   25, 1,     26 },
	{ 0x02C00,   47, 1,     48 },
	{ 0x02C60,    0, 1,      1 },
	{ 0x02C62,    0, 1, -10743 },
	{ 0x02C63,    0, 1,  -3814 },
	{ 0x02C64,    0, 1, -10727 },
	{ 0x02C67,    4, 2,      1 },
	{ 0x02C6D,    0, 1, -10780 },
	{ 0x02C6E,    0, 1, -10749 },
	{ 0x02C6F,    0, 1, -10783 },
	{ 0x02C70,    0, 1, -10782 },
	{ 0x02C72,    0, 1,      1 },
	{ 0x02C75,    0, 1,      1 },
	{ 0x02C7E,    1, 1, -10815 },
	{ 0x02C80,   98, 2,      1 },
	{ 0x02CEB,    2, 2,      1 },
	{ 0x02CF2,    0, 1,      1 },
	{ 0x0A640,   44, 2,      1 },
	{ 0x0A680,   26, 2,      1 },
	{ 0x0A722,   12, 2,      1 },
	{ 0x0A732,   60, 2,      1 },
	{ 0x0A779,    2, 2,      1 },
	{ 0x0A77D,    0, 1, -35332 },
	{ 0x0A77E,    8, 2,      1 },
	{ 0x0A78B,    0, 1,      1 },
	{ 0x0A78D,    0, 1, -42280 },
	{ 0x0A790,    2, 2,      1 },
	{ 0x0A796,   18, 2,      1 },
	{ 0x0A7AA,    0, 1, -42308 },
	{ 0x0A7AB,    0, 1, -42319 },
	{ 0x0A7AC,    0, 1, -42315 },
	{ 0x0A7AD,    0, 1, -42305 },
	{ 0x0A7AE,    0, 1, -42308 },
	{ 0x0A7B0,    0, 1, -42258 },
	{ 0x0A7B1,    0, 1, -42282 },
	{ 0x0A7B2,    0, 1, -42261 },
	{ 0x0A7B3,    0, 1,    928 },
	{ 0x0A7B4,   14, 2,      1 },
	{ 0x0A7C4,    0, 1,    -48 },
	{ 0x0A7C5,    0, 1, -42307 },
	{ 0x0A7C6,    0, 1, -35384 },
	{ 0x0A7C7,    2, 2,      1 },
	{ 0x0A7D0,    0, 1,      1 },
	{ 0x0A7D6,    2, 2,      1 },
	{ 0x0A7F5,    0, 1,      1 },
	{ 0x0AB70,   79, 1, -38864 },
	{ 0x0FF21,   25, 1,     32 },
	{ 0x10400,   39, 1,     40 },
	{ 0x104B0,   35, 1,     40 },
	{ 0x10570,   10, 1,     39 },
	{ 0x1057C,   14, 1,     39 },
	{ 0x1058C,    6, 1,     39 },
	{ 0x10594,    1, 1,     39 },
	{ 0x10C80,   50, 1,     64 },
	{ 0x118A0,   31, 1,     32 },
	{ 0x16E40,   31, 1,     32 },
	{ 0x1E900,   33, 1,     34 },
};

uint32_t
imap_casefold_cp(uint32_t cp)
{
	const struct fold_range *r;
	size_t lo = 0, hi = NELEM(fold_ranges), mid;
	uint32_t off;

	/* The last range with first <= cp is the only one that can hold cp. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (fold_ranges[mid].first <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return cp;
	r = &fold_ranges[lo - 1];
	off = cp - r->first;
	if (off > r->span || off % r->stride != 0)
		return cp;
	return (uint32_t)((int32_t)cp + r->delta);
}

/*
 * The UTF-8 sequence at s, of which avail bytes may be read.  Returns its
 * length (1 to 4) with the code point in *cp_r; 0 if s does not start a
 * valid sequence (a continuation byte, C0/C1 or F5-FF, an overlong form,
 * a surrogate, a code point past U+10FFFF, a missing continuation byte);
 * -1 if the avail bytes are a valid beginning that avail cuts short.
 * The bounds on the second byte are those of RFC 3629 section 4.
 */
static int
utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp_r)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	uint32_t cp;
	size_t n, i;

	if (c < 0x80) {
		*cp_r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;	/* shorter forms are overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* U+D800-DFFF are surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if (i >= avail)
			return -1;
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*cp_r = cp;
	return (int)n;
}

/* Encode a code point that came out of the table; returns the length. */
static size_t
utf8_encode(uint32_t cp, char *d)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
imap_casefold(const char *src, size_t len, char *dst)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;
	uint32_t cp, f;
	int n;

	while (i < len) {
		if (s[i] < 0x80) {
			dst[o++] = (char)(s[i] >= 'A' && s[i] <= 'Z' ?
			    s[i] + ('a' - 'A') : s[i]);
			i++;
			continue;
		}
		if ((n = utf8_decode(s + i, len - i, &cp)) <= 0) {
			/* Not UTF-8: this byte as it is, then resynchronise. */
			dst[o++] = (char)s[i++];
			continue;
		}
		if ((f = imap_casefold_cp(cp)) == cp) {
			memcpy(dst + o, s + i, (size_t)n);
			o += (size_t)n;
		} else
			o += utf8_encode(f, dst + o);
		i += (size_t)n;
	}
	return o;
}

size_t
imap_casefold_tail(const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	uint32_t cp;
	size_t k;

	/* Step back over at most three continuation bytes to a lead byte. */
	for (k = 1; k <= 3 && k <= len; k++) {
		if ((s[len - k] & 0xc0) == 0x80)
			continue;
		return utf8_decode(s + len - k, k, &cp) < 0 ? k : 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- search */

void
imap_casefold_search_init(struct imap_casefold_search *cs, const char *needle,
    size_t len)
{
	*cs = (struct imap_casefold_search){ .found = len == 0 };
	cs->needle = xmalloc(IMAP_CASEFOLD_MAX(len) + 1);
	cs->nlen = imap_casefold(needle, len, cs->needle);
}

/*
 * Fold n more bytes, which end on a sequence boundary, behind the carry
 * and look for the needle.  A match that is not found may still begin in
 * the last nlen - 1 bytes, so those are kept; nothing older can be part
 * of a later match.
 */
static void
search_folded(struct imap_casefold_search *cs, const char *in, size_t n)
{
	size_t need, total, keep;

	/* Nothing new (a chunk that was all a cut-short letter). */
	if (n == 0)
		return;
	need = cs->carry + IMAP_CASEFOLD_MAX(n);
	if (need > cs->cap) {
		cs->buf = xreallocarray(cs->buf, need, 1);
		cs->cap = need;
	}
	total = cs->carry + imap_casefold(in, n, cs->buf + cs->carry);
	if (total >= cs->nlen &&
	    memmem(cs->buf, total, cs->needle, cs->nlen) != NULL) {
		cs->found = true;
		return;
	}
	keep = cs->nlen - 1 < total ? cs->nlen - 1 : total;
	memmove(cs->buf, cs->buf + total - keep, keep);
	cs->carry = keep;
}

bool
imap_casefold_search_feed(struct imap_casefold_search *cs, const char *p,
    size_t len)
{
	char *joined = NULL;
	const char *in = p;
	size_t n = len, tail;

	if (cs->found || len == 0)
		return cs->found;
	if (cs->npart > 0) {
		/* The letter the last chunk cut short goes first. */
		joined = xmalloc(cs->npart + len);
		memcpy(joined, cs->part, cs->npart);
		memcpy(joined + cs->npart, p, len);
		in = joined;
		n = cs->npart + len;
	}
	tail = imap_casefold_tail(in, n);
	memcpy(cs->part, in + n - tail, tail);
	cs->npart = tail;
	search_folded(cs, in, n - tail);
	free(joined);
	return cs->found;
}

bool
imap_casefold_search_finish(struct imap_casefold_search *cs)
{
	if (!cs->found && cs->npart > 0)
		search_folded(cs, cs->part, cs->npart);
	cs->npart = 0;
	return cs->found;
}

void
imap_casefold_search_free(struct imap_casefold_search *cs)
{
	free(cs->needle);
	free(cs->buf);
	*cs = (struct imap_casefold_search){ 0 };
}

bool
imap_casefold_contains(const char *hay, size_t hlen, const char *needle,
    size_t nlen)
{
	struct imap_casefold_search cs;
	bool found;

	imap_casefold_search_init(&cs, needle, nlen);
	(void)imap_casefold_search_feed(&cs, hay, hlen);
	found = imap_casefold_search_finish(&cs);
	imap_casefold_search_free(&cs);
	return found;
}
