#!/bin/sh
# SPDX-License-Identifier: ISC
# imap_run.sh: the IMAP benchmark in one command.  Starts the peer (Dovecot,
# through peer/peer-up) and a private postroomd with IMAP listeners side by
# side on loopback with temporary data, measures both with the same client
# (imap_load.py; for the mix imap_loadgen.c, compiled here), alternating the
# servers from run to run, and writes the medians with their ratio to
# results/imap-latest.md and .jsonl.  Results of the phases not run this time
# are kept from the previous files.  Both servers are stopped by PID and the
# temporary data removed on exit.
#
#   sudo bench/imap_run.sh                    peer + Postroom built in the repo
#   sudo POSTROOM=/path/to/build bench/imap_run.sh
#   sudo POSTROOM=none bench/imap_run.sh      peer only
#   PEER=no bench/imap_run.sh                 Postroom only
#
# Workloads (PHASES, default "mix big idle"):
#   mix   commands per second with MIX_CLIENTS sessions (each its own user,
#         whose INBOX holds PREP_MSGS messages), MIX_DURATION seconds, RUNS
#         runs per server.  The client is imap_loadgen.c, one process in C
#         (compiled with CC, default cc), so that on a small machine the
#         client leaves the CPUs to the server; MIX_CLIENT=python runs the
#         same cycle in imap_load.py over MIX_PROCS processes instead.
#   big   SELECT and FETCH 1:* (UID FLAGS) on an INBOX of BIG_MSGS messages
#         (delivered over SMTP to Postroom, over LMTP to Dovecot), BIG_REPEAT
#         sessions
#   idle  server memory per session with IDLE_CONNS sessions in IDLE, logged
#         in as the users round robin (INBOXes of PREP_MSGS or no messages)
# Other settings: BIG_SIZE, IDLE_PARALLEL, ports PEER_*_PORT and
# PR_*_PORT, RESULTS_DIR, KEEP=1.
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/common.sh
. "$BENCH_DIR/common.sh"
bench_defaults
PHASES=${PHASES:-"mix big idle"}
MIX_CLIENTS=${MIX_CLIENTS:-"1 10 50"}
MIX_DURATION=${MIX_DURATION:-10}
MIX_CLIENT=${MIX_CLIENT:-c}
MIX_PROCS=${MIX_PROCS:-2}
PREP_MSGS=${PREP_MSGS:-200}
BIG_MSGS=${BIG_MSGS:-100000}
BIG_SIZE=${BIG_SIZE:-2048}
BIG_REPEAT=${BIG_REPEAT:-4}
IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_PARALLEL=${IDLE_PARALLEL:-50}
LOAD="$PYTHON $BENCH_DIR/imap_load.py"
export PYTHONDONTWRITEBYTECODE=1

# ports of their own, so that bench/run.sh may run at another time
# without a clash over leftovers
bench_ports 14 15
check_counts RUNS MIX_DURATION MIX_PROCS PREP_MSGS BIG_MSGS BIG_SIZE BIG_REPEAT IDLE_CONNS \
  IDLE_PARALLEL
check_count_lists MIX_CLIENTS
[ "$BIG_REPEAT" -ge 2 ] || die "BIG_REPEAT must be at least 2 (the first session is reported apart)"
for p in $PHASES; do
  case $p in mix|big|idle) ;; *) die "unknown phase '$p' (mix, big, idle)" ;; esac
done
case $MIX_CLIENT in c|python) ;; *) die "MIX_CLIENT is c or python, not '$MIX_CLIENT'" ;; esac
bench_servers
# the users the mix needs, plus the one holding the big mailbox
max_clients=1
for c in $MIX_CLIENTS; do [ "$c" -gt "$max_clients" ] && max_clients=$c; done
[ "$max_clients" -lt "$NUSERS" ] || die "MIX_CLIENTS needs fewer than NUSERS=$NUSERS users"
# shellcheck disable=SC2059 # USER_FMT is a printf template on purpose
BIG_USER=$(printf "$USER_FMT" "$NUSERS")

bench_workdir postroom-imapbench
PR_DIR=$WORK/postroom
PR_PID=

