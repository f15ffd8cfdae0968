/* SPDX-License-Identifier: ISC */
/*
 * SEARCH criteria (RFC 3501 6.4.4 search-key, RFC 7162 MODSEQ) into a
 * tree of struct imap_search_key for the evaluator.
 *
 * Keys are read from the flat argument array with a cursor; OR and NOT
 * take the following key(s), and a parenthesised list recurses into its
 * children.  The depth of that recursion is bounded, so a command made
 * of "NOT NOT NOT ..." cannot exhaust the stack.  The convenience keys
 * FROM, TO, CC, BCC and SUBJECT become HEADER keys and NEW and OLD keep
 * their own ops, so the evaluator has fewer cases and no string matching
 * of key names.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap-lite/imap_parser.h"
#include "imap-lite/imap_parser_int.h"
#include "mailstore/ms.h"

struct cursor {
	const struct imap_arg *args;
	size_t	 n, i;
	struct imap_arena *a;
	const char *error;
};

enum arg_kind { ARG_NONE, ARG_STRING, ARG_DATE, ARG_NUMBER, ARG_KEYWORD,
	ARG_SET, ARG_HEADER };

/* Keys that are just a name and at most one argument. */
static const struct {
	const char *name;
	enum imap_search_op op;
	enum arg_kind arg;
	uint64_t num;		/* flag bit for flag keys */
	const char *field;	/* header for the HEADER shortcuts */
} simple_keys[] = {
	{ "ALL", IMAP_SK_ALL, ARG_NONE, 0, NULL },
	{ "ANSWERED", IMAP_SK_FLAG_SET, ARG_NONE, MS_FLAG_ANSWERED, NULL },
	{ "DELETED", IMAP_SK_FLAG_SET, ARG_NONE, MS_FLAG_DELETED, NULL },
	{ "DRAFT", IMAP_SK_FLAG_SET, ARG_NONE, MS_FLAG_DRAFT, NULL },
	{ "FLAGGED", IMAP_SK_FLAG_SET, ARG_NONE, MS_FLAG_FLAGGED, NULL },
	{ "SEEN", IMAP_SK_FLAG_SET, ARG_NONE, MS_FLAG_SEEN, NULL },
	{ "UNANSWERED", IMAP_SK_FLAG_UNSET, ARG_NONE, MS_FLAG_ANSWERED, NULL },
	{ "UNDELETED", IMAP_SK_FLAG_UNSET, ARG_NONE, MS_FLAG_DELETED, NULL },
	{ "UNDRAFT", IMAP_SK_FLAG_UNSET, ARG_NONE, MS_FLAG_DRAFT, NULL },
	{ "UNFLAGGED", IMAP_SK_FLAG_UNSET, ARG_NONE, MS_FLAG_FLAGGED, NULL },
	{ "UNSEEN", IMAP_SK_FLAG_UNSET, ARG_NONE, MS_FLAG_SEEN, NULL },
	{ "NEW", IMAP_SK_NEW, ARG_NONE, 0, NULL },
	{ "OLD", IMAP_SK_OLD, ARG_NONE, 0, NULL },
	{ "RECENT", IMAP_SK_RECENT, ARG_NONE, 0, NULL },
	{ "KEYWORD", IMAP_SK_KEYWORD, ARG_KEYWORD, 0, NULL },
	{ "UNKEYWORD", IMAP_SK_UNKEYWORD, ARG_KEYWORD, 0, NULL },
	{ "BEFORE", IMAP_SK_BEFORE, ARG_DATE, 0, NULL },
	{ "ON", IMAP_SK_ON, ARG_DATE, 0, NULL },
	{ "SINCE", IMAP_SK_SINCE, ARG_DATE, 0, NULL },
	{ "SENTBEFORE", IMAP_SK_SENTBEFORE, ARG_DATE, 0, NULL },
	{ "SENTON", IMAP_SK_SENTON, ARG_DATE, 0, NULL },
	{ "SENTSINCE", IMAP_SK_SENTSINCE, ARG_DATE, 0, NULL },
	{ "LARGER", IMAP_SK_LARGER, ARG_NUMBER, 0, NULL },
	{ "SMALLER", IMAP_SK_SMALLER, ARG_NUMBER, 0, NULL },
	{ "BODY", IMAP_SK_BODY, ARG_STRING, 0, NULL },
	{ "TEXT", IMAP_SK_TEXT, ARG_STRING, 0, NULL },
	{ "FROM", IMAP_SK_HEADER, ARG_STRING, 0, "FROM" },
	{ "TO", IMAP_SK_HEADER, ARG_STRING, 0, "TO" },
	{ "CC", IMAP_SK_HEADER, ARG_STRING, 0, "CC" },
	{ "BCC", IMAP_SK_HEADER, ARG_STRING, 0, "BCC" },
	{ "SUBJECT", IMAP_SK_HEADER, ARG_STRING, 0, "SUBJECT" },
	{ "HEADER", IMAP_SK_HEADER, ARG_HEADER, 0, NULL },
	{ "UID", IMAP_SK_UIDSET, ARG_SET, 0, NULL },
};

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

