/* SPDX-License-Identifier: ISC */
/*
 * The configuration file.  inih splits the text into (section, key, value)
 * triples; everything else happens here, driven by one table of keys that
 * both the parser and config_dump() walk, so the two cannot drift apart.
 *
 * We feed inih through our own line reader instead of its string reader
 * because ours knows the line number of every key (inih's handler does not
 * get it in Debian's build), strips leading blanks (so indented keys are
 * keys, not silent continuation lines of the previous value) and reports
 * lines longer than inih's fixed buffer instead of letting them be split in
 * two.  List-valued keys (listeners, trusted_networks) may be repeated: the
 * first occurrence replaces the default list and later ones append, which is
 * how long lists stay under that line limit.  Any other repeated key is an
 * error, as are unknown sections and keys.
 *
 * Address values are parsed in config_addr.c.
 *
 * Pure: no I/O except config_load()'s one read of the file, no logging.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "common/config.h"
#include "common/xmalloc.h"

#define CONFIG_FILE_MAX	(1024 * 1024)	/* bytes; a config is a few KB */
#define HOSTNAME_MAX	253

enum cfg_kind {
	CFG_STRING,	/* char *, must not be empty */
	CFG_OPTSTRING,	/* char *, empty means NULL (the default) */
	CFG_HOSTNAME,	/* char *, a DNS name */
	CFG_BOOL,	/* bool */
	CFG_SIZE,	/* uint64_t bytes, k/m/g suffixes */
	CFG_SIZE_T,	/* size_t bytes, k/m/g suffixes */
	CFG_UINT,	/* unsigned */
	CFG_DURATION,	/* double seconds, s/m/h suffixes */
	CFG_LISTEN,	/* the listeners of one role (a list) */
	CFG_NETRANGES,	/* trusted_networks (a list) */
	CFG_BARE_LF,	/* enum bare_lf_policy */
};

struct cfg_key {
	const char	*section;
	const char	*name;
	enum cfg_kind	 kind;
	size_t		 offset;	/* into struct config (unused for lists) */
	uint64_t	 min, max;	/* numeric range; for CFG_LISTEN min = role */
};

#define OFF(f)	offsetof(struct config, f)

static const struct cfg_key cfg_keys[] = {
	{ "server", "hostname", CFG_HOSTNAME, OFF(hostname), 0, 0 },
	{ "server", "data_dir", CFG_STRING, OFF(data_dir), 0, 0 },
	{ "server", "user", CFG_OPTSTRING, OFF(run_user), 0, 0 },
	{ "server", "debug", CFG_BOOL, OFF(debug), 0, 0 },
	{ "tls", "cert", CFG_OPTSTRING, OFF(tls_cert), 0, 0 },
	{ "tls", "key", CFG_OPTSTRING, OFF(tls_key), 0, 0 },
	{ "listen", "smtp", CFG_LISTEN, 0, ROLE_SMTP, 0 },
	{ "listen", "submission", CFG_LISTEN, 0, ROLE_SUBMISSION, 0 },
	{ "listen", "submissions", CFG_LISTEN, 0, ROLE_SUBMISSIONS, 0 },
	{ "listen", "pop3", CFG_LISTEN, 0, ROLE_POP3, 0 },
	{ "listen", "pop3s", CFG_LISTEN, 0, ROLE_POP3S, 0 },
	{ "listen", "imap", CFG_LISTEN, 0, ROLE_IMAP, 0 },
	{ "listen", "imaps", CFG_LISTEN, 0, ROLE_IMAPS, 0 },
	{ "limits", "max_message_size", CFG_SIZE, OFF(max_message_size),
	    1024, UINT64_C(1) << 40 },
	{ "limits", "max_recipients", CFG_UINT, OFF(max_recipients), 1, 100000 },
	{ "limits", "max_connections", CFG_UINT, OFF(max_connections), 1, 1000000 },
	{ "limits", "max_connections_per_ip", CFG_UINT,
	    OFF(max_connections_per_ip), 1, 1000000 },
	/* RFC 5321 4.5.3.1.4: a command line of 512 octets must be accepted. */
	{ "limits", "max_line", CFG_SIZE_T, OFF(max_line), 512, 65536 },
	{ "limits", "smtp_timeout", CFG_DURATION, OFF(smtp_timeout), 1, 86400 },
	{ "limits", "data_timeout", CFG_DURATION, OFF(data_timeout), 1, 86400 },
	{ "limits", "pop3_timeout", CFG_DURATION, OFF(pop3_timeout), 1, 86400 },
	{ "limits", "imap_timeout", CFG_DURATION, OFF(imap_timeout), 1, 86400 },
	{ "limits", "imap_idle_keepalive", CFG_DURATION,
	    OFF(imap_idle_keepalive), 0, 86400 },
	{ "smtp", "trusted_networks", CFG_NETRANGES, 0, 0, 0 },
	{ "smtp", "bare_lf", CFG_BARE_LF, OFF(bare_lf), 0, 0 },
	{ "auth", "allow_plaintext", CFG_BOOL, OFF(allow_plaintext_auth), 0, 0 },
};
#define N_KEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const char *const cfg_sections[] = {
	"server", "tls", "listen", "limits", "smtp", "auth",
};

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_SMTP] = "smtp",
	[ROLE_SUBMISSION] = "submission",
	[ROLE_SUBMISSIONS] = "submissions",
	[ROLE_POP3] = "pop3",
	[ROLE_POP3S] = "pop3s",
	[ROLE_IMAP] = "imap",
	[ROLE_IMAPS] = "imaps",
};

