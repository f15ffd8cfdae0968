/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/config.c: the defaults, every key with good and bad
 * values, error line numbers, list keys that append, the dump (which must
 * read back to the same configuration), host:port and CIDR parsing
 * including IPv6 and IPv4-mapped forms, and address matching.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/xmalloc.h"

static char *
dump_to_string(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	config_dump(cfg, f);
	fclose(f);
	return buf;
}

/* Does the dump contain exactly this line? */
static bool
dump_has_line(const char *dump, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = dump; (p = strstr(p, line)) != NULL; p++) {
		if ((p == dump || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	}
	return false;
}

static size_t
count_role(const struct config *cfg, enum listener_role role)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_listeners; i++)
		n += cfg->listeners[i].role == role;
	return n;
}

static const struct listen_addr *
find_role(const struct config *cfg, enum listener_role role, size_t nth)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].role == role && nth-- == 0)
			return &cfg->listeners[i];
	return NULL;
}

/* ------------------------------------------------------------- defaults */

START_TEST(test_defaults_user)
{
	struct config *cfg = config_new_default(false);
	static const struct { enum listener_role role; int port; } want[] = {
		{ ROLE_SMTP, 2525 }, { ROLE_SUBMISSION, 2587 },
		{ ROLE_SUBMISSIONS, 2465 }, { ROLE_POP3, 2110 }, { ROLE_POP3S, 2995 },
		{ ROLE_IMAP, 2143 }, { ROLE_IMAPS, 2993 },
	};

	ck_assert_str_eq(cfg->data_dir, "./data");
	ck_assert_ptr_null(cfg->run_user);
	ck_assert_ptr_nonnull(cfg->hostname);
	ck_assert_int_gt(strlen(cfg->hostname), 0);
	ck_assert_uint_eq(cfg->n_listeners, 7);
	for (size_t i = 0; i < 7; i++) {
		const struct listen_addr *a = find_role(cfg, want[i].role, 0);

		ck_assert_ptr_nonnull(a);
		ck_assert_str_eq(a->host, "127.0.0.1");
		ck_assert_int_eq(a->port, want[i].port);
	}
	ck_assert_uint_eq(count_role(cfg, ROLE_IMAP), 1);
	ck_assert_uint_eq(count_role(cfg, ROLE_IMAPS), 1);
	ck_assert_uint_eq(cfg->max_message_size, 50 * 1024 * 1024);
	ck_assert_uint_eq(cfg->max_recipients, 100);
	ck_assert_uint_eq(cfg->max_connections, 4096);
	ck_assert_uint_eq(cfg->max_connections_per_ip, 50);
	ck_assert_uint_eq(cfg->max_line, 1000);
	ck_assert(cfg->smtp_timeout == 300);
	ck_assert(cfg->data_timeout == 600);
	ck_assert(cfg->pop3_timeout == 600);
	ck_assert(cfg->imap_timeout == 1800);
	ck_assert_uint_eq(cfg->n_trusted_networks, 0);
	ck_assert_int_eq(cfg->bare_lf, BARE_LF_REJECT);
	ck_assert(!cfg->allow_plaintext_auth);
	ck_assert(!cfg->debug);
	ck_assert_ptr_null(cfg->tls_cert);
	ck_assert_ptr_null(cfg->tls_key);
	ck_assert_ptr_null(cfg->path);
	config_free(&cfg);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_defaults_root)
{
	struct config *cfg = config_new_default(true);
	static const struct { enum listener_role role; int port; } want[] = {
		{ ROLE_SMTP, 25 }, { ROLE_SUBMISSION, 587 },
		{ ROLE_SUBMISSIONS, 465 }, { ROLE_POP3, 110 }, { ROLE_POP3S, 995 },
		{ ROLE_IMAP, 143 }, { ROLE_IMAPS, 993 },
	};

	ck_assert_str_eq(cfg->data_dir, "/var/lib/postroom");
	ck_assert_str_eq(cfg->run_user, "postroom");
	ck_assert_uint_eq(cfg->n_listeners, 7);
	for (size_t i = 0; i < 7; i++) {
		const struct listen_addr *a = find_role(cfg, want[i].role, 0);

		ck_assert_ptr_nonnull(a);
		ck_assert_str_eq(a->host, "0.0.0.0");
		ck_assert_int_eq(a->port, want[i].port);
	}
	config_free(&cfg);
}
END_TEST

