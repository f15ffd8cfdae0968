#!/bin/sh
# SPDX-License-Identifier: ISC
# run.sh: the whole benchmark in one command.  Starts the reference stack
# (Postfix + Dovecot, peer/) and Postroom (postroom/) side by side on
# loopback with temporary data, measures both with the same client
# (loadgen.py), alternating the servers from run to run, and prints the
# medians with their ratio (report.py).  The results go to
# results/latest.md and results/latest.jsonl.  Both servers are stopped by
# PID and the temporary data removed on exit, also after an error or ^C.
#
#   sudo bench/run.sh                        peer + Postroom built in the repo
#   sudo POSTROOM=/path/to/build bench/run.sh
#   sudo POSTROOM=none bench/run.sh          peer only
#   PEER=no bench/run.sh                     Postroom only (root not needed)
#
# Settings (environment): RUNS, SMTP_DURATION, SMTP_SIZES, SMTP_CLIENTS,
# SMTP_PER_CONN, SMTP_PROCS, POP3_MSGS, POP3_SIZE, POP3_WINDOWS, POP3_PASSES,
# IDLE_CONNS, IDLE_RUNS,
# PHASES ("smtp pop3 idle"; "imap" adds the IMAP benchmark of imap_run.sh,
# about half an hour, with IMAP_IDLE_CONNS idle sessions, default 10000),
# ports PEER_*_PORT and PR_*_PORT, RESULTS_DIR,
# KEEP=1 (keep the temporary directory for inspection).
# shellcheck disable=SC2016 # '"$SMTP_PORT"' etc. are expanded by measure()
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/common.sh
. "$BENCH_DIR/common.sh"
bench_defaults
SMTP_DURATION=${SMTP_DURATION:-5}
SMTP_SIZES=${SMTP_SIZES:-"4096 65536"}
SMTP_CLIENTS=${SMTP_CLIENTS:-"1 10 50"}
SMTP_PER_CONN=${SMTP_PER_CONN:-1}
SMTP_PROCS=${SMTP_PROCS:-2}
POP3_MSGS=${POP3_MSGS:-1000}
POP3_SIZE=${POP3_SIZE:-10240}
POP3_WINDOWS=${POP3_WINDOWS:-"1 16"}
POP3_PASSES=${POP3_PASSES:-5}
IDLE_CONNS=${IDLE_CONNS:-1000}
IDLE_RUNS=${IDLE_RUNS:-1}
PHASES=${PHASES:-"smtp pop3 idle"}
LOADGEN="$PYTHON $BENCH_DIR/loadgen.py"
export PYTHONDONTWRITEBYTECODE=1

bench_ports 10 11
check_counts RUNS SMTP_DURATION SMTP_PER_CONN SMTP_PROCS POP3_MSGS POP3_SIZE POP3_PASSES \
  IDLE_CONNS IDLE_RUNS
check_count_lists SMTP_SIZES SMTP_CLIENTS POP3_WINDOWS
for p in $PHASES; do
  case $p in smtp|pop3|idle|imap) ;; *) die "unknown phase '$p' (smtp, pop3, idle, imap)" ;; esac
done
bench_servers
bench_workdir postroom-bench

# --- servers (peer_up and peer_down are in common.sh) ------------------------

postroom_up() {
  PR_STARTED=1
  PR_DIR=$WORK/postroom POSTROOM_BUILD=$POSTROOM SMTP_PORT=$PR_SMTP_PORT \
    POP3_PORT=$PR_POP3_PORT "$BENCH_DIR/postroom/postroom-up"
}
postroom_down() {
  PR_DIR=$WORK/postroom KEEP_DATA=$1 "$BENCH_DIR/postroom/postroom-down" && PR_STARTED=0
}
servers_restart() {
  for s in $SERVERS; do "${s}_down" 1; "${s}_up"; done
}

envfile() {
  case $1 in
    peer) echo "$WORK/peer/peer.env" ;;
    postroom) echo "$WORK/postroom/postroom.env" ;;
  esac
}

# measure SERVER TAG MODE ARGS...: one loadgen run in the server's
# environment, appended to the results.  ARGS are evaluated there, so
# they may name $SMTP_PORT, $COUNT_CMD etc. in single quotes.  A failed
# run is reported and skipped; the report shows fewer runs.
measure() {
  _srv=$1 _tag=$2
  shift 2
  # shellcheck disable=SC1090 # the env file is generated at run time
  if ! out=$(. "$(envfile "$_srv")" && eval "$LOADGEN $* --label $_srv \
        --tag $_tag --pids-cmd \"\$SERVER_PIDS_CMD\""); then
    echo "run.sh: $_srv $_tag: run failed, skipped" >&2
    return 0
  fi
  printf '%s\n' "$out" >> "$RESULTS"
}