/* Parser state shared by the line reader and the inih handler. */
struct cfg_parse {
	struct config	*cfg;
	const char	*p;		/* next unread byte of the text */
	int		 lineno;	/* of the line last handed to inih */
	int		 err_line;	/* first error we found, 0 = none */
	char		*err;		/* its message (without "line N: ") */
	int		 seen_line[N_KEYS]; /* line a key was first set on */
};

const char *
config_role_name(enum listener_role role)
{
	if ((int)role < 0 || role >= ROLE_COUNT)
		return "unknown";
	return role_names[role];
}

bool
config_role_from_name(const char *name, enum listener_role *role_r)
{
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (strcasecmp(name, role_names[i]) == 0) {
			*role_r = (enum listener_role)i;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------- defaults */

static void
add_listener(struct config *cfg, enum listener_role role, const char *host,
    int port)
{
	cfg->listeners = xreallocarray(cfg->listeners, cfg->n_listeners + 1,
	    sizeof(*cfg->listeners));
	cfg->listeners[cfg->n_listeners++] = (struct listen_addr){
		.role = role, .host = xstrdup(host), .port = port,
	};
}

static void
remove_role(struct config *cfg, enum listener_role role)
{
	size_t j = 0;

	for (size_t i = 0; i < cfg->n_listeners; i++) {
		if (cfg->listeners[i].role == role)
			free(cfg->listeners[i].host);
		else
			cfg->listeners[j++] = cfg->listeners[i];
	}
	cfg->n_listeners = j;
}

static bool
valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HOSTNAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return false;
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

static char *
default_hostname(void)
{
	char buf[HOSTNAME_MAX + 2];

	/* The name goes into greetings and Received lines, so anything odd
	 * from the system falls back to a name that is always valid. */
	if (gethostname(buf, sizeof(buf)) == -1)
		return xstrdup("localhost");
	buf[sizeof(buf) - 1] = '\0';
	if (!valid_hostname(buf))
		return xstrdup("localhost");
	return xstrdup(buf);
}

struct config *
config_new_default(bool as_root)
{
	static const struct {
		enum listener_role role;
		int root_port, user_port;
	} ports[] = {
		{ ROLE_SMTP, 25, 2525 },
		{ ROLE_SUBMISSION, 587, 2587 },
		{ ROLE_SUBMISSIONS, 465, 2465 },
		{ ROLE_POP3, 110, 2110 },
		{ ROLE_POP3S, 995, 2995 },
		{ ROLE_IMAP, 143, 2143 },
		{ ROLE_IMAPS, 993, 2993 },
	};
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->hostname = default_hostname();
	cfg->data_dir = xstrdup(as_root ? "/var/lib/postroom" : "./data");
	cfg->run_user = as_root ? xstrdup("postroom") : NULL;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		add_listener(cfg, ports[i].role, as_root ? "0.0.0.0" : "127.0.0.1",
		    as_root ? ports[i].root_port : ports[i].user_port);
	cfg->max_message_size = UINT64_C(50) * 1024 * 1024;
	cfg->max_recipients = 100;
	cfg->max_connections = 4096;
	cfg->max_connections_per_ip = 50;
	cfg->max_line = 1000;
	cfg->smtp_timeout = 300;
	cfg->data_timeout = 600;
	cfg->pop3_timeout = 600;
	cfg->imap_timeout = 1800;
	cfg->imap_idle_keepalive = 120;
	cfg->bare_lf = BARE_LF_REJECT;
	cfg->allow_plaintext_auth = false;
	return cfg;
}

void
config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->hostname);
	free(cfg->data_dir);
	free(cfg->run_user);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	for (size_t i = 0; i < cfg->n_listeners; i++)
		free(cfg->listeners[i].host);
	free(cfg->listeners);
	free(cfg->trusted_networks);
	free(cfg);
	*cfgp = NULL;
}

