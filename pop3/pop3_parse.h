/* SPDX-License-Identifier: ISC */
/*
 * Pure POP3 parsing: command lines (RFC 1939, 2449, 5034) and the
 * byte-stuffing of multi-line responses.
 *
 * Input lines come from the linebuf without their CRLF and are not
 * NUL-terminated; every function takes (pointer, length).  Nothing here
 * does I/O, logs or keeps global state, so it is all unit-tested with
 * tables and split points (tests/unit/check_pop3_parse.c).
 */
#ifndef POSTROOM_POP3_PARSE_H
#define POSTROOM_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keywords are 3 or 4 characters (RFC 1939 section 3); one byte for NUL. */
#define POP3_KEYWORD_MAX	4
/* SASL mechanism names are at most 20 characters (RFC 4422 section 3.1). */
#define POP3_MECH_MAX		20

/*
 * Split a command line into its keyword and arguments.  The keyword is
 * 1..POP3_KEYWORD_MAX ASCII letters, returned upper-cased and
 * NUL-terminated in kw_r (POP3_KEYWORD_MAX + 1 bytes).  The arguments are
 * everything after the single space that follows the keyword, verbatim
 * (PASS needs the spaces): *args_r points into line, or is NULL when the
 * line is the keyword alone.  Returns 0, or -1 when the line does not start
 * with a keyword followed by a space or the end.
 */
int pop3_parse_command(const char *line, size_t len, char *kw_r,
    const char **args_r, size_t *args_len_r);

/*
 * A message number or line count: 1 to 10 decimal digits, no sign, no
 * spaces, value at most UINT32_MAX.  Returns 0 or -1.  Zero parses (the
 * caller reports "no such message").
 */
int pop3_parse_number(const char *s, size_t len, uint32_t *n_r);

/*
 * The optional message number of LIST and UIDL: args NULL gives
 * *present_r = false; otherwise exactly one number.  Returns 0 or -1.
 */
int pop3_parse_opt_msgnum(const char *args, size_t len, bool *present_r,
    uint32_t *n_r);

/* "TOP msg n": two numbers separated by one space.  Returns 0 or -1. */
int pop3_parse_top(const char *args, size_t len, uint32_t *msg_r,
    uint32_t *lines_r);

/*
 * USER name: one non-empty word without spaces or control characters.
 * *name_r points into args.  Returns 0 or -1.
 */
int pop3_parse_user(const char *args, size_t len, const char **name_r,
    size_t *name_len_r);

/*
 * PASS: the rest of the line verbatim (spaces allowed, even leading and
 * trailing ones), at least one byte.  Returns 0 or -1.
 */
int pop3_parse_pass(const char *args, size_t len, const char **pass_r,
    size_t *pass_len_r);

/*
 * "AUTH mech [initial-response]".  The mechanism name (RFC 4422 charset:
 * A-Z 0-9 - _, case-insensitive) is returned upper-cased and NUL-terminated
 * in mech_r (POP3_MECH_MAX + 1 bytes).  The initial response, if present,
 * is returned as text (still base64, or "=" for an empty one; the caller
 * decodes it) with *has_initial_r set.  Returns 0 or -1.
 */
int pop3_parse_auth(const char *args, size_t len, char *mech_r,
    const char **initial_r, size_t *initial_len_r, bool *has_initial_r);

/*
 * Byte-stuffing of a multi-line response body (RFC 1939 section 3): a '.'
 * is added before every line that starts with '.'.  The message arrives in
 * chunks of any size; the state carries line starts across them.
 *
 * For TOP the encoder also stops after the header, the blank line that ends
 * it, and `lines` body lines (a message without a blank line is all
 * header).  Input after that point is consumed and dropped, and
 * pop3_stuff_done() turns true so the caller can stop reading.
 */
struct pop3_stuff {
	bool	 at_bol;	/* the next byte starts a line */
	bool	 top;		/* TOP: count body lines */
	bool	 in_body;	/* TOP: the header/body blank line was seen */
	bool	 done;		/* TOP: everything wanted has been emitted */
	bool	 last_cr;	/* the previous byte of this line was CR */
	uint8_t	 line_len;	/* bytes in this line so far, saturates at 2 */
	uint32_t lines_left;	/* TOP: body lines still to emit */
};

/* Set up for RETR (top false) or TOP with `lines` body lines. */
void pop3_stuff_init(struct pop3_stuff *st, bool top, uint32_t lines);

/*
 * Encode len bytes of message into out, which must hold 2 * len bytes (the
 * worst case is every byte a '.' starting a line).  Returns the number of
 * bytes written to out.  All of in is always consumed.
 */
size_t pop3_stuff_chunk(struct pop3_stuff *st, const char *in, size_t len,
    char *out);

/* TOP has emitted everything it wants. */
bool pop3_stuff_done(const struct pop3_stuff *st);

/*
 * The terminator: ".\r\n", preceded by "\r\n" when the output so far does
 * not end a line (a message without a final line break).  out must hold
 * POP3_STUFF_FINISH_MAX bytes; returns the number written.
 */
#define POP3_STUFF_FINISH_MAX	5
size_t pop3_stuff_finish(struct pop3_stuff *st, char *out);

#endif