static struct imap_search_key *parse_key(struct cursor *, size_t);

static struct imap_search_key *
fail(struct cursor *c, const char *error)
{
	c->error = error;
	return NULL;
}

static struct imap_search_key *
new_key(struct cursor *c, enum imap_search_op op)
{
	struct imap_search_key *k = imap_arena_alloc(c->a, sizeof(*k));

	k->op = op;
	return k;
}

/* The next argument, or NULL with the error set. */
static const struct imap_arg *
next_arg(struct cursor *c, const char *missing)
{
	if (c->i == c->n) {
		c->error = missing;
		return NULL;
	}
	return &c->args[c->i++];
}

/* An astring that is valid UTF-8 (US-ASCII is a subset). */
static const char *
next_string(struct cursor *c)
{
	const struct imap_arg *arg = next_arg(c, "Missing search string");
	const char *s;

	if (arg == NULL)
		return NULL;
	if ((s = imap_arg_astring(arg)) == NULL) {
		c->error = "Invalid search string";
		return NULL;
	}
	if (!imap_utf8_valid(s, arg->len)) {
		c->error = "Search string is not UTF-8";
		return NULL;
	}
	return s;
}

/* The argument of a key from simple_keys[]. */
static bool
key_argument(struct cursor *c, struct imap_search_key *k, enum arg_kind kind)
{
	const struct imap_arg *arg;
	const char *s;
	time_t t;

	switch (kind) {
	case ARG_NONE:
		return true;
	case ARG_STRING:
		return (k->str = next_string(c)) != NULL;
	case ARG_HEADER:
		if ((s = next_string(c)) == NULL)
			return false;
		if (*s == '\0' || strpbrk(s, ": \t") != NULL) {
			c->error = "Invalid header field name";
			return false;
		}
		k->field = s;
		return (k->str = next_string(c)) != NULL;
	case ARG_DATE:
		if ((arg = next_arg(c, "Missing date")) == NULL)
			return false;
		if ((s = imap_arg_astring(arg)) == NULL ||
		    !imap_parse_date(s, &t)) {
			c->error = "Invalid date";
			return false;
		}
		k->num = (uint64_t)(int64_t)t;
		return true;
	case ARG_NUMBER:
		if ((arg = next_arg(c, "Missing number")) == NULL)
			return false;
		if (!imap_arg_number64(arg, &k->num)) {
			c->error = "Invalid number";
			return false;
		}
		return true;
	case ARG_KEYWORD:
		if ((arg = next_arg(c, "Missing keyword")) == NULL)
			return false;
		if (!imap_arg_is_atom(arg)) {
			c->error = "Invalid keyword";
			return false;
		}
		k->str = arg->str;
		return true;
	case ARG_SET:
		if ((arg = next_arg(c, "Missing UID set")) == NULL)
			return false;
		if (arg->type != IMAP_ARG_ATOM ||
		    !imap_seqset_parse(arg->str, c->a, &k->set)) {
			c->error = "Invalid UID set";
			return false;
		}
		return true;
	}
	return false;
}

/*
 * MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 3.1.5).
 * The entry names a flag ("/flags/\\Seen"); one modseq per message covers
 * them all, so the entry is checked for syntax only.
 */
static bool
parse_modseq(struct cursor *c, struct imap_search_key *k)
{
	const struct imap_arg *arg = next_arg(c, "Missing MODSEQ value");

	if (arg == NULL)
		return false;
	if (arg->type == IMAP_ARG_QUOTED) {
		const struct imap_arg *type;

		if (strncasecmp(arg->str, "/flags/", 7) != 0 ||
		    arg->str[7] == '\0' || strlen(arg->str) != arg->len) {
			c->error = "Invalid MODSEQ entry name";
			return false;
		}
		if ((type = next_arg(c, "Missing MODSEQ entry type")) == NULL)
			return false;
		if (type->type != IMAP_ARG_ATOM ||
		    (strcasecmp(type->str, "priv") != 0 &&
		    strcasecmp(type->str, "shared") != 0 &&
		    strcasecmp(type->str, "all") != 0)) {
			c->error = "Invalid MODSEQ entry type";
			return false;
		}
		if ((arg = next_arg(c, "Missing MODSEQ value")) == NULL)
			return false;
	}
	if (!imap_arg_number64(arg, &k->num)) {
		c->error = "Invalid MODSEQ value";
		return false;
	}
	return true;
}

