/* SPDX-License-Identifier: ISC */
/*
 * Address parsing for the configuration: listener "host:port" values,
 * CIDR ranges for trusted_networks, and matching a peer against them.
 * Kept apart from config.c because the SMTP relay check calls
 * config_addr_in_ranges() on every RCPT, and because these are the parts
 * most worth testing byte by byte.
 *
 * Ranges are stored in the 16-byte IPv6 form, IPv4 as ::ffff:a.b.c.d with
 * the prefix moved up by 96, so one masked compare serves both families
 * and an IPv4-mapped peer on an IPv6 socket matches IPv4 ranges.
 *
 * Pure: no I/O, no logging, no globals.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/xmalloc.h"

/* Port text: 1 to 5 digits, 0..65535 (0 = any free port). */
static int
parse_port(const char *s, int *port_r)
{
	size_t n = strlen(s);
	long v;

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
		return -1;
	v = strtol(s, NULL, 10);
	if (v > 65535)
		return -1;
	*port_r = (int)v;
	return 0;
}

/* Normalise a numeric address of the given family to inet_ntop's form. */
static char *
canonical_addr(int af, const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char out[INET6_ADDRSTRLEN];

	if (inet_pton(af, s, buf) != 1)
		return NULL;
	if (inet_ntop(af, buf, out, sizeof(out)) == NULL)
		return NULL;
	return xstrdup(out);
}

/*
 * "1.2.3.4:25", "[::1]:25", ":25" and "25" (the last two mean all IPv4
 * addresses).  Host names are not accepted: we bind before DNS is usable
 * and a listener's address must not depend on it.
 */
int
config_parse_hostport(const char *text, char **host_r, int *port_r)
{
	const char *colon, *end;
	char *hostpart, *host;
	int port;

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (end == NULL || end[1] != ':' || parse_port(end + 2, &port) == -1)
			return -1;
		hostpart = xstrndup(text + 1, (size_t)(end - text - 1));
		host = canonical_addr(AF_INET6, hostpart);
		free(hostpart);
	} else if ((colon = strchr(text, ':')) != NULL) {
		/* A second colon means an IPv6 address without brackets. */
		if (strchr(colon + 1, ':') != NULL || parse_port(colon + 1, &port) == -1)
			return -1;
		if (colon == text)
			host = xstrdup("0.0.0.0");
		else {
			hostpart = xstrndup(text, (size_t)(colon - text));
			host = canonical_addr(AF_INET, hostpart);
			free(hostpart);
		}
	} else {
		if (parse_port(text, &port) == -1)
			return -1;
		host = xstrdup("0.0.0.0");
	}
	if (host == NULL)
		return -1;
	*host_r = host;
	*port_r = port;
	return 0;
}

/* Clear the bits of addr beyond prefix, so a range compares by memcmp. */
static void
mask_addr(uint8_t addr[16], int prefix)
{
	for (int i = 0; i < 16; i++) {
		int bits = prefix - i * 8;

		if (bits >= 8)
			continue;
		addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static void
map_v4(uint8_t out[16], const void *in4)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, in4, 4);
}

int
config_parse_netrange(const char *text, struct netrange *r)
{
	const char *slash = strchr(text, '/');
	char *addr = slash != NULL ? xstrndup(text, (size_t)(slash - text)) :
	    xstrdup(text);
	struct netrange nr = { .prefix = 128 };
	struct in_addr a4;
	int maxprefix, prefix;
	bool v4;

	if (inet_pton(AF_INET, addr, &a4) == 1) {
		map_v4(nr.addr, &a4);
		v4 = true;
	} else if (inet_pton(AF_INET6, addr, nr.addr) == 1)
		v4 = false;
	else {
		free(addr);
		return -1;
	}
	free(addr);

	maxprefix = v4 ? 32 : 128;
	prefix = maxprefix;
	if (slash != NULL) {
		size_t n = strlen(slash + 1);

		if (n == 0 || n > 3 || strspn(slash + 1, "0123456789") != n)
			return -1;
		prefix = atoi(slash + 1);
		if (prefix > maxprefix)
			return -1;
	}
	nr.prefix = v4 ? prefix + 96 : prefix;
	/* Host bits are dropped: "10.1.2.3/8" means 10.0.0.0/8. */
	mask_addr(nr.addr, nr.prefix);
	*r = nr;
	return 0;
}

bool
config_addr_in_ranges(const struct sockaddr *addr,
    const struct netrange *ranges, size_t n)
{
	uint8_t a[16];

	if (addr->sa_family == AF_INET)
		map_v4(a, &((const struct sockaddr_in *)(const void *)addr)->sin_addr);
	else if (addr->sa_family == AF_INET6)
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr, 16);
	else
		return false;

	for (size_t i = 0; i < n; i++) {
		uint8_t masked[16];

		memcpy(masked, a, 16);
		mask_addr(masked, ranges[i].prefix);
		if (memcmp(masked, ranges[i].addr, 16) == 0)
			return true;
	}
	return false;
}