START_TEST(test_empty_text_is_defaults)
{
	char *err = NULL, *d1, *d2;
	struct config *def = config_new_default(false);
	struct config *cfg = config_parse_string("; nothing here\n\n# at all\n",
	    false, &err);

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(err);
	d1 = dump_to_string(def);
	d2 = dump_to_string(cfg);
	ck_assert_str_eq(d1, d2);
	free(d1);
	free(d2);
	config_free(&def);
	config_free(&cfg);
}
END_TEST

START_TEST(test_tls_paths)
{
	struct config *cfg = config_new_default(false);
	char *c = config_tls_cert_path(cfg), *k = config_tls_key_path(cfg);

	ck_assert_str_eq(c, "./data/tls/cert.pem");
	ck_assert_str_eq(k, "./data/tls/key.pem");
	free(c);
	free(k);
	config_free(&cfg);

	cfg = config_parse_string("[tls]\ncert = /a/c.pem\nkey = /a/k.pem\n", false, &c);
	ck_assert_ptr_nonnull(cfg);
	c = config_tls_cert_path(cfg);
	k = config_tls_key_path(cfg);
	ck_assert_str_eq(c, "/a/c.pem");
	ck_assert_str_eq(k, "/a/k.pem");
	free(c);
	free(k);
	config_free(&cfg);
}
END_TEST

/* ------------------------------------------------------------ every key */

/* One key with a value, and the line the dump must then contain. */
static const struct {
	const char *section, *key, *value, *dump_line;
} key_cases[] = {
	{ "server", "hostname", "mail.example.org", "hostname = mail.example.org" },
	{ "server", "hostname", "MX-1.Example.org", "hostname = MX-1.Example.org" },
	{ "server", "data_dir", "/srv/mail", "data_dir = /srv/mail" },
	{ "server", "data_dir", "rel/dir", "data_dir = rel/dir" },
	{ "server", "user", "mailuser", "user = mailuser" },
	{ "server", "user", "", "user = \t; keep the user that started us" },
	{ "server", "debug", "yes", "debug = yes" },
	{ "server", "debug", "TRUE", "debug = yes" },
	{ "server", "debug", "on", "debug = yes" },
	{ "server", "debug", "1", "debug = yes" },
	{ "server", "debug", "no", "debug = no" },
	{ "server", "debug", "False", "debug = no" },
	{ "server", "debug", "off", "debug = no" },
	{ "server", "debug", "0", "debug = no" },
	{ "tls", "cert", "/etc/ssl/c.pem", "cert = /etc/ssl/c.pem" },
	{ "tls", "key", "/etc/ssl/k.pem", "key = /etc/ssl/k.pem" },
	{ "listen", "smtp", "127.0.0.1:25", "smtp = 127.0.0.1:25" },
	{ "listen", "smtp", "[::1]:2525", "smtp = [::1]:2525" },
	{ "listen", "smtp", "", "smtp =" },
	{ "listen", "submission", ":587", "submission = 0.0.0.0:587" },
	{ "listen", "submissions", "465", "submissions = 0.0.0.0:465" },
	{ "listen", "pop3", "[::]:110", "pop3 = [::]:110" },
	{ "listen", "pop3s", "10.0.0.1:995", "pop3s = 10.0.0.1:995" },
	{ "listen", "imap", "127.0.0.1:143", "imap = 127.0.0.1:143" },
	{ "listen", "imaps", "127.0.0.1:993", "imaps = 127.0.0.1:993" },
	{ "limits", "max_message_size", "50m", "max_message_size = 50m" },
	{ "limits", "max_message_size", "10485760", "max_message_size = 10m" },
	{ "limits", "max_message_size", "64K", "max_message_size = 64k" },
	{ "limits", "max_message_size", "2g", "max_message_size = 2g" },
	{ "limits", "max_message_size", "100000", "max_message_size = 100000" },
	{ "limits", "max_recipients", "5", "max_recipients = 5" },
	{ "limits", "max_connections", "100", "max_connections = 100" },
	{ "limits", "max_connections_per_ip", "7", "max_connections_per_ip = 7" },
	{ "limits", "max_line", "512", "max_line = 512" },
	{ "limits", "max_line", "4k", "max_line = 4k" },
	{ "limits", "smtp_timeout", "30s", "smtp_timeout = 30" },
	{ "limits", "data_timeout", "5m", "data_timeout = 300" },
	{ "limits", "pop3_timeout", "1h", "pop3_timeout = 3600" },
	{ "limits", "imap_timeout", "1800", "imap_timeout = 1800" },
	{ "smtp", "trusted_networks", "192.0.2.0/24", "trusted_networks = 192.0.2.0/24" },
	{ "smtp", "trusted_networks", "2001:db8::/32", "trusted_networks = 2001:db8::/32" },
	{ "smtp", "trusted_networks", "10.1.2.3/8", "trusted_networks = 10.0.0.0/8" },
	{ "smtp", "trusted_networks", "", "trusted_networks =" },
	{ "smtp", "bare_lf", "reject", "bare_lf = reject" },
	{ "smtp", "bare_lf", "Normalize", "bare_lf = normalize" },
	{ "auth", "allow_plaintext", "yes", "allow_plaintext = yes" },
	{ "auth", "allow_plaintext", "no", "allow_plaintext = no" },
};

