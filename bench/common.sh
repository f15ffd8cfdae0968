# SPDX-License-Identifier: ISC
# Shared defaults and helpers for the bench scripts (sourced, not run).
# The sourcing script sets BENCH_DIR (the bench/ directory) first.
# Every setting can be overridden from the environment.
HOST=${HOST:-127.0.0.1}
DOMAIN=${DOMAIN:-bench.test}
NUSERS=${NUSERS:-100}
# printf-style user name template; %d runs 1..NUSERS
USER_FMT=${USER_FMT:-user%d@$DOMAIN}
PASS=${PASS:-secret}
PYTHON=${PYTHON:-python3}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# wait_port PORT: until something accepts on $HOST:PORT (at most 20 s)
wait_port() {
  _n=0
  until "$PYTHON" -c "import socket; socket.create_connection(('$HOST', $1), 1).close()" 2>/dev/null; do
    _n=$((_n + 1)); [ $_n -lt 200 ] || return 1; sleep 0.1
  done
}

# port_free PORT: true when nothing listens on $HOST:PORT
port_free() {
  ! "$PYTHON" -c "import socket; socket.create_connection(('$HOST', $1), 1).close()" 2>/dev/null
}
