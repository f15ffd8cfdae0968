#!/bin/sh
# Install the dependencies, then build and run the whole test suite twice:
# with clang and warnings as errors, and with gcc under AddressSanitizer +
# UndefinedBehaviorSanitizer.  Exits non-zero on any failure.
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
sh scripts/deps.sh --test
./autogen.sh >/dev/null 2>&1
jobs=$(nproc)
status=0
failed=

run_suite() {	# name, configure args...
	name=$1; shift
	dir="$top/build-$name"
	rm -rf "$dir"; mkdir -p "$dir"
	echo "=== $name: configure $*"
	(cd "$dir" && "$top/configure" -q "$@") || return 1
	echo "=== $name: build"
	(cd "$dir" && make -s -j"$jobs") || return 1
	echo "=== $name: test"
	if (cd "$dir" && make -s -j"$jobs" check); then
		echo "=== $name: all tests passed"
	else
		# Only what failed: a unit program's log whose .trs says FAIL or
		# ERROR, and the end of the integration log (failed files last).
		for t in "$dir"/tests/unit/*.trs "$dir"/tests/integration/*.trs; do
			[ -f "$t" ] || continue
			grep -qE '^:test-result: (FAIL|ERROR)' "$t" || continue
			f=${t%.trs}.log
			echo "--- $f"
			tail -n 120 "$f"
			failed="$failed ${f#$top/}"
		done
		return 1
	fi
}

# Count test cases (not programs) over both builds: Check's
# "Checks: N, Failures: F, Errors: E" lines and the integration runner's
# "N passed, N failed" line.
count_cases() {
	cat "$top"/build-*/tests/unit/*.log "$top"/build-*/tests/integration/*.log 2>/dev/null | awk '
	    /^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
		gsub(/,/, ""); n = $3; f = $5 + $7; pass += n - f; fail += f }
	    /^[0-9]+ passed, [0-9]+ failed$/ { pass += $1; fail += $3 }
	    END { printf "%d passed, %d failed\n", pass, fail }'
}

run_suite clang CC=clang --enable-werror || status=1
run_suite asan CC=gcc --enable-werror --enable-sanitizers || status=1
count_cases
[ -z "$failed" ] || echo "failed:$failed"
exit $status