START_TEST(test_every_key)
{
	char *text, *err = NULL, *dump;
	struct config *cfg;

	/* cert and key must come together, so the other one rides along. */
	text = xasprintf("[%s]\n%s = %s\n%s", key_cases[_i].section,
	    key_cases[_i].key, key_cases[_i].value,
	    strcmp(key_cases[_i].key, "cert") == 0 ? "key = /k\n" :
	    strcmp(key_cases[_i].key, "key") == 0 ? "cert = /c\n" : "");
	cfg = config_parse_string(text, false, &err);
	ck_assert_msg(cfg != NULL, "%s: %s", text, err);
	dump = dump_to_string(cfg);
	ck_assert_msg(dump_has_line(dump, key_cases[_i].dump_line),
	    "missing '%s' in:\n%s", key_cases[_i].dump_line, dump);
	free(dump);
	free(text);
	config_free(&cfg);
}
END_TEST

START_TEST(test_fields)
{
	static const char text[] =
	    "[server]\n"
	    "hostname = mx.example.net\n"
	    "data_dir = /srv/pr\n"
	    "user = mail\n"
	    "debug = yes\n"
	    "[tls]\n"
	    "cert = /c.pem\n"
	    "key = /k.pem\n"
	    "[limits]\n"
	    "max_message_size = 10m\n"
	    "max_recipients = 20\n"
	    "max_connections = 300\n"
	    "max_connections_per_ip = 3\n"
	    "max_line = 2048\n"
	    "smtp_timeout = 2m\n"
	    "data_timeout = 90\n"
	    "pop3_timeout = 10m\n"
	    "imap_timeout = 31m\n"
	    "[smtp]\n"
	    "trusted_networks = 10.0.0.0/8, ::1\n"
	    "bare_lf = normalize\n"
	    "[auth]\n"
	    "allow_plaintext = true\n";
	char *err = NULL;
	struct config *cfg = config_parse_string(text, true, &err);

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->hostname, "mx.example.net");
	ck_assert_str_eq(cfg->data_dir, "/srv/pr");
	ck_assert_str_eq(cfg->run_user, "mail");
	ck_assert(cfg->debug);
	ck_assert_str_eq(cfg->tls_cert, "/c.pem");
	ck_assert_str_eq(cfg->tls_key, "/k.pem");
	ck_assert_uint_eq(cfg->max_message_size, 10 * 1024 * 1024);
	ck_assert_uint_eq(cfg->max_recipients, 20);
	ck_assert_uint_eq(cfg->max_connections, 300);
	ck_assert_uint_eq(cfg->max_connections_per_ip, 3);
	ck_assert_uint_eq(cfg->max_line, 2048);
	ck_assert(cfg->smtp_timeout == 120);
	ck_assert(cfg->data_timeout == 90);
	ck_assert(cfg->pop3_timeout == 600);
	ck_assert(cfg->imap_timeout == 1860);
	ck_assert_uint_eq(cfg->n_trusted_networks, 2);
	ck_assert_int_eq(cfg->trusted_networks[0].prefix, 104);
	ck_assert_int_eq(cfg->trusted_networks[1].prefix, 128);
	ck_assert_int_eq(cfg->bare_lf, BARE_LF_NORMALIZE);
	ck_assert(cfg->allow_plaintext_auth);
	/* Untouched: the root defaults. */
	ck_assert_uint_eq(cfg->n_listeners, 7);
	ck_assert_int_eq(find_role(cfg, ROLE_SMTP, 0)->port, 25);
	config_free(&cfg);
}
END_TEST