char *
config_tls_cert_path(const struct config *cfg)
{
	if (cfg->tls_cert != NULL)
		return xstrdup(cfg->tls_cert);
	return xasprintf("%s/tls/cert.pem", cfg->data_dir);
}

char *
config_tls_key_path(const struct config *cfg)
{
	if (cfg->tls_key != NULL)
		return xstrdup(cfg->tls_key);
	return xasprintf("%s/tls/key.pem", cfg->data_dir);
}

/* --------------------------------------------------------------- values */

static int
parse_bool(const char *s, bool *b_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b_r = false;
			return 0;
		}
	}
	return -1;
}

/*
 * A decimal number with an optional one-letter unit from units/mults
 * (case-insensitive), e.g. "50m" or "30s".  Overflow is an error.
 */
static int
parse_scaled(const char *s, const char *units, const uint64_t *mults,
    uint64_t *v_r)
{
	size_t ndig = strspn(s, "0123456789");
	uint64_t v = 0, mult = 1;

	if (ndig == 0 || ndig > 19)
		return -1;
	for (size_t i = 0; i < ndig; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (s[ndig] != '\0') {
		const char *u = strchr(units, tolower((unsigned char)s[ndig]));

		if (u == NULL || s[ndig + 1] != '\0')
			return -1;
		mult = mults[u - units];
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*v_r = v * mult;
	return 0;
}

static int
parse_size(const char *s, uint64_t *v_r)
{
	static const uint64_t mults[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };

	return parse_scaled(s, "kmg", mults, v_r);
}

static int
parse_duration(const char *s, uint64_t *v_r)
{
	static const uint64_t mults[] = { 1, 60, 3600 };

	return parse_scaled(s, "smh", mults, v_r);
}

static void
set_error(struct cfg_parse *st, int line, char *msg)
{
	if (st->err_line != 0 && st->err_line <= line) {
		free(msg);
		return;
	}
	free(st->err);
	st->err = msg;
	st->err_line = line;
}

/* Trim blanks at both ends of s in place, returning the new start. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/*
 * Apply a comma list to a list-valued key.  The whole value is checked
 * before anything changes, so a bad item leaves the config as it was.
 */
static int
set_list(struct cfg_parse *st, const struct cfg_key *k, const char *value,
    bool first)
{
	struct config *cfg = st->cfg;
	char *copy = xstrdup(value), *save = NULL, *item;
	struct listen_addr *addrs = NULL;
	struct netrange *ranges = NULL;
	size_t n = 0;
	int rc = 0;

	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		item = trim(item);
		if (*item == '\0')
			continue;
		if (k->kind == CFG_LISTEN) {
			char *host;
			int port;

			if (config_parse_hostport(item, &host, &port) == -1) {
				set_error(st, st->lineno, xasprintf("[%s] %s: bad "
				    "address '%s' (expected 1.2.3.4:25 or [::1]:25)",
				    k->section, k->name, item));
				rc = -1;
				break;
			}
			addrs = xreallocarray(addrs, n + 1, sizeof(*addrs));
			addrs[n++] = (struct listen_addr){
				.role = (enum listener_role)k->min,
				.host = host, .port = port,
			};
		} else {
			struct netrange r;

			if (config_parse_netrange(item, &r) == -1) {
				set_error(st, st->lineno, xasprintf("[%s] %s: bad "
				    "network '%s' (expected 192.0.2.0/24 or "
				    "2001:db8::/32)", k->section, k->name, item));
				rc = -1;
				break;
			}
			ranges = xreallocarray(ranges, n + 1, sizeof(*ranges));
			ranges[n++] = r;
		}
	}
	free(copy);

	if (rc == 0 && k->kind == CFG_LISTEN) {
		if (first)
			remove_role(cfg, (enum listener_role)k->min);
		for (size_t i = 0; i < n; i++)
			add_listener(cfg, addrs[i].role, addrs[i].host, addrs[i].port);
	} else if (rc == 0) {
		if (first)
			cfg->n_trusted_networks = 0;
		cfg->trusted_networks = xreallocarray(cfg->trusted_networks,
		    cfg->n_trusted_networks + n + 1, sizeof(*ranges));
		if (n > 0)
			memcpy(cfg->trusted_networks + cfg->n_trusted_networks,
			    ranges, n * sizeof(*ranges));
		cfg->n_trusted_networks += n;
	}
	if (addrs != NULL) {
		for (size_t i = 0; i < n; i++)
			free(addrs[i].host);
		free(addrs);
	}
	free(ranges);
	return rc;
}

/* Store one scalar value; on error record a message and return -1. */
static int
set_scalar(struct cfg_parse *st, const struct cfg_key *k, const char *value)
{
	char *field = (char *)st->cfg + k->offset;
	uint64_t v;
	bool b;

	switch (k->kind) {
	case CFG_STRING:
	case CFG_HOSTNAME:
		if (*value == '\0')
			goto bad;
		if (k->kind == CFG_HOSTNAME && !valid_hostname(value))
			goto bad;
		free(*(char **)(void *)field);
		*(char **)(void *)field = xstrdup(value);
		return 0;
	case CFG_OPTSTRING:
		free(*(char **)(void *)field);
		*(char **)(void *)field = *value == '\0' ? NULL : xstrdup(value);
		return 0;
	case CFG_BOOL:
		if (parse_bool(value, &b) == -1)
			goto bad;
		*(bool *)(void *)field = b;
		return 0;
	case CFG_SIZE:
	case CFG_SIZE_T:
	case CFG_UINT:
	case CFG_DURATION:
		if (k->kind == CFG_DURATION ? parse_duration(value, &v) == -1 :
		    k->kind == CFG_UINT ? parse_scaled(value, "", NULL, &v) == -1 :
		    parse_size(value, &v) == -1)
			goto bad;
		if (v < k->min || v > k->max) {
			set_error(st, st->lineno, xasprintf("[%s] %s: %s is out of "
			    "range (%" PRIu64 " to %" PRIu64 ")", k->section,
			    k->name, value, k->min, k->max));
			return -1;
		}
		if (k->kind == CFG_SIZE)
			*(uint64_t *)(void *)field = v;
		else if (k->kind == CFG_SIZE_T)
			*(size_t *)(void *)field = (size_t)v;
		else if (k->kind == CFG_UINT)
			*(unsigned *)(void *)field = (unsigned)v;
		else
			*(double *)(void *)field = (double)v;
		return 0;
	case CFG_BARE_LF:
		if (strcasecmp(value, "reject") == 0)
			st->cfg->bare_lf = BARE_LF_REJECT;
		else if (strcasecmp(value, "normalize") == 0)
			st->cfg->bare_lf = BARE_LF_NORMALIZE;
		else
			goto bad;
		return 0;
	case CFG_LISTEN:
	case CFG_NETRANGES:
		break;
	}
	return -1;
bad:
	set_error(st, st->lineno, xasprintf("[%s] %s: invalid value '%s' (%s)",
	    k->section, k->name, value,
	    k->kind == CFG_BOOL ? "expected yes or no" :
	    k->kind == CFG_SIZE || k->kind == CFG_SIZE_T ?
	    "expected a size like 1000, 64k or 50m" :
	    k->kind == CFG_DURATION ? "expected seconds like 300, 30s or 5m" :
	    k->kind == CFG_UINT ? "expected a number" :
	    k->kind == CFG_HOSTNAME ? "expected a host name like mail.example.org" :
	    k->kind == CFG_BARE_LF ? "expected reject or normalize" :
	    "must not be empty"));
	return -1;
}

static bool
known_section(const char *name)
{
	for (size_t i = 0; i < sizeof(cfg_sections) / sizeof(cfg_sections[0]); i++)
		if (strcasecmp(name, cfg_sections[i]) == 0)
			return true;
	return false;
}

/* inih callback: one key = value.  Returns 1 to go on, 0 on error. */
static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *st = user;
	const struct cfg_key *k = NULL;
	size_t ki;

	if (*section == '\0') {
		set_error(st, st->lineno, xasprintf("key '%s' before any [section]",
		    name));
		return 0;
	}
	if (!known_section(section)) {
		set_error(st, st->lineno, xasprintf("unknown section [%s]", section));
		return 0;
	}
	for (ki = 0; ki < N_KEYS; ki++) {
		if (strcasecmp(cfg_keys[ki].section, section) == 0 &&
		    strcasecmp(cfg_keys[ki].name, name) == 0) {
			k = &cfg_keys[ki];
			break;
		}
	}
	if (k == NULL) {
		set_error(st, st->lineno, xasprintf("unknown key '%s' in [%s]",
		    name, section));
		return 0;
	}

	if (k->kind == CFG_LISTEN || k->kind == CFG_NETRANGES) {
		bool first = st->seen_line[ki] == 0;

		if (first)
			st->seen_line[ki] = st->lineno;
		return set_list(st, k, value, first) == 0;
	}
	if (st->seen_line[ki] != 0) {
		set_error(st, st->lineno, xasprintf("[%s] %s is set twice (first "
		    "on line %d)", k->section, k->name, st->seen_line[ki]));
		return 0;
	}
	st->seen_line[ki] = st->lineno;
	return set_scalar(st, k, value) == 0;
}

