#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Load generator for the Postroom benchmarks (python3 standard library only).

One client program measures every server the same way, so that figures for
Postroom and for the reference stack (Postfix + Dovecot) are comparable.
It speaks raw SMTP and POP3 over asyncio sockets with its own small line
buffer: the library clients (smtplib, poplib) cost more CPU per message than
the servers under test, and on a two-core machine the client shares the
CPUs with the server.

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
import random
import resource
import socket
import subprocess
import sys
import time

CRLF = b"\r\n"
PROG = "loadgen"

# Plain English words for message bodies: realistic line lengths and a
# compressibility close to real text, without shipping a corpus.
WORDS = (
    "the of and to in is was that for on with as by at from his her be this "
    "have are not but had they which one you were all their there been has "
    "when who will more no if out so said what up its about into than them "
    "can only other new some could time these two may then do first any my "
    "now such like our over man me even most made after also did many before "
    "must through back years where much your way well down should because "
    "each just those people how too little state good very make world still "
    "own see men work long get here between both life being under never day "
    "same another know while last might us great old year off come since "
    "against go came right used take three meeting report invoice shipment "
    "schedule quarterly budget review attached please regards thanks").split()


class ProtoError(Exception):
    """A reply the client did not expect, or a broken connection."""


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Messages


def make_body(size, seed):
    """Text of about size bytes in CRLF lines of 50-76 characters.

    Lines are built from words, so none starts with a dot; dot-stuffing is
    still applied by the caller, in case a word list ever changes."""
    rnd = random.Random(seed)
    lines = []
    total = 0
    while total < size:
        width = rnd.randint(50, 76)
        words = []
        n = 0
        while n < width:
            w = rnd.choice(WORDS)
            words.append(w)
            n += len(w) + 1
        line = " ".join(words)
        if rnd.random() < 0.08:
            line = ""           # paragraph break
        lines.append(line)
        total += len(line) + 2
    body = CRLF.join(x.encode() for x in lines) + CRLF
    return body[:max(size, 2)].rstrip(b"\r\n") + CRLF


def dot_stuff(data):
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..")


class MessageFactory:
    """Builds messages of about `size` bytes with a unique Message-ID.

    The body is made once; each message gets its own header, so building a
    message costs one small format per send."""

    def __init__(self, size, domain, seed=1):
        self.domain = domain
        self.run_id = f"{os.getpid():x}.{int(time.time() * 1000):x}"
        sample = self.header(0, f"user1@{domain}")
        body_len = max(64, size - len(sample))
        self.body = dot_stuff(make_body(body_len, seed))
        self.size = len(sample) + len(self.body)

    def header(self, n, rcpt):
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        return (f"Message-ID: <{self.run_id}.{n}@loadgen.{self.domain}>\r\n"
                f"Date: {date}\r\n"
                f"From: Load Generator <loadgen@{self.domain}>\r\n"
                f"To: <{rcpt}>\r\n"
                f"Subject: benchmark message {n}\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n"
                "\r\n").encode()


# ---------------------------------------------------------------------------
# A line-oriented connection with its own buffer


MAX_LINE = 64 * 1024
# Receive in pieces below glibc's mmap threshold (128 KiB): a bigger buffer
# is mapped and unmapped on every call, which made the client spend ten
# times more CPU per POP3 RETR than with this size.
RECV_SIZE = 64 * 1024


def take_line(buf, start):
    """Remove and return the first line of buf (LF included), or None when
    it is not complete; start is where the search for LF may begin."""
    i = buf.find(b"\n", start)
    if i < 0:
        if len(buf) > MAX_LINE:
            raise ProtoError("reply line too long")
        return None
    out = bytes(buf[:i + 1])
    del buf[:i + 1]
    return out


def take_body(buf, start):
    """Remove a POP3 multi-line body (the buffer begins with it) and its
    terminator.  Returns (length as sent, None) when complete, else
    (None, where the next search may begin)."""
    if buf.startswith(b".\r\n"):         # an empty body
        del buf[:3]
        return 0, None
    i = buf.find(b"\r\n.\r\n", start)
    if i < 0:
        return None, max(0, len(buf) - 4)
    del buf[:i + 5]
    return i + 2, None


async def bounded(aw, seconds):
    """await aw for at most seconds (asyncio.TimeoutError after).  On
    Python 3.11+ asyncio.timeout() does it without wrapping aw in a task,
    which wait_for() does at a cost paid several times per message."""
    if hasattr(asyncio, "timeout"):
        async with asyncio.timeout(seconds):
            return await aw
    return await asyncio.wait_for(aw, seconds)


