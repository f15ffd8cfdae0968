/* SPDX-License-Identifier: ISC */
/*
 * Pure SMTP syntax: command line split, MAIL/RCPT paths with their ESMTP
 * parameters (RFC 5321 4.1.2, RFC 1870, 6152, 3030, 6531, 4954, 3461),
 * EHLO/HELO, AUTH and BDAT arguments, and the incremental DATA body parser
 * (dot-unstuffing, end-of-data detection, bare CR/LF tracking).
 *
 * No I/O, no logging, no globals, no allocation: every function works on
 * (pointer, length) input that may contain any byte, including NUL, and
 * writes only to the structs it is given.  The session maps the status codes
 * below to replies; error_r texts are static strings meant for the reply.
 */
#ifndef POSTROOM_SMTP_PARSE_H
#define POSTROOM_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Address limits.  RFC 5321 4.5.3.1 puts the local part at 64 octets but
 * also asks servers to accept longer ones where they can (SRS and BATV
 * rewrites exceed it), so the local part may be up to 256 octets; the domain
 * keeps the DNS limit of 255.
 */
#define SMTP_LOCAL_MAX		256
#define SMTP_DOMAIN_MAX		255
#define SMTP_ADDR_MAX		(SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX)
#define SMTP_HELO_MAX		255
#define SMTP_ENVID_MAX		100	/* RFC 3461 4.4 */

enum smtp_parse_status {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_SYNTAX,		/* command syntax (no "FROM:", no <>, junk): 501 5.5.4 */
	SMTP_PARSE_BAD_ADDR,		/* address syntax: 501 5.1.7 (MAIL) / 5.1.3 (RCPT) */
	SMTP_PARSE_BAD_UTF8,		/* malformed UTF-8 in the address: 553 5.1.7 / 5.1.3 */
	SMTP_PARSE_NEED_SMTPUTF8,	/* non-ASCII address or value without SMTPUTF8: 553 5.6.7 */
	SMTP_PARSE_BAD_PARAM,		/* known parameter, bad value or repeated: 501 5.5.4 */
	SMTP_PARSE_UNKNOWN_PARAM,	/* parameter not supported here: 555 5.5.4 */
};

/* ----------------------------------------------------------- utilities */

/*
 * Length (1..4) of the well-formed UTF-8 sequence starting at p (len bytes
 * available), or 0 if it is malformed: truncated, a stray continuation byte,
 * an overlong form, a surrogate (U+D800..U+DFFF) or above U+10FFFF.
 */
size_t smtp_utf8_seqlen(const char *p, size_t len);
/* Is the whole buffer well-formed UTF-8 (ASCII included)? */
bool smtp_utf8_valid(const char *p, size_t len);

/* ------------------------------------------------------- command lines */

struct smtp_cmdline {
	const char	*verb;		/* points into the line */
	size_t		 verb_len;	/* >= 1 */
	const char	*args;		/* after the blanks following the verb */
	size_t		 args_len;	/* trailing blanks removed; 0 if none */
};

/*
 * Split a command line (without its CRLF) into verb and arguments.  The
 * verb is everything up to the first blank; verbs are compared
 * case-insensitively by the caller.  Returns 0, or -1 for an empty line or
 * one starting with a blank.
 */
int smtp_parse_cmdline(const char *line, size_t len, struct smtp_cmdline *out);

/*
 * Check the argument of EHLO/HELO: one word of 1..SMTP_HELO_MAX printable
 * bytes (UTF-8 allowed), no blanks or controls.  Real clients send bare
 * host names, address literals and worse (NetBIOS names with underscores),
 * so the domain grammar is not enforced.  SMTP_PARSE_OK or _SYNTAX.
 */
enum smtp_parse_status smtp_parse_helo(const char *args, size_t len);

/* ---------------------------------------------------- MAIL FROM / RCPT TO */

enum smtp_body {
	SMTP_BODY_DEFAULT,		/* no BODY= parameter */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,		/* RFC 3030: BDAT only */
};

struct smtp_path {
	/* Canonical mailbox "local@domain": source route dropped, a quoted
	 * local part unquoted when it is a plain dot-atom and otherwise
	 * re-quoted with only the necessary escapes.  "" for the null path,
	 * "postmaster" (as written) for RCPT TO:<postmaster>. */
	char	 addr[SMTP_ADDR_MAX + 1];
	size_t	 local_len;		/* bytes before the '@' (== strlen if none) */
	bool	 utf8;			/* contains non-ASCII (needs SMTPUTF8) */
};