/*
 * inih line reader over our text.  Hands inih one line at a time with
 * leading blanks removed; a line that does not fit inih's buffer is
 * replaced by an empty one and reported.  Section headers are checked here
 * because inih only tells the handler about sections that have keys.
 */
static char *
ini_read_line(char *str, int num, void *stream)
{
	struct cfg_parse *st = stream;
	const char *line, *eol;
	size_t len;

	if (*st->p == '\0')
		return NULL;
	line = st->p;
	eol = strchr(line, '\n');
	st->p = eol != NULL ? eol + 1 : line + strlen(line);
	st->lineno++;
	len = (size_t)(st->p - line);
	if (st->lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3;
		len -= 3;
	}
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len + 2 > (size_t)num) {
		set_error(st, st->lineno, xasprintf("line too long (at most %d "
		    "characters)", num - 2));
		memcpy(str, "\n", 2);
		return str;
	}
	memcpy(str, line, len);
	str[len] = '\0';

	if (str[0] == '[') {
		char *end = strchr(str, ']');

		if (end != NULL) {
			char *name = xstrndup(str + 1, (size_t)(end - str - 1));

			if (!known_section(name))
				set_error(st, st->lineno, xasprintf("unknown section "
				    "[%s]", name));
			free(name);
		}
	}
	return str;
}