class SyncConn:
    """Blocking socket with a receive buffer, for the single POP3 session.

    One session needs no event loop, and without one the client spends
    about five times less CPU per RETR, which matters when client and
    server share two cores."""

    def __init__(self, host, port, timeout):
        try:
            self.sock = socket.create_connection((host, port), timeout)
        except OSError as e:
            raise ProtoError(f"connect: {e}") from e
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def _fill(self):
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except socket.timeout as e:
            raise ProtoError("timeout waiting for the server") from e
        except OSError as e:
            raise ProtoError(f"read: {e}") from e
        if not chunk:
            raise ProtoError("connection closed by the server")
        self.buf += chunk

    def line(self):
        start = 0
        for _ in range(1 << 20):
            ln = take_line(self.buf, start)
            if ln is not None:
                return ln
            start = len(self.buf)
            self._fill()
        raise ProtoError("reply line too long")

    def multiline_body(self):
        start = 0
        for _ in range(1 << 20):
            n, start = take_body(self.buf, start)
            if n is not None:
                return n
            self._fill()
        raise ProtoError("multi-line reply too long")

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise ProtoError(f"write: {e}") from e

    def pop3_status(self, what):
        ln = self.line()
        if not ln.startswith(b"+OK"):
            raise ProtoError(f"{what}: {ln.decode('latin-1').rstrip()}")
        return ln

    def pop3_cmd(self, cmd):
        self.send(cmd)
        return self.pop3_status(cmd.split(b" ")[0].strip().decode())

    def close(self):
        self.sock.close()


