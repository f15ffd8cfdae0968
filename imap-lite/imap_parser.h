/* SPDX-License-Identifier: ISC */
/*
 * IMAP command parsing (RFC 3501 section 9 grammar), pure: no I/O, no
 * globals, no logging.  Unit-tested byte by byte and fuzzable.
 *
 * How a command arrives.  The session reads lines from the linebuf.  A line
 * that ends in a literal announcement "{n}" or "{n+}" (imap_line_literal())
 * is followed by exactly n raw bytes and then by more of the command.  The
 * session appends line + CRLF + literal bytes + next line ... into one
 * command buffer (bounded: IMAP_MAX_COMMAND), except for the message
 * literal of APPEND, which it streams into the mailstore instead and
 * leaves out of the buffer (see imap_parse_command()'s note on streamed
 * literals).
 * When the last line has no literal announcement the command is complete
 * and imap_parse_command() turns it into a tree of arguments.
 *
 * All strings returned point into the command buffer or into the arena;
 * they live until the arena is reset (after the tagged reply).
 */
#ifndef POSTROOM_IMAP_PARSER_H
#define POSTROOM_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define IMAP_MAX_COMMAND	(256 * 1024)	/* bytes, literals included,
						   APPEND message excluded */
#define IMAP_MAX_DEPTH		16		/* parenthesis nesting */
#define IMAP_SEARCH_MAX_DEPTH	64		/* SEARCH keys nested through
						   NOT, OR and parentheses */

/* ---------------------------------------------------------------- arena */

/* A bump allocator for one command: everything parsed for a command is
 * freed at once with imap_arena_reset(). */
struct imap_arena {
	struct imap_arena_block *blocks;
	size_t	 used;		/* bytes handed out since the last reset */
};
void *imap_arena_alloc(struct imap_arena *a, size_t size);	/* zeroed */
char *imap_arena_strndup(struct imap_arena *a, const char *s, size_t n);
void imap_arena_reset(struct imap_arena *a);	/* keeps one block */
void imap_arena_free(struct imap_arena *a);

/* ----------------------------------------------------------- lines */

/*
 * Does this command line (without CRLF) end in a literal announcement?
 * Returns 1 and sets *size_r and *nonsync_r ({n+}, RFC 7888) if so, 0 if
 * not, -1 if the announcement is malformed or n > max.
 */
int imap_line_literal(const char *line, size_t len, uint64_t max,
    uint64_t *size_r, bool *nonsync_r);

/* ----------------------------------------------------------- arguments */

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* also numbers, sequence sets, flags like \Seen */
	IMAP_ARG_QUOTED,	/* quoted string, unescaped */
	IMAP_ARG_LITERAL,	/* {n} literal (also literal8 ~{n}) */
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,		/* ( ... ) */
	IMAP_ARG_SECTION,	/* BODY[...]<...> style atom with brackets: str is
				   the whole token "BODY.PEEK[HEADER.FIELDS (A B)]<0.100>" */
};

struct imap_arg {
	enum imap_arg_type type;
	const char	*str;		/* NUL-terminated (copy in the arena) */
	size_t		 len;		/* may contain NULs for literals */
	struct imap_arg	*list;		/* IMAP_ARG_LIST children */
	size_t		 n;
	bool		 literal8;	/* IMAP_ARG_LITERAL sent as ~{n} */
};

struct imap_command {
	const char	*tag;
	const char	*name;		/* upper-cased; "UID FETCH" style for UID cmds */
	bool		 uid;		/* UID prefix given */
	struct imap_arg	*args;		/* the arguments after the name */
	size_t		 nargs;
};

enum imap_parse_result {
	IMAP_PARSE_OK = 0,
	IMAP_PARSE_BAD_TAG = -1,	/* no usable tag: reply "* BAD" */
	IMAP_PARSE_BAD = -2,		/* syntax error: reply "<tag> BAD <error>" */
};

/*
 * Parse a complete command buffer (wire format: lines joined by CRLF with
 * literal bytes inline after each "{n}CRLF").  On IMAP_PARSE_BAD the tag is
 * still set if it could be read, and *error_r says what was wrong.
 * Atoms follow RFC 3501 ATOM-CHAR (plus ']' where resp-specials allow it);
 * 8-bit bytes are accepted in quoted strings and literals only (UTF-8 is
 * validated by the callers that care).  NUL is never accepted outside
 * literals.
 *
 * Atoms may also hold the LIST wildcards '%' and '*', sequence sets, and a
 * leading '\' (flags).  A token containing '[' is IMAP_ARG_SECTION: the
 * bracketed part may hold spaces, parentheses and quoted strings (but no
 * literal); whether it means anything is up to imap_fetch_parse().
 * "NIL" in any case is IMAP_ARG_NIL, with str keeping the text as sent.
 * A final CRLF after the last argument is tolerated.
 *
 * A literal streamed elsewhere (the message of APPEND) never reaches this
 * function: the session may parse the command up to the announcement
 * (any prefix ending after a complete argument is a command of its own),
 * or put "{0}" CRLF with no bytes in its place, which parses as an empty
 * IMAP_ARG_LITERAL at the message's position.
 *
 * Memory: O(len) in the arena plus a temporary array freed before return;
 * time O(len).
 */