/* Checks across keys, after the whole text was read. */
static char *
config_validate(const struct config *cfg)
{
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		return xstrdup("[tls] cert and key must be set together");
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		const struct listen_addr *a = &cfg->listeners[i];

		for (size_t j = 0; j < i; j++) {
			const struct listen_addr *b = &cfg->listeners[j];

			if (a->port != 0 && a->port == b->port &&
			    strcmp(a->host, b->host) == 0)
				return xasprintf("[listen] %s%s%s:%d is used by both "
				    "%s and %s", strchr(a->host, ':') ? "[" : "",
				    a->host, strchr(a->host, ':') ? "]" : "",
				    a->port, config_role_name(b->role),
				    config_role_name(a->role));
		}
	}
	return NULL;
}

/*
 * A [listen] section names every listener: a role it leaves out is off,
 * as if given an empty value, so that "smtp = 127.0.0.1:2525" alone does
 * not also open the other six default ports.  Without [listen] keys, every
 * role keeps its default.
 */
static void
listen_only_named(struct cfg_parse *st)
{
	bool any = false;
	size_t ki;

	for (ki = 0; ki < N_KEYS; ki++)
		if (cfg_keys[ki].kind == CFG_LISTEN && st->seen_line[ki] != 0)
			any = true;
	if (!any)
		return;
	for (ki = 0; ki < N_KEYS; ki++)
		if (cfg_keys[ki].kind == CFG_LISTEN && st->seen_line[ki] == 0)
			remove_role(st->cfg, (enum listener_role)cfg_keys[ki].min);
}