START_TEST(test_listen_lists)
{
	char *err = NULL;
	struct config *cfg = config_parse_string(
	    "[listen]\n"
	    "smtp = 127.0.0.1:2525, [::1]:2525\n"
	    "smtp = 192.0.2.1:25\n"
	    "pop3 =\n"
	    "imap = 127.0.0.1:1143\n", false, &err);

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(count_role(cfg, ROLE_SMTP), 3);
	ck_assert_str_eq(find_role(cfg, ROLE_SMTP, 0)->host, "127.0.0.1");
	ck_assert_str_eq(find_role(cfg, ROLE_SMTP, 1)->host, "::1");
	ck_assert_int_eq(find_role(cfg, ROLE_SMTP, 1)->port, 2525);
	ck_assert_str_eq(find_role(cfg, ROLE_SMTP, 2)->host, "192.0.2.1");
	ck_assert_uint_eq(count_role(cfg, ROLE_POP3), 0);
	ck_assert_uint_eq(count_role(cfg, ROLE_IMAP), 1);
	/* Roles the section leaves out are off, not on their defaults. */
	ck_assert_uint_eq(count_role(cfg, ROLE_POP3S), 0);
	ck_assert_uint_eq(count_role(cfg, ROLE_SUBMISSION), 0);
	ck_assert_uint_eq(count_role(cfg, ROLE_IMAPS), 0);
	ck_assert_uint_eq(cfg->n_listeners, 4);
	config_free(&cfg);

	/* One role alone is exactly that one listener. */
	cfg = config_parse_string("[listen]\nimaps = 127.0.0.1:1993\n", true,
	    &err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->n_listeners, 1);
	ck_assert_int_eq(find_role(cfg, ROLE_IMAPS, 0)->port, 1993);
	config_free(&cfg);
}
END_TEST

START_TEST(test_syntax_variants)
{
	char *err = NULL;
	/* BOM, CRLF, indented keys, comments of both kinds, inline comments,
	 * case-insensitive names, a file without a final newline. */
	struct config *cfg = config_parse_string(
	    "\xEF\xBB\xBF; comment\r\n"
	    "# another\r\n"
	    "[Server]\r\n"
	    "   Hostname = a.example   ; inline\r\n"
	    "\tdata_dir=/x\r\n"
	    "[limits]\n"
	    "  max_recipients   =   7", false, &err);

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->hostname, "a.example");
	ck_assert_str_eq(cfg->data_dir, "/x");
	ck_assert_uint_eq(cfg->max_recipients, 7);
	config_free(&cfg);
}
END_TEST

/* ------------------------------------------------------------ bad files */