struct smtp_mail_args {
	struct smtp_path path;
	uint64_t size;			/* SIZE=; 0 if absent, UINT64_MAX if huge */
	bool	 size_set;
	enum smtp_body body;
	bool	 smtputf8;		/* SMTPUTF8 parameter given */
};

struct smtp_rcpt_args {
	struct smtp_path path;
};

/*
 * Parse what follows the verb: "FROM:<path> [params]" for MAIL, "TO:<path>
 * [params]" for RCPT ("FROM:" / "TO:" case-insensitive, blanks allowed
 * after the colon).  The null path <> is allowed for MAIL only; RCPT
 * accepts <postmaster> without a domain.  smtputf8 tells RCPT whether the
 * transaction's MAIL had SMTPUTF8.  On failure *error_r is a short text for
 * the reply and *out is unspecified.
 */
enum smtp_parse_status smtp_parse_mail(const char *args, size_t len,
    struct smtp_mail_args *out, const char **error_r);
enum smtp_parse_status smtp_parse_rcpt(const char *args, size_t len,
    bool smtputf8, struct smtp_rcpt_args *out, const char **error_r);

/* ----------------------------------------------------------- AUTH, BDAT */

struct smtp_auth_args {
	const char	*mech;		/* points into args, not terminated */
	size_t		 mech_len;
	const char	*initial;	/* initial response as sent (base64 or "="), */
	size_t		 initial_len;	/* valid only when has_initial */
	bool		 has_initial;
};

/* "AUTH <mechanism> [initial-response]".  Checks the character sets only;
 * the base64 itself is decoded by the caller.  SMTP_PARSE_OK or _SYNTAX. */
enum smtp_parse_status smtp_parse_auth(const char *args, size_t len,
    struct smtp_auth_args *out);

/* "BDAT <size> [LAST]" (LAST case-insensitive).  SMTP_PARSE_OK or _SYNTAX
 * (also for a size that does not fit in 64 bits). */
enum smtp_parse_status smtp_parse_bdat(const char *args, size_t len,
    uint64_t *size_r, bool *last_r);

/* --------------------------------------------------------- message body */

/*
 * Incremental body parser for DATA (dot mode) and BDAT (raw mode).
 *
 * Dot mode removes the stuffed leading dot of each line and stops right
 * after the end-of-data sequence <CRLF>.<CRLF>, where the start of the
 * body counts as following a CRLF.  Only a real CRLF ends lines for that
 * purpose: "\n.\n", "\r.\r", "\r\n.\n" and "\n.\r\n" do not end the message
 * (a server that accepted them would let a sender smuggle a second message
 * past a relay that does not).  A line that is just a dot followed by such
 * a bare line end is passed through with its dot.
 *
 * Raw mode passes bytes through with no dot handling and no end marker; the
 * caller counts the BDAT bytes and calls smtp_data_parser_finish() after
 * the LAST chunk.
 *
 * In both modes a LF not preceded by CR and a CR not followed by LF are
 * recorded in saw_bare_lf / saw_bare_cr; with normalize set each one is
 * written as CRLF, otherwise it is passed through unchanged (and the caller
 * will refuse the message).
 */
struct smtp_data_parser {
	bool	 dot_mode;
	bool	 normalize;		/* write bare CR and bare LF as CRLF */
	int	 state;			/* private: position in the line */
	bool	 done;			/* end-of-data seen (dot mode) */
	bool	 saw_bare_lf;
	bool	 saw_bare_cr;
	size_t	 line_len;		/* bytes in the current output line */
	size_t	 max_line_len;		/* longest line so far, without CRLF */
	uint64_t out_bytes;		/* bytes handed to the output callback */
};

/* Receives output bytes in order; n >= 1.  p is valid only during the call. */
typedef void smtp_data_out_fn(void *arg, const char *p, size_t n);

void smtp_data_parser_init(struct smtp_data_parser *dp, bool dot_mode,
    bool normalize);
/*
 * Feed len input bytes.  Returns 1 when the end-of-data sequence was found:
 * *consumed_r is then the number of bytes up to and including its final LF,
 * and the rest of the input belongs to the next command.  Returns 0 when
 * all input was consumed and more is needed (always, in raw mode).  Bytes
 * that cannot be classified yet (a CR that may start a CRLF, a dot at the
 * start of a line) are kept in the state, so input may be split anywhere.
 */
int smtp_data_parse(struct smtp_data_parser *dp, const char *in, size_t len,
    size_t *consumed_r, smtp_data_out_fn *out, void *arg);
/* Raw mode, after the last byte: emit a CR still held back (a bare CR). */
void smtp_data_parser_finish(struct smtp_data_parser *dp,
    smtp_data_out_fn *out, void *arg);

#endif
