#!/bin/sh
# Install the Debian 12 packages Postroom needs to build, run and test.
# Idempotent; uses sudo when not run as root.  --test adds the big client
# only the test suite needs: Thunderbird under a virtual X server.
set -e
PKGS="build-essential autoconf automake pkg-config clang
libev-dev libssl-dev libsqlite3-dev libsasl2-dev libsasl2-modules
check libinih-dev libcrypt-dev openssl sqlite3
python3 swaks curl isync fetchmail"
[ "${1:-}" = --test ] && PKGS="$PKGS thunderbird xvfb xauth xdotool"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
