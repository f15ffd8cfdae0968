# SPDX-License-Identifier: ISC
"""SMTP ingest: clients sending one message (or --per-conn messages) per
connection for a count or a duration, optionally spread over several
processes, and the wait until the server has stored what it accepted."""

import asyncio
import json
import os
import select
import time

from .message import MessageFactory
from .procs import server_cpu, shell_count
from .wire import bounded, take_line, ProtoError


# Steps of an SMTP session: the reply each one waits for.
(S_GREETING, S_EHLO, S_MAIL, S_RCPT, S_DATA, S_DOT, S_RSET,
 S_QUIT) = range(8)
EXPECT = {S_GREETING: 220, S_EHLO: 250, S_MAIL: 250, S_RCPT: 250,
          S_DATA: 354, S_DOT: 250, S_RSET: 250}
STEP_NAME = {S_GREETING: "greeting", S_EHLO: "EHLO", S_MAIL: "MAIL",
             S_RCPT: "RCPT", S_DATA: "DATA", S_DOT: "end of data",
             S_RSET: "RSET"}


class SmtpFlow(asyncio.Protocol):
    """One SMTP connection, driven by callbacks: each reply sends the next
    command.  Coroutines with a timeout per read cost the client about
    twice the CPU per message, and at a thousand messages a second the
    client shares two cores with the server under test."""

    def __init__(self, run, n):
        self.run = run
        self.n = n              # number of the message in progress
        self.done_in_conn = 0   # messages finished on this connection
        self.step = S_GREETING
        self.buf = bytearray()
        self.transport = None
        self.t_msg = 0.0
        self.last = time.monotonic()
        self.closed = run.loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.run.flows.add(self)

    def connection_lost(self, exc):
        self.run.flows.discard(self)
        if self.n is not None:      # a message in progress is lost
            self.run.fail(f"connection lost: {exc or 'closed by the server'}")
            self.n = None
        self.transport = None
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data):
        self.last = time.monotonic()
        self.buf += data
        while self.transport is not None:
            try:
                ln = take_line(self.buf, 0)
            except ProtoError as e:
                self.abort(str(e))
                return
            if ln is None:
                return
            if len(ln) < 4 or not ln[:3].isdigit():
                self.abort(f"bad SMTP reply {ln[:60]!r}")
                return
            if ln[3:4] != b"-":
                self.reply(int(ln[:3]), ln)

    def send(self, data, step):
        self.step = step
        self.transport.write(data)

    def abort(self, why):
        """Give up the connection; the message in progress failed."""
        if self.n is not None:
            self.run.fail(why)
            self.n = None
        if self.transport is not None:
            self.transport.abort()

    def next_message(self):
        """Start the next message on this connection, or QUIT."""
        if self.n is None and self.done_in_conn < self.run.args.per_conn:
            self.n = self.run.take()
        if self.n is None:
            self.send(b"QUIT\r\n", S_QUIT)
            return
        self.t_msg = time.monotonic()
        self.send(self.run.mail_from, S_MAIL)

    def reply(self, code, ln):
        step = self.step
        if step == S_QUIT:
            self.transport.close()
            return
        if code != EXPECT[step]:
            why = f"{STEP_NAME[step]}: {ln.decode('latin-1').rstrip()}"
            if step in (S_GREETING, S_EHLO, S_RSET):
                self.abort(why)
                return
            self.run.fail(why)
            self.n = None
            self.done_in_conn += 1
            self.send(b"RSET\r\n", S_RSET)
            return
        if step == S_GREETING:
            self.send(self.run.ehlo, S_EHLO)
        elif step == S_EHLO or step == S_RSET:
            self.next_message()
        elif step == S_MAIL:
            self.rcpt = self.run.rcpt(self.n)
            self.send(f"RCPT TO:<{self.rcpt}>\r\n".encode(), S_RCPT)
        elif step == S_RCPT:
            self.send(b"DATA\r\n", S_DATA)
        elif step == S_DATA:
            # header, body and terminator in one write
            self.send(self.run.factory.header(self.n, self.rcpt) +
                      self.run.factory.body + b".\r\n", S_DOT)
        elif step == S_DOT:
            self.run.acked += 1
            self.run.latencies.append(time.monotonic() - self.t_msg)
            self.n = None
            self.done_in_conn += 1
            self.next_message()