/* The keys from the cursor to the end of its arguments, as an AND node. */
static struct imap_search_key *
parse_and(struct cursor *c, size_t depth)
{
	struct imap_search_key *and = new_key(c, IMAP_SK_AND);

	/* Every key takes at least one argument: n - i bounds the count. */
	and->kids = imap_arena_alloc(c->a,
	    (c->n - c->i) * sizeof(*and->kids));
	while (c->i < c->n) {
		struct imap_search_key *k = parse_key(c, depth);

		if (k == NULL)
			return NULL;
		and->kids[and->n_kids++] = k;
	}
	if (and->n_kids == 0)
		return fail(c, "Missing search key");
	return and;
}

static struct imap_search_key *
parse_key(struct cursor *c, size_t depth)
{
	const struct imap_arg *arg;
	struct imap_search_key *k;
	size_t i;

	if (depth >= IMAP_SEARCH_MAX_DEPTH)
		return fail(c, "Search keys nested too deeply");
	if ((arg = next_arg(c, "Missing search key")) == NULL)
		return NULL;
	if (arg->type == IMAP_ARG_LIST) {
		struct cursor sub = { .args = arg->list, .n = arg->n, .a = c->a };

		if ((k = parse_and(&sub, depth + 1)) == NULL)
			c->error = sub.error;
		return k;
	}
	if (arg->type != IMAP_ARG_ATOM)
		return fail(c, "Invalid search key");
	if ((arg->str[0] >= '0' && arg->str[0] <= '9') || arg->str[0] == '*') {
		k = new_key(c, IMAP_SK_SEQSET);
		if (!imap_seqset_parse(arg->str, c->a, &k->set))
			return fail(c, "Invalid sequence set");
		return k;
	}
	if (strcasecmp(arg->str, "NOT") == 0) {
		k = new_key(c, IMAP_SK_NOT);
		k->kids = imap_arena_alloc(c->a, sizeof(*k->kids));
		if ((k->kids[0] = parse_key(c, depth + 1)) == NULL)
			return NULL;
		k->n_kids = 1;
		return k;
	}
	if (strcasecmp(arg->str, "OR") == 0) {
		k = new_key(c, IMAP_SK_OR);
		k->kids = imap_arena_alloc(c->a, 2 * sizeof(*k->kids));
		if ((k->kids[0] = parse_key(c, depth + 1)) == NULL ||
		    (k->kids[1] = parse_key(c, depth + 1)) == NULL)
			return NULL;
		k->n_kids = 2;
		return k;
	}
	if (strcasecmp(arg->str, "MODSEQ") == 0) {
		k = new_key(c, IMAP_SK_MODSEQ);
		return parse_modseq(c, k) ? k : NULL;
	}
	for (i = 0; i < NELEM(simple_keys); i++)
		if (strcasecmp(arg->str, simple_keys[i].name) == 0)
			break;
	if (i == NELEM(simple_keys))
		return fail(c, "Unknown search key");
	k = new_key(c, simple_keys[i].op);
	k->num = simple_keys[i].num;
	k->field = simple_keys[i].field;
	if (!key_argument(c, k, simple_keys[i].arg))
		return NULL;
	return k;
}

bool
imap_search_parse(const struct imap_arg *args, size_t nargs,
    struct imap_arena *a, struct imap_search_key **root_r,
    bool *badcharset_r, const char **error_r)
{
	struct cursor c = { .args = args, .n = nargs, .a = a };
	const char *charset;

	*badcharset_r = false;
	*root_r = NULL;
	if (nargs > 0 && args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(args[0].str, "CHARSET") == 0) {
		if (nargs < 2 || (charset = imap_arg_astring(&args[1])) == NULL) {
			*error_r = "Missing charset";
			return false;
		}
		if (strcasecmp(charset, "UTF-8") != 0 &&
		    strcasecmp(charset, "US-ASCII") != 0) {
			*badcharset_r = true;
			*error_r = "Unsupported charset";
			return false;
		}
		c.i = 2;
	}
	if ((*root_r = parse_and(&c, 0)) == NULL) {
		*error_r = c.error;
		return false;
	}
	return true;
}