reset() {
  # shellcheck disable=SC1090
  (. "$(envfile "$1")" && sh -c "$RESET_CMD") >/dev/null 2>&1 ||
    echo "run.sh: $1: reset failed" >&2
}

# --- phases ------------------------------------------------------------------

phase_smtp() {
  run=1
  while [ $run -le "$RUNS" ]; do
    # Empty mailboxes at the start of each round, not before every run:
    # Postroom's reset logs in to all users, which costs seconds.  Both
    # servers then hold the same mail at the same point of the round.
    for s in $SERVERS; do reset "$s"; done
    for size in $SMTP_SIZES; do
      for clients in $SMTP_CLIENTS; do
        for s in $(order $run); do
          measure "$s" "smtp-$size-c$clients-p$SMTP_PER_CONN" smtp \
            --port '"$SMTP_PORT"' --duration "$SMTP_DURATION" --size "$size" \
            --clients "$clients" --per-conn "$SMTP_PER_CONN" \
            --procs "$SMTP_PROCS" --count-cmd '"$COUNT_CMD"'
        done
      done
    done
    run=$((run + 1))
  done
}

phase_pop3() {
  # shellcheck disable=SC2059 # USER_FMT is a printf template on purpose
  user=$(printf "$USER_FMT" "$NUSERS")
  for s in $SERVERS; do
    # shellcheck disable=SC1090
    (. "$(envfile "$s")" && $LOADGEN fill --port "$SMTP_PORT" \
       --pop3-port "$POP3_PORT" --to "$user" --count "$POP3_MSGS" \
       --size "$POP3_SIZE" --clients 10 >/dev/null) ||
      { echo "run.sh: $s: cannot fill the POP3 mailbox" >&2; continue; }
  done
  run=1
  while [ $run -le "$RUNS" ]; do
    for w in $POP3_WINDOWS; do
      for s in $(order $run); do
        measure "$s" "pop3-$POP3_MSGS-w$w" pop3 --port '"$POP3_PORT"' \
          --user "$user" --expect "$POP3_MSGS" --window "$w" \
          --passes "$POP3_PASSES"
      done
    done
    run=$((run + 1))
  done
}

phase_idle() {
  run=1
  while [ $run -le "$IDLE_RUNS" ]; do
    for proto in pop3 smtp; do
      # Fresh servers for each measurement: Postfix keeps idle smtpd
      # processes for a while after their clients left, and a process's
      # freed heap is reused by the next connections, either of which would
      # hide the cost of new connections.
      servers_restart
      port='"$POP3_PORT"'
      [ $proto = smtp ] && port='"$SMTP_PORT"'
      for s in $(order $run); do
        measure "$s" "idle-$proto-$IDLE_CONNS" idle --proto $proto \
          --port "$port" --conns "$IDLE_CONNS" --parallel 50 --timeout 60
      done
    done
    run=$((run + 1))
  done
}

# The IMAP benchmark starts servers of its own (on ports of its own) and
# writes results/imap-latest.md and imap-latest.jsonl.
phase_imap() {
  PEER=$PEER POSTROOM=$POSTROOM RUNS=$RUNS RESULTS_DIR=$RESULTS_DIR \
    IDLE_CONNS=${IMAP_IDLE_CONNS:-10000} sh "$BENCH_DIR/imap_run.sh" ||
    echo "run.sh: the IMAP benchmark failed" >&2
}

# --- main --------------------------------------------------------------------

t0=$(date +%s)
servers_up
for p in $PHASES; do "phase_$p"; done
t1=$(date +%s)

mkdir -p "$RESULTS_DIR"
meta=$(bench_meta "$(postroom_version); Postfix $(postconf -h mail_version 2>/dev/null || echo -); Dovecot $(dovecot --version 2>/dev/null || echo -); $($PYTHON --version 2>&1)" \
  "RUNS=$RUNS SMTP_DURATION=${SMTP_DURATION}s SMTP_SIZES='$SMTP_SIZES' SMTP_CLIENTS='$SMTP_CLIENTS' SMTP_PER_CONN=$SMTP_PER_CONN SMTP_PROCS=$SMTP_PROCS POP3_MSGS=$POP3_MSGS POP3_SIZE=$POP3_SIZE POP3_WINDOWS='$POP3_WINDOWS' POP3_PASSES=$POP3_PASSES IDLE_CONNS=$IDLE_CONNS IDLE_RUNS=$IDLE_RUNS PHASES='$PHASES'" \
  $((t1 - t0)))
printf '{"meta": %s}\n' "$meta" >> "$RESULTS"
cp "$RESULTS" "$RESULTS_DIR/latest.jsonl"
echo
"$PYTHON" "$BENCH_DIR/report.py" "$RESULTS" --markdown "$RESULTS_DIR/latest.md"
echo
echo "written: $RESULTS_DIR/latest.md ($((t1 - t0)) s)"
