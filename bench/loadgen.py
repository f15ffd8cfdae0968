#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Load generator for the Postroom benchmarks (python3 standard library only).

One client program measures every server the same way, so that figures for
Postroom and for the reference stack (Postfix + Dovecot) are comparable.
It speaks raw SMTP and POP3 over sockets with its own buffers (loadlib/):
the library clients (smtplib, poplib) cost more CPU per message than the
servers under test, and on a two-core machine the client shares the CPUs
with the server.

Modes (each prints one JSON object on stdout; progress goes to stderr):

  smtp   N concurrent clients; each connection does EHLO, then MAIL/RCPT/DATA
         for --per-conn messages, then QUIT.  Runs for --count messages or
         --duration seconds.  Only messages answered 250 after the final
         dot are counted.  With --count-cmd, it also waits until the server
         has stored them and reports the rate "to mailbox".
  fill   empty one mailbox (POP3 DELE), send --count messages to it over
         SMTP, wait until POP3 STAT shows them all.
  pop3   one session: USER/PASS, STAT, RETR every message, QUIT (no DELE).
  idle   open --conns connections, wait for each greeting, and report the
         growth of the server's memory (sum of PSS over its process tree).
  count  print the number of messages in the users' mailboxes (POP3 STAT).
  purge  delete every message of the users' mailboxes (POP3 DELE).

Every network wait has a timeout and every loop a bound in count and time.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys

from loadlib.idle import idle
from loadlib.pop3 import count_messages, fill, pop3_retrieve, purge
from loadlib.smtp import smtp_ingest
from loadlib.wire import bounded, ProtoError, tune_asyncio

PROG = "loadgen"


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, need + 64))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < need + 16:
        raise SystemExit(f"{PROG}: need {need} descriptors, the limit "
                         f"is {hard}")