static const struct {
	const char *text;
	int line;		/* expected "line N:" or 0 for a whole-file error */
	const char *needle;	/* part of the message */
} bad_cases[] = {
	{ "[server]\nfoo = 1\n", 2, "unknown key 'foo' in [server]" },
	{ "[nope]\nfoo = 1\n", 1, "unknown section [nope]" },
	{ "[server]\n[nope]\n[tls]\n", 2, "unknown section [nope]" },
	{ "hostname = x\n", 1, "before any [section]" },
	{ "[server]\nhostname\n", 2, "syntax error" },
	{ "[server\nhostname = a\n", 1, "syntax error" },
	{ "[server]\nhostname = a\nhostname = b\n", 3, "set twice (first on line 2)" },
	{ "[server]\nhostname = bad name\n", 2, "hostname" },
	{ "[server]\nhostname = a..b\n", 2, "hostname" },
	{ "[server]\nhostname = -a\n", 2, "hostname" },
	{ "[server]\nhostname =\n", 2, "hostname" },
	{ "[server]\ndata_dir =\n", 2, "must not be empty" },
	{ "[server]\ndebug = maybe\n", 2, "expected yes or no" },
	{ "[server]\ndebug = 2\n", 2, "expected yes or no" },
	{ "[listen]\nsmtp = localhost:25\n", 2, "bad address 'localhost:25'" },
	{ "[listen]\nsmtp = ::1:25\n", 2, "bad address" },
	{ "[listen]\nsmtp = [::1]\n", 2, "bad address" },
	{ "[listen]\nsmtp = 127.0.0.1:65536\n", 2, "bad address" },
	{ "[listen]\nsmtp = 127.0.0.1:\n", 2, "bad address" },
	{ "[listen]\nsmtp = 127.0.0.1:25, 1.2.3:25\n", 2, "bad address '1.2.3:25'" },
	{ "[listen]\nsmtp = 127.0.0.1:25 127.0.0.2:25\n", 2, "bad address" },
	{ "[listen]\nsmtp = 127.0.0.1:2000\npop3 = 127.0.0.1:2000\n", 0,
	    "127.0.0.1:2000 is used by both smtp and pop3" },
	{ "[listen]\nsmtp = [::1]:2000, [::1]:2000\n", 0, "[::1]:2000 is used" },
	{ "[limits]\nmax_message_size = 50x\n", 2, "expected a size" },
	{ "[limits]\nmax_message_size = 50mb\n", 2, "expected a size" },
	{ "[limits]\nmax_message_size = -1\n", 2, "expected a size" },
	{ "[limits]\nmax_message_size = 1\n", 2, "out of range" },
	{ "[limits]\nmax_message_size = 99999999999999999999\n", 2, "expected a size" },
	{ "[limits]\nmax_message_size = 18014398509481984k\n", 2, "expected a size" },
	{ "[limits]\nmax_message_size = 2000g\n", 2, "out of range" },
	{ "[limits]\nmax_recipients = 0\n", 2, "out of range" },
	{ "[limits]\nmax_recipients = 5k\n", 2, "expected a number" },
	{ "[limits]\nmax_recipients = 1.5\n", 2, "expected a number" },
	{ "[limits]\nmax_connections = \n", 2, "expected a number" },
	{ "[limits]\nmax_connections_per_ip = 0\n", 2, "out of range" },
	{ "[limits]\nmax_line = 100\n", 2, "out of range" },
	{ "[limits]\nsmtp_timeout = 0\n", 2, "out of range" },
	{ "[limits]\nsmtp_timeout = 5d\n", 2, "expected seconds" },
	{ "[limits]\ndata_timeout = 2 m\n", 2, "expected seconds" },
	{ "[limits]\npop3_timeout = 25h\n", 2, "out of range" },
	{ "[limits]\nimap_timeout = s\n", 2, "expected seconds" },
	{ "[smtp]\ntrusted_networks = 10.0.0.0/33\n", 2, "bad network '10.0.0.0/33'" },
	{ "[smtp]\ntrusted_networks = ::/129\n", 2, "bad network" },
	{ "[smtp]\ntrusted_networks = 10.0.0.0/\n", 2, "bad network" },
	{ "[smtp]\ntrusted_networks = example.org\n", 2, "bad network" },
	{ "[smtp]\nbare_lf = accept\n", 2, "expected reject or normalize" },
	{ "[auth]\nallow_plaintext = y\n", 2, "expected yes or no" },
	{ "[auth]\nmechanisms = PLAIN\n", 2, "unknown key 'mechanisms' in [auth]" },
	{ "[tls]\ncert = /c.pem\n", 0, "cert and key must be set together" },
	{ "[tls]\nkey = /k.pem\n", 0, "cert and key must be set together" },
	/* The first error wins, whatever kind it is. */
	{ "[server]\nbroken line\nfoo = 1\n", 2, "syntax error" },
	{ "[server]\nfoo = 1\nbroken line\n", 2, "unknown key 'foo'" },
	{ "\n\n\n[limits]\nmax_line = x\n[server]\nfoo = 1\n", 5, "max_line" },
};

START_TEST(test_bad_files)
{
	char *err = NULL;
	struct config *cfg = config_parse_string(bad_cases[_i].text, false, &err);

	ck_assert_msg(cfg == NULL, "accepted: %s", bad_cases[_i].text);
	ck_assert_ptr_nonnull(err);
	if (bad_cases[_i].line != 0) {
		char *prefix = xasprintf("line %d: ", bad_cases[_i].line);

		ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
		    "'%s' does not start with '%s'", err, prefix);
		free(prefix);
	} else
		ck_assert_msg(strncmp(err, "line ", 5) != 0, "%s", err);
	ck_assert_msg(strstr(err, bad_cases[_i].needle) != NULL,
	    "'%s' does not contain '%s'", err, bad_cases[_i].needle);
	free(err);
}
END_TEST

START_TEST(test_long_line)
{
	char *text, *err = NULL, *pad = xmalloc(301);
	struct config *cfg;

	memset(pad, 'a', 300);
	pad[300] = '\0';
	/* Without the check, inih would read the tail as a line of its own. */
	text = xasprintf("[server]\ndata_dir = /%s\n", pad);
	cfg = config_parse_string(text, false, &err);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strncmp(err, "line 2: line too long", 21) == 0, "%s", err);
	free(err);
	free(text);
	free(pad);
}
END_TEST

/*
 * Every prefix of a realistic file must either parse or fail with an error
 * that names a line inside that prefix; never crash or leak.
 */
