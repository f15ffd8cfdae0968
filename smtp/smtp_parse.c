/* SPDX-License-Identifier: ISC */
/*
 * Pure SMTP syntax, see smtp_parse.h.  Everything here works on (pointer,
 * length) input straight from the wire: NUL, CR and 8-bit bytes may appear
 * anywhere and are rejected by the grammar rather than by string functions.
 *
 * Addresses follow RFC 5321 4.1.2 with the RFC 6531 extension (UTF-8 in
 * local parts and domain labels) and come out in one canonical form, so
 * "john.doe"@example.org and john.doe@example.org look up the same user.
 * The message body parser lives in smtp_parse_body.c.
 */
#include "autoconfig.h"

#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "smtp/smtp_parse.h"

static bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 atext, ASCII part. */
static bool
is_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Case-insensitive compare of a counted string with a literal. */
static bool
token_is(const char *p, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(p, lit, len) == 0;
}

/* ------------------------------------------------------------- UTF-8 */

size_t
smtp_utf8_seqlen(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2)		/* continuation byte, or overlong C0/C1 */
		return 0;
	if (s[0] < 0xe0)
		n = 2;
	else if (s[0] < 0xf0) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong 3-byte forms */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (s[0] < 0xf5) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong 4-byte forms */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (len < n)
		return 0;
	/* Only the second byte has the narrowed range; the rest are plain
	 * continuation bytes. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool
smtp_utf8_valid(const char *p, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = smtp_utf8_seqlen(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

/* ------------------------------------------------------- command lines */

int
smtp_parse_cmdline(const char *line, size_t len, struct smtp_cmdline *out)
{
	size_t i = 0, end;

	while (i < len && !is_blank((unsigned char)line[i]))
		i++;
	if (i == 0)
		return -1;
	out->verb = line;
	out->verb_len = i;
	while (i < len && is_blank((unsigned char)line[i]))
		i++;
	end = len;
	while (end > i && is_blank((unsigned char)line[end - 1]))
		end--;
	out->args = line + i;
	out->args_len = end - i;
	return 0;
}

enum smtp_parse_status
smtp_parse_helo(const char *args, size_t len)
{
	size_t i = 0, n;

	if (len == 0 || len > SMTP_HELO_MAX)
		return SMTP_PARSE_SYNTAX;
	while (i < len) {
		unsigned char c = (unsigned char)args[i];

		if (c >= 0x80) {
			if ((n = smtp_utf8_seqlen(args + i, len - i)) == 0)
				return SMTP_PARSE_SYNTAX;
			i += n;
			continue;
		}
		if (c <= ' ' || c == 0x7f)
			return SMTP_PARSE_SYNTAX;
		i++;
	}
	return SMTP_PARSE_OK;
}

/* ----------------------------------------------------------- domains */

/*
 * An address literal after its '[': "[1.2.3.4]" or "[IPv6:...]".  General
 * address literals (other tags) have no registered use and are refused.
 */