class SmtpRun:
    """The SMTP clients of one process in one run.

    Message n (1, 2, ...) of worker `index` out of `nworkers` goes to
    recipient (n - 1) * nworkers + index, so the workers together spread
    their messages over all recipients."""

    def __init__(self, args, rcpts, limit, deadline, index=0, nworkers=1):
        self.args = args
        self.rcpts = rcpts
        self.factory = MessageFactory(args.size, args.domain, args.seed)
        self.ehlo = f"EHLO loadgen.{args.domain}\r\n".encode()
        self.mail_from = f"MAIL FROM:<loadgen@{args.domain}>\r\n".encode()
        self.index = index
        self.nworkers = nworkers
        self.issued = 0
        self.acked = 0
        self.failed = 0
        self.conns = 0
        self.latencies = []
        self.errors = {}
        self.deadline = deadline
        self.limit = limit
        self.flows = set()
        self.loop = None

    def take(self):
        """Reserve the next message number, or None when the run is over."""
        if self.issued >= self.limit:
            return None
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return None
        self.issued += 1
        return self.issued

    def rcpt(self, n):
        return self.rcpts[((n - 1) * self.nworkers + self.index)
                          % len(self.rcpts)]

    def fail(self, why):
        self.failed += 1
        key = str(why)[:120]
        self.errors[key] = self.errors.get(key, 0) + 1

    async def client(self):
        """One client: a connection at a time until the run is over.  A
        client whose connections fail keeps trying, but not forever."""
        a = self.args
        for _ in range(10_000_000):
            n = self.take()
            if n is None:
                return
            flow = SmtpFlow(self, n)
            try:
                await bounded(self.loop.create_connection(
                    lambda f=flow: f, a.host, a.port), a.timeout)
            except (OSError, asyncio.TimeoutError) as e:
                self.fail(f"connect: {type(e).__name__}: {e}")
                await asyncio.sleep(0.05)
                continue
            self.conns += 1
            await flow.closed

    async def watchdog(self):
        """Abort connections that have waited for a reply longer than the
        timeout; one sweep a second costs less than a timer per reply."""
        while True:
            await asyncio.sleep(1.0)
            limit = time.monotonic() - self.args.timeout
            for f in list(self.flows):
                if f.last < limit:
                    f.abort("timeout waiting for the server")

    async def run(self, clients):
        self.loop = asyncio.get_running_loop()
        dog = asyncio.ensure_future(self.watchdog())
        try:
            await bounded(asyncio.gather(*(self.client()
                                           for _ in range(clients))),
                          self.args.max_time)
        finally:
            dog.cancel()

    def result(self):
        return {"issued": self.issued, "acked": self.acked,
                "failed": self.failed, "conns": self.conns,
                "latencies": self.latencies, "errors": self.errors,
                "size": self.factory.size}


def recipients(args):
    if args.to:
        return [args.to]
    return [args.user_fmt % i for i in range(1, args.users + 1)]


def share(total, parts, i):
    """Part i of total split as evenly as possible into parts."""
    return total // parts + (1 if i < total % parts else 0)


