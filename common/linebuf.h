/* SPDX-License-Identifier: ISC */
/*
 * linebuf: the one buffered reader shared by SMTP, POP3 and IMAP.
 *
 * The I/O side (common/conn.c) appends bytes; the protocol side takes them
 * out either as lines (commands) or as raw chunks (SMTP DATA and BDAT, IMAP
 * literals), so a message body never has to be in memory whole.
 *
 * The buffer never grows past its capacity `cap`, which is also the longest
 * line accepted: a line that does not fit is reported as LINEBUF_TOO_LONG,
 * never truncated silently.  Memory starts small and grows on demand up to
 * `cap`; linebuf_shrink() gives it back when the buffer is empty, so an idle
 * connection holds (almost) nothing.
 *
 * Pure: no I/O, no logging, no globals.
 */
#ifndef POSTROOM_LINEBUF_H
#define POSTROOM_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

enum linebuf_result {
	LINEBUF_OK,		/* a line (or chunk) was returned */
	LINEBUF_NEED_MORE,	/* nothing complete buffered yet */
	LINEBUF_TOO_LONG,	/* no LF within cap bytes; see linebuf_next_line */
};

enum linebuf_eol {
	LINEBUF_EOL_CRLF,	/* line ended with CR LF */
	LINEBUF_EOL_LF,		/* line ended with a bare LF */
};

struct linebuf {
	char	*buf;		/* storage, NULL while empty and shrunk */
	size_t	 size;		/* bytes allocated in buf */
	size_t	 cap;		/* maximum bytes ever buffered (= line limit) */
	size_t	 start;		/* first unconsumed byte */
	size_t	 end;		/* one past the last buffered byte */
	bool	 discarding;	/* dropping the rest of an over-long line */
};

/* cap is the line limit including CRLF (e.g. 1000 for SMTP commands). */
void linebuf_init(struct linebuf *lb, size_t cap);
void linebuf_free(struct linebuf *lb);
/* Change the cap (e.g. SMTP after DATA wants bigger reads); never below
 * what is already buffered. */
void linebuf_set_cap(struct linebuf *lb, size_t cap);

/* Bytes buffered and not yet consumed. */
size_t linebuf_pending(const struct linebuf *lb);
/* Free space left before cap is reached. */
size_t linebuf_room(const struct linebuf *lb);
/* Drop everything buffered (e.g. plaintext pipelined after STARTTLS). */
void linebuf_clear(struct linebuf *lb);
/* Release the storage if nothing is buffered. */
void linebuf_shrink(struct linebuf *lb);

/*
 * Writing side.  linebuf_write_ptr() returns a pointer to at least
 * min(want, linebuf_room()) writable bytes (compacting or growing as
 * needed) and stores that count in *avail_r; after writing n of them call
 * linebuf_commit(lb, n).  linebuf_append() copies; it returns the number of
 * bytes taken (less than n when the buffer is full).
 */
char *linebuf_write_ptr(struct linebuf *lb, size_t want, size_t *avail_r);
void linebuf_commit(struct linebuf *lb, size_t n);
size_t linebuf_append(struct linebuf *lb, const void *p, size_t n);

/*
 * Take the next line.  On LINEBUF_OK *line_r points at the line WITHOUT its
 * terminator, *len_r is its length and *eol_r says whether it ended in CRLF
 * or a bare LF.  The line may contain NUL bytes and bare CRs; checking them
 * is the caller's job.  The pointer stays valid until the next call that
 * modifies the linebuf (append, write_ptr, next_line, next_chunk, clear).
 *
 * LINEBUF_TOO_LONG is returned once when cap bytes are buffered without a
 * LF, with *line_r and *len_r naming those first cap bytes (same lifetime,
 * e.g. for reading a command tag); the linebuf then silently discards input
 * up to and including the next LF and carries on with the line after it.
 */
enum linebuf_result linebuf_next_line(struct linebuf *lb, const char **line_r,
    size_t *len_r, enum linebuf_eol *eol_r);

/*
 * Take up to max raw bytes (for DATA/BDAT bodies and literals).  Returns
 * LINEBUF_OK with *p_r, *len_r set (len >= 1) or LINEBUF_NEED_MORE when the
 * buffer is empty.  Same pointer lifetime as linebuf_next_line().
 */
enum linebuf_result linebuf_next_chunk(struct linebuf *lb, size_t max,
    const char **p_r, size_t *len_r);

/* Give back the last n bytes returned by linebuf_next_chunk() (a parser that
 * stopped in the middle of a chunk, e.g. at the end of SMTP DATA). */
void linebuf_unread(struct linebuf *lb, size_t n);

#endif