class Conn:
    """The asyncio counterpart of SyncConn, for many concurrent sessions;
    every wait is bounded by `timeout`."""

    def __init__(self, reader, writer, timeout):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.buf = bytearray()

    @classmethod
    async def open(cls, host, port, timeout):
        try:
            r, w = await bounded(
                asyncio.open_connection(host, port, limit=1 << 20), timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise ProtoError(f"connect: {type(e).__name__}: {e}") from e
        return cls(r, w, timeout)

    async def _fill(self):
        try:
            chunk = await bounded(self.reader.read(RECV_SIZE),
                                           self.timeout)
        except asyncio.TimeoutError as e:
            raise ProtoError("timeout waiting for the server") from e
        except OSError as e:
            raise ProtoError(f"read: {e}") from e
        if not chunk:
            raise ProtoError("connection closed by the server")
        self.buf += chunk

    async def line(self):
        start = 0
        for _ in range(1 << 20):
            ln = take_line(self.buf, start)
            if ln is not None:
                return ln
            start = len(self.buf)
            await self._fill()
        raise ProtoError("reply line too long")

    def send(self, data):
        self.writer.write(data)

    async def drain(self):
        try:
            await bounded(self.writer.drain(), self.timeout)
        except asyncio.TimeoutError as e:
            raise ProtoError("timeout sending to the server") from e
        except OSError as e:
            raise ProtoError(f"write: {e}") from e

    async def smtp_reply(self):
        """(code, text of the last line) of a possibly multi-line reply."""
        for _ in range(1000):
            ln = await self.line()
            if len(ln) < 4 or not ln[:3].isdigit():
                raise ProtoError(f"bad SMTP reply {ln[:60]!r}")
            if ln[3:4] != b"-":
                return int(ln[:3]), ln.decode("latin-1").rstrip()
        raise ProtoError("SMTP reply with too many lines")

    async def smtp_cmd(self, cmd, want):
        self.send(cmd)
        await self.drain()
        code, text = await self.smtp_reply()
        if code != want:
            raise ProtoError(f"{cmd.split(b' ')[0].strip().decode()}: {text}")
        return text

    async def pop3_status(self, what):
        ln = await self.line()
        if not ln.startswith(b"+OK"):
            raise ProtoError(f"{what}: {ln.decode('latin-1').rstrip()}")
        return ln

    async def pop3_cmd(self, cmd):
        self.send(cmd)
        await self.drain()
        return await self.pop3_status(cmd.split(b" ")[0].strip().decode())

    def close(self):
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


# ---------------------------------------------------------------------------
# Server processes: PSS and CPU of a process tree


def _proc_stat(pid):
    """(ppid, cpu ticks incl. reaped children) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    # the command name may hold spaces and parentheses: split after the last ')'
    fields = data[data.rindex(b")") + 2:].split()
    ppid = int(fields[1])
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ppid, ticks


def process_tree(roots):
    """The root PIDs and all their descendants that exist now."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid, _ = _proc_stat(int(name))
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    seen = set()
    todo = [p for p in roots if os.path.exists(f"/proc/{p}")]
    while todo and len(seen) < 100000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(children.get(p, ()))
    return sorted(seen)


def tree_pss_kb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for ln in f:
                    if ln.startswith("Pss:"):
                        total += int(ln.split()[1])
                        break
        except OSError:
            pass            # exited in between: it holds no memory any more
    return total


def tree_cpu_s(pids):
    ticks = 0
    for pid in pids:
        try:
            ticks += _proc_stat(pid)[1]
        except (OSError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def shell_out(cmd, timeout=60):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                       timeout=timeout, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {cmd}: "
                           f"{r.stderr.strip()[:200]}")
    return r.stdout


def root_pids(cmd):
    pids = [int(x) for x in shell_out(cmd).split() if x.isdigit()]
    if not pids:
        raise RuntimeError(f"no PIDs from: {cmd}")
    return pids


def server_cpu(args):
    if not args.pids_cmd:
        return None
    return tree_cpu_s(process_tree(root_pids(args.pids_cmd)))


def shell_count(cmd):
    out = shell_out(cmd).split()
    if not out or not out[-1].isdigit():
        raise RuntimeError(f"count command printed no number: {cmd}")
    return int(out[-1])


# ---------------------------------------------------------------------------
# SMTP ingest


class SmtpRun:
    """Shared state of the SMTP clients of one run."""

    def __init__(self, args, rcpts):
        self.args = args
        self.rcpts = rcpts
        self.factory = MessageFactory(args.size, args.domain, args.seed)
        self.issued = 0
        self.acked = 0
        self.failed = 0
        self.conns = 0
        self.latencies = []
        self.errors = {}
        self.deadline = None
        self.limit = args.count if args.count else 10_000_000

    def take(self):
        """Reserve the next message number, or None when the run is over."""
        if self.issued >= self.limit:
            return None
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return None
        self.issued += 1
        return self.issued

    def error(self, e):
        key = str(e)[:120]
        self.errors[key] = self.errors.get(key, 0) + 1

    async def one_connection(self, first):
        a = self.args
        n = first
        c = await Conn.open(a.host, a.port, a.timeout)
        self.conns += 1
        try:
            code, text = await c.smtp_reply()
            if code != 220:
                raise ProtoError(f"greeting: {text}")
            await c.smtp_cmd(b"EHLO loadgen." + a.domain.encode() + CRLF, 250)
            for i in range(a.per_conn):
                if i > 0:
                    n = self.take()
                    if n is None:
                        break
                t0 = time.monotonic()
                rcpt = self.rcpts[(n - 1) % len(self.rcpts)]
                try:
                    await c.smtp_cmd(f"MAIL FROM:<loadgen@{a.domain}>\r\n"
                                     .encode(), 250)
                    await c.smtp_cmd(f"RCPT TO:<{rcpt}>\r\n".encode(), 250)
                    await c.smtp_cmd(b"DATA\r\n", 354)
                    # one write: header and body in one segment train
                    c.send(self.factory.header(n, rcpt) + self.factory.body)
                    await c.smtp_cmd(b".\r\n", 250)
                except ProtoError as e:
                    self.failed += 1
                    self.error(e)
                    try:
                        await c.smtp_cmd(b"RSET\r\n", 250)
                    except ProtoError:
                        return      # the connection is gone: a new one
                    continue
                self.acked += 1
                self.latencies.append(time.monotonic() - t0)
            try:
                c.send(b"QUIT\r\n")
                await c.drain()
                await c.smtp_reply()
            except ProtoError:
                pass        # every message is already counted
        finally:
            c.close()

    async def client(self):
        # a client whose connection fails keeps going, but not forever
        for _ in range(10_000_000):
            n = self.take()
            if n is None:
                return
            try:
                await self.one_connection(n)
            except ProtoError as e:
                self.failed += 1
                self.error(e)
                await asyncio.sleep(0.05)


def recipients(args):
    if args.to:
        return [args.to]
    return [args.user_fmt % i for i in range(1, args.users + 1)]


async def smtp_ingest(args, rcpts=None):
    run = SmtpRun(args, rcpts or recipients(args))
    count_before = shell_count(args.count_cmd) if args.count_cmd else None
    cpu_before = server_cpu(args)
    cpu_client0 = os.times()
    t0 = time.monotonic()
    if args.duration:
        run.deadline = t0 + args.duration
    await asyncio.wait_for(
        asyncio.gather(*(run.client() for _ in range(args.clients))),
        args.max_time)
    elapsed = time.monotonic() - t0
    ct = os.times()
    res = {
        "mode": "smtp", "clients": args.clients, "size": run.factory.size,
        "per_conn": args.per_conn, "connections": run.conns,
        "attempted": run.issued, "acked": run.acked, "failed": run.failed,
        "elapsed_s": round(elapsed, 3),
        "msg_per_s": round(run.acked / elapsed, 2) if elapsed > 0 else 0,
        "mb_per_s": round(run.acked * run.factory.size / elapsed / 1e6, 3)
        if elapsed > 0 else 0,
        "client_cpu_s": round(ct.user + ct.system - cpu_client0.user
                              - cpu_client0.system, 2),
    }
    if run.latencies:
        lat = sorted(run.latencies)
        res["lat_p50_ms"] = round(1000 * lat[len(lat) // 2], 2)
        res["lat_p99_ms"] = round(1000 * lat[min(len(lat) - 1,
                                                 int(len(lat) * 0.99))], 2)
    if run.errors:
        res["errors"] = dict(sorted(run.errors.items(),
                                    key=lambda kv: -kv[1])[:5])
    if args.count_cmd:
        # Some servers answer 250 once the message is queued and deliver it
        # later; the rate "to mailbox" ends when the last one is stored.
        # A poll that finds them all proves they were stored by the time it
        # started (give or take the few milliseconds the count takes), so
        # that start is the end of the measurement: a slow count command
        # must not lower the rate.
        want = count_before + run.acked
        stored = count_before
        wait_end = time.monotonic() + args.store_timeout
        while True:
            t_poll = time.monotonic()
            stored = shell_count(args.count_cmd)
            if stored >= want or time.monotonic() >= wait_end:
                break
            await asyncio.sleep(0.1)
        stored_elapsed = max(t_poll - t0, elapsed)
        res["stored"] = stored - count_before
        res["stored_elapsed_s"] = round(stored_elapsed, 3)
        res["stored_msg_per_s"] = round(res["stored"] / stored_elapsed, 2)
    if cpu_before is not None:
        used = server_cpu(args) - cpu_before
        res["server_cpu_s"] = round(used, 2)
        if run.acked:
            res["server_cpu_ms_per_msg"] = round(1000 * used / run.acked, 3)
    return res


# ---------------------------------------------------------------------------
# POP3


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
        sizes = []
        cpu_before = server_cpu(args)
        ct0 = os.times()
        t0 = time.monotonic()
        sent = 0
        while len(sizes) < n:
            while sent < n and sent - len(sizes) < args.window:
                sent += 1
                c.send(f"RETR {sent}\r\n".encode())
            c.pop3_status(f"RETR {len(sizes) + 1}")
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
        "mode": "pop3", "messages": len(sizes), "stat_octets": octets,
        "bytes": nbytes, "window": args.window,
        "login_ms": round(1000 * (t_login - t_conn), 2),
        "elapsed_s": round(elapsed, 4),
        "msg_per_s": round(len(sizes) / elapsed, 1) if elapsed > 0 else 0,
        "mb_per_s": round(nbytes / elapsed / 1e6, 2) if elapsed > 0 else 0,
        "client_cpu_s": round(ct.user + ct.system - ct0.user - ct0.system, 3),
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


async def fill(args):
    """Empty args.to's mailbox, deliver args.count messages, and wait until
    POP3 shows exactly that many (deliveries may be asynchronous)."""
    user = args.to
    pop_args = argparse.Namespace(**vars(args))
    pop_args.port = args.pop3_port
    pop_args.to = user
    removed = await purge(pop_args)
    smtp_args = argparse.Namespace(**vars(args))
    smtp_args.duration = None
    smtp_args.count_cmd = None
    smtp_args.pids_cmd = None
    res = await smtp_ingest(smtp_args, [user])
    if res["acked"] != args.count:
        raise ProtoError(f"fill: only {res['acked']} of {args.count} "
                         f"messages accepted: {res.get('errors')}")
    end = time.monotonic() + args.store_timeout
    n = 0
    while time.monotonic() < end:
        c = await pop3_login(pop_args, user, args.password)
        try:
            n, _ = await pop3_stat(c)
            await pop3_quit(c)
        finally:
            c.close()
        if n >= args.count:
            break
        await asyncio.sleep(0.2)
    if n != args.count:
        raise ProtoError(f"fill: mailbox holds {n}, expected {args.count}")
    return {"mode": "fill", "user": user, "removed": removed,
            "messages": n, "size": res["size"],
            "smtp_msg_per_s": res["msg_per_s"]}


# ---------------------------------------------------------------------------
# Idle connections


async def quiet_tree(cmd, max_wait):
    """Wait (at most max_wait seconds) until the server's process count has
    not changed for three polls: processes of an earlier test may still be
    exiting (1000 Dovecot login processes take a while), and counting them
    in the baseline would hide the cost of the new connections."""
    end = time.monotonic() + max_wait
    last = -1
    same = 0
    pids = []
    while time.monotonic() < end:
        pids = process_tree(root_pids(cmd))
        same = same + 1 if len(pids) == last else 0
        if same >= 2:
            break
        last = len(pids)
        await asyncio.sleep(0.5)
    return pids


async def idle(args):
    pids = await quiet_tree(args.pids_cmd, 60)
    before = tree_pss_kb(pids)
    greeting = b"220" if args.proto == "smtp" else b"+OK"
    conns = []
    failed = 0
    errors = {}
    sem = asyncio.Semaphore(args.parallel)

    async def open_one():
        nonlocal failed
        async with sem:
            try:
                c = await Conn.open(args.host, args.port, args.timeout)
            except ProtoError as e:
                failed += 1
                errors[str(e)[:100]] = errors.get(str(e)[:100], 0) + 1
                return
            try:
                ln = await c.line()
                if not ln.startswith(greeting):
                    raise ProtoError(f"greeting {ln[:60]!r}")
                # drain an SMTP multi-line greeting
                while args.proto == "smtp" and ln[3:4] == b"-":
                    ln = await c.line()
                conns.append(c)
            except ProtoError as e:
                failed += 1
                errors[str(e)[:100]] = errors.get(str(e)[:100], 0) + 1
                c.close()

    t0 = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(open_one()
                                            for _ in range(args.conns))),
                           args.max_time)
    open_s = time.monotonic() - t0
    await asyncio.sleep(args.settle)
    pids_after = process_tree(root_pids(args.pids_cmd))
    after = tree_pss_kb(pids_after)
    served = len(conns)
    # A server may greet and then drop connections it cannot keep (Dovecot
    # does when its login processes run out): only live ones count.
    alive = sum(1 for c in conns if not c.reader.at_eof())
    quit_cmd = b"QUIT\r\n"
    for c in conns:
        try:
            c.send(quit_cmd)
        except (OSError, RuntimeError):
            pass
    await asyncio.sleep(0.2)
    for c in conns:
        c.close()
    res = {"mode": "idle", "proto": args.proto, "conns": args.conns,
           "served": served, "alive": alive, "failed": failed,
           "open_s": round(open_s, 2),
           "procs_before": len(pids), "procs_after": len(pids_after),
           "pss_before_kb": before, "pss_after_kb": after,
           "kb_per_conn": round((after - before) / alive, 1) if alive
           else None}
    if errors:
        res["errors"] = errors
    return res


# ---------------------------------------------------------------------------


def tune_asyncio():
    """asyncio's socket transport reads up to max_size (256 KiB) per call,
    the mmap cost RECV_SIZE avoids.  The attribute is on a private class,
    hence the care; without it the client is only slower."""
    try:
        from asyncio import selector_events
        cls = selector_events._SelectorSocketTransport
    except (ImportError, AttributeError):
        return
    if getattr(cls, "max_size", 0) > RECV_SIZE:
        cls.max_size = RECV_SIZE


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
                 "conns", "count"):
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
    modes = {"smtp": smtp_ingest, "fill": fill, "idle": idle}
    try:
        if args.mode == "pop3":
            res = pop3_retrieve(args)
        elif args.mode in modes:
            res = asyncio.run(asyncio.wait_for(modes[args.mode](args),
                                               args.max_time + 60))
        elif args.mode == "count":
            print(asyncio.run(asyncio.wait_for(count_messages(args),
                                               args.max_time)))
            return 0
        else:
            n = asyncio.run(asyncio.wait_for(purge(args), args.max_time))
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
        text = (f"{r['messages']} messages, {r['msg_per_s']} msg/s, "
                f"{r['mb_per_s']} MB/s")
    elif r["mode"] == "idle":
        text = (f"{r['alive']}/{r['conns']} alive, "
                f"{r['kb_per_conn']} KB per connection")
    else:
        text = f"{r['messages']} messages in place"
    return f"{who}: {text}" if who else text


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