enum imap_parse_result imap_parse_command(const char *buf, size_t len,
    struct imap_arena *a, struct imap_command *cmd_r, const char **error_r);

/* An astring (atom, quoted or literal) argument as a C string; NULL if
 * the argument is not one (or contains a NUL).  NIL counts (mailbox "NIL"),
 * and so does a SECTION token without spaces, parentheses or quotes
 * ("foo[bar]" is a valid astring). */
const char *imap_arg_astring(const struct imap_arg *arg);
/* A number (RFC 3501 nz-number / number), within 32 or 63 bits. */
bool imap_arg_number32(const struct imap_arg *arg, uint32_t *n_r);
bool imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r);

/* ------------------------------------------------------- sequence sets */

#define IMAP_SEQ_STAR	UINT32_MAX	/* '*' before it is resolved */

struct imap_seq_range { uint32_t lo, hi; };	/* inclusive, lo <= hi */
struct imap_seqset {
	struct imap_seq_range *r;	/* in the arena */
	size_t	 n;
};
/* Parse "1:5,7,9:*" (ranges in any order, "5:1" allowed).  '*' is kept as
 * IMAP_SEQ_STAR; imap_seqset_resolve() replaces it with the largest value
 * and sorts/merges the ranges.  "$" (SEARCHRES) is not supported.  Zero is
 * rejected; the number 4294967295 reads as '*' (clients send "1:4294967295"
 * to mean "all UIDs").  imap_seqset_contains() needs a resolved set; with
 * star == 0 (empty mailbox) a resolved set may contain 0, which callers
 * treat as "no such message". */
bool imap_seqset_parse(const char *s, struct imap_arena *a, struct imap_seqset *out);
void imap_seqset_resolve(struct imap_seqset *set, uint32_t star);
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t v);

/* --------------------------------------------------------- FETCH items */

