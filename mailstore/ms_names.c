/* SPDX-License-Identifier: ISC */
/*
 * Mailbox names and keyword lists: what may be stored, and the one
 * canonical form it is stored in.  Pure functions (no I/O, no state), so
 * the folder and flag jobs, the delivery job and the IMAP layer agree on
 * the rules and tests can feed them tables.
 *
 * A mailbox name is UTF-8 (IMAP's modified UTF-7 is decoded before it
 * gets here) with '/' between levels.  Names compare byte for byte, except
 * that a first level spelled "inbox" in any case is INBOX (RFC 3501 5.1),
 * so "Inbox/Work" and "INBOX/Work" cannot both exist.
 *
 * A keyword list is stored as keyword atoms separated by one space, each
 * keyword at most once ignoring ASCII case, in the order they were first
 * set.  A row without keywords stores NULL.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "mailstore/ms_imap.h"

/*
 * Length of the UTF-8 sequence at p (at most left bytes), or 0 if it is
 * not the shortest encoding of a Unicode scalar value.  *cp_r gets the
 * code point.
 */
static size_t
utf8_decode(const unsigned char *p, size_t left, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len > left)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF. */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*cp_r = cp;
	return len;
}

static bool
is_inbox_level(const char *name, size_t len)
{
	return len == 5 && strncasecmp(name, "INBOX", 5) == 0;
}

char *
ms_mailbox_name_normalize(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len, i, n;
	uint32_t cp;
	char *out;

	len = strlen(name);
	if (len == 0 || len > MS_MAILBOX_NAME_MAX)
		return NULL;
	if (name[0] == '/' || name[len - 1] == '/')
		return NULL;
	for (i = 0; i < len; i += n) {
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0)
			return NULL;
		/* C0 and C1 controls, DEL, and LIST's wildcards. */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    cp == '*' || cp == '%')
			return NULL;
		if (cp == '/' && p[i + 1] == '/')
			return NULL;
	}
	out = xstrdup(name);
	n = strcspn(out, "/");
	if (is_inbox_level(out, n))
		memcpy(out, "INBOX", 5);
	return out;
}

/* ------------------------------------------------------------ keywords */

/* RFC 3501 atom characters, less '\' (which only system flags start with
 * and no keyword may contain). */
static bool
is_keyword_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* A list of (pointer, length) views into strings the caller keeps. */
struct kwlist {
	const char	**p;
	size_t		 *len;
	size_t		  n;
	size_t		  cap;
};

static bool
kwlist_has(const struct kwlist *l, const char *p, size_t len, size_t *at_r)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->len[i] == len && strncasecmp(l->p[i], p, len) == 0) {
			if (at_r != NULL)
				*at_r = i;
			return true;
		}
	}
	return false;
}

static void
kwlist_add(struct kwlist *l, const char *p, size_t len)
{
	if (kwlist_has(l, p, len, NULL))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->p = xreallocarray(l->p, l->cap, sizeof(*l->p));
		l->len = xreallocarray(l->len, l->cap, sizeof(*l->len));
	}
	l->p[l->n] = p;
	l->len[l->n++] = len;
}

static void
kwlist_remove(struct kwlist *l, const char *p, size_t len)
{
	size_t at;

	if (!kwlist_has(l, p, len, &at))
		return;
	memmove(&l->p[at], &l->p[at + 1], (l->n - at - 1) * sizeof(*l->p));
	memmove(&l->len[at], &l->len[at + 1], (l->n - at - 1) * sizeof(*l->len));
	l->n--;
}

/*
 * Call fn for every space-separated word of s (NULL: none).  With check
 * set, a word that is not a keyword atom stops the walk: false.
 */
static bool
kw_walk(const char *s, bool check, struct kwlist *l,
    void (*fn)(struct kwlist *, const char *, size_t))
{
	size_t len, i;

	if (s == NULL)
		return true;
	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		len = strcspn(s, " ");
		for (i = 0; check && i < len; i++)
			if (!is_keyword_char((unsigned char)s[i]))
				return false;
		fn(l, s, len);
		s += len;
	}
	return true;
}

static char *
kwlist_join(const struct kwlist *l)
{
	size_t i, total = 0;
	char *out, *q;

	if (l->n == 0)
		return NULL;
	for (i = 0; i < l->n; i++)
		total += l->len[i] + 1;
	q = out = xmalloc(total);
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			*q++ = ' ';
		memcpy(q, l->p[i], l->len[i]);
		q += l->len[i];
	}
	*q = '\0';
	return out;
}

static void
kw_ignore(struct kwlist *l, const char *p, size_t len)
{
	(void)l;
	(void)p;
	(void)len;
}

bool
ms_keywords_valid(const char *keywords)
{
	return kw_walk(keywords, true, NULL, kw_ignore);
}

int
ms_keywords_apply(const char *stored, enum ms_flag_op op, const char *arg,
    char **out_r)
{
	struct kwlist l = { 0 };

	*out_r = NULL;
	if (!ms_keywords_valid(arg))
		return MS_INVALID;
	/* The stored list was checked when it was written; here it only
	 * needs splitting (and deduplicating, should an old row repeat). */
	if (op != MS_FLAGS_REPLACE)
		kw_walk(stored, false, &l, kwlist_add);
	kw_walk(arg, false, &l, op == MS_FLAGS_REMOVE ? kwlist_remove :
	    kwlist_add);
	*out_r = kwlist_join(&l);
	free(l.p);
	free(l.len);
	return MS_OK;
}
