/* SPDX-License-Identifier: ISC */
/*
 * The configuration file: INI style, parsed with inih.  Every setting has a
 * built-in default so `postroomd` runs with no file at all (the embedded
 * default: data dir ./data, loopback high ports when not root).
 *
 *   [server]    hostname, data_dir, user (to run as after binding ports),
 *               debug
 *   [tls]       cert, key (made self-signed at first start when missing)
 *   [listen]    one key per role, value a comma list of address:port
 *               (IPv6 as [::1]:25):  smtp, submission, submissions, pop3,
 *               pop3s, imap, imaps
 *   [limits]    max_message_size, max_recipients, max_connections,
 *               max_connections_per_ip, max_line (SMTP command line),
 *               smtp_timeout, data_timeout, pop3_timeout, imap_timeout,
 *               imap_idle_keepalive
 *   [smtp]      trusted_networks (CIDR list allowed to relay without AUTH),
 *               bare_lf = reject | normalize
 *   [auth]      allow_plaintext (AUTH/LOGIN/USER without TLS)
 *
 * Parsing is pure (config_parse_string) so it is unit-tested without files.
 */
#ifndef POSTROOM_CONFIG_H
#define POSTROOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

enum listener_role {
	ROLE_SMTP,		/* inbound MX (25) */
	ROLE_SUBMISSION,	/* 587: STARTTLS, AUTH required */
	ROLE_SUBMISSIONS,	/* 465: implicit TLS, AUTH required */
	ROLE_POP3,		/* 110: STLS */
	ROLE_POP3S,		/* 995: implicit TLS */
	ROLE_IMAP,		/* 143: STARTTLS */
	ROLE_IMAPS,		/* 993: implicit TLS */
	ROLE_COUNT
};

struct listen_addr {
	enum listener_role role;
	char	*host;		/* "127.0.0.1", "::", "0.0.0.0" */
	int	 port;
};

/* An IPv4 or IPv6 network in CIDR form, addresses in network byte order;
 * IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so one compare serves both. */
struct netrange {
	uint8_t	 addr[16];
	int	 prefix;	/* 0..128, over the 16-byte form */
};

enum bare_lf_policy { BARE_LF_REJECT, BARE_LF_NORMALIZE };

struct config {
	char	*path;			/* file it came from, or NULL */
	char	*hostname;		/* our name in greetings and Received */
	char	*data_dir;		/* mailstore, spool and default cert live here */
	char	*run_user;		/* user to become after binding (root only) */
	bool	 debug;

	char	*tls_cert;		/* PEM paths; default <data_dir>/tls/cert.pem */
	char	*tls_key;

	struct listen_addr *listeners;
	size_t	 n_listeners;

	uint64_t max_message_size;	/* bytes, default 50 MiB */
	unsigned max_recipients;	/* per message, default 100 */
	unsigned max_connections;	/* all protocols, default 4096 */
	unsigned max_connections_per_ip; /* default 50 */
	size_t	 max_line;		/* SMTP command line incl. CRLF, default 1000 */
	double	 smtp_timeout;		/* seconds per command, default 300 */
	double	 data_timeout;		/* seconds between DATA chunks, default 600 */
	double	 pop3_timeout;		/* default 600 (RFC 1939: >= 10 min) */
	double	 imap_timeout;		/* default 1800 (RFC 3501: >= 30 min) */
	double	 imap_idle_keepalive;	/* "* OK Still here" in IDLE; 0: none */

	struct netrange *trusted_networks;
	size_t	 n_trusted_networks;
	enum bare_lf_policy bare_lf;

	bool	 allow_plaintext_auth;	/* default false */
};

/* A config holding only the defaults.  as_root picks privileged ports
 * (25, 587, ...) on all addresses; otherwise loopback high ports. */
struct config *config_new_default(bool as_root);

/*
 * Parse INI text over the defaults.  Returns the config, or NULL with an
 * error message ("line 12: unknown key 'foo' in [limits]") in *err_r,
 * which the caller frees.  Unknown sections and keys are errors, so typos
 * do not go unnoticed.
 */
struct config *config_parse_string(const char *text, bool as_root, char **err_r);
/* Read and parse a file; path is remembered for SIGHUP reloads. */
struct config *config_load(const char *path, bool as_root, char **err_r);
void config_free(struct config **cfgp);

/* The certificate and key in effect: [tls] cert/key when set, else
 * <data_dir>/tls/cert.pem and key.pem.  Malloc'ed. */
char *config_tls_cert_path(const struct config *cfg);
char *config_tls_key_path(const struct config *cfg);

/* Parse "1.2.3.0/24", "::1", "2001:db8::/32" into *r; 0 or -1.  IPv4 is
 * stored IPv4-mapped (prefix + 96); bits beyond the prefix are cleared. */
int config_parse_netrange(const char *text, struct netrange *r);
/* Is addr (a sockaddr_in/in6) inside any of the ranges? */
bool config_addr_in_ranges(const struct sockaddr *addr,
    const struct netrange *ranges, size_t n);
/* Parse "host:port" / "[v6]:port" / ":port" / "port".  The host must be a
 * numeric address; ":port" and "port" mean 0.0.0.0.  *host_r is malloc'ed
 * in inet_ntop's canonical form; port 0 means any free port.  0 or -1. */
int config_parse_hostport(const char *text, char **host_r, int *port_r);

const char *config_role_name(enum listener_role role);
bool config_role_from_name(const char *name, enum listener_role *role_r);

/* Print the effective configuration as INI (for --check-config). */
void config_dump(const struct config *cfg, FILE *out);

#endif