struct config *
config_parse_string(const char *text, bool as_root, char **err_r)
{
	struct cfg_parse st = { .cfg = config_new_default(as_root), .p = text };
	char *verr;
	int rc;

	*err_r = NULL;
	rc = ini_parse_stream(ini_read_line, &st, ini_cb, &st);
	if (rc == -2)
		set_error(&st, st.lineno, xstrdup("out of memory"));
	else if (rc > 0)
		/* inih reports the first bad line; if it is before any line our
		 * handler complained about, it is a syntax error. */
		set_error(&st, rc, xstrdup("syntax error (expected [section] or "
		    "key = value)"));
	if (st.err_line != 0) {
		*err_r = xasprintf("line %d: %s", st.err_line, st.err);
		free(st.err);
		config_free(&st.cfg);
		return NULL;
	}
	listen_only_named(&st);
	if ((verr = config_validate(st.cfg)) != NULL) {
		*err_r = verr;
		config_free(&st.cfg);
		return NULL;
	}
	return st.cfg;
}

struct config *
config_load(const char *path, bool as_root, char **err_r)
{
	struct config *cfg;
	struct stat sb;
	char *text, *err;
	size_t len = 0;
	ssize_t n;
	int fd;

	*err_r = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > CONFIG_FILE_MAX) {
		*err_r = xasprintf("%s: %s", path, !S_ISREG(sb.st_mode) ?
		    "not a regular file" : "file too large");
		close(fd);
		return NULL;
	}
	text = xmalloc((size_t)sb.st_size + 1);
	while (len < (size_t)sb.st_size &&
	    (n = read(fd, text + len, (size_t)sb.st_size - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*err_r = xasprintf("%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	if (strlen(text) != len) {
		*err_r = xasprintf("%s: contains a NUL byte", path);
		free(text);
		return NULL;
	}

	cfg = config_parse_string(text, as_root, &err);
	free(text);
	if (cfg == NULL) {
		*err_r = xasprintf("%s: %s", path, err);
		free(err);
		return NULL;
	}
	cfg->path = xstrdup(path);
	return cfg;
}

/* ----------------------------------------------------------------- dump */

static void
format_size(uint64_t v, char *buf, size_t len)
{
	if (v != 0 && v % (1024 * 1024 * 1024) == 0)
		snprintf(buf, len, "%" PRIu64 "g", v / (1024 * 1024 * 1024));
	else if (v != 0 && v % (1024 * 1024) == 0)
		snprintf(buf, len, "%" PRIu64 "m", v / (1024 * 1024));
	else if (v != 0 && v % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "k", v / 1024);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static void
dump_netrange(const struct netrange *r, FILE *out)
{
	static const uint8_t v4pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char buf[INET6_ADDRSTRLEN];

	if (r->prefix >= 96 && memcmp(r->addr, v4pfx, 12) == 0) {
		inet_ntop(AF_INET, r->addr + 12, buf, sizeof(buf));
		fprintf(out, "%s/%d", buf, r->prefix - 96);
	} else {
		inet_ntop(AF_INET6, r->addr, buf, sizeof(buf));
		fprintf(out, "%s/%d", buf, r->prefix);
	}
}

static void
dump_key(const struct config *cfg, const struct cfg_key *k, FILE *out)
{
	const char *field = (const char *)cfg + k->offset;
	const char *s;
	char buf[32];
	bool any = false;

	switch (k->kind) {
	case CFG_STRING:
	case CFG_HOSTNAME:
	case CFG_OPTSTRING:
		s = *(char *const *)(const void *)field;
		fprintf(out, "%s = %s", k->name, s != NULL ? s : "");
		if (s == NULL && k->offset == OFF(run_user))
			fprintf(out, "\t; keep the user that started us");
		else if (s == NULL)
			fprintf(out, "\t; default: %s/tls/%s.pem", cfg->data_dir,
			    k->offset == OFF(tls_cert) ? "cert" : "key");
		fputc('\n', out);
		break;
	case CFG_BOOL:
		fprintf(out, "%s = %s\n", k->name,
		    *(const bool *)(const void *)field ? "yes" : "no");
		break;
	case CFG_SIZE:
		format_size(*(const uint64_t *)(const void *)field, buf, sizeof(buf));
		fprintf(out, "%s = %s\n", k->name, buf);
		break;
	case CFG_SIZE_T:
		format_size(*(const size_t *)(const void *)field, buf, sizeof(buf));
		fprintf(out, "%s = %s\n", k->name, buf);
		break;
	case CFG_UINT:
		fprintf(out, "%s = %u\n", k->name, *(const unsigned *)(const void *)field);
		break;
	case CFG_DURATION:
		fprintf(out, "%s = %.0f\n", k->name, *(const double *)(const void *)field);
		break;
	case CFG_BARE_LF:
		fprintf(out, "%s = %s\n", k->name,
		    cfg->bare_lf == BARE_LF_REJECT ? "reject" : "normalize");
		break;
	case CFG_LISTEN:
		/* One line per address keeps every line short; repeated list
		 * keys append when read back. */
		for (size_t i = 0; i < cfg->n_listeners; i++) {
			const struct listen_addr *a = &cfg->listeners[i];
			bool v6 = strchr(a->host, ':') != NULL;

			if (a->role != (enum listener_role)k->min)
				continue;
			fprintf(out, "%s = %s%s%s:%d\n", k->name, v6 ? "[" : "",
			    a->host, v6 ? "]" : "", a->port);
			any = true;
		}
		if (!any)
			fprintf(out, "%s =\n", k->name);
		break;
	case CFG_NETRANGES:
		for (size_t i = 0; i < cfg->n_trusted_networks; i++) {
			fprintf(out, "%s = ", k->name);
			dump_netrange(&cfg->trusted_networks[i], out);
			fputc('\n', out);
		}
		if (cfg->n_trusted_networks == 0)
			fprintf(out, "%s =\n", k->name);
		break;
	}
}

void
config_dump(const struct config *cfg, FILE *out)
{
	const char *section = NULL;

	fprintf(out, "; effective configuration%s%s\n",
	    cfg->path != NULL ? " from " : " (built-in defaults)",
	    cfg->path != NULL ? cfg->path : "");
	for (size_t i = 0; i < N_KEYS; i++) {
		if (section == NULL || strcmp(section, cfg_keys[i].section) != 0) {
			section = cfg_keys[i].section;
			fprintf(out, "\n[%s]\n", section);
		}
		dump_key(cfg, &cfg_keys[i], out);
	}
}
