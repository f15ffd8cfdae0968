/* SPDX-License-Identifier: ISC */
/*
 * The incremental message body parser of smtp_parse.h: dot-unstuffing and
 * end-of-data detection for DATA, line-end checks for DATA and BDAT.
 *
 * A small state machine whose only memory is the state number (which byte,
 * if any, is held back), so the caller may split the input at any byte and
 * nothing is buffered between calls.  Output goes through a stack buffer to
 * the caller's callback.  Pure: no I/O, no logging, no globals.
 */
#include "autoconfig.h"

#include <string.h>

#include "smtp/smtp_parse.h"

enum {
	DP_BOL,			/* start of a line after CRLF (or of the body) */
	DP_BOL_BARE,		/* start of a line after a bare line end */
	DP_MID,			/* inside a line */
	DP_CR,			/* a CR held back: CRLF or bare CR? */
	DP_DOT,			/* "." held back at DP_BOL */
	DP_DOT_CR,		/* ".\r" held back at DP_BOL */
	DP_DOT_BARE,		/* "." held back at DP_BOL_BARE */
};

/*
 * Output is gathered in a small stack buffer so that the callback sees
 * a few large pieces rather than one call per line end.
 */
struct dp_out {
	struct smtp_data_parser	*dp;
	smtp_data_out_fn	*fn;
	void			*arg;
	size_t			 n;
	char			 buf[4096];
};

static void
dp_flush(struct dp_out *o)
{
	if (o->n > 0) {
		o->fn(o->arg, o->buf, o->n);
		o->n = 0;
	}
}

static void
dp_put(struct dp_out *o, const char *p, size_t n)
{
	size_t k;

	o->dp->out_bytes += n;
	while (n > 0) {
		if (o->n == sizeof(o->buf))
			dp_flush(o);
		k = sizeof(o->buf) - o->n;
		if (k > n)
			k = n;
		memcpy(o->buf + o->n, p, k);
		o->n += k;
		p += k;
		n -= k;
	}
}

static void
dp_content(struct dp_out *o, const char *p, size_t n)
{
	o->dp->line_len += n;
	dp_put(o, p, n);
}

static void
dp_eol(struct dp_out *o, const char *eol, size_t n)
{
	struct smtp_data_parser *dp = o->dp;

	if (dp->line_len > dp->max_line_len)
		dp->max_line_len = dp->line_len;
	dp->line_len = 0;
	dp_put(o, eol, n);
}

/* A CR that turned out not to be followed by LF. */
static void
dp_bare_cr(struct dp_out *o)
{
	o->dp->saw_bare_cr = true;
	if (o->dp->normalize) {
		dp_eol(o, "\r\n", 2);
		o->dp->state = DP_BOL_BARE;
	} else {
		dp_content(o, "\r", 1);
		o->dp->state = DP_MID;
	}
}

static void
dp_bare_lf(struct dp_out *o)
{
	o->dp->saw_bare_lf = true;
	if (o->dp->normalize)
		dp_eol(o, "\r\n", 2);
	else
		dp_eol(o, "\n", 1);
	o->dp->state = DP_BOL_BARE;
}

void
smtp_data_parser_init(struct smtp_data_parser *dp, bool dot_mode, bool normalize)
{
	*dp = (struct smtp_data_parser){
		.dot_mode = dot_mode,
		.normalize = normalize,
		.state = DP_BOL,
	};
}

/*
 * Cases that do not consume the current byte (a held CR or dot resolved
 * by what follows) change the state and go round again with the same
 * byte, so each byte is looked at in exactly the state it belongs to.
 */
int
smtp_data_parse(struct smtp_data_parser *dp, const char *in, size_t len,
    size_t *consumed_r, smtp_data_out_fn *out, void *arg)
{
	struct dp_out o = { .dp = dp, .fn = out, .arg = arg };
	size_t i = 0, j;

	if (dp->done) {
		*consumed_r = 0;
		return 1;
	}
	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		switch (dp->state) {
		case DP_BOL:
		case DP_BOL_BARE:
			if (c == '.' && dp->dot_mode) {
				dp->state = dp->state == DP_BOL ? DP_DOT : DP_DOT_BARE;
				i++;
			} else
				dp->state = DP_MID;
			break;
		case DP_MID:
			for (j = i; j < len && in[j] != '\r' && in[j] != '\n'; j++)
				;
			if (j > i) {
				dp_content(&o, in + i, j - i);
				i = j;
			} else if (c == '\r') {
				dp->state = DP_CR;
				i++;
			} else {
				dp_bare_lf(&o);
				i++;
			}
			break;
		case DP_CR:
			if (c == '\n') {
				dp_eol(&o, "\r\n", 2);
				dp->state = DP_BOL;
				i++;
			} else
				dp_bare_cr(&o);
			break;
		case DP_DOT:
			if (c == '\r') {
				dp->state = DP_DOT_CR;
				i++;
			} else {
				/* A dot before a bare LF stays (the line is not
				 * the end marker); before anything else it was
				 * stuffed and goes. */
				if (c == '\n')
					dp_content(&o, ".", 1);
				dp->state = DP_MID;
			}
			break;
		case DP_DOT_CR:
			if (c == '\n') {
				dp->done = true;
				dp_flush(&o);
				*consumed_r = i + 1;
				return 1;
			}
			dp_content(&o, ".", 1);
			dp_bare_cr(&o);
			break;
		case DP_DOT_BARE:
			if (c == '\r' || c == '\n')
				dp_content(&o, ".", 1);
			dp->state = DP_MID;
			break;
		}
	}
	dp_flush(&o);
	*consumed_r = len;
	return 0;
}

void
smtp_data_parser_finish(struct smtp_data_parser *dp, smtp_data_out_fn *out,
    void *arg)
{
	struct dp_out o = { .dp = dp, .fn = out, .arg = arg };

	if (dp->state == DP_CR)
		dp_bare_cr(&o);
	if (dp->line_len > dp->max_line_len)
		dp->max_line_len = dp->line_len;
	dp_flush(&o);
}