def parse_args(argv):
    env = os.environ
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default=env.get("HOST", "127.0.0.1"))
    common.add_argument("--domain", default=env.get("DOMAIN", "bench.test"))
    common.add_argument("--users", type=int,
                        default=int(env.get("NUSERS", "100")),
                        help="recipients/users user1..userK")
    common.add_argument("--user-fmt", default=None,
                        help="printf template of user names, %%d = 1..K")
    common.add_argument("--password", default=env.get("PASS", "secret"))
    common.add_argument("--timeout", type=float, default=60.0,
                        help="seconds for any one network wait")
    common.add_argument("--max-time", type=float, default=600.0,
                        help="seconds for the whole run")
    common.add_argument("--pids-cmd", default=None,
                        help="shell command printing the server's root PIDs")
    common.add_argument("--label", default=None,
                        help="copied into the JSON result")
    common.add_argument("--tag", default=None,
                        help="copied into the JSON result")
    common.add_argument("--parallel", type=int, default=10,
                        help="concurrent sessions for count/purge/idle")
    common.add_argument("--max-msgs", type=int, default=100000,
                        help="bound on messages handled per mailbox")
    common.add_argument("--seed", type=int, default=1)

    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)

    def smtp_opts(sp, port_env, port_default):
        sp.add_argument("--port", type=int,
                        default=int(env.get(port_env, port_default)))
        sp.add_argument("--clients", type=int, default=1)
        sp.add_argument("--size", type=int, default=4096,
                        help="message size in bytes (approximate)")
        sp.add_argument("--per-conn", type=int, default=1,
                        help="messages per connection")
        sp.add_argument("--to", default=None,
                        help="send everything to this one recipient")
        sp.add_argument("--store-timeout", type=float, default=120.0)
        sp.add_argument("--procs", type=int, default=1,
                        help="client processes the clients are spread over")

    sp = sub.add_parser("smtp", parents=[common], help="SMTP ingest")
    smtp_opts(sp, "SMTP_PORT", "10025")
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--count", type=int, help="messages to send")
    g.add_argument("--duration", type=float, help="seconds to send for")
    sp.add_argument("--count-cmd", default=None,
                    help="shell command printing the stored message count")

    sp = sub.add_parser("fill", parents=[common],
                        help="empty a mailbox and deliver --count messages")
    smtp_opts(sp, "SMTP_PORT", "10025")
    sp.add_argument("--pop3-port", type=int,
                    default=int(env.get("POP3_PORT", "10110")))
    sp.add_argument("--count", type=int, required=True)

    sp = sub.add_parser("pop3", parents=[common], help="POP3 retrieval")
    sp.add_argument("--port", type=int,
                    default=int(env.get("POP3_PORT", "10110")))
    sp.add_argument("--user", required=True)
    sp.add_argument("--expect", type=int, default=None,
                    help="fail unless the mailbox holds exactly this many")
    sp.add_argument("--window", type=int, default=1,
                    help="RETR commands in flight (1: one round trip each)")
    sp.add_argument("--passes", type=int, default=1,
                    help="retrieve every message this many times")

    sp = sub.add_parser("idle", parents=[common], help="idle memory")
    sp.add_argument("--proto", choices=("smtp", "pop3"), required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--conns", type=int, default=1000)
    sp.add_argument("--settle", type=float, default=2.0,
                    help="seconds to wait before measuring")

    for name, hlp in (("count", "count stored messages"),
                      ("purge", "delete all messages")):
        sp = sub.add_parser(name, parents=[common], help=hlp)
        sp.add_argument("--port", type=int,
                        default=int(env.get("POP3_PORT", "10110")))
        sp.add_argument("--to", default=None, help="only this user")

    a = p.parse_args(argv)
    if a.user_fmt is None:
        a.user_fmt = env.get("USER_FMT", "user%d@" + a.domain)
    if a.mode == "fill":
        a.to = a.to or a.user_fmt % a.users
        a.clients = max(1, a.clients)
        a.per_conn = max(1, a.per_conn)
    if a.mode == "idle" and not a.pids_cmd:
        p.error("idle needs --pids-cmd")
    for name in ("clients", "per_conn", "users", "parallel", "window",
                 "conns", "count", "procs", "passes"):
        v = getattr(a, name, None)
        if v is not None and v < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return a


def main(argv):
    args = parse_args(argv)
    fds = {"smtp": getattr(args, "clients", 1), "idle":
           getattr(args, "conns", 1)}.get(args.mode, args.parallel)
    raise_fd_limit(fds + 32)
    tune_asyncio()
    try:
        if args.mode == "pop3":
            res = pop3_retrieve(args)
        elif args.mode == "smtp":
            res = smtp_ingest(args)
        elif args.mode == "fill":
            res = fill(args)
        elif args.mode == "idle":
            res = asyncio.run(bounded(idle(args), args.max_time + 60))
        elif args.mode == "count":
            print(asyncio.run(bounded(count_messages(args), args.max_time)))
            return 0
        else:
            n = asyncio.run(bounded(purge(args), args.max_time))
            log(f"purged {n} messages")
            return 0
    except (ProtoError, RuntimeError, asyncio.TimeoutError,
            subprocess.TimeoutExpired) as e:
        log(f"{args.mode}: {type(e).__name__}: {e}")
        return 1
    if args.label:
        res["server"] = args.label
    if args.tag:
        res["workload"] = args.tag
    log(summary(res))
    print(json.dumps(res, sort_keys=True), flush=True)
    return 0


def summary(r):
    """One line for a human watching the run."""
    who = " ".join(x for x in (r.get("server"), r.get("workload")) if x)
    if r["mode"] == "smtp":
        text = (f"{r['acked']} acked, {r['failed']} failed, "
                f"{r['msg_per_s']} msg/s")
        if "stored_msg_per_s" in r:
            text += f", {r['stored_msg_per_s']} msg/s to mailbox"
    elif r["mode"] == "pop3":
        text = (f"{r['retrieved']} RETR of {r['messages']} messages, "
                f"{r['msg_per_s']} msg/s, {r['mb_per_s']} MB/s")
    elif r["mode"] == "idle":
        text = (f"{r['alive']}/{r['conns']} alive, "
                f"{r['kb_per_conn']} KB per connection")
    else:
        text = f"{r['messages']} messages in place"
    return f"{who}: {text}" if who else text


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