# The mix client: compiled outside the project's build, so that the
# benchmark needs nothing but a C compiler.
LOADGEN_BIN=
if [ "$MIX_CLIENT" = c ] && case " $PHASES " in *" mix "*) true ;; *) false ;; esac; then
  LOADGEN_BIN=$WORK/imap_loadgen
  ${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -o "$LOADGEN_BIN" "$BENCH_DIR/imap_loadgen.c" ||
    die "cannot compile imap_loadgen.c (MIX_CLIENT=python runs the mix without it)"
fi

# --- servers (peer_up and peer_down are in common.sh) ------------------------

# peer_raise_limits: Dovecot restarted with room for IDLE_CONNS sessions
peer_raise_limits() {
  # Capacity for IDLE_CONNS logged-in sessions: one imap process each, and
  # each of them a client of the log, anvil and stats services.
  conf=$WORK/peer/dovecot/dovecot.conf
  need=$((IDLE_CONNS + 200))
  cat >> "$conf" <<CONF
# added by imap_run.sh: room for $IDLE_CONNS idle IMAP sessions
default_client_limit = $((need * 2))
service imap {
  process_limit = $need
}
CONF
  # peer-up starts Dovecot with at most 8192 descriptors when it cannot
  # get 65536, too few for that many sessions: restart it with all the
  # hard limit allows.
  pidfile=$WORK/peer/dovecot/run/master.pid
  pid=$(cat "$pidfile")
  dovecot -c "$conf" stop
  n=0
  while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  kill -0 "$pid" 2>/dev/null && die "peer Dovecot (PID $pid) did not stop"
  # shellcheck disable=SC3045 # dash and bash have ulimit -n
  (ulimit -n "$(ulimit -Hn)" && dovecot -c "$conf") || die "peer Dovecot did not restart"
  wait_port "$PEER_IMAP_PORT" || die "peer IMAP not back after the restart"
  wait_port "$PEER_LMTP_PORT" || die "peer LMTP not back after the restart"
}
peer_pids_cmd() { echo "cat $WORK/peer/dovecot/run/master.pid"; }

postroom_up() {
  mkdir -p "$PR_DIR"
  chmod 755 "$PR_DIR"
  conf=$PR_DIR/postroomd.conf
  first=no
  [ -f "$PR_DIR/data/mail.db" ] || first=yes
  {
    echo "# written by imap_run.sh for the IMAP benchmark"
    echo "[server]"
    echo "hostname = postroom.$DOMAIN"
    echo "data_dir = $PR_DIR/data"
    [ "$(id -u)" = 0 ] && echo "user = ${RUN_USER:-nobody}"
    echo "[listen]"
    echo "smtp = $HOST:$PR_SMTP_PORT"
    echo "imap = $HOST:$PR_IMAP_PORT"
    for role in submission submissions pop3 pop3s imaps; do echo "$role ="; done
    echo "[limits]"
    echo "max_connections = $((IDLE_CONNS + 1000))"
    echo "max_connections_per_ip = $((IDLE_CONNS + 1000))"
    echo "max_message_size = 100m"
    echo "[auth]"
    # the peer runs without TLS too (loopback only)
    echo "allow_plaintext = yes"
  } > "$conf"
  # shellcheck disable=SC3045 # dash and bash have ulimit -n
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  "$POSTROOM/postroomd" -c "$conf" >> "$PR_DIR/postroomd.log" 2>&1 &
  PR_PID=$!
  PR_STARTED=1
  for port in "$PR_SMTP_PORT" "$PR_IMAP_PORT"; do
    if ! wait_port "$port" || ! kill -0 "$PR_PID" 2>/dev/null; then
      tail -n 20 "$PR_DIR/postroomd.log" >&2
      die "postroomd did not start (log: $PR_DIR/postroomd.log)"
    fi
  done
  if [ $first = yes ]; then
    "$POSTROOM/postroom" -c "$conf" domain add "$DOMAIN" >/dev/null
    i=1
    while [ "$i" -le "$NUSERS" ]; do
      # shellcheck disable=SC2059
      u=$(printf "$USER_FMT" "$i")
      echo "$PASS" | "$POSTROOM/postroom" -c "$conf" user add "$u" --password-stdin \
        >/dev/null || die "cannot add user $u"
      i=$((i + 1))
    done
  fi
  echo "postroom up: PID $PR_PID IMAP $HOST:$PR_IMAP_PORT" >&2
}
postroom_down() {
  [ -n "$PR_PID" ] || return 0
  kill -TERM "$PR_PID" 2>/dev/null || true
  n=0
  while kill -0 "$PR_PID" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
  if kill -0 "$PR_PID" 2>/dev/null; then
    echo "imap_run.sh: postroomd $PR_PID ignored SIGTERM, killing it" >&2
    kill -KILL "$PR_PID" 2>/dev/null || true
  fi
  wait "$PR_PID" 2>/dev/null || true
  PR_PID=
  PR_STARTED=0
  [ "$1" = 1 ] || rm -rf "$PR_DIR"
}
postroom_pids_cmd() { echo "echo $PR_PID"; }

port_of() { if [ "$1" = peer ]; then echo "$PEER_IMAP_PORT"; else echo "$PR_IMAP_PORT"; fi; }

# measure SERVER TAG MODE ARGS...: one imap_load run, appended to the results
measure() {
  _srv=$1 _tag=$2 _mode=$3
  shift 3
  if ! out=$($LOAD "$_mode" --port "$(port_of "$_srv")" --label "$_srv" --tag "$_tag" \
        --pids-cmd "$("${_srv}_pids_cmd")" "$@"); then
    echo "imap_run.sh: $_srv $_tag: run failed, skipped" >&2
    return 0
  fi
  printf '%s\n' "$out" >> "$RESULTS"
  echo "$_srv $_tag: $(printf '%s' "$out" | cut -c 1-200)" >&2
}

# --- phases ------------------------------------------------------------------

phase_mix() {
  for s in $SERVERS; do
    $LOAD prepare --port "$(port_of "$s")" --users "$max_clients" --count "$PREP_MSGS" \
      --size 4096 >&2 || die "$s: cannot prepare the mailboxes"
  done
  if [ -n "$LOADGEN_BIN" ]; then copt=--loadgen cval=$LOADGEN_BIN
  else copt=--procs cval=$MIX_PROCS; fi
  run=1
  while [ $run -le "$RUNS" ]; do
    for clients in $MIX_CLIENTS; do
      for s in $(order $run); do
        measure "$s" "mix-c$clients" mix --clients "$clients" --duration "$MIX_DURATION" \
          "$copt" "$cval"
      done
    done
    run=$((run + 1))
  done
}

phase_big() {
  # Each server fills through its own delivery path, as mail arrives:
  # Postroom over SMTP, Dovecot over LMTP (what Postfix would hand it).
  for s in $SERVERS; do
    if [ "$s" = peer ]; then via="--via lmtp --smtp-port $PEER_LMTP_PORT"
    else via="--via smtp --smtp-port $PR_SMTP_PORT"; fi
    # shellcheck disable=SC2086 # $via is two options on purpose
    out=$($LOAD fill --port "$(port_of "$s")" --user "$BIG_USER" --count "$BIG_MSGS" \
      --size "$BIG_SIZE" --clients 16 $via --label "$s" --tag "fill-$BIG_MSGS") ||
      die "$s: cannot fill the big mailbox"
    printf '%s\n' "$out" >> "$RESULTS"
    echo "$s fill: $out" >&2
  done
  for s in $(order 1); do
    measure "$s" "bigbox-$BIG_MSGS" bigbox --user "$BIG_USER" --expect "$BIG_MSGS" \
      --repeat "$BIG_REPEAT"
  done
}

phase_idle() {
  # Not the user with the big mailbox: the figure is the cost of a
  # session, not of a 100,000-message view.
  for s in $SERVERS; do
    measure "$s" "idle-$IDLE_CONNS" idle --conns "$IDLE_CONNS" --parallel "$IDLE_PARALLEL" \
      --users $((NUSERS - 1))
  done
}

# --- main --------------------------------------------------------------------

t0=$(date +%s)
servers_up
case " $SERVERS " in *" peer "*) peer_raise_limits ;; esac
for p in $PHASES; do "phase_$p"; done
t1=$(date +%s)

