/* SPDX-License-Identifier: ISC */
/*
 * Multi-line responses written as the socket drains: RETR and TOP bodies,
 * and the LIST and UIDL listings.
 *
 * A session never queues a whole message (or a listing of a huge maildrop)
 * at once.  The stream writes while conn's output is below CONN_LOW_WATER,
 * then asks for CONN_EV_WRITABLE and continues from there, reading the
 * message with ms_message_read() one chunk at a time.  So the memory a
 * session holds is bounded by the low-water mark plus one stuffed chunk
 * (about 32 + 64 KiB while streaming, nothing once done) whatever the
 * message size, and each read is a short transaction of its own.
 *
 * While a stream runs, command input is suspended: pipelined commands wait
 * in the input buffer and run after the terminating ".".
 */
#include "autoconfig.h"

#include <stdlib.h>

#include "common/conn.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "pop3/pop3_parse.h"
#include "pop3/pop3_session.h"

/* Bytes read from the store per step; stuffing at most doubles them. */
#define POP3_STREAM_CHUNK	(32 * 1024)

struct pop3_stream {
	enum pop3_stream_kind kind;
	size_t	 next;		/* listings: next message index */
	ms_id	 message_id;	/* message: what to read */
	uint64_t offset;	/* message: next byte to read */
	uint64_t size;		/* message: stored size, the end */
	struct pop3_stuff stuff;
	size_t	 chunk;		/* message: read size, <= POP3_STREAM_CHUNK */
	size_t	 prefetched;	/* message: bytes read into in, not yet sent */
	char	*in;		/* chunk bytes */
	char	*out;		/* 2 * chunk + POP3_STUFF_FINISH_MAX bytes */
};

void
pop3_stream_free(struct pop3_stream **stp)
{
	struct pop3_stream *st = *stp;

	if (st == NULL)
		return;
	free(st->in);
	free(st->out);
	free(st);
	*stp = NULL;
}

size_t
pop3_stream_memory(const struct pop3_stream *st)
{
	if (st == NULL)
		return 0;
	return sizeof(*st) + (st->in != NULL ? 3 * st->chunk +
	    POP3_STUFF_FINISH_MAX : 0);
}

/* Write listing lines while there is room.  Returns true when done. */
static bool
pop3_stream_listing(struct pop3_session *s, struct pop3_stream *st)
{
	while (conn_output_pending(s->conn) < CONN_LOW_WATER) {
		const struct pop3_msg *m;

		if (st->next >= s->n_msgs) {
			pop3_reply(s, ".");
			return true;
		}
		m = &s->msgs[st->next++];
		if (m->deleted)
			continue;
		if (st->kind == POP3_STREAM_LIST)
			pop3_reply(s, "%zu %llu", st->next,
			    (unsigned long long)m->size);
		else
			pop3_reply(s, "%zu %lu.%lu", st->next,
			    (unsigned long)s->uidvalidity,
			    (unsigned long)m->uid);
	}
	return false;
}

/*
 * Write stuffed message chunks while there is room.  Returns 1 when the
 * terminator is written, 0 when more is to come, -1 when the store failed
 * mid-message: the "+OK" is already out, so the only honest thing left is
 * to drop the connection rather than send a truncated message and ".".
 */