def smtp_workers(args, rcpts, deadline):
    """Run args.clients clients in args.procs processes (forked; one
    asyncio loop each, so the client can use more than one CPU) and
    return their results.  With one process the clients run here."""
    nprocs = max(1, min(args.procs, args.clients))
    limit = args.count if args.count else 10_000_000
    if nprocs == 1:
        run = SmtpRun(args, rcpts, limit, deadline)
        asyncio.run(run.run(args.clients))
        return [run.result()]
    children = []
    for i in range(nprocs):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            status = 0
            try:
                run = SmtpRun(args, rcpts, share(limit, nprocs, i), deadline,
                              i, nprocs)
                asyncio.run(run.run(share(args.clients, nprocs, i)))
                out = run.result()
            except BaseException as e:      # report it, whatever it is
                out = {"error": f"{type(e).__name__}: {e}"}
                status = 1
            with os.fdopen(wfd, "w") as f:
                json.dump(out, f)
            os._exit(status)
        os.close(wfd)
        children.append((pid, rfd))
    results = []
    end = time.monotonic() + args.max_time + 30
    for pid, rfd in children:
        with os.fdopen(rfd) as f:
            data = read_bounded(f, end)
        if data is None:
            os.kill(pid, 9)     # a worker past every time limit
        os.waitpid(pid, 0)
        out = json.loads(data) if data else {"error": "worker died"}
        if "error" in out:
            raise RuntimeError(f"SMTP worker: {out['error']}")
        results.append(out)
    return results


def read_bounded(f, end):
    """All of pipe f, or None if it does not end before monotonic time end."""
    chunks = []
    fd = f.fileno()
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks).decode()
        chunks.append(chunk)


def smtp_ingest(args, rcpts=None):
    rcpts = rcpts or recipients(args)
    count_before = shell_count(args.count_cmd) if args.count_cmd else None
    cpu_before = server_cpu(args)
    ct0 = os.times()
    t0 = time.monotonic()
    parts = smtp_workers(args, rcpts,
                         t0 + args.duration if args.duration else None)
    elapsed = time.monotonic() - t0
    ct = os.times()
    acked = sum(p["acked"] for p in parts)
    size = parts[0]["size"]
    client_cpu = (ct.user + ct.system + ct.children_user + ct.children_system
                  - ct0.user - ct0.system - ct0.children_user
                  - ct0.children_system)
    res = {
        "mode": "smtp", "clients": args.clients, "procs": len(parts),
        "size": size, "per_conn": args.per_conn,
        "connections": sum(p["conns"] for p in parts),
        "attempted": sum(p["issued"] for p in parts), "acked": acked,
        "failed": sum(p["failed"] for p in parts),
        "elapsed_s": round(elapsed, 3),
        "msg_per_s": round(acked / elapsed, 2) if elapsed > 0 else 0,
        "mb_per_s": round(acked * size / elapsed / 1e6, 3)
        if elapsed > 0 else 0,
        "client_cpu_s": round(max(0.0, client_cpu), 2),
    }
    lat = sorted(x for p in parts for x in p["latencies"])
    if lat:
        res["lat_p50_ms"] = round(1000 * lat[len(lat) // 2], 2)
        res["lat_p99_ms"] = round(1000 * lat[min(len(lat) - 1,
                                                 int(len(lat) * 0.99))], 2)
    errors = {}
    for p in parts:
        for k, v in p["errors"].items():
            errors[k] = errors.get(k, 0) + v
    if errors:
        res["errors"] = dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5])
    if args.count_cmd:
        # Some servers answer 250 once the message is queued and deliver it
        # later; the rate "to mailbox" ends when the last one is stored.
        # A poll that finds them all proves they were stored by the time it
        # started (give or take the few milliseconds the count takes), so
        # that start is the end of the measurement: a slow count command
        # must not lower the rate.
        want = count_before + acked
        stored = count_before
        wait_end = time.monotonic() + args.store_timeout
        while True:
            t_poll = time.monotonic()
            stored = shell_count(args.count_cmd)
            if stored >= want or time.monotonic() >= wait_end:
                break
            time.sleep(0.1)
        stored_elapsed = max(t_poll - t0, elapsed)
        res["stored"] = stored - count_before
        res["stored_elapsed_s"] = round(stored_elapsed, 3)
        res["stored_msg_per_s"] = round(res["stored"] / stored_elapsed, 2)
    if cpu_before is not None:
        used = server_cpu(args) - cpu_before
        res["server_cpu_s"] = round(used, 2)
        if acked:
            res["server_cpu_ms_per_msg"] = round(1000 * used / acked, 3)
    return res
