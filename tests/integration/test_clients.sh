#!/bin/sh
# SPDX-License-Identifier: ISC
# Stock command-line clients against a running postroomd: openssl s_client
# (STARTTLS for SMTP and POP3, certificate verified against the generated
# file with the name "localhost"), swaks on the MX port and curl over
# pop3s.  Each case prints "ok - name" or "not ok - name"; the last line is
# "== P passed, F failed" for run.sh.

here=$(cd "$(dirname "$0")" && pwd)
# The harness starts the server, runs this script again with PR_* set to
# describe it, and stops the server afterwards.
if [ -z "${PR_PID:-}" ]; then
	exec python3 "$here/postroom_harness.py" exec sh "$here/test_clients.sh"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/postroom-it-clients.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
pass=0
fail=0

result() {	# status name
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1)); echo "ok - $2"
	else
		fail=$((fail + 1)); echo "not ok - $2"
		[ -s "$work/out" ] && sed -n '1,40p' "$work/out" | sed 's/^/#   /'
	fi
}

cert="$PR_DATA/tls/cert.pem"

# Talk through s_client: the lines of $2 are sent slowly so each
# gets its reply before the next.
s_client() {	# args-for-s_client lines
	args=$1
	lines=$2
	{
		sleep 1
		printf '%s\n' "$lines" | while IFS= read -r l; do
			printf '%s\r\n' "$l"
			sleep 0.5
		done
	} | timeout 30 openssl s_client $args -CAfile "$cert" -verify_hostname localhost \
		-verify_return_error -quiet >"$work/out" 2>&1
}

# 1: SMTP STARTTLS, certificate and name verified, AUTH offered under TLS
s_client "-starttls smtp -connect 127.0.0.1:$PR_PORT_SMTP" "EHLO client.outside.test
QUIT"
grep -q '^250[- ]AUTH .*PLAIN' "$work/out" && grep -q '^221' "$work/out"
result $? "openssl s_client -starttls smtp (verified) sees AUTH PLAIN"

# 2: POP3 STLS, then USER is offered
s_client "-starttls pop3 -connect 127.0.0.1:$PR_PORT_POP3" "CAPA
QUIT"
grep -q '^USER' "$work/out" && ! grep -q '^STLS' "$work/out"
result $? "openssl s_client -starttls pop3 (verified) sees USER, not STLS"

# 3: implicit TLS on pop3s with a login
s_client "-connect 127.0.0.1:$PR_PORT_POP3S" "USER alice@example.test
PASS $PR_PW_ALICE
STAT
QUIT"
grep -q '^+OK [0-9][0-9]* [0-9]' "$work/out"
result $? "openssl s_client pop3s login and STAT"

# 4: swaks delivers to alice over the MX port with STARTTLS
token="swaks-$$-$(date +%s)"
timeout 60 swaks --server 127.0.0.1 --port "$PR_PORT_SMTP" --tls \
	--from sender@outside.test --to alice@example.test --helo client.outside.test \
	--header "Subject: $token" --body "hello from swaks" >"$work/out" 2>&1
result $? "swaks --tls to a local user on the MX port"

# 5: curl finds it over pop3s
ok=1
if timeout 60 curl -sS -k -u "alice@example.test:$PR_PW_ALICE" \
	"pop3s://127.0.0.1:$PR_PORT_POP3S/" >"$work/list" 2>"$work/out"; then
	n=$(awk 'END { print $1 }' "$work/list")
	if [ -n "$n" ] && timeout 60 curl -sS -k -u "alice@example.test:$PR_PW_ALICE" \
		"pop3s://127.0.0.1:$PR_PORT_POP3S/$n" >"$work/msg" 2>"$work/out"; then
		grep -q "^Subject: $token" "$work/msg" && grep -q '^Return-Path: <sender@outside.test>' "$work/msg" && ok=0
	fi
fi
result $ok "curl pop3s retrieves the message swaks sent"

# 6: swaks to an unknown user fails
timeout 60 swaks --server 127.0.0.1 --port "$PR_PORT_SMTP" \
	--from sender@outside.test --to nobody@example.test >"$work/out" 2>&1
st=$?
grep -Eq '^ *<[*~-]+ +550' "$work/out" && [ $st -ne 0 ]
result $? "swaks to an unknown user gets 550"

# 7: curl with a wrong password fails
timeout 60 curl -sS -k -u "alice@example.test:wrong" \
	"pop3s://127.0.0.1:$PR_PORT_POP3S/" >"$work/out" 2>&1
[ $? -ne 0 ]
result $? "curl pop3s with a wrong password fails"

# the server survived all of it
timeout 30 swaks --server 127.0.0.1 --port "$PR_PORT_SMTP" --quit-after EHLO >"$work/out" 2>&1 &&
	kill -0 "$PR_PID"
result $? "postroomd still serving"

echo "== $pass passed, $fail failed"
[ "$fail" -eq 0 ]