static int
pop3_stream_message(struct pop3_session *s, struct pop3_stream *st)
{
	while (conn_output_pending(s->conn) < CONN_LOW_WATER) {
		uint64_t left = st->size - st->offset;
		size_t want, n;
		ssize_t got;

		if (left == 0 || pop3_stuff_done(&st->stuff)) {
			n = pop3_stuff_finish(&st->stuff, st->out);
			conn_write(s->conn, st->out, n);
			return 1;
		}
		want = left < st->chunk ? (size_t)left : st->chunk;
		if (st->prefetched > 0) {
			got = (ssize_t)st->prefetched;
			st->prefetched = 0;
		} else {
			got = ms_message_read(s->srv->ms, st->message_id,
			    st->offset, st->in, want);
		}
		if (got < 0) {
			log_warnx(POP3_LOG "event=error reason=read-failed "
			    "message=%lld offset=%llu", POP3_LOG_ARGS(s),
			    (long long)st->message_id,
			    (unsigned long long)st->offset);
			return -1;
		}
		if (got == 0) {
			/* Shorter than its recorded size: end it cleanly;
			 * the client sees fewer octets than announced. */
			log_warnx(POP3_LOG "event=error reason=short-message "
			    "message=%lld size=%llu got=%llu",
			    POP3_LOG_ARGS(s), (long long)st->message_id,
			    (unsigned long long)st->size,
			    (unsigned long long)st->offset);
			st->size = st->offset;
			continue;
		}
		if ((size_t)got > want)
			got = (ssize_t)want;
		st->offset += (uint64_t)got;
		n = pop3_stuff_chunk(&st->stuff, st->in, (size_t)got, st->out);
		conn_write(s->conn, st->out, n);
	}
	return 0;
}

/* One step; on completion the stream is gone and writable events off. */
static bool
pop3_stream_step(struct pop3_session *s)
{
	struct pop3_stream *st = s->stream;
	int r;

	if (st->kind == POP3_STREAM_MESSAGE)
		r = pop3_stream_message(s, st);
	else
		r = pop3_stream_listing(s, st) ? 1 : 0;
	if (r == 0)
		return false;
	pop3_stream_free(&s->stream);
	conn_want_writable(s->conn, false);
	if (r < 0)
		pop3_close(s, "read-failed", NULL);
	return true;
}

/* Write what fits now; otherwise wait for CONN_EV_WRITABLE with input
 * suspended, so the input loop stops until the last chunk is out. */
static void
pop3_stream_begin(struct pop3_session *s, struct pop3_stream *st)
{
	s->stream = st;
	if (pop3_stream_step(s))
		return;
	pop3_suspend(s);
	conn_want_writable(s->conn, true);
}

int
pop3_stream_message_start(struct pop3_session *s, size_t idx, bool top,
    uint32_t lines)
{
	const struct pop3_msg *m = &s->msgs[idx];
	struct pop3_stream *st;
	ssize_t got;

	st = xcalloc(1, sizeof(*st));
	st->kind = POP3_STREAM_MESSAGE;
	st->message_id = m->message_id;
	st->size = m->size;
	pop3_stuff_init(&st->stuff, top, lines);
	/* Small messages get small buffers. */
	st->chunk = st->size < POP3_STREAM_CHUNK ? (size_t)st->size + 1 :
	    POP3_STREAM_CHUNK;
	st->in = xmalloc(st->chunk);
	st->out = xmalloc(2 * st->chunk + POP3_STUFF_FINISH_MAX);

	/* Read the first chunk before saying +OK: a message that another
	 * session expunged since our login gets an -ERR, not a broken
	 * response. */
	got = ms_message_read(s->srv->ms, st->message_id, 0, st->in,
	    st->size < st->chunk ? (size_t)st->size : st->chunk);
	if (got < 0) {
		pop3_stream_free(&st);
		return -1;
	}
	st->prefetched = (size_t)got;
	if (top)
		pop3_reply(s, "+OK Top of message follows");
	else
		pop3_reply(s, "+OK %llu octets", (unsigned long long)m->size);
	pop3_stream_begin(s, st);
	return 0;
}

void
pop3_stream_listing_start(struct pop3_session *s, enum pop3_stream_kind kind)
{
	struct pop3_stream *st;

	st = xcalloc(1, sizeof(*st));
	st->kind = kind;
	pop3_stream_begin(s, st);
}

void
pop3_stream_continue(struct pop3_session *s)
{
	if (pop3_stream_step(s))
		pop3_resume(s);
}
