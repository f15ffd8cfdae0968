/* SPDX-License-Identifier: ISC */
/*
 * postroom: the admin tool.  Manages domains, users, aliases, and shows
 * mailboxes and the outbound queue, by opening the daemon's SQLite
 * mailstore directly; WAL mode and the store's busy timeout let it run
 * while postroomd does.
 *
 * It reads the same configuration as the daemon (same -c, same defaults)
 * to find the data dir.  Run as root on a data dir that belongs to the
 * daemon's user, it becomes that user first: SQLite may create the -wal
 * and -shm files, and root-owned ones would lock the daemon out.
 *
 * Exit status: 0 done, 1 failed (not found, exists, ...), 2 usage error.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_password.h"
#include "common/config.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "mailstore/ms.h"
#include "server/privdrop.h"

#define EXIT_USAGE	2

struct cli_cmd;
typedef int cli_fn(struct ms_store *ms, const struct cli_cmd *cmd,
    char **args, bool pw_stdin);

struct cli_cmd {
	const char	*group;
	const char	*verb;
	int		 min_args, max_args;
	bool		 takes_password;	/* accepts --password-stdin */
	const char	*args_help;
	const char	*help;
	cli_fn		*fn;
};

static cli_fn cmd_domain_add, cmd_domain_del, cmd_domain_list;
static cli_fn cmd_user_add, cmd_user_del, cmd_user_passwd, cmd_user_list;
static cli_fn cmd_alias_add, cmd_alias_del, cmd_alias_list;
static cli_fn cmd_mailbox_list, cmd_queue_list;

static const struct cli_cmd commands[] = {
	{ "domain", "add", 1, 1, false, "DOMAIN", "add a local mail domain",
	    cmd_domain_add },
	{ "domain", "del", 1, 1, false, "DOMAIN",
	    "delete a domain (it must have no users or aliases left)",
	    cmd_domain_del },
	{ "domain", "list", 0, 0, false, "", "list the local domains",
	    cmd_domain_list },
	{ "user", "add", 1, 1, true, "ADDRESS [--password-stdin]",
	    "add a user (the domain must exist) and its folders", cmd_user_add },
	{ "user", "del", 1, 1, false, "ADDRESS",
	    "delete a user and all of its mail", cmd_user_del },
	{ "user", "passwd", 1, 1, true, "ADDRESS [--password-stdin]",
	    "set a user's password", cmd_user_passwd },
	{ "user", "list", 0, 1, false, "[DOMAIN]",
	    "list users with their message counts and sizes", cmd_user_list },
	{ "alias", "add", 2, 2, false, "SOURCE TARGET",
	    "deliver mail for SOURCE (local@domain, or @domain for a catch-all) "
	    "to TARGET", cmd_alias_add },
	{ "alias", "del", 1, 2, false, "SOURCE [TARGET]",
	    "remove one target of SOURCE, or all of them", cmd_alias_del },
	{ "alias", "list", 0, 1, false, "[DOMAIN]", "list aliases",
	    cmd_alias_list },
	{ "mailbox", "list", 1, 1, false, "ADDRESS",
	    "list a user's folders", cmd_mailbox_list },
	{ "queue", "list", 0, 0, false, "", "list the outbound queue",
	    cmd_queue_list },
};
#define N_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage_cmd(FILE *out, const struct cli_cmd *c)
{
	fprintf(out, "  postroom [-c FILE] %s %s%s%s\n      %s\n", c->group,
	    c->verb, *c->args_help != '\0' ? " " : "", c->args_help, c->help);
}

static void
usage_group(FILE *out, const char *group)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (group == NULL || strcmp(group, commands[i].group) == 0)
			usage_cmd(out, &commands[i]);
}

