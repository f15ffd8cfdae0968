#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Build every libFuzzer harness in this directory with clang and run each
# for a while.  Not part of `make check`: fuzzing is open-ended and needs
# clang's fuzzer runtime (Debian: libclang-rt-14-dev).
#
#   tests/fuzz/run.sh [outdir [seconds [harness...]]]
#
# outdir (default $TMPDIR or /tmp) gets the binaries, an autoconfig.h from
# a configure run, the seed corpora (made here from files in the tree, so
# no binary corpus is kept in the repository), the growing corpora and any
# crash-*, leak-*, timeout-* files.  seconds (default 60) is per harness.
# Exits non-zero if a harness fails to build or finds anything.

set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${TMPDIR:-/tmp}/postroom-fuzz}
secs=${2:-60}
[ $# -gt 2 ] && shift 2 || set --
cc=${CC:-clang}
mkdir -p "$out"
out=$(cd "$out" && pwd)

flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
flags="$flags -std=gnu11 -Wall -Wextra -Werror -I$src -I$out/cfg"

# autoconfig.h is all the harnesses need from configure.
if [ ! -f "$out/cfg/autoconfig.h" ]; then
	mkdir -p "$out/cfg"
	(cd "$out/cfg" && CC=$cc "$src/configure" >configure.log 2>&1) || {
		echo "configure failed: see $out/cfg/configure.log" >&2
		exit 1
	}
fi

mime="imap-lite/imap_mime.c imap-lite/imap_mime_addr.c
	imap-lite/imap_mime_content.c imap-lite/imap_mime_date.c
	imap-lite/imap_mime_header.c imap-lite/imap_mime_render.c
	imap-lite/imap_mime_serial.c imap-lite/imap_mime_words.c"
base="common/log.c common/xmalloc.c"

sources() {
	case $1 in
	fuzz_imap_parser) echo imap-lite/imap_parser.c \
	    imap-lite/imap_arena.c imap-lite/imap_seqset.c \
	    imap-lite/imap_fetch_parse.c imap-lite/imap_search_parse.c \
	    imap-lite/imap_flags.c imap-lite/imap_utf7.c \
	    imap-lite/imap_date.c common/codec.c $base ;;
	fuzz_mime) echo $mime common/codec.c $base ;;
	fuzz_smtp_parse) echo smtp/smtp_parse.c smtp/smtp_parse_body.c ;;
	fuzz_pop3_linebuf) echo common/linebuf.c pop3/pop3_parse.c $base ;;
	fuzz_codecs) echo common/codec.c common/auth_b64.c $mime \
	    imap-lite/imap_utf7.c imap-lite/imap_casefold.c \
	    imap-lite/imap_arena.c $base ;;
	*) return 1 ;;
	esac
}

# Seeds, written fresh each run from text already in the tree.
seed() {
	mkdir -p "$out/seed/$1"
	printf '%s' "$2" >"$out/seed/$1/$3"
}

make_seeds() {
	rm -rf "$out/seed"
	mkdir -p "$out/seed"
	for f in "$src"/tests/unit/mime-corpus/*.eml; do
		b=$(basename "$f" .eml)
		mkdir -p "$out/seed/fuzz_mime" "$out/seed/fuzz_codecs"
		# two bytes of chunk-size seed, then the message
		{ printf '\001\007'; cat "$f"; } >"$out/seed/fuzz_mime/$b"
		grep -ai '^\(subject\|from\|to\|date\):' "$f" |
		    head -n 4 >"$out/seed/fuzz_codecs/$b" || true
	done
	seed fuzz_codecs 'Afoo&AOQ-bar/&ZeVnLIqe-' utf7
	seed fuzz_codecs '#=?iso-8859-1?q?caf=E9?= =?utf-8?B?w6Q=?=' words
	seed fuzz_codecs '!AGFsaWNlAHNlY3JldA==' b64
	seed fuzz_codecs '!Tue, 1 Jul 2003 10:52:37 +0200' date
	seed fuzz_codecs '%ÄRGER ärger ΣΟΦΙΑ σοφια' fold
	seed fuzz_smtp_parse "$(printf '\001FROM:<a@b.example> SIZE=10 BODY=8BITMIME\r\n.\r\n')" mail
	seed fuzz_smtp_parse "$(printf '\003TO:<\"x y\"@[127.0.0.1]> NOTIFY=NEVER\n..a\r\r\n.\r\n')" rcpt
	seed fuzz_smtp_parse "$(printf '\010AUTH PLAIN AGFsaWNl\r\nBDAT 100 LAST')" auth
	seed fuzz_pop3_linebuf "$(printf '\003\330USER alice\r\nPASS  s p \r\nTOP 1 10\nRETR 2\r\n\002\002\002\002\044\005')" cmds
	seed fuzz_pop3_linebuf "$(printf '\001\370AUTH PLAIN =\r\nSubject: x\r\n\r\n.line\r\n\003\060\014\002\002')" auth
	seed fuzz_imap_parser "$(printf 'a1 UID FETCH 1:*,7 (FLAGS BODY.PEEK[HEADER.FIELDS (From)]<0.10>)\r\n')" fetch
	seed fuzz_imap_parser "$(printf 'a2 SEARCH CHARSET UTF-8 OR SUBJECT {3+}\r\nabc SINCE 1-Feb-2020\r\n')" search
	seed fuzz_imap_parser "$(printf 'a3 APPEND "&AOQ-" (\\Seen $Junk) "01-Jan-2020 10:00:00 +0000" {5}\r\n')" append
}

harnesses=${*:-"fuzz_imap_parser fuzz_mime fuzz_smtp_parse fuzz_pop3_linebuf fuzz_codecs"}
make_seeds
status=0
for h in $harnesses; do
	srcs=$(sources "$h") || { echo "unknown harness $h" >&2; exit 2; }
	echo "== build $h"
	(cd "$src" && $cc $flags "tests/fuzz/$h.c" $srcs -o "$out/$h")
	mkdir -p "$out/corpus/$h" "$out/artifacts/$h"
	# whole messages are slow to parse three times over: keep them
	# short enough for a useful rate (the limits they test are far
	# above the line limits and boundaries the bugs live in)
	maxlen=65536
	[ "$h" = fuzz_mime ] && maxlen=16384
	echo "== run $h for ${secs}s"
	if ! "$out/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$maxlen -print_final_stats=1 \
	    -artifact_prefix="$out/artifacts/$h/" \
	    "$out/corpus/$h" "$out/seed/$h" >"$out/$h.log" 2>&1; then
		echo "!! $h failed: see $out/$h.log and $out/artifacts/$h/" >&2
		tail -n 40 "$out/$h.log" >&2
		status=1
	fi
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' \
	    "$out/$h.log" | tail -n 2 || true
done
exit $status