enum imap_section_part {
	IMAP_SECTION_ALL,		/* BODY[] or BODY[1.2] */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

struct imap_fetch_body {
	bool		 peek;		/* BODY.PEEK: do not set \Seen */
	bool		 binary;	/* BINARY[] (RFC 3516) - optional */
	uint32_t	 path[IMAP_MAX_DEPTH];	/* part numbers "1.2" */
	size_t		 depth;
	enum imap_section_part part;
	const char	**fields;	/* HEADER.FIELDS names */
	size_t		 n_fields;
	bool		 partial;	/* <offset.count> given */
	uint64_t	 offset, count;
	const char	*section_text;	/* canonical "1.HEADER.FIELDS (A B)" to echo */
	bool		 rfc822_name;	/* RFC822 / RFC822.HEADER / RFC822.TEXT:
					   echo under that name */
	const char	*reply_name;	/* e.g. "RFC822.HEADER" when rfc822_name;
					   otherwise "BODY", "BINARY" or
					   "BINARY.SIZE" (never NULL) */
	bool		 binary_size;	/* BINARY.SIZE[part] (RFC 3516) */
};

#define IMAP_FETCH_UID		0x0001
#define IMAP_FETCH_FLAGS	0x0002
#define IMAP_FETCH_INTERNALDATE	0x0004
#define IMAP_FETCH_RFC822_SIZE	0x0008
#define IMAP_FETCH_ENVELOPE	0x0010
#define IMAP_FETCH_BODY		0x0020	/* BODY (non-extensible BODYSTRUCTURE) */
#define IMAP_FETCH_BODYSTRUCTURE 0x0040
#define IMAP_FETCH_MODSEQ	0x0080

struct imap_fetch_req {
	unsigned	 items;		/* IMAP_FETCH_* (macros expanded) */
	struct imap_fetch_body *bodies;	/* BODY[...] / RFC822* items, in order */
	size_t		 n_bodies;
	uint64_t	 changedsince;	/* CHANGEDSINCE modifier, 0 = none */
	bool		 vanished;	/* VANISHED modifier (QRESYNC) - parsed only */
};
/* Parse the fetch-att argument (a macro, one item or a list) and optional
 * modifiers list (NULL if none).  Returns false with *error_r on bad
 * syntax.  CHANGEDSINCE also sets IMAP_FETCH_MODSEQ (RFC 7162 3.1.4.1);
 * VANISHED without CHANGEDSINCE is an error (the caller checks that the
 * command is UID FETCH).  Macros are accepted only on their own. */
bool imap_fetch_parse(const struct imap_arg *items, const struct imap_arg *modifiers,
    struct imap_arena *a, struct imap_fetch_req *req, const char **error_r);

/* -------------------------------------------------------- SEARCH keys */

enum imap_search_op {
	IMAP_SK_ALL, IMAP_SK_AND, IMAP_SK_OR, IMAP_SK_NOT,
	IMAP_SK_SEQSET, IMAP_SK_UIDSET,
	IMAP_SK_FLAG_SET, IMAP_SK_FLAG_UNSET,	/* one MS_FLAG_* bit in num */
	IMAP_SK_KEYWORD, IMAP_SK_UNKEYWORD,	/* str */
	IMAP_SK_NEW, IMAP_SK_OLD, IMAP_SK_RECENT,
	/* Dates: num = start of the day in UTC seconds, as int64_t (negative
	 * before 1970).  BEFORE/ON/SINCE: internal date; SENT*: Date: header. */
	IMAP_SK_BEFORE, IMAP_SK_ON, IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE, IMAP_SK_SENTON, IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER, IMAP_SK_SMALLER,			/* num */
	IMAP_SK_HEADER,		/* field name in field, substring in str */
	IMAP_SK_BODY, IMAP_SK_TEXT,				/* str */
	IMAP_SK_MODSEQ,		/* num (RFC 7162) */
};

struct imap_search_key {
	enum imap_search_op op;
	uint64_t	 num;
	const char	*field;		/* HEADER field (FROM/TO/CC/BCC/SUBJECT map here) */
	const char	*str;		/* UTF-8 search string */
	struct imap_seqset set;
	struct imap_search_key **kids;	/* AND: n kids; OR: 2; NOT: 1 */
	size_t	 n_kids;
};

/* Parse search keys (after the optional "CHARSET x" and RETURN options,
 * which the caller strips: imap_search_parse handles "CHARSET" itself and
 * rejects charsets other than UTF-8 and US-ASCII with *badcharset_r set).
 * The result is an AND of the keys; a parenthesised list is an AND node
 * too.  Sequence and UID sets are not resolved ('*' is still
 * IMAP_SEQ_STAR): the evaluator resolves them against the mailbox.
 * Strings must be valid UTF-8.  MODSEQ's optional entry name and type
 * (RFC 7162 3.1.5) are checked and ignored: a message has one modseq.
 * Nesting deeper than IMAP_SEARCH_MAX_DEPTH is an error. */
bool imap_search_parse(const struct imap_arg *args, size_t nargs,
    struct imap_arena *a, struct imap_search_key **root_r,
    bool *badcharset_r, const char **error_r);

/* --------------------------------------------------------------- misc */

/* "17-Jul-1996 02:44:25 -0700" (date-time) -> seconds since the epoch.
 * The day may be " 7" or "7"; the string may keep its double quotes. */
bool imap_parse_datetime(const char *s, time_t *t_r);
/* "1-Feb-1994" (date, also in double quotes) -> UTC seconds at 00:00 of
 * that day.  Days are checked against the month (no 31-Apr). */
bool imap_parse_date(const char *s, time_t *t_r);
/* Format a date-time as IMAP wants it ("17-Jul-1996 02:44:25 +0000", in
 * UTC; days below 10 are space-padded: " 7-Jul-1996 ..."). */
void imap_format_datetime(time_t t, char buf[32]);

/* Parse a flag list "(\Seen \Flagged $Junk)" (or a single flag without
 * parentheses, as STORE allows) into MS_FLAG_* bits (mailstore/ms.h) and a
 * space-separated keyword string (in the arena, "" if none; keywords keep
 * the case of their first occurrence and are case-insensitively unique).
 * \Recent and unknown backslash flags are errors for STORE/APPEND. */
bool imap_flags_parse(const struct imap_arg *arg, struct imap_arena *a,
    uint32_t *flags_r, const char **keywords_r, const char **error_r);

/* Modified UTF-7 mailbox names (RFC 3501 5.1.3) <-> UTF-8.  Return
 * arena strings or NULL on invalid input.  Decoding is strict: only
 * printable ASCII outside shifts, "&-" for '&', base64 with ',' for '/',
 * every shift closed by '-', no printable ASCII or NUL encoded in a shift,
 * no two shifts back to back, zero padding bits, paired surrogates; so a
 * name has exactly one valid encoding and the two functions round-trip. */
char *imap_utf7_to_utf8(const char *s, struct imap_arena *a);
char *imap_utf8_to_utf7(const char *s, struct imap_arena *a);
/* Is s valid UTF-8 of len bytes (no overlongs, surrogates, > U+10FFFF)? */
bool imap_utf8_valid(const char *s, size_t len);

#endif