static void
usage(FILE *out, const char *group)
{
	fprintf(out, "usage:\n");
	usage_group(out, group);
	if (group == NULL)
		fprintf(out, "\n"
		    "  -c, --config FILE   the daemon's configuration file (it "
		    "names the data dir)\n"
		    "  -h, --help          show this help; also after a command "
		    "or a group\n"
		    "\n"
		    "Passwords are asked for on the terminal, twice, without echo;\n"
		    "with --password-stdin one line is read from standard input.\n"
		    "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int
fail(const char *fmt, ...) PR_PRINTF(1, 2);

static int
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("postroom: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* The common ms status messages; what (e.g. "user a@b") names the object. */
static int
fail_status(int rc, const char *what)
{
	switch (rc) {
	case MS_NOT_FOUND:
		return fail("%s: not found", what);
	case MS_EXISTS:
		return fail("%s: already exists", what);
	case MS_INVALID:
		return fail("%s: invalid name or address", what);
	case MS_NOT_EMPTY:
		return fail("%s: still has users or aliases; delete those first",
		    what);
	default:
		return fail("%s: %s", what, ms_strstatus(rc));
	}
}

/* ------------------------------------------------------------- commands */

static int
cmd_domain_add(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	char what[300];
	int rc = ms_domain_add(ms, args[0]);

	snprintf(what, sizeof(what), "domain %s", args[0]);
	return rc == MS_OK ? 0 : fail_status(rc, what);
}

static int
cmd_domain_del(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	char what[300];
	int rc = ms_domain_del(ms, args[0]);

	snprintf(what, sizeof(what), "domain %s", args[0]);
	return rc == MS_OK ? 0 : fail_status(rc, what);
}

static void
print_name(void *arg, const char *name)
{
	printf("%s\n", name);
}

static int
cmd_domain_list(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	int rc = ms_domain_list(ms, print_name, NULL);

	return rc == MS_OK ? 0 : fail_status(rc, "domain list");
}

static int
read_password(bool pw_stdin, char *buf)
{
	const char *err = NULL;

	if ((pw_stdin ? cli_password_stdin(buf, &err) :
	    cli_password_prompt(buf, &err)) == -1)
		return fail("%s", err);
	return 0;
}

/* For user commands: say whether the user or its whole domain is missing. */
static int
fail_user(struct ms_store *ms, int rc, const char *address)
{
	const char *at = strrchr(address, '@');
	char what[300];

	snprintf(what, sizeof(what), "user %s", address);
	if (rc == MS_NOT_FOUND && at != NULL && at[1] != '\0' &&
	    !ms_domain_is_local(ms, at + 1))
		return fail("%s: %s is not a local domain (see: postroom domain "
		    "list)", what, at + 1);
	return fail_status(rc, what);
}

static int
cmd_user_add(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	char pw[CLI_PASSWORD_MAX + 1];
	int rc;

	if (read_password(pw_stdin, pw) != 0)
		return 1;
	rc = ms_user_add(ms, args[0], pw);
	explicit_bzero(pw, sizeof(pw));
	return rc == MS_OK ? 0 : fail_user(ms, rc, args[0]);
}

static int
cmd_user_del(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	int rc = ms_user_del(ms, args[0]);

	return rc == MS_OK ? 0 : fail_user(ms, rc, args[0]);
}

static int
cmd_user_passwd(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	char pw[CLI_PASSWORD_MAX + 1];
	ms_id id;
	int rc;

	/* Check first, so nobody types a password twice for a typo. */
	if ((rc = ms_user_lookup(ms, args[0], &id)) != MS_OK)
		return fail_user(ms, rc, args[0]);
	if (read_password(pw_stdin, pw) != 0)
		return 1;
	rc = ms_user_set_password(ms, args[0], pw);
	explicit_bzero(pw, sizeof(pw));
	return rc == MS_OK ? 0 : fail_user(ms, rc, args[0]);
}

static void
print_user(void *arg, const struct ms_user_info *u)
{
	printf("%s\t%" PRIu64 " messages\t%" PRIu64 " bytes\n", u->address,
	    u->messages, u->bytes);
}

static int
cmd_user_list(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	char what[300];
	int rc = ms_user_list(ms, args[0], print_user, NULL);

	snprintf(what, sizeof(what), "domain %s", args[0] != NULL ? args[0] : "");
	return rc == MS_OK ? 0 : fail_status(rc, args[0] != NULL ? what : "user list");
}

static int
cmd_alias_add(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	const char *at = strrchr(args[0], '@');
	char what[600];
	int rc = ms_alias_add(ms, args[0], args[1]);

	snprintf(what, sizeof(what), "alias %s -> %s", args[0], args[1]);
	if (rc == MS_NOT_FOUND && at != NULL)
		return fail("%s: %s is not a local domain", what, at + 1);
	return rc == MS_OK ? 0 : fail_status(rc, what);
}

static int
cmd_alias_del(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	char what[600];
	int rc = ms_alias_del(ms, args[0], args[1]);

	snprintf(what, sizeof(what), "alias %s%s%s", args[0],
	    args[1] != NULL ? " -> " : "", args[1] != NULL ? args[1] : "");
	return rc == MS_OK ? 0 : fail_status(rc, what);
}

static void
print_alias(void *arg, const char *source, const char *target)
{
	printf("%s -> %s\n", source, target);
}

static int
cmd_alias_list(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	char what[300];
	int rc = ms_alias_list(ms, args[0], print_alias, NULL);

	snprintf(what, sizeof(what), "domain %s", args[0] != NULL ? args[0] : "");
	return rc == MS_OK ? 0 : fail_status(rc, args[0] != NULL ? what : "alias list");
}

static void
print_mailbox(void *arg, const struct ms_mailbox_info *mb)
{
	printf("%s\t%" PRIu32 " messages\t%" PRIu32 " unseen\t%" PRIu64 " bytes%s%s\n",
	    mb->name, mb->messages, mb->unseen, mb->bytes,
	    mb->special_use != NULL ? "\t" : "",
	    mb->special_use != NULL ? mb->special_use : "");
}

static int
cmd_mailbox_list(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	ms_id id;
	int rc;

	if ((rc = ms_user_lookup(ms, args[0], &id)) != MS_OK)
		return fail_user(ms, rc, args[0]);
	rc = ms_mailbox_list(ms, id, print_mailbox, NULL);
	return rc == MS_OK ? 0 : fail_user(ms, rc, args[0]);
}

static void
print_queue_entry(void *arg, const struct ms_queue_entry *e)
{
	time_t t = (time_t)e->queued_at;
	struct tm tm;
	char when[32] = "?";

	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%" PRId64 "\t%s\t%u attempts\t<%s> -> <%s>\n", e->id, when,
	    e->attempts, e->sender, e->recipient);
}

static int
cmd_queue_list(struct ms_store *ms, const struct cli_cmd *cmd, char **args,
    bool pw_stdin)
{
	int rc = ms_queue_list(ms, print_queue_entry, NULL);

	return rc == MS_OK ? 0 : fail_status(rc, "queue list");
}

/* ---------------------------------------------------------------- setup */

/*
 * Find the data dir and, as root, become its owner.  The store is never
 * created here from scratch in an unexpected place: a missing data dir
 * usually means the wrong -c or working directory.
 */
static int
open_store(const struct config *cfg, struct ms_store **ms_r)
{
	struct stat sb;
	char *db, *err = NULL;

	if (stat(cfg->data_dir, &sb) == -1) {
		if (errno == ENOENT)
			return fail("data dir %s does not exist (start postroomd "
			    "once, or name its configuration with -c)", cfg->data_dir);
		return fail("data dir %s: %s", cfg->data_dir, strerror(errno));
	}
	if (!S_ISDIR(sb.st_mode))
		return fail("data dir %s is not a directory", cfg->data_dir);
	if (geteuid() == 0 && sb.st_uid != 0) {
		struct passwd *pw = getpwuid(sb.st_uid);

		if (privdrop_become(pw != NULL ? pw->pw_name : NULL, sb.st_uid,
		    sb.st_gid, &err) == -1) {
			fail("becoming the owner of %s: %s", cfg->data_dir, err);
			free(err);
			return 1;
		}
	}
	db = xasprintf("%s/mail.db", cfg->data_dir);
	if (ms_open(db, ms_r, &err) != MS_OK) {
		fail("%s: %s", db, err != NULL ? err : "cannot open");
		free(err);
		free(db);
		return 1;
	}
	free(db);
	return 0;
}

static bool
is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/*
 * Split a command's words into positional args (NULL-padded up to
 * max_args) and its one option.  Returns 0, or EXIT_USAGE after printing
 * why, or -1 when help was asked for and printed.
 */
static int
parse_args(const struct cli_cmd *c, int argc, char **argv, char **args,
    bool *pw_stdin_r)
{
	int n = 0;

	*pw_stdin_r = false;
	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fprintf(stdout, "usage:\n");
			usage_cmd(stdout, c);
			return -1;
		}
		if (c->takes_password && strcmp(argv[i], "--password-stdin") == 0) {
			*pw_stdin_r = true;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fail("%s %s: unknown option %s", c->group, c->verb, argv[i]);
			return EXIT_USAGE;
		}
		if (n == c->max_args) {
			fail("%s %s: too many arguments", c->group, c->verb);
			return EXIT_USAGE;
		}
		args[n++] = argv[i];
	}
	if (n < c->min_args) {
		fail("%s %s: missing %s", c->group, c->verb, c->args_help);
		return EXIT_USAGE;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = NULL;
	const char *path = NULL, *group, *verb;
	char *args[3] = { NULL, NULL, NULL }, *err = NULL;
	struct config *cfg;
	struct ms_store *ms = NULL;
	bool pw_stdin, known_group = false;
	int ch, rc;

	log_init("postroom", false);
	/* "+": options end at the command, which has options of its own. */
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout, NULL);
			return 0;
		default:
			usage(stderr, NULL);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr, NULL);
		return EXIT_USAGE;
	}

	group = argv[0];
	verb = argc > 1 ? argv[1] : NULL;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].group, group) != 0)
			continue;
		known_group = true;
		if (verb != NULL && strcmp(commands[i].verb, verb) == 0)
			cmd = &commands[i];
	}
	if (!known_group) {
		fail("unknown command '%s'", group);
		usage(stderr, NULL);
		return EXIT_USAGE;
	}
	if (verb != NULL && is_help(verb)) {
		usage(stdout, group);
		return 0;
	}
	if (cmd == NULL) {
		if (verb != NULL)
			fail("unknown command '%s %s'", group, verb);
		usage(stderr, group);
		return EXIT_USAGE;
	}
	if ((rc = parse_args(cmd, argc - 2, argv + 2, args, &pw_stdin)) != 0)
		return rc == -1 ? 0 : rc;

	cfg = path != NULL ? config_load(path, geteuid() == 0, &err) :
	    config_new_default(geteuid() == 0);
	if (cfg == NULL) {
		fail("%s", err);
		free(err);
		return 1;
	}
	if ((rc = open_store(cfg, &ms)) == 0) {
		rc = cmd->fn(ms, cmd, args, pw_stdin);
		ms_close(&ms);
	}
	config_free(&cfg);
	return rc;
}
