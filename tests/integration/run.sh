#!/bin/sh
# SPDX-License-Identifier: ISC
# Integration tests: start the real postroomd on free loopback ports and
# drive it with independent clients (python3 smtplib/poplib/imaplib, curl,
# swaks, openssl s_client, mbsync).  Runs every test_*.py and test_*.sh in this directory,
# prints the result of each file and ends with "N passed, N failed" counted
# over test cases.  Exit status 0 only if nothing failed.
#
# Run by "make check" (top_builddir and top_srcdir come from the
# environment) or by hand from a build dir: tests/integration/run.sh [FILE...]
# where FILE names a test file (test_smtp.py) to run only some of them.
# The daemon's log of each test class is copied to tests/integration/logs/
# in the build dir; POSTROOM_KEEP_TMP=1 keeps the data dirs as well, and
# POSTROOM_TEST_DEBUG=1 turns on the daemon's debug log.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
if [ -z "${top_builddir:-}" ]; then
	if [ -x ./postroomd ]; then top_builddir=$(pwd); else top_builddir=$top_srcdir; fi
fi
export top_srcdir top_builddir
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
# Each file gets at most this many seconds; a hang counts as a failure.
per_file_limit=${POSTROOM_TEST_FILE_TIMEOUT:-240}

for bin in postroomd postroom; do
	if [ ! -x "$top_builddir/$bin" ]; then
		echo "run.sh: $top_builddir/$bin not built" >&2
		exit 99
	fi
done
if ! command -v python3 >/dev/null 2>&1; then
	echo "run.sh: python3 is required" >&2
	exit 99
fi

if [ $# -gt 0 ]; then
	files=$*
else
	files=$(cd "$here" && ls test_*.py test_*.sh 2>/dev/null)
fi

total_pass=0
total_fail=0
out=$(mktemp "${TMPDIR:-/tmp}/postroom-it-out.XXXXXX")
failures=$(mktemp "${TMPDIR:-/tmp}/postroom-it-fail.XXXXXX")
trap 'rm -f "$out" "$failures"' EXIT INT TERM

# The IMAP files need a daemon that serves IMAP: until postroomd accepts
# imap listeners (asked once through --check-config) they are reported as
# skipped and counted neither way.  POSTROOM_TEST_IMAP=yes runs them anyway.
imap_ok=
for f in $files; do
	f=$(basename "$f")
	case $f in
	test_imap*|test_mbsync*)
		if [ -z "$imap_ok" ]; then
			if (cd "$here" && python3 postroom_harness.py imap-supported); then
				imap_ok=yes
			else
				imap_ok=no
			fi
		fi
		if [ "$imap_ok" = no ]; then
			echo "=== $f"
			echo "--- $f: skipped, postroomd does not serve IMAP yet"
			continue
		fi ;;
	esac
	echo "=== $f"
	start=$(date +%s)
	case $f in
	*.py)	(cd "$here" && timeout -k 10 "$per_file_limit" \
		    python3 "$here/runner.py" "${f%.py}") >"$out" 2>&1 ;;
	*.sh)	(cd "$here" && timeout -k 10 "$per_file_limit" \
		    sh "$here/$f") >"$out" 2>&1 ;;
	*)	echo "unknown test file type: $f" >"$out" ;;
	esac
	rc=$?
	cat "$out"
	# 77: the file's client is not installed (Thunderbird, say)
	if [ "$rc" -eq 77 ]; then
		echo "--- $f: skipped"
		continue
	fi
	summary=$(grep -E '^== [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	if [ -n "$summary" ]; then
		p=$(echo "$summary" | sed -E 's/^== ([0-9]+) passed.*/\1/')
		n=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')
	else
		p=0; n=0
	fi
	# A crash, a timeout or a non-zero exit without a counted failure is
	# one failure more, so it can never pass silently.
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		n=1
		echo "$f: exit status $rc without a counted failure"
	fi
	echo "--- $f: $p passed, $n failed ($(( $(date +%s) - start ))s)"
	# The output of a failed file is repeated at the end, where a reader
	# of a long CI log looks first.
	if [ "$n" -gt 0 ]; then
		{ echo "=== FAILED $f (exit status $rc)"; tail -n 60 "$out"; } >>"$failures"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + n))
done

if [ -s "$failures" ]; then
	cat "$failures"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