START_TEST(test_every_prefix)
{
	static const char text[] =
	    "[server]\nhostname = mail.example.org\ndata_dir = /var/lib/x\n"
	    "[tls]\ncert = /c\nkey = /k\n"
	    "[listen]\nsmtp = 127.0.0.1:25, [::1]:25\nsubmission = :587\n"
	    "[limits]\nmax_message_size = 50m\nsmtp_timeout = 5m\n"
	    "[smtp]\ntrusted_networks = 10.0.0.0/8, 2001:db8::/32\n"
	    "bare_lf = normalize\n[auth]\nallow_plaintext = no\n";
	size_t len = strlen(text);
	unsigned ok = 0;

	for (size_t cut = 0; cut <= len; cut++) {
		char *prefix = xstrndup(text, cut), *err = NULL;
		struct config *cfg = config_parse_string(prefix, false, &err);
		int lines = 1;

		for (size_t i = 0; i < cut; i++)
			lines += prefix[i] == '\n';
		if (cfg != NULL) {
			ck_assert_ptr_null(err);
			ok++;
			config_free(&cfg);
		} else {
			int line = 0;

			ck_assert_ptr_nonnull(err);
			if (sscanf(err, "line %d:", &line) == 1)
				ck_assert_int_le(line, lines);
			free(err);
		}
		free(prefix);
	}
	/* Cutting at most line ends gives a valid file. */
	ck_assert_uint_gt(ok, 10);
}
END_TEST

/* ----------------------------------------------------------------- dump */

START_TEST(test_dump_roundtrip)
{
	static const char *const texts[] = {
		"",
		"[server]\nhostname = h.example\ndata_dir = /d\nuser = u\ndebug = on\n"
		"[tls]\ncert = /c\nkey = /k\n"
		"[listen]\nsmtp = 127.0.0.1:25, [::1]:25, [::ffff:10.0.0.1]:26\n"
		"submission =\nsubmissions = 0\nimaps = [2001:db8::1]:993\n"
		"[limits]\nmax_message_size = 12345\nmax_line = 3k\n"
		"pop3_timeout = 1h\n"
		"[smtp]\ntrusted_networks = 10.0.0.0/8, ::1, ::ffff:192.0.2.0/120\n"
		"trusted_networks = 2001:db8::/32\nbare_lf = normalize\n"
		"[auth]\nallow_plaintext = yes\n",
	};

	for (size_t t = 0; t < 2; t++) {
		for (int root = 0; root < 2; root++) {
			char *err = NULL, *d1, *d2;
			struct config *c1, *c2;

			c1 = config_parse_string(texts[t], root, &err);
			ck_assert_msg(c1 != NULL, "%s", err);
			d1 = dump_to_string(c1);
			c2 = config_parse_string(d1, root, &err);
			ck_assert_msg(c2 != NULL, "%s\n%s", err, d1);
			d2 = dump_to_string(c2);
			ck_assert_str_eq(d1, d2);
			ck_assert_uint_eq(c1->n_listeners, c2->n_listeners);
			ck_assert_uint_eq(c1->n_trusted_networks, c2->n_trusted_networks);
			if (c1->n_trusted_networks > 0)
				ck_assert_mem_eq(c1->trusted_networks, c2->trusted_networks,
				    c1->n_trusted_networks * sizeof(struct netrange));
			free(d1);
			free(d2);
			config_free(&c1);
			config_free(&c2);
		}
	}
}
END_TEST

/* ------------------------------------------------------------ host:port */

static const struct {
	const char *text;
	const char *host;	/* NULL = must fail */
	int port;
} hostport_cases[] = {
	{ "127.0.0.1:25", "127.0.0.1", 25 },
	{ "0.0.0.0:587", "0.0.0.0", 587 },
	{ ":110", "0.0.0.0", 110 },
	{ "995", "0.0.0.0", 995 },
	{ "0", "0.0.0.0", 0 },
	{ "1.2.3.4:65535", "1.2.3.4", 65535 },
	{ "[::1]:25", "::1", 25 },
	{ "[::]:25", "::", 25 },
	{ "[2001:DB8:0:0::1]:465", "2001:db8::1", 465 },
	{ "[::ffff:127.0.0.1]:25", "::ffff:127.0.0.1", 25 },
	{ "[fe80::1]:00025", "fe80::1", 25 },
	{ "", NULL, 0 },
	{ ":", NULL, 0 },
	{ "127.0.0.1", NULL, 0 },
	{ "127.0.0.1:", NULL, 0 },
	{ "127.0.0.1:65536", NULL, 0 },
	{ "127.0.0.1:123456", NULL, 0 },
	{ "127.0.0.1:-1", NULL, 0 },
	{ "127.0.0.1:2x", NULL, 0 },
	{ "127.0.0.1: 25", NULL, 0 },
	{ "256.0.0.1:25", NULL, 0 },
	{ "localhost:25", NULL, 0 },
	{ "::1:25", NULL, 0 },
	{ "[::1]", NULL, 0 },
	{ "[::1]25", NULL, 0 },
	{ "[::1]:", NULL, 0 },
	{ "[::1:25", NULL, 0 },
	{ "[127.0.0.1]:25", NULL, 0 },
	{ "[fe80::1%eth0]:25", NULL, 0 },
	{ "[]:25", NULL, 0 },
	{ "25x", NULL, 0 },
};

