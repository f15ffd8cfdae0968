# SPDX-License-Identifier: ISC
# shellcheck shell=sh
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

# --- for the runners (run.sh, imap_run.sh) -----------------------------------
# They call bench_defaults, then bench_ports, bench_servers and bench_workdir
# in this order, and define postroom_up and postroom_down themselves.

# bench_defaults: the settings of every runner: PEER (yes), POSTROOM (the
# build directory; the repository root), RUNS (3), RESULTS_DIR (results/)
bench_defaults() {
  PEER=${PEER:-yes}
  POSTROOM=${POSTROOM:-$(dirname "$BENCH_DIR")}
  RUNS=${RUNS:-3}
  RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
}

# is_count VALUE: true for a positive integer
is_count() { case $1 in ''|*[!0-9]*) return 1 ;; *) [ "$1" -ge 1 ] ;; esac; }

# check_counts VAR...: each variable named must hold a positive integer
check_counts() {
  for _v in "$@"; do
    eval "_val=\$$_v"
    # shellcheck disable=SC2154 # set by the eval above
    is_count "$_val" || die "$_v must be a positive integer, not '$_val'"
  done
}

# check_count_lists VAR...: each variable named must hold positive integers
check_count_lists() {
  for _v in "$@"; do
    eval "_val=\$$_v"
    for _n in $_val; do is_count "$_n" || die "bad number '$_n' in $_v"; done
  done
}

# bench_ports PEER_PREFIX PR_PREFIX: default ports of the peer and of
# Postroom, the prefix followed by the usual port's last three digits
# (10 gives 10025, 10110, 10143, 10024), so that runners with different
# prefixes never clash over leftovers
bench_ports() {
  PEER_SMTP_PORT=${PEER_SMTP_PORT:-${1}025}
  PEER_POP3_PORT=${PEER_POP3_PORT:-${1}110}
  PEER_IMAP_PORT=${PEER_IMAP_PORT:-${1}143}
  PEER_LMTP_PORT=${PEER_LMTP_PORT:-${1}024}
  PR_SMTP_PORT=${PR_SMTP_PORT:-${2}025}
  PR_POP3_PORT=${PR_POP3_PORT:-${2}110}
  PR_IMAP_PORT=${PR_IMAP_PORT:-${2}143}
}

# bench_servers: SERVERS ("peer postroom", or one of them) from PEER
# (yes/no) and POSTROOM (a build directory, made absolute, or none)
bench_servers() {
  SERVERS=
  [ "$PEER" = yes ] && SERVERS=peer
  if [ "$POSTROOM" != none ]; then
    POSTROOM=$(cd "$POSTROOM" 2>/dev/null && pwd) || die "no directory $POSTROOM"
    if [ ! -x "$POSTROOM/postroomd" ] || [ ! -x "$POSTROOM/postroom" ]; then
      die "no postroomd/postroom in $POSTROOM (build first, or POSTROOM=none)"
    fi
    SERVERS="$SERVERS postroom"
  fi
  [ -n "$SERVERS" ] || die "nothing to measure (PEER=no and POSTROOM=none)"
  if [ "$PEER" = yes ] && [ "$(id -u)" != 0 ]; then
    die "the peer needs root (or PEER=no)"
  fi
  command -v "$PYTHON" >/dev/null || die "needs $PYTHON"
}

# bench_workdir NAME: WORK, a fresh temporary directory that the servers'
# unprivileged users can enter, with an empty RESULTS file; on exit the
# servers that run are stopped and WORK removed (KEEP=1 keeps it).
# The *_STARTED flags are set before a server starts: a signal that
# arrives meanwhile runs the cleanup only after the up script returned,
# and the down scripts do nothing when nothing runs.
bench_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  chmod 755 "$WORK"
  RESULTS=$WORK/results.jsonl
  : > "$RESULTS"
  PEER_STARTED=0
  PR_STARTED=0
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM HUP PIPE
}

bench_cleanup() {
  trap - EXIT INT TERM HUP PIPE
  [ "$PR_STARTED" = 1 ] && postroom_down "${KEEP:-0}"
  [ "$PEER_STARTED" = 1 ] && peer_down "${KEEP:-0}"
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}

# peer_up, peer_down KEEP: the peer (peer/) under $WORK/peer on the
# PEER_*_PORTs; KEEP=1 keeps its data for a restart
peer_up() {
  PEER_STARTED=1
  PEER_DIR=$WORK/peer SMTP_PORT=$PEER_SMTP_PORT POP3_PORT=$PEER_POP3_PORT \
    IMAP_PORT=$PEER_IMAP_PORT LMTP_PORT=$PEER_LMTP_PORT "$BENCH_DIR/peer/peer-up" >&2
}
peer_down() {
  PEER_DIR=$WORK/peer KEEP_DATA=$1 "$BENCH_DIR/peer/peer-down" >&2 && PEER_STARTED=0
}

servers_up() {
  for _s in $SERVERS; do "${_s}_up"; done
}

# order RUN: the servers in the order of this run; it alternates so that
# neither always runs first (page cache, CPU frequency, background noise).
order() {
  if [ $(($1 % 2)) = 1 ]; then echo "$SERVERS"; else
    _r=; for _s in $SERVERS; do _r="$_s $_r"; done; echo "$_r"
  fi
}

# postroom_version: the first line of postroomd --version, or "not run"
postroom_version() {
  if [ "$POSTROOM" = none ]; then echo "postroomd not run"; else
    "$POSTROOM/postroomd" --version 2>/dev/null | head -n 1 || true
  fi
}

# bench_meta SOFTWARE SETTINGS SECONDS: the description of a run (date,
# machine, the software and settings given, its duration) as one JSON object
bench_meta() {
  BENCH_META_DATE=$(date -u '+%Y-%m-%d %H:%M UTC') \
  BENCH_META_MACHINE="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)" \
  BENCH_META_SOFTWARE=$1 BENCH_META_SETTINGS=$2 BENCH_META_DURATION="$3 s" \
    "$PYTHON" -c 'import json, os
keys = ("date", "machine", "software", "settings", "duration")
print(json.dumps({k: os.environ["BENCH_META_" + k.upper()] for k in keys}))'
}
