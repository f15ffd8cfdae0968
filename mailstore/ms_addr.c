/* SPDX-License-Identifier: ISC */
/*
 * Address and domain syntax checks and case folding (see ms_addr.h).
 * Everything here works on NUL-terminated strings and returns fresh copies,
 * so callers can keep the caller's string untouched for error messages.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mailstore/ms_addr.h"

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* RFC 5322 atext, plus any byte of a UTF-8 sequence (RFC 6532). */
static bool
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

static bool
is_label_char(unsigned char c)
{
	return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * A dot-atom: atoms of atext joined by single dots, no dot at either end.
 * The same shape serves domain labels with a narrower character set.
 */
static bool
valid_dotted(const char *s, size_t len, bool (*ok)(unsigned char))
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
			continue;
		}
		if (!ok((unsigned char)s[i]))
			return false;
	}
	return true;
}

static bool
valid_domain(const char *s, size_t len)
{
	size_t label = 0, i;

	if (len > MS_ADDR_DOMAIN_MAX || !valid_dotted(s, len, is_label_char))
		return false;
	/* DNS limits each label to 63 bytes. */
	for (i = 0; i < len; i++) {
		label = s[i] == '.' ? 0 : label + 1;
		if (label > 63)
			return false;
	}
	return true;
}

static char *
lower_copy(const char *s, size_t len)
{
	char *p = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = ascii_lower(s[i]);
	p[len] = '\0';
	return p;
}

char *
ms_domain_normalize(const char *name)
{
	size_t len = strlen(name);

	if (!valid_domain(name, len))
		return NULL;
	return lower_copy(name, len);
}

char *
ms_addr_normalize(const char *addr, bool allow_catchall)
{
	const char *at = strchr(addr, '@');
	size_t len = strlen(addr), llen;

	if (at == NULL || len > MS_ADDR_MAX)
		return NULL;
	llen = (size_t)(at - addr);
	/* A second '@' lands in the domain and fails the label check. */
	if (!valid_domain(at + 1, len - llen - 1))
		return NULL;
	if (llen == 0) {
		if (!allow_catchall)
			return NULL;
	} else if (llen > MS_ADDR_LOCAL_MAX ||
	    !valid_dotted(addr, llen, is_atext))
		return NULL;
	return lower_copy(addr, len);
}

char *
ms_addr_strip_detail(const char *addr)
{
	const char *at = strchr(addr, '@');
	const char *plus;
	size_t llen;

	if (at == NULL)
		return NULL;
	plus = memchr(addr, '+', (size_t)(at - addr));
	/* "+tag@d" has no base name to fall back to. */
	if (plus == NULL || plus == addr)
		return NULL;
	llen = (size_t)(plus - addr);
	/* "alice.+tag" would leave a trailing dot: not an address. */
	if (addr[llen - 1] == '.')
		return NULL;
	return xasprintf("%.*s%s", (int)llen, addr, at);
}

char *
ms_addr_catchall(const char *addr)
{
	const char *at = strchr(addr, '@');

	return xstrdup(at != NULL ? at : addr);
}

const char *
ms_addr_domain(const char *addr)
{
	const char *at = strchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}