START_TEST(test_hostport)
{
	char *host = NULL;
	int port = -1;
	int rc = config_parse_hostport(hostport_cases[_i].text, &host, &port);

	if (hostport_cases[_i].host == NULL) {
		ck_assert_msg(rc == -1, "accepted '%s'", hostport_cases[_i].text);
		return;
	}
	ck_assert_msg(rc == 0, "rejected '%s'", hostport_cases[_i].text);
	ck_assert_str_eq(host, hostport_cases[_i].host);
	ck_assert_int_eq(port, hostport_cases[_i].port);
	free(host);
}
END_TEST

/* ------------------------------------------------------------- netrange */

static const struct {
	const char *text;
	const char *addr;	/* expected 16-byte form as IPv6 text; NULL = fail */
	int prefix;
} netrange_cases[] = {
	{ "10.0.0.0/8", "::ffff:10.0.0.0", 104 },
	{ "10.1.2.3/8", "::ffff:10.0.0.0", 104 },
	{ "192.0.2.1", "::ffff:192.0.2.1", 128 },
	{ "192.0.2.255/25", "::ffff:192.0.2.128", 121 },
	{ "0.0.0.0/0", "::ffff:0.0.0.0", 96 },
	{ "::1", "::1", 128 },
	{ "::/0", "::", 0 },
	{ "2001:db8::/32", "2001:db8::", 32 },
	{ "2001:db8:ffff::1/33", "2001:db8:8000::", 33 },
	{ "::ffff:192.0.2.0/120", "::ffff:192.0.2.0", 120 },
	{ "fe80::/10", "fe80::", 10 },
	{ "", NULL, 0 },
	{ "/8", NULL, 0 },
	{ "10.0.0.0/", NULL, 0 },
	{ "10.0.0.0/33", NULL, 0 },
	{ "10.0.0.0/-1", NULL, 0 },
	{ "10.0.0.0/8/8", NULL, 0 },
	{ "10.0.0.0/ 8", NULL, 0 },
	{ "10.0.0/8", NULL, 0 },
	{ "::/129", NULL, 0 },
	{ "::/1000", NULL, 0 },
	{ "2001:db8::g/32", NULL, 0 },
	{ "example.org/24", NULL, 0 },
	{ " 10.0.0.0/8", NULL, 0 },
};

START_TEST(test_netrange)
{
	struct netrange r;
	uint8_t want[16];
	int rc = config_parse_netrange(netrange_cases[_i].text, &r);

	if (netrange_cases[_i].addr == NULL) {
		ck_assert_msg(rc == -1, "accepted '%s'", netrange_cases[_i].text);
		return;
	}
	ck_assert_msg(rc == 0, "rejected '%s'", netrange_cases[_i].text);
	ck_assert_int_eq(inet_pton(AF_INET6, netrange_cases[_i].addr, want), 1);
	ck_assert_mem_eq(r.addr, want, 16);
	ck_assert_int_eq(r.prefix, netrange_cases[_i].prefix);
}
END_TEST

/* Build a sockaddr from text: IPv4 as sockaddr_in, else sockaddr_in6. */
static void
make_sockaddr(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') == NULL) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	}
}

