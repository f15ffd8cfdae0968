/* SPDX-License-Identifier: ISC */
/*
 * linebuf: a byte window [start, end) inside one heap block.
 *
 * The block starts at LINEBUF_MIN_SIZE bytes and doubles when a writer
 * needs more tail space, but never past cap, so a peer that never sends a
 * LF can make us hold at most cap bytes.  Before growing, consumed bytes at
 * the front are squeezed out with memmove: with a steady stream of short
 * commands the block never grows at all.  Memory is only returned by
 * linebuf_shrink() (empty buffer) or linebuf_set_cap() (smaller cap), so
 * the caller decides when churning malloc is worth an idle saving.
 *
 * Pointers handed out by next_line/next_chunk aim into the block; they stay
 * valid until the next call that may move or overwrite data (see the
 * header), which is why consuming never moves anything.
 */
#include "autoconfig.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/linebuf.h"
#include "common/xmalloc.h"

/* Big enough for a typical command line, small enough for idle sessions. */
#define LINEBUF_MIN_SIZE	512

void
linebuf_init(struct linebuf *lb, size_t cap)
{
	*lb = (struct linebuf){ .cap = cap };
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	*lb = (struct linebuf){ .cap = lb->cap };
}

size_t
linebuf_pending(const struct linebuf *lb)
{
	return lb->end - lb->start;
}

size_t
linebuf_room(const struct linebuf *lb)
{
	size_t pending = linebuf_pending(lb);

	return pending >= lb->cap ? 0 : lb->cap - pending;
}

/* Move the unconsumed bytes to the front of the block. */
static void
linebuf_compact(struct linebuf *lb)
{
	size_t pending = linebuf_pending(lb);

	if (lb->start == 0)
		return;
	if (pending > 0)
		memmove(lb->buf, lb->buf + lb->start, pending);
	lb->start = 0;
	lb->end = pending;
}

void
linebuf_set_cap(struct linebuf *lb, size_t cap)
{
	size_t pending = linebuf_pending(lb);

	if (cap < pending)
		cap = pending;
	lb->cap = cap;

	/* A smaller cap also bounds the storage we keep around. */
	if (lb->size > cap) {
		linebuf_compact(lb);
		if (cap == 0) {
			XFREE(lb->buf);
			lb->start = lb->end = 0;
		} else
			lb->buf = xreallocarray(lb->buf, cap, 1);
		lb->size = cap;
	}
}

void
linebuf_clear(struct linebuf *lb)
{
	lb->start = lb->end = 0;
	lb->discarding = false;
}

void
linebuf_shrink(struct linebuf *lb)
{
	if (linebuf_pending(lb) > 0)
		return;
	XFREE(lb->buf);
	lb->size = lb->start = lb->end = 0;
}

char *
linebuf_write_ptr(struct linebuf *lb, size_t want, size_t *avail_r)
{
	size_t room = linebuf_room(lb), need, newsize;

	if (want > room)
		want = room;

	/* Nothing left to read from: start over at the front for free. */
	if (lb->start == lb->end)
		lb->start = lb->end = 0;

	if (lb->size - lb->end < want) {
		linebuf_compact(lb);
		need = lb->end + want;
		if (lb->size < need) {
			newsize = lb->size > 0 ? lb->size : LINEBUF_MIN_SIZE;
			while (newsize < need)
				newsize *= 2;
			if (newsize > lb->cap)
				newsize = lb->cap;
			lb->buf = xreallocarray(lb->buf, newsize, 1);
			lb->size = newsize;
		}
	}

	/* Hand out the whole tail, but never more than the cap allows. */
	*avail_r = lb->size - lb->end;
	if (*avail_r > room)
		*avail_r = room;
	return lb->buf == NULL ? NULL : lb->buf + lb->end;
}

void
linebuf_commit(struct linebuf *lb, size_t n)
{
	assert(n <= lb->size - lb->end);
	assert(n <= linebuf_room(lb));
	lb->end += n;
}

size_t
linebuf_append(struct linebuf *lb, const void *p, size_t n)
{
	size_t avail;
	char *dst;

	if (n > linebuf_room(lb))
		n = linebuf_room(lb);
	if (n == 0)
		return 0;
	dst = linebuf_write_ptr(lb, n, &avail);
	assert(avail >= n);
	memcpy(dst, p, n);
	linebuf_commit(lb, n);
	return n;
}

/*
 * While discarding the tail of an over-long line, drop bytes up to and
 * including the next LF.  Returns true once the LF has been seen, false if
 * everything buffered was dropped and we still wait for it.
 */
static bool
linebuf_skip_overlong(struct linebuf *lb)
{
	const char *lf = NULL;

	if (linebuf_pending(lb) > 0)
		lf = memchr(lb->buf + lb->start, '\n', linebuf_pending(lb));
	if (lf == NULL) {
		lb->start = lb->end;
		return false;
	}
	lb->start = (size_t)(lf - lb->buf) + 1;
	lb->discarding = false;
	return true;
}

enum linebuf_result
linebuf_next_line(struct linebuf *lb, const char **line_r, size_t *len_r,
    enum linebuf_eol *eol_r)
{
	const char *line, *lf;
	size_t len;

	if (lb->discarding && !linebuf_skip_overlong(lb))
		return LINEBUF_NEED_MORE;
	if (linebuf_pending(lb) == 0)
		return LINEBUF_NEED_MORE;

	line = lb->buf + lb->start;
	lf = memchr(line, '\n', linebuf_pending(lb));
	if (lf == NULL) {
		if (linebuf_room(lb) > 0)
			return LINEBUF_NEED_MORE;
		/* cap bytes and no LF: report once (showing the start of
		 * the line, so a caller can name it), then drop the rest of
		 * this line as it arrives.  The bytes stay in place until
		 * the next call that modifies the linebuf. */
		*line_r = line;
		*len_r = linebuf_pending(lb);
		lb->start = lb->end;
		lb->discarding = true;
		return LINEBUF_TOO_LONG;
	}

	len = (size_t)(lf - line);
	lb->start += len + 1;
	if (len > 0 && line[len - 1] == '\r') {
		len--;
		*eol_r = LINEBUF_EOL_CRLF;
	} else
		*eol_r = LINEBUF_EOL_LF;
	*line_r = line;
	*len_r = len;
	return LINEBUF_OK;
}

enum linebuf_result
linebuf_next_chunk(struct linebuf *lb, size_t max, const char **p_r,
    size_t *len_r)
{
	size_t n = linebuf_pending(lb);

	assert(max > 0);
	if (n == 0)
		return LINEBUF_NEED_MORE;
	if (n > max)
		n = max;
	*p_r = lb->buf + lb->start;
	*len_r = n;
	lb->start += n;
	return LINEBUF_OK;
}

void
linebuf_unread(struct linebuf *lb, size_t n)
{
	/* Consuming never moves data, so the bytes are still in place. */
	assert(n <= lb->start);
	lb->start -= n;
}