mkdir -p "$RESULTS_DIR"
software="postroomd: $(postroom_version); Dovecot $(dovecot --version 2>/dev/null || echo -); $($PYTHON --version 2>&1)"
[ -n "$LOADGEN_BIN" ] && software="$software; mix client built by $(${CC:-cc} --version | head -n 1)"
bench_meta "$software" \
  "RUNS=$RUNS PHASES='$PHASES' MIX_CLIENTS='$MIX_CLIENTS' MIX_DURATION=${MIX_DURATION}s MIX_CLIENT=$MIX_CLIENT MIX_PROCS=$MIX_PROCS PREP_MSGS=$PREP_MSGS BIG_MSGS=$BIG_MSGS BIG_SIZE=$BIG_SIZE BIG_REPEAT=$BIG_REPEAT IDLE_CONNS=$IDLE_CONNS" \
  $((t1 - t0)) > "$WORK/meta.json"
# The phases not run this time keep their results from the previous
# files, each marked with the date of the run that measured it.
keep=
for p in mix big idle; do
  case " $PHASES " in *" $p "*) ;; *) keep="$keep $p" ;; esac
done
if [ -n "$keep" ] && [ -f "$RESULTS_DIR/imap-latest.jsonl" ]; then
  # shellcheck disable=SC2086 # $keep is a list of phases
  $LOAD keep "$RESULTS_DIR/imap-latest.jsonl" --md "$RESULTS_DIR/imap-latest.md" \
    --phases $keep >> "$RESULTS" || die "cannot read the previous results"
fi
cp "$RESULTS" "$RESULTS_DIR/imap-latest.jsonl"
echo
$LOAD report "$RESULTS" --meta "$WORK/meta.json" --markdown "$RESULTS_DIR/imap-latest.md"
echo
echo "written: $RESULTS_DIR/imap-latest.md ($((t1 - t0)) s)"
