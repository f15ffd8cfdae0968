#!/bin/sh
# Install the dependencies, build, and start postroomd on its embedded
# default: a data dir with the SQLite mailstore, a self-signed certificate
# made at first start, the domain example.org with user@example.org (its
# password is printed once and kept in <data dir>/initial-password).
# Not root: loopback high ports and ./data.  Root: the standard ports, data
# in /var/lib/postroom, running as the system user "postroom".
set -e
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure -q
make -s -j"$(nproc)"
if [ "$(id -u)" = 0 ] && ! id postroom >/dev/null 2>&1; then
	useradd --system --home-dir /var/lib/postroom --shell /usr/sbin/nologin postroom
fi
exec ./postroomd "$@"
