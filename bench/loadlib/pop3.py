# SPDX-License-Identifier: ISC
"""POP3: the timed retrieval session, and the helpers that fill, count and
empty mailboxes between measurements."""

import argparse
import asyncio
import os
import time

from .procs import server_cpu
from .smtp import recipients, smtp_ingest
from .wire import bounded, Conn, ProtoError, SyncConn


async def pop3_login(args, user, password):
    c = await Conn.open(args.host, args.port, args.timeout)
    try:
        await c.pop3_status("greeting")
        await c.pop3_cmd(f"USER {user}\r\n".encode())
        await c.pop3_cmd(f"PASS {password}\r\n".encode())
    except BaseException:
        c.close()
        raise
    return c


def parse_stat(ln):
    """(messages, octets) from a "+OK n m" STAT reply."""
    parts = ln.split()
    if len(parts) < 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise ProtoError(f"bad STAT reply {ln[:60]!r}")
    return int(parts[1]), int(parts[2])


async def pop3_stat(c):
    return parse_stat(await c.pop3_cmd(b"STAT\r\n"))


async def pop3_quit(c):
    try:
        await c.pop3_cmd(b"QUIT\r\n")
    finally:
        c.close()


async def pipelined(c, cmds, window):
    """Send single-line commands keeping at most `window` unanswered, and
    expect +OK to each."""
    sent = 0
    done = 0
    while done < len(cmds):
        while sent < len(cmds) and sent - done < window:
            c.send(cmds[sent])
            sent += 1
        await c.drain()
        await c.pop3_status(cmds[done].split(b" ")[0].decode())
        done += 1


def pop3_retrieve(args):
    """One session: RETR every message with at most args.window commands
    in flight, timing from the first RETR to the end of the last body."""
    t_conn = time.monotonic()
    c = SyncConn(args.host, args.port, args.timeout)
    try:
        c.pop3_status("greeting")
        c.pop3_cmd(f"USER {args.user}\r\n".encode())
        c.pop3_cmd(f"PASS {args.password}\r\n".encode())
        t_login = time.monotonic()
        ln = c.pop3_cmd(b"STAT\r\n")
        n, octets = parse_stat(ln)
        if args.expect is not None and n != args.expect:
            raise ProtoError(f"mailbox holds {n} messages, expected "
                             f"{args.expect}")
        n = min(n, args.max_msgs)
        # pass p asks for message (i % n) + 1 as its i-th RETR
        total = n * args.passes
        sizes = []
        cpu_before = server_cpu(args)
        ct0 = os.times()
        t0 = time.monotonic()
        sent = 0
        while len(sizes) < total:
            while sent < total and sent - len(sizes) < args.window:
                c.send(f"RETR {sent % n + 1}\r\n".encode())
                sent += 1
            c.pop3_status(f"RETR {len(sizes) % n + 1}")
            sizes.append(c.multiline_body())
        elapsed = time.monotonic() - t0
        ct = os.times()
        c.pop3_cmd(b"QUIT\r\n")
    finally:
        c.close()
    if sizes and min(sizes) < 64:
        raise ProtoError(f"a retrieved message has only {min(sizes)} bytes")
    nbytes = sum(sizes)
    res = {
        "mode": "pop3", "messages": n, "passes": args.passes,
        "retrieved": len(sizes), "stat_octets": octets,
        "bytes": nbytes, "window": args.window,
        "login_ms": round(1000 * (t_login - t_conn), 2),
        "elapsed_s": round(elapsed, 4),
        "msg_per_s": round(len(sizes) / elapsed, 1) if elapsed > 0 else 0,
        "mb_per_s": round(nbytes / elapsed / 1e6, 2) if elapsed > 0 else 0,
        "client_cpu_s": round(max(0.0, ct.user + ct.system - ct0.user
                                       - ct0.system), 3),
    }
    if cpu_before is not None:
        res["server_cpu_s"] = round(server_cpu(args) - cpu_before, 3)
    return res


async def for_users(args, fn):
    """Run fn(user) for every user, args.parallel at a time; results list."""
    sem = asyncio.Semaphore(args.parallel)

    async def one(u):
        async with sem:
            return await fn(u)
    return await asyncio.gather(*(one(u) for u in recipients(args)))


async def count_messages(args):
    async def one(user):
        c = await pop3_login(args, user, args.password)
        try:
            n, _ = await pop3_stat(c)
            await pop3_quit(c)
        finally:
            c.close()
        return n
    return sum(await for_users(args, one))


async def purge(args):
    async def one(user):
        c = await pop3_login(args, user, args.password)
        try:
            n, _ = await pop3_stat(c)
            n = min(n, args.max_msgs)
            await pipelined(c, [f"DELE {i}\r\n".encode()
                                for i in range(1, n + 1)], 64)
            await pop3_quit(c)
        finally:
            c.close()
        return n
    return sum(await for_users(args, one))


def sync_stat(args, user):
    """Messages in user's mailbox, through one POP3 session."""
    c = SyncConn(args.host, args.pop3_port, args.timeout)
    try:
        c.pop3_status("greeting")
        c.pop3_cmd(f"USER {user}\r\n".encode())
        c.pop3_cmd(f"PASS {args.password}\r\n".encode())
        n, _ = parse_stat(c.pop3_cmd(b"STAT\r\n"))
        c.pop3_cmd(b"QUIT\r\n")
    finally:
        c.close()
    return n


def fill(args):
    """Empty args.to's mailbox, deliver args.count messages, and wait until
    POP3 shows exactly that many (deliveries may be asynchronous)."""
    user = args.to
    pop_args = argparse.Namespace(**vars(args))
    pop_args.port = args.pop3_port
    removed = asyncio.run(bounded(purge(pop_args), args.max_time))
    smtp_args = argparse.Namespace(**vars(args))
    smtp_args.duration = None
    smtp_args.count_cmd = None
    smtp_args.pids_cmd = None
    res = smtp_ingest(smtp_args, [user])
    if res["acked"] != args.count:
        raise ProtoError(f"fill: only {res['acked']} of {args.count} "
                         f"messages accepted: {res.get('errors')}")
    end = time.monotonic() + args.store_timeout
    n = 0
    while time.monotonic() < end:
        n = sync_stat(args, user)
        if n >= args.count:
            break
        time.sleep(0.2)
    if n != args.count:
        raise ProtoError(f"fill: mailbox holds {n}, expected {args.count}")
    return {"mode": "fill", "user": user, "removed": removed,
            "messages": n, "size": res["size"],
            "smtp_msg_per_s": res["msg_per_s"]}