static enum smtp_parse_status
parse_addr_literal(const char *p, size_t len, size_t *ip)
{
	size_t i = *ip + 1, start, k;
	char v6[64];
	struct in6_addr a6;
	int octet, octets = 0, val, digits;

	if (len - i >= 5 && strncasecmp(p + i, "IPv6:", 5) == 0) {
		i += 5;
		start = i;
		while (i < len && p[i] != ']') {
			unsigned char c = (unsigned char)p[i];

			if (!(is_digit(c) || (c >= 'a' && c <= 'f') ||
			    (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
				return SMTP_PARSE_BAD_ADDR;
			i++;
		}
		k = i - start;
		if (i >= len || k == 0 || k >= sizeof(v6))
			return SMTP_PARSE_BAD_ADDR;
		memcpy(v6, p + start, k);
		v6[k] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return SMTP_PARSE_BAD_ADDR;
	} else {
		for (octet = 0; octet < 4; octet++) {
			if (octet > 0) {
				if (i >= len || p[i] != '.')
					return SMTP_PARSE_BAD_ADDR;
				i++;
			}
			val = 0;
			for (digits = 0; i < len && is_digit((unsigned char)p[i]) &&
			    digits < 3; digits++, i++)
				val = val * 10 + (p[i] - '0');
			if (digits == 0 || val > 255)
				return SMTP_PARSE_BAD_ADDR;
			octets++;
		}
		if (octets != 4 || i >= len || p[i] != ']')
			return SMTP_PARSE_BAD_ADDR;
	}
	*ip = i + 1;
	return SMTP_PARSE_OK;
}

/*
 * A domain (dot-separated LDH labels, U-labels allowed as UTF-8) or an
 * address literal, starting at *ip.  On success *ip is past it and, if buf
 * is not NULL, the domain is copied there (buf holds SMTP_DOMAIN_MAX + 1).
 */
static enum smtp_parse_status
parse_domain(const char *p, size_t len, size_t *ip, char *buf, size_t *blen_r,
    bool *utf8_r)
{
	size_t i = *ip, start = *ip, lstart, n;
	enum smtp_parse_status st;
	bool hyphen;

	if (i < len && p[i] == '[') {
		if ((st = parse_addr_literal(p, len, &i)) != SMTP_PARSE_OK)
			return st;
	} else {
		for (;;) {
			lstart = i;
			hyphen = false;
			while (i < len) {
				unsigned char c = (unsigned char)p[i];

				if (is_alnum(c)) {
					i++;
					hyphen = false;
				} else if (c == '-' && i > lstart) {
					i++;
					hyphen = true;
				} else if (c >= 0x80) {
					if ((n = smtp_utf8_seqlen(p + i, len - i)) == 0)
						return SMTP_PARSE_BAD_UTF8;
					i += n;
					hyphen = false;
					*utf8_r = true;
				} else
					break;
			}
			if (i == lstart || hyphen || i - lstart > 63)
				return SMTP_PARSE_BAD_ADDR;
			if (i < len && p[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i - start > SMTP_DOMAIN_MAX)
		return SMTP_PARSE_BAD_ADDR;
	if (buf != NULL) {
		memcpy(buf, p + start, i - start);
		buf[i - start] = '\0';
		*blen_r = i - start;
	}
	*ip = i;
	return SMTP_PARSE_OK;
}

/* -------------------------------------------------------- local parts */

/* Is p[0..len) a dot-atom (atext runs joined by single dots)?  UTF-8 is
 * taken as atext; the caller has validated it already. */
static bool
is_dot_atom(const char *p, size_t len)
{
	size_t i;
	bool prev_dot = true;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if (is_atext(c) || c >= 0x80)
			prev_dot = false;
		else
			return false;
	}
	return !prev_dot;
}

/*
 * A local part at *ip, dot-atom or quoted-string, written in canonical form
 * to buf (SMTP_LOCAL_MAX + 1 bytes).  A quoted-string whose content is a
 * dot-atom loses its quotes; any other keeps them, with a backslash only
 * before '"' and '\' (RFC 5321 4.1.2 says these are the same mailbox).
 */
static enum smtp_parse_status
parse_local(const char *p, size_t len, size_t *ip, char *buf, size_t *blen_r,
    bool *utf8_r)
{
	char content[SMTP_LOCAL_MAX + 1];
	size_t i = *ip, n = 0, k, o;
	unsigned char c;

	if (i < len && p[i] == '"') {
		i++;
		for (;;) {
			if (i >= len)
				return SMTP_PARSE_SYNTAX;
			c = (unsigned char)p[i];
			if (c == '"')
				break;
			k = 1;
			if (c == '\\') {
				/* quoted-pairSMTP: backslash + printable ASCII */
				if (++i >= len)
					return SMTP_PARSE_SYNTAX;
				c = (unsigned char)p[i];
				if (c < 0x20 || c > 0x7e)
					return SMTP_PARSE_BAD_ADDR;
			} else if (c >= 0x80) {
				if ((k = smtp_utf8_seqlen(p + i, len - i)) == 0)
					return SMTP_PARSE_BAD_UTF8;
				*utf8_r = true;
			} else if (c < 0x20 || c > 0x7e)
				return SMTP_PARSE_BAD_ADDR;
			if (n + k > SMTP_LOCAL_MAX)
				return SMTP_PARSE_BAD_ADDR;
			memcpy(content + n, p + i, k);
			n += k;
			i += k;
		}
		i++;
		if (is_dot_atom(content, n)) {
			memcpy(buf, content, n);
			o = n;
		} else {
			/* UNSAFE: o is checked against SMTP_LOCAL_MAX before
			 * every store. */
			o = 0;
			buf[o++] = '"';
			for (k = 0; k < n; k++) {
				if (content[k] == '"' || content[k] == '\\') {
					if (o + 1 > SMTP_LOCAL_MAX)
						return SMTP_PARSE_BAD_ADDR;
					buf[o++] = '\\';
				}
				if (o + 1 > SMTP_LOCAL_MAX)
					return SMTP_PARSE_BAD_ADDR;
				buf[o++] = content[k];
			}
			if (o + 1 > SMTP_LOCAL_MAX)
				return SMTP_PARSE_BAD_ADDR;
			buf[o++] = '"';
		}
	} else {
		size_t start = i;

		while (i < len) {
			c = (unsigned char)p[i];
			if (c >= 0x80) {
				if ((k = smtp_utf8_seqlen(p + i, len - i)) == 0)
					return SMTP_PARSE_BAD_UTF8;
				*utf8_r = true;
				i += k;
			} else if (is_atext(c) || c == '.')
				i++;
			else
				break;
		}
		o = i - start;
		if (!is_dot_atom(p + start, o) || o > SMTP_LOCAL_MAX)
			return SMTP_PARSE_BAD_ADDR;
		memcpy(buf, p + start, o);
	}
	buf[o] = '\0';
	*blen_r = o;
	*ip = i;
	return SMTP_PARSE_OK;
}

/* ------------------------------------------------------------- paths */

/*
 * "<" [source-route ":"] mailbox ">" at *ip, or "<>" when allow_null.
 * A missing bracket is a command syntax error; anything wrong inside the
 * brackets is an address error.
 */
static enum smtp_parse_status
parse_path(const char *p, size_t len, size_t *ip, bool allow_null,
    bool allow_postmaster, struct smtp_path *out)
{
	char local[SMTP_LOCAL_MAX + 1], domain[SMTP_DOMAIN_MAX + 1];
	size_t i = *ip, llen, dlen = 0;
	enum smtp_parse_status st;
	bool has_domain = false;

	memset(out, 0, sizeof(*out));
	if (i >= len || p[i] != '<' || memchr(p + i, '>', len - i) == NULL)
		return SMTP_PARSE_SYNTAX;
	i++;
	if (i < len && p[i] == '>') {
		if (!allow_null)
			return SMTP_PARSE_BAD_ADDR;
		*ip = i + 1;
		return SMTP_PARSE_OK;
	}
	/* Source route "@a,@b:" (RFC 5321 4.1.2): parsed, then ignored as
	 * Appendix C asks. */
	if (i < len && p[i] == '@') {
		for (;;) {
			bool dummy = false;

			i++;
			if ((st = parse_domain(p, len, &i, NULL, NULL, &dummy)) !=
			    SMTP_PARSE_OK)
				return st;
			if (i < len && p[i] == ',' && i + 1 < len && p[i + 1] == '@') {
				i++;
				continue;
			}
			if (i < len && p[i] == ':') {
				i++;
				break;
			}
			return SMTP_PARSE_BAD_ADDR;
		}
	}
	if ((st = parse_local(p, len, &i, local, &llen, &out->utf8)) != SMTP_PARSE_OK)
		return st;
	if (i < len && p[i] == '@') {
		i++;
		if ((st = parse_domain(p, len, &i, domain, &dlen, &out->utf8)) !=
		    SMTP_PARSE_OK)
			return st;
		has_domain = true;
	}
	if (i >= len)
		return SMTP_PARSE_SYNTAX;
	if (p[i] != '>')
		return SMTP_PARSE_BAD_ADDR;
	if (!has_domain && !(allow_postmaster && token_is(local, llen, "postmaster")))
		return SMTP_PARSE_BAD_ADDR;
	/* UNSAFE: llen <= SMTP_LOCAL_MAX and dlen <= SMTP_DOMAIN_MAX, so the
	 * result fits SMTP_ADDR_MAX + 1. */
	memcpy(out->addr, local, llen);
	out->local_len = llen;
	if (has_domain) {
		out->addr[llen] = '@';
		memcpy(out->addr + llen + 1, domain, dlen);
		out->addr[llen + 1 + dlen] = '\0';
	} else
		out->addr[llen] = '\0';
	*ip = i + 1;
	return SMTP_PARSE_OK;
}

/* ---------------------------------------------------------- parameters */

struct esmtp_param {
	const char	*kw;
	size_t		 kw_len;
	const char	*val;		/* NULL when there is no "=value" */
	size_t		 val_len;
	bool		 val_utf8;	/* value has non-ASCII */
};

/*
 * The next "keyword[=value]" at *ip, after at least one blank.  Returns 1
 * with *pm filled, 0 at the end of input, or -1 for malformed syntax.
 * RFC 6531 lets values carry UTF-8 when SMTPUTF8 is in effect; the caller
 * checks that once it knows.
 */
static int
next_param(const char *p, size_t len, size_t *ip, struct esmtp_param *pm)
{
	size_t i = *ip, n;

	if (i >= len)
		return 0;
	if (!is_blank((unsigned char)p[i]))
		return -1;
	while (i < len && is_blank((unsigned char)p[i]))
		i++;
	if (i >= len)
		return 0;
	memset(pm, 0, sizeof(*pm));
	pm->kw = p + i;
	if (!is_alnum((unsigned char)p[i]))
		return -1;
	while (i < len && (is_alnum((unsigned char)p[i]) || p[i] == '-'))
		i++;
	pm->kw_len = (size_t)(p + i - pm->kw);
	if (i < len && p[i] == '=') {
		i++;
		pm->val = p + i;
		while (i < len) {
			unsigned char c = (unsigned char)p[i];

			if (c >= 0x80) {
				if ((n = smtp_utf8_seqlen(p + i, len - i)) == 0)
					return -1;
				pm->val_utf8 = true;
				i += n;
			} else if (c > 0x20 && c < 0x7f && c != '=')
				i++;
			else
				break;
		}
		pm->val_len = (size_t)(p + i - pm->val);
		if (pm->val_len == 0)
			return -1;
	}
	if (i < len && !is_blank((unsigned char)p[i]))
		return -1;
	*ip = i;
	return 1;
}


static bool
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* RFC 3461 xtext: printable ASCII except '+' and '=', or "+XX" in hex. */
static bool
is_xtext(const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '+') {
			if (len - i < 3 || !is_hex((unsigned char)p[i + 1]) ||
			    !is_hex((unsigned char)p[i + 2]))
				return false;
			i += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=')
			return false;
	}
	return true;
}

/* RFC 3461 NOTIFY: "NEVER" or a comma list of SUCCESS, FAILURE, DELAY. */
static bool
is_notify(const char *p, size_t len)
{
	size_t i = 0, start;
	bool never = false, others = false;

	while (i <= len) {
		start = i;
		while (i < len && p[i] != ',')
			i++;
		if (token_is(p + start, i - start, "NEVER"))
			never = true;
		else if (token_is(p + start, i - start, "SUCCESS") ||
		    token_is(p + start, i - start, "FAILURE") ||
		    token_is(p + start, i - start, "DELAY"))
			others = true;
		else
			return false;
		i++;
	}
	return !(never && others);
}

/* RFC 3461 ORCPT: addr-type ";" xtext (UTF-8 allowed with SMTPUTF8). */
static bool
is_orcpt(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && p[i] != ';') {
		if (!is_atext((unsigned char)p[i]))
			return false;
		i++;
	}
	if (i == 0 || i >= len - 1)
		return false;
	for (i++; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c == '=' || c == 0x7f)
			return false;
	}
	return true;
}

#define MAIL_P_SIZE	0x01
#define MAIL_P_BODY	0x02
#define MAIL_P_UTF8	0x04
#define MAIL_P_AUTH	0x08
#define MAIL_P_RET	0x10
#define MAIL_P_ENVID	0x20
#define RCPT_P_NOTIFY	0x01
#define RCPT_P_ORCPT	0x02

/* SIZE=<digits>; values past 64 bits saturate so the size check rejects
 * them as too big rather than as malformed. */
static bool
parse_size(const char *p, size_t len, uint64_t *size_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (!is_digit((unsigned char)p[i]))
			return false;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + d;
	}
	*size_r = v;
	return true;
}

/* One MAIL parameter; *seen collects the keywords met so far. */
static enum smtp_parse_status
mail_param(const struct esmtp_param *pm, unsigned *seen,
    struct smtp_mail_args *out, const char **error_r)
{
	const char *v = pm->val;
	size_t vl = pm->val_len;
	unsigned bit;

	if (token_is(pm->kw, pm->kw_len, "SIZE"))
		bit = MAIL_P_SIZE;
	else if (token_is(pm->kw, pm->kw_len, "BODY"))
		bit = MAIL_P_BODY;
	else if (token_is(pm->kw, pm->kw_len, "SMTPUTF8"))
		bit = MAIL_P_UTF8;
	else if (token_is(pm->kw, pm->kw_len, "AUTH"))
		bit = MAIL_P_AUTH;
	else if (token_is(pm->kw, pm->kw_len, "RET"))
		bit = MAIL_P_RET;
	else if (token_is(pm->kw, pm->kw_len, "ENVID"))
		bit = MAIL_P_ENVID;
	else {
		*error_r = "Unsupported MAIL parameter";
		return SMTP_PARSE_UNKNOWN_PARAM;
	}
	if (*seen & bit) {
		*error_r = "Repeated MAIL parameter";
		return SMTP_PARSE_BAD_PARAM;
	}
	*seen |= bit;
	*error_r = "Invalid MAIL parameter value";
	if (bit == MAIL_P_UTF8) {
		if (v != NULL)
			return SMTP_PARSE_BAD_PARAM;
		out->smtputf8 = true;
		return SMTP_PARSE_OK;
	}
	if (v == NULL)
		return SMTP_PARSE_BAD_PARAM;
	switch (bit) {
	case MAIL_P_SIZE:
		if (!parse_size(v, vl, &out->size))
			return SMTP_PARSE_BAD_PARAM;
		out->size_set = true;
		break;
	case MAIL_P_BODY:
		if (token_is(v, vl, "7BIT"))
			out->body = SMTP_BODY_7BIT;
		else if (token_is(v, vl, "8BITMIME"))
			out->body = SMTP_BODY_8BITMIME;
		else if (token_is(v, vl, "BINARYMIME"))
			out->body = SMTP_BODY_BINARYMIME;
		else
			return SMTP_PARSE_BAD_PARAM;
		break;
	case MAIL_P_AUTH:
		/* RFC 4954 5: "<>" or the xtext-encoded authorized identity;
		 * accepted and ignored, as the RFC allows. */
		if (!token_is(v, vl, "<>") && !is_xtext(v, vl))
			return SMTP_PARSE_BAD_PARAM;
		break;
	case MAIL_P_RET:
		if (!token_is(v, vl, "FULL") && !token_is(v, vl, "HDRS"))
			return SMTP_PARSE_BAD_PARAM;
		break;
	case MAIL_P_ENVID:
		if (vl > SMTP_ENVID_MAX || !is_xtext(v, vl))
			return SMTP_PARSE_BAD_PARAM;
		break;
	}
	return SMTP_PARSE_OK;
}

/*
 * "<verb-word>:" then blanks then a path, shared by MAIL and RCPT.  On
 * success *ip is just past the closing '>'.
 */
static enum smtp_parse_status
parse_prefix(const char *p, size_t len, const char *word, size_t *ip)
{
	size_t n = strlen(word), i;

	if (len < n || strncasecmp(p, word, n) != 0)
		return SMTP_PARSE_SYNTAX;
	i = n;
	while (i < len && is_blank((unsigned char)p[i]))
		i++;
	*ip = i;
	return SMTP_PARSE_OK;
}

enum smtp_parse_status
smtp_parse_mail(const char *args, size_t len, struct smtp_mail_args *out,
    const char **error_r)
{
	struct esmtp_param pm;
	size_t i;
	unsigned seen = 0;
	bool val_utf8 = false;
	enum smtp_parse_status st;
	int r;

	memset(out, 0, sizeof(*out));
	*error_r = "Syntax: MAIL FROM:<address>";
	if (parse_prefix(args, len, "FROM:", &i) != SMTP_PARSE_OK)
		return SMTP_PARSE_SYNTAX;
	st = parse_path(args, len, &i, true, false, &out->path);
	if (st != SMTP_PARSE_OK) {
		if (st == SMTP_PARSE_BAD_ADDR)
			*error_r = "Bad sender address syntax";
		else if (st == SMTP_PARSE_BAD_UTF8)
			*error_r = "Malformed UTF-8 in sender address";
		return st;
	}
	while ((r = next_param(args, len, &i, &pm)) == 1) {
		if ((st = mail_param(&pm, &seen, out, error_r)) != SMTP_PARSE_OK)
			return st;
		val_utf8 |= pm.val_utf8;
	}
	if (r < 0) {
		*error_r = "Invalid MAIL parameter syntax";
		return SMTP_PARSE_BAD_PARAM;
	}
	if ((out->path.utf8 || val_utf8) && !out->smtputf8) {
		*error_r = "Non-ASCII sender address needs SMTPUTF8";
		return SMTP_PARSE_NEED_SMTPUTF8;
	}
	*error_r = NULL;
	return SMTP_PARSE_OK;
}

enum smtp_parse_status
smtp_parse_rcpt(const char *args, size_t len, bool smtputf8,
    struct smtp_rcpt_args *out, const char **error_r)
{
	struct esmtp_param pm;
	size_t i;
	unsigned seen = 0, bit;
	enum smtp_parse_status st;
	int r;

	memset(out, 0, sizeof(*out));
	*error_r = "Syntax: RCPT TO:<address>";
	if (parse_prefix(args, len, "TO:", &i) != SMTP_PARSE_OK)
		return SMTP_PARSE_SYNTAX;
	st = parse_path(args, len, &i, false, true, &out->path);
	if (st != SMTP_PARSE_OK) {
		if (st == SMTP_PARSE_BAD_ADDR)
			*error_r = "Bad recipient address syntax";
		else if (st == SMTP_PARSE_BAD_UTF8)
			*error_r = "Malformed UTF-8 in recipient address";
		return st;
	}
	while ((r = next_param(args, len, &i, &pm)) == 1) {
		if (token_is(pm.kw, pm.kw_len, "NOTIFY"))
			bit = RCPT_P_NOTIFY;
		else if (token_is(pm.kw, pm.kw_len, "ORCPT"))
			bit = RCPT_P_ORCPT;
		else {
			*error_r = "Unsupported RCPT parameter";
			return SMTP_PARSE_UNKNOWN_PARAM;
		}
		if (seen & bit) {
			*error_r = "Repeated RCPT parameter";
			return SMTP_PARSE_BAD_PARAM;
		}
		seen |= bit;
		if (pm.val_utf8 && !smtputf8) {
			*error_r = "Non-ASCII parameter needs SMTPUTF8";
			return SMTP_PARSE_NEED_SMTPUTF8;
		}
		if (pm.val == NULL || (bit == RCPT_P_NOTIFY ?
		    !is_notify(pm.val, pm.val_len) : !is_orcpt(pm.val, pm.val_len))) {
			*error_r = "Invalid RCPT parameter value";
			return SMTP_PARSE_BAD_PARAM;
		}
	}
	if (r < 0) {
		*error_r = "Invalid RCPT parameter syntax";
		return SMTP_PARSE_BAD_PARAM;
	}
	if (out->path.utf8 && !smtputf8) {
		*error_r = "Non-ASCII recipient address needs SMTPUTF8";
		return SMTP_PARSE_NEED_SMTPUTF8;
	}
	*error_r = NULL;
	return SMTP_PARSE_OK;
}

/* ----------------------------------------------------------- AUTH, BDAT */

enum smtp_parse_status
smtp_parse_auth(const char *args, size_t len, struct smtp_auth_args *out)
{
	size_t i = 0, start;

	memset(out, 0, sizeof(*out));
	/* RFC 4422 3.1: mechanism names are 1..20 of [A-Z0-9-_]. */
	while (i < len && (is_alnum((unsigned char)args[i]) || args[i] == '-' ||
	    args[i] == '_'))
		i++;
	if (i == 0 || i > 20)
		return SMTP_PARSE_SYNTAX;
	out->mech = args;
	out->mech_len = i;
	if (i == len)
		return SMTP_PARSE_OK;
	if (!is_blank((unsigned char)args[i]))
		return SMTP_PARSE_SYNTAX;
	while (i < len && is_blank((unsigned char)args[i]))
		i++;
	start = i;
	while (i < len && (is_alnum((unsigned char)args[i]) || args[i] == '+' ||
	    args[i] == '/' || args[i] == '='))
		i++;
	if (i != len || i == start)
		return SMTP_PARSE_SYNTAX;
	out->initial = args + start;
	out->initial_len = i - start;
	out->has_initial = true;
	return SMTP_PARSE_OK;
}

enum smtp_parse_status
smtp_parse_bdat(const char *args, size_t len, uint64_t *size_r, bool *last_r)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < len && is_digit((unsigned char)args[i])) {
		unsigned d = (unsigned)(args[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return SMTP_PARSE_SYNTAX;
		v = v * 10 + d;
		i++;
	}
	if (i == 0)
		return SMTP_PARSE_SYNTAX;
	*last_r = false;
	if (i < len) {
		if (!is_blank((unsigned char)args[i]))
			return SMTP_PARSE_SYNTAX;
		while (i < len && is_blank((unsigned char)args[i]))
			i++;
		if (!token_is(args + i, len - i, "LAST"))
			return SMTP_PARSE_SYNTAX;
		*last_r = true;
	}
	*size_r = v;
	return SMTP_PARSE_OK;
}
