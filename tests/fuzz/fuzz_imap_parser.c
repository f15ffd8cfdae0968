/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the IMAP command parser and the typed helpers
 * that consume its argument tree.  Not part of the default build:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -I<builddir> \
 *       tests/fuzz/fuzz_imap_parser.c imap-lite/imap_parser.c \
 *       imap-lite/imap_arena.c imap-lite/imap_seqset.c \
 *       imap-lite/imap_fetch_parse.c imap-lite/imap_search_parse.c \
 *       imap-lite/imap_flags.c imap-lite/imap_utf7.c imap-lite/imap_date.c \
 *       common/codec.c common/log.c common/xmalloc.c -o fuzz_imap_parser
 *
 * or with the other harnesses through tests/fuzz/run.sh.
 *
 * Every argument is also offered to each helper that could meet it in a
 * real command, so the fuzzer reaches them without knowing the grammar.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap-lite/imap_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
try_arg(const struct imap_arg *arg, struct imap_arena *a)
{
	struct imap_fetch_req req;
	struct imap_seqset set;
	const char *s, *error, *kw;
	uint32_t flags;
	time_t t;

	(void)imap_fetch_parse(arg, NULL, a, &req, &error);
	(void)imap_flags_parse(arg, a, &flags, &kw, &error);
	if ((s = imap_arg_astring(arg)) == NULL)
		return;
	if (imap_seqset_parse(s, a, &set)) {
		imap_seqset_resolve(&set, 1000);
		(void)imap_seqset_contains(&set, 500);
	}
	(void)imap_utf7_to_utf8(s, a);
	(void)imap_utf8_to_utf7(s, a);
	(void)imap_parse_date(s, &t);
	(void)imap_parse_datetime(s, &t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct imap_arena a;
	struct imap_command cmd;
	struct imap_search_key *root;
	const char *error;
	uint64_t lit;
	bool nonsync, badcharset;
	size_t i;

	(void)imap_line_literal((const char *)data, size, IMAP_MAX_COMMAND,
	    &lit, &nonsync);
	if (imap_parse_command((const char *)data, size, &a, &cmd,
	    &error) == IMAP_PARSE_OK) {
		(void)imap_search_parse(cmd.args, cmd.nargs, &a, &root,
		    &badcharset, &error);
		for (i = 0; i < cmd.nargs; i++)
			try_arg(&cmd.args[i], &a);
		if (cmd.nargs >= 2)
			(void)imap_fetch_parse(&cmd.args[0], &cmd.args[1], &a,
			    &(struct imap_fetch_req){ 0 }, &error);
	}
	imap_arena_reset(&a);
	return 0;
}