static const struct {
	const char *ranges;	/* comma list */
	const char *addr;
	bool in;
} match_cases[] = {
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.1", false },
	{ "10.0.0.0/8", "::ffff:10.1.1.1", true },	/* v4-mapped peer on a v6 socket */
	{ "10.0.0.0/8", "::a01:101", false },		/* v4-compatible is not mapped */
	{ "::ffff:10.0.0.0/104", "10.9.9.9", true },
	{ "192.0.2.1", "192.0.2.1", true },
	{ "192.0.2.1", "192.0.2.2", false },
	{ "192.0.2.128/25", "192.0.2.127", false },
	{ "192.0.2.128/25", "192.0.2.128", true },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "127.0.0.1", true },
	{ "::1", "::1", true },
	{ "::1", "127.0.0.1", false },
	{ "127.0.0.0/8", "::1", false },
	{ "2001:db8::/32", "2001:db8:1234::5", true },
	{ "2001:db8::/32", "2001:db9::5", false },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "10.0.0.0/8, 2001:db8::/32, 192.0.2.0/24", "192.0.2.77", true },
	{ "10.0.0.0/8, 2001:db8::/32, 192.0.2.0/24", "2001:db8::77", true },
	{ "10.0.0.0/8, 2001:db8::/32, 192.0.2.0/24", "198.51.100.1", false },
	{ "", "10.0.0.1", false },
};

START_TEST(test_addr_in_ranges)
{
	struct netrange ranges[8];
	size_t n = 0;
	char *copy = xstrdup(match_cases[_i].ranges), *save = NULL;
	struct sockaddr_storage ss;

	for (char *t = strtok_r(copy, ", ", &save); t != NULL;
	    t = strtok_r(NULL, ", ", &save))
		ck_assert_int_eq(config_parse_netrange(t, &ranges[n++]), 0);
	free(copy);
	make_sockaddr(match_cases[_i].addr, &ss);
	ck_assert_msg(config_addr_in_ranges((struct sockaddr *)&ss, ranges, n) ==
	    match_cases[_i].in, "%s in {%s}", match_cases[_i].addr,
	    match_cases[_i].ranges);
}
END_TEST

START_TEST(test_addr_other_family)
{
	struct netrange r;
	struct sockaddr sa = { .sa_family = AF_UNIX };

	ck_assert_int_eq(config_parse_netrange("::/0", &r), 0);
	ck_assert(!config_addr_in_ranges(&sa, &r, 1));
}
END_TEST

/* ---------------------------------------------------------- roles, load */

START_TEST(test_roles)
{
	enum listener_role r;

	for (int i = 0; i < ROLE_COUNT; i++) {
		ck_assert(config_role_from_name(config_role_name((enum listener_role)i), &r));
		ck_assert_int_eq(r, i);
	}
	ck_assert_str_eq(config_role_name(ROLE_SUBMISSIONS), "submissions");
	ck_assert(config_role_from_name("POP3S", &r));
	ck_assert_int_eq(r, ROLE_POP3S);
	ck_assert(!config_role_from_name("lmtp", &r));
	ck_assert(!config_role_from_name("", &r));
}
END_TEST

START_TEST(test_load)
{
	char path[] = "check_config.XXXXXX";
	int fd = mkstemp(path);
	char *err = NULL;
	struct config *cfg;
	static const char good[] = "[limits]\nmax_recipients = 9\n";
	static const char bad[] = "[limits]\n\nmax_recipients = nine\n";

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, good, strlen(good)), (ssize_t)strlen(good));
	cfg = config_load(path, false, &err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_uint_eq(cfg->max_recipients, 9);
	config_free(&cfg);

	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, bad, strlen(bad), 0), (ssize_t)strlen(bad));
	cfg = config_load(path, false, &err);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
	ck_assert_msg(strstr(err, ": line 3: ") != NULL, "%s", err);
	free(err);
	close(fd);
	unlink(path);

	cfg = config_load(path, false, &err);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
	free(err);

	cfg = config_load(".", false, &err);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
	free(err);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("defaults");
	tcase_add_test(tc, test_defaults_user);
	tcase_add_test(tc, test_defaults_root);
	tcase_add_test(tc, test_empty_text_is_defaults);
	tcase_add_test(tc, test_tls_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_loop_test(tc, test_every_key, 0, N(key_cases));
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_listen_lists);
	tcase_add_test(tc, test_syntax_variants);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad_files, 0, N(bad_cases));
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_every_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("dump");
	tcase_add_test(tc, test_dump_roundtrip);
	suite_add_tcase(s, tc);

	tc = tcase_create("addresses");
	tcase_add_loop_test(tc, test_hostport, 0, N(hostport_cases));
	tcase_add_loop_test(tc, test_netrange, 0, N(netrange_cases));
	tcase_add_loop_test(tc, test_addr_in_ranges, 0, N(match_cases));
	tcase_add_test(tc, test_addr_other_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_test(tc, test_roles);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
