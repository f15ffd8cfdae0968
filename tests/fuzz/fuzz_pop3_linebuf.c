/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the shared line reader and the POP3 parser.  Not
 * part of the default build:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I<builddir> \
 *       tests/fuzz/fuzz_pop3_linebuf.c common/linebuf.c pop3/pop3_parse.c \
 *       common/log.c common/xmalloc.c -o fuzz_pop3_linebuf
 *
 * or with the other harnesses through tests/fuzz/run.sh.
 *
 * The input is a script: the first byte picks the line limit, then each
 * byte is an operation (append the next few input bytes, take a line,
 * take a chunk, give bytes back, change the limit, shrink, write in
 * place), so the fuzzer chooses how lines, literals and over-long lines
 * arrive.  A small model of the stream (every byte accepted, the read
 * position, whether an over-long line is being skipped) says what each
 * call has to return, and any difference aborts.  Every line taken is
 * also parsed as a POP3 command, and the whole input goes through the
 * RETR and TOP byte-stuffing in chunks, which must undo exactly.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/linebuf.h"
#include "pop3/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the linebuf should hold: model[pos..end) is pending. */
struct model {
	char	*bytes;		/* every byte the linebuf accepted */
	size_t	 end;
	size_t	 pos;
	size_t	 cap;
	bool	 discarding;
	size_t	 last_chunk;	/* length of the last chunk taken */
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
try_pop3(const char *line, size_t len)
{
	char kw[POP3_KEYWORD_MAX + 1], mech[POP3_MECH_MAX + 1];
	const char *args, *s;
	size_t alen, slen;
	uint32_t a, b;
	bool present;

	if (pop3_parse_command(line, len, kw, &args, &alen) != 0)
		return;
	check(strlen(kw) >= 1 && strlen(kw) <= POP3_KEYWORD_MAX);
	if (args == NULL) {
		(void)pop3_parse_opt_msgnum(NULL, 0, &present, &a);
		return;
	}
	check(args >= line && args + alen <= line + len);
	(void)pop3_parse_number(args, alen, &a);
	(void)pop3_parse_opt_msgnum(args, alen, &present, &a);
	(void)pop3_parse_top(args, alen, &a, &b);
	if (pop3_parse_user(args, alen, &s, &slen) == 0)
		check(slen >= 1 && s >= args && s + slen <= args + alen);
	if (pop3_parse_pass(args, alen, &s, &slen) == 0)
		check(slen >= 1 && s >= args && s + slen <= args + alen);
	if (pop3_parse_auth(args, alen, mech, &s, &slen, &present) == 0) {
		check(strlen(mech) >= 1 && strlen(mech) <= POP3_MECH_MAX);
		check(!present || (s >= args && s + slen <= args + alen));
	}
}

/* The model's answer to linebuf_next_line(). */
static enum linebuf_result
model_line(struct model *m, size_t *off_r, size_t *len_r, bool *crlf_r)
{
	const char *lf;

	if (m->discarding) {
		lf = memchr(m->bytes + m->pos, '\n', m->end - m->pos);
		if (lf == NULL) {
			m->pos = m->end;
			return LINEBUF_NEED_MORE;
		}
		m->pos = (size_t)(lf - m->bytes) + 1;
		m->discarding = false;
	}
	if (m->pos == m->end)
		return LINEBUF_NEED_MORE;
	lf = memchr(m->bytes + m->pos, '\n', m->end - m->pos);
	*off_r = m->pos;
	if (lf == NULL) {
		if (m->end - m->pos < m->cap)
			return LINEBUF_NEED_MORE;
		*len_r = m->end - m->pos;
		m->pos = m->end;
		m->discarding = true;
		return LINEBUF_TOO_LONG;
	}
	*len_r = (size_t)(lf - m->bytes) - m->pos;
	m->pos += *len_r + 1;
	*crlf_r = *len_r > 0 && m->bytes[*off_r + *len_r - 1] == '\r';
	if (*crlf_r)
		(*len_r)--;
	return LINEBUF_OK;
}

static void
op_line(struct linebuf *lb, struct model *m)
{
	enum linebuf_result r, mr;
	enum linebuf_eol eol;
	const char *line;
	size_t len, moff = 0, mlen = 0;
	bool crlf = false;

	r = linebuf_next_line(lb, &line, &len, &eol);
	mr = model_line(m, &moff, &mlen, &crlf);
	check(r == mr);
	m->last_chunk = 0;
	if (r == LINEBUF_NEED_MORE)
		return;
	check(len == mlen && memcmp(line, m->bytes + moff, len) == 0);
	if (r == LINEBUF_OK) {
		check(eol == (crlf ? LINEBUF_EOL_CRLF : LINEBUF_EOL_LF));
		try_pop3(line, len);
	}
}

static void
op_chunk(struct linebuf *lb, struct model *m, size_t max)
{
	const char *p;
	size_t len;

	if (linebuf_next_chunk(lb, max, &p, &len) == LINEBUF_NEED_MORE) {
		check(m->pos == m->end);
		return;
	}
	check(len >= 1 && len <= max && len <= m->end - m->pos);
	check(len == (m->end - m->pos < max ? m->end - m->pos : max));
	check(memcmp(p, m->bytes + m->pos, len) == 0);
	m->pos += len;
	m->last_chunk = len;
}

static void
op_append(struct linebuf *lb, struct model *m, const uint8_t *p, size_t n,
    bool in_place)
{
	size_t room = m->cap - (m->end - m->pos), took, avail;
	char *dst;

	check(linebuf_room(lb) == room);
	if (in_place) {
		dst = linebuf_write_ptr(lb, n, &avail);
		check(avail >= (n < room ? n : room) && avail <= room);
		took = n < avail ? n : avail;
		if (took > 0)
			memcpy(dst, p, took);
		linebuf_commit(lb, took);
	} else {
		took = linebuf_append(lb, p, n);
		check(took == (n < room ? n : room));
	}
	memcpy(m->bytes + m->end, p, took);
	m->end += took;
	m->last_chunk = 0;
}

static void
script(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	struct model m;
	size_t i = 1, n, cap;

	/* small limits so that over-long lines are easy to reach */
	cap = 1 + data[0] % 64;
	linebuf_init(&lb, cap);
	m = (struct model){ .bytes = malloc(size + 1), .cap = cap };
	while (i < size) {
		uint8_t op = data[i++];

		n = op >> 3;
		switch (op & 7) {
		case 0:
		case 1:
			if (n > size - i)
				n = size - i;
			op_append(&lb, &m, data + i, n, (op & 7) == 1);
			i += n;
			break;
		case 2:
		case 3:
			op_line(&lb, &m);
			break;
		case 4:
			op_chunk(&lb, &m, 1 + n);
			break;
		case 5:
			n = n < m.last_chunk ? n : m.last_chunk;
			linebuf_unread(&lb, n);
			m.pos -= n;
			m.last_chunk -= n;
			break;
		case 6:
			cap = 1 + n * 3;
			linebuf_set_cap(&lb, cap);
			m.cap = cap < m.end - m.pos ? m.end - m.pos : cap;
			m.last_chunk = 0;
			break;
		case 7:
			linebuf_shrink(&lb);
			if (n & 1) {
				linebuf_clear(&lb);
				m.pos = m.end;
				m.discarding = false;
			}
			m.last_chunk = 0;
			break;
		}
		check(linebuf_pending(&lb) == m.end - m.pos);
		check(linebuf_pending(&lb) <= m.cap);
	}
	/* drain what is left as lines */
	for (n = 0; n <= m.end; n++)
		op_line(&lb, &m);
	linebuf_free(&lb);
	free(m.bytes);
}

/* RETR and TOP byte-stuffing of the input, in chunks of `step`. */
static void
stuffing(const uint8_t *data, size_t size, bool top, uint32_t lines,
    size_t step)
{
	struct pop3_stuff st;
	char *out = malloc(2 * size + POP3_STUFF_FINISH_MAX);
	size_t off = 0, o = 0, n, i, j;
	bool bol = true;

	pop3_stuff_init(&st, top, lines);
	while (off < size && !pop3_stuff_done(&st)) {
		n = step < size - off ? step : size - off;
		o += pop3_stuff_chunk(&st, (const char *)data + off, n,
		    out + o);
		off += n;
	}
	check(top || off == size);
	n = o;
	o += pop3_stuff_finish(&st, out + o);
	check(o - n <= POP3_STUFF_FINISH_MAX);
	check(o >= 3 && memcmp(out + o - 3, ".\r\n", 3) == 0);
	/* undo the stuffing: the input comes back, up to where TOP stopped */
	for (i = 0, j = 0; i < n; i++) {
		if (bol && out[i] == '.') {
			check(i + 1 < n && out[i + 1] == '.');
			i++;
		}
		check(j < size && out[i] == (char)data[j]);
		bol = out[i] == '\n';
		j++;
	}
	check(top || j == size);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	script(data, size);
	stuffing(data, size, false, 0, 1 + data[0] % 7);
	stuffing(data, size, true, data[0] % 4, 1 + data[0] % 5);
	return 0;
}
