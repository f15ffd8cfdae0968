#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""IMAP load generator for the Postroom benchmarks (python3 standard library).

The same client measures Postroom and the peer (Dovecot), so the figures
compare.  It speaks IMAP itself over asyncio streams: every command waits
for its tagged reply, literals in replies are read by their announced size,
and only tagged OK replies count.

Modes (each prints one JSON object on stdout; progress goes to stderr):

  prepare  APPEND --count messages of --size bytes to the INBOX of each user
           user1..userK (several sessions in parallel, LITERAL+ when offered).
  fill     add --count messages to one user's INBOX, fast: --clients
           sessions with --window APPENDs in flight each (LITERAL+), or
           --via smtp/lmtp on --smtp-port, several messages per connection;
           then waits until STATUS shows them all.
  mix      --clients sessions, each logs in once as its own user and then
           repeats the cycle SELECT INBOX; FETCH 1:20 (FLAGS BODY.PEEK[
           HEADER.FIELDS (FROM SUBJECT DATE)]); FETCH n BODY.PEEK[]; STORE n
           +FLAGS (\\Seen); SEARCH UNSEEN; APPEND a 4 KB message; UID STORE
           (the appended one) +FLAGS.SILENT (\\Deleted); EXPUNGE -- for
           --duration seconds.  Reports commands per second.  --procs spreads
           the sessions over client processes; --loadgen BIN runs the same
           cycle in BIN (imap_loadgen.c compiled) instead, one process that
           costs far less CPU, and adds the server's CPU time to its report.
  bigbox   on a mailbox of --expect messages: a fresh session logs in, then
           SELECT INBOX and FETCH 1:* (UID FLAGS) are timed; --repeat times.
  idle     open --conns sessions (LOGIN, SELECT INBOX, IDLE) and report the
           growth of the server's memory (sum of PSS over its process tree)
           per session still open.
  report   medians and ratios of the JSON lines in FILE, as Markdown.
  keep     the lines of FILE (earlier results) made by the --phases given,
           each marked with the date of its run, for a run of other phases.

Every network wait has a timeout and every loop a bound.
"""

import argparse
import asyncio
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time

PROG = "imap_load"
LIT_RX = re.compile(rb"\{(\d+)\}\r\n$")


def log(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr, flush=True)


class ImapError(Exception):
    pass


# ------------------------------------------------------------------ client

class Session:
    """One IMAP connection: cmd() sends a command and reads its reply."""

    def __init__(self, reader, writer, timeout):
        self.r = reader
        self.w = writer
        self.timeout = timeout
        self.n = 0
        self.literal_plus = False
        self.exists = 0

    @classmethod
    async def open(cls, host, port, timeout):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=1 << 20), timeout)
        s = cls(reader, writer, timeout)
        greeting = await s._line()
        if not greeting.startswith(b"* OK"):
            raise ImapError("greeting %r" % greeting[:80])
        return s

    async def _line(self):
        line = await asyncio.wait_for(self.r.readline(), self.timeout)
        if not line:
            raise ImapError("connection closed")
        return line

    async def _response(self):
        """One response line with its literals skipped; returns the line
        (literal contents replaced by their size)."""
        line = await self._line()
        while True:
            m = LIT_RX.search(line)
            if not m:
                return line
            await asyncio.wait_for(self.r.readexactly(int(m.group(1))), self.timeout)
            line = line[:m.start()] + b"<lit>" + await self._line()

    async def cmd(self, text, literal=None, count=None):
        """Send "TAG text" (with a literal appended); returns (status
        line, number of untagged lines).  count: a function called with
        every untagged line."""
        self.n += 1
        tag = b"a%d" % self.n
        if literal is None:
            self.w.write(tag + b" " + text + b"\r\n")
        elif self.literal_plus:
            self.w.write(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        else:
            self.w.write(tag + b" " + text + b" {%d}\r\n" % len(literal))
            while True:
                line = await self._response()
                if line.startswith(b"+"):
                    break
                if line.startswith(tag + b" "):
                    return line, 0
            self.w.write(literal + b"\r\n")
        untagged = 0
        while True:
            line = await self._response()
            if line.startswith(tag + b" "):
                return line, untagged
            if line.startswith(b"* "):
                untagged += 1
                if line.endswith(b" EXISTS\r\n"):
                    self.exists = int(line.split()[1])
                if count is not None:
                    count(line)

    async def ok(self, text, literal=None, count=None):
        line, n = await self.cmd(text, literal, count)
        if not line.split(b" ", 2)[1:2] == [b"OK"]:
            raise ImapError("%s: %r" % (text[:60].decode("ascii", "replace"), line[:200]))
        return line, n

    async def login(self, user, password):
        await self.ok(b"LOGIN " + quote(user) + b" " + quote(password))
        caps = []
        await self.ok(b"CAPABILITY", count=caps.append)
        self.literal_plus = any(b" LITERAL+" in c.upper() for c in caps)

    def close(self):
        try:
            self.w.close()
        except (OSError, RuntimeError):
            pass


def quote(s):
    if isinstance(s, str):
        s = s.encode()
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def user_name(fmt, i):
    return fmt % i


def make_message(size, seq, rnd):
    """A plain text message of about size bytes with CRLF line ends."""
    head = ("From: Bench Sender <sender%d@bench.test>\r\n"
            "To: user@bench.test\r\n"
            "Subject: benchmark message %d %08x\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            "Message-ID: <%d.%08x@bench.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            % (seq % 97, seq, rnd.getrandbits(32), seq, rnd.getrandbits(32))).encode()
    line = b"The quick brown fox jumps over the lazy dog, benchmark text line.\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


# ------------------------------------------------------------------ server processes

def server_pids(cmd):
    """Root PIDs printed by cmd, plus all their descendants."""
    if not cmd:
        return []
    out = subprocess.run(cmd, shell=True, capture_output=True, timeout=30).stdout
    roots = {int(x) for x in out.split() if x.strip().isdigit()}
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    pids, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in pids:
            continue
        pids.add(p)
        todo.extend(children.get(p, []))
    return sorted(pids)


def pss_kb(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    """CPU time of the processes and of their children already reaped
    (cutime, cstime), so sessions that ended in between still count."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])
        except OSError:
            pass
    return total / tck


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, need + 64))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


# ------------------------------------------------------------------ prepare, fill

async def append_many(a, user, count, size, sessions, window, seed):
    """APPEND count messages to user's INBOX over sessions connections,
    window commands in flight each (LITERAL+) or one at a time."""
    rnd = random.Random(seed)
    msgs = [make_message(size, i, rnd) for i in range(min(count, 64))]
    done = [0]
    next_i = [0]

    async def worker():
        s = await Session.open(a.host, a.port, a.timeout)
        try:
            await s.login(user, a.password)
            depth = window if s.literal_plus else 1
            inflight = []
            while True:
                while next_i[0] < count and len(inflight) < depth:
                    i = next_i[0]
                    next_i[0] += 1
                    s.n += 1
                    tag = b"a%d" % s.n
                    m = msgs[i % len(msgs)]
                    if s.literal_plus:
                        s.w.write(tag + b" APPEND INBOX {%d+}\r\n" % len(m) + m + b"\r\n")
                        inflight.append(tag)
                    else:
                        s.n -= 1
                        await s.ok(b"APPEND INBOX", m)
                        done[0] += 1
                if not inflight:
                    break
                line = await s._response()
                if line.startswith(inflight[0] + b" "):
                    if b" OK" not in line[:len(inflight[0]) + 4]:
                        raise ImapError("APPEND: %r" % line[:120])
                    inflight.pop(0)
                    done[0] += 1
            await s.cmd(b"LOGOUT")
        finally:
            s.close()

    await asyncio.gather(*(worker() for _ in range(sessions)))
    return done[0]


async def run_prepare(a):
    t0 = time.monotonic()
    sem = asyncio.Semaphore(a.parallel)
    total = [0]

    async def one(i):
        async with sem:
            n = await append_many(a, user_name(a.user_fmt, i), a.count, a.size,
                                  1, a.window, a.seed + i)
            total[0] += n
    await asyncio.gather(*(one(i) for i in range(1, a.users + 1)))
    return {"mode": "prepare", "users": a.users, "per_user": a.count,
            "appended": total[0], "seconds": round(time.monotonic() - t0, 2)}


async def smtp_reply(r, timeout):
    """One SMTP/LMTP reply; returns its code."""
    while True:
        line = await asyncio.wait_for(r.readline(), timeout)
        if len(line) < 4:
            raise ImapError("SMTP connection closed or bad reply %r" % line)
        if line[3:4] != b"-":
            return int(line[:3])


async def deliver_many(a, user, count, size, sessions, seed):
    """Deliver count messages to user over SMTP (or LMTP: --via lmtp),
    several transactions per connection, sessions connections."""
    rnd = random.Random(seed)
    msgs = [make_message(size, i, rnd) for i in range(min(count, 64))]
    hello = b"LHLO" if a.via == "lmtp" else b"EHLO"
    next_i = [0]
    done = [0]

    async def worker():
        r, w = await asyncio.wait_for(asyncio.open_connection(a.host, a.smtp_port), a.timeout)
        try:
            if await smtp_reply(r, a.timeout) != 220:
                raise ImapError("no SMTP greeting")
            w.write(hello + b" bench.client\r\n")
            if await smtp_reply(r, a.timeout) != 250:
                raise ImapError("%s refused" % hello.decode())
            while next_i[0] < count:
                m = msgs[next_i[0] % len(msgs)]
                next_i[0] += 1
                w.write(b"MAIL FROM:<bench@bench.test>\r\nRCPT TO:<" + user.encode() + b">\r\n")
                if await smtp_reply(r, a.timeout) != 250 or await smtp_reply(r, a.timeout) != 250:
                    raise ImapError("MAIL/RCPT refused")
                w.write(b"DATA\r\n")
                if await smtp_reply(r, a.timeout) != 354:
                    raise ImapError("DATA refused")
                w.write(m.replace(b"\r\n.", b"\r\n..") + b".\r\n")
                if await smtp_reply(r, a.timeout) != 250:
                    raise ImapError("message refused")
                done[0] += 1
            w.write(b"QUIT\r\n")
        finally:
            w.close()

    await asyncio.gather(*(worker() for _ in range(sessions)))
    return done[0]


async def mailbox_count(a, user):
    s = await Session.open(a.host, a.port, a.timeout)
    try:
        await s.login(user, a.password)
        got = []
        await s.ok(b"STATUS INBOX (MESSAGES)", count=got.append)
        m = re.search(rb"MESSAGES (\d+)", b"".join(got))
        return int(m.group(1)) if m else -1
    finally:
        s.close()


async def run_fill(a):
    t0 = time.monotonic()
    have = await mailbox_count(a, a.user)
    if a.via == "append":
        n = await append_many(a, a.user, a.count, a.size, a.clients, a.window, a.seed)
    else:
        n = await deliver_many(a, a.user, a.count, a.size, a.clients, a.seed)
    # a queueing server (Postfix) stores later: wait until IMAP shows all
    deadline = time.monotonic() + a.store_timeout
    while True:
        now = await mailbox_count(a, a.user)
        if now >= have + n or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    dt = time.monotonic() - t0
    if now < have + n:
        raise ImapError("only %d of %d messages stored" % (now - have, n))
    return {"mode": "fill", "via": a.via, "user": a.user, "stored": n, "size": a.size,
            "seconds": round(dt, 2), "per_s": round(n / dt, 1)}


# ------------------------------------------------------------------ mix

CMDS = ("select", "fetch_headers", "fetch_body", "store", "search", "append",
        "store_deleted", "expunge")


async def mix_client(a, idx, start_at, stop_at, stats, rnd):
    s = await Session.open(a.host, a.port, a.timeout)
    try:
        await s.login(user_name(a.user_fmt, idx), a.password)
        msg = make_message(a.size, idx, rnd)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        lat = stats["lat"]
        counts = stats["count"]
        while time.time() < stop_at:
            t = time.perf_counter()
            await s.ok(b"SELECT INBOX")
            t = tick(lat, counts, "select", t)
            hi = min(20, max(1, s.exists))
            await s.ok(b"FETCH 1:%d (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])" % hi)
            t = tick(lat, counts, "fetch_headers", t)
            n = rnd.randint(1, max(1, s.exists))
            await s.ok(b"FETCH %d BODY.PEEK[]" % n)
            t = tick(lat, counts, "fetch_body", t)
            await s.ok(b"STORE %d +FLAGS (\\Seen)" % n)
            t = tick(lat, counts, "store", t)
            await s.ok(b"SEARCH UNSEEN")
            t = tick(lat, counts, "search", t)
            line, _ = await s.ok(b"APPEND INBOX", msg)
            t = tick(lat, counts, "append", t)
            m = re.search(rb"\[APPENDUID \d+ (\d+)\]", line)
            if not m:
                raise ImapError("APPEND without APPENDUID: %r" % line[:120])
            await s.ok(b"UID STORE " + m.group(1) + b" +FLAGS.SILENT (\\Deleted)")
            t = tick(lat, counts, "store_deleted", t)
            await s.ok(b"EXPUNGE")
            tick(lat, counts, "expunge", t)
        await s.cmd(b"LOGOUT")
    finally:
        s.close()


def tick(lat, counts, name, t):
    now = time.perf_counter()
    if now <= counts["_stop"]:
        lat.setdefault(name, []).append(now - t)
        counts[name] = counts.get(name, 0) + 1
    return now


async def run_mix_worker(a):
    stats = {"lat": {}, "count": {}}
    start_at, stop_at = a.start_at, a.start_at + a.duration
    # commands finishing after the window do not count
    stats["count"]["_stop"] = time.perf_counter() + (stop_at - time.time())
    errors = []

    async def guarded(i):
        try:
            await mix_client(a, i, start_at, stop_at, stats, random.Random(a.seed * 1000 + i))
        except (ImapError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
            errors.append("client %d: %s" % (i, e))

    ids = [int(x) for x in a.ids.split(",")] if a.ids else list(range(1, a.clients + 1))
    await asyncio.gather(*(guarded(i) for i in ids))
    del stats["count"]["_stop"]
    return {"count": stats["count"], "lat": {k: sorted(v) for k, v in stats["lat"].items()},
            "errors": errors}


def run_mix(a):
    """Spread the clients over --procs worker processes started together,
    or hand them all to the C client (--loadgen)."""
    if a.loadgen:
        return run_mix_loadgen(a)
    procs = max(1, min(a.procs, a.clients))
    groups = [list(range(1 + p, a.clients + 1, procs)) for p in range(procs)]
    pids = server_pids(a.pids_cmd)
    cpu0 = cpu_seconds(pids)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start_at = time.time() + 2.0 + a.clients * 0.02
    workers = []
    for g in groups:
        cmd = [sys.executable, os.path.abspath(__file__), "mix-worker",
               "--host", a.host, "--port", str(a.port), "--user-fmt", a.user_fmt,
               "--password", a.password, "--timeout", str(a.timeout),
               "--duration", str(a.duration), "--size", str(a.size),
               "--seed", str(a.seed), "--start-at", repr(start_at),
               "--ids", ",".join(map(str, g))]
        workers.append(subprocess.Popen(cmd, stdout=subprocess.PIPE))
    counts, lats, errors = {}, {}, []
    for w in workers:
        out, _ = w.communicate(timeout=a.duration + a.timeout + 60 + a.clients)
        if w.returncode != 0:
            raise SystemExit("%s: a mix worker failed (exit %d)" % (PROG, w.returncode))
        r = json.loads(out)
        for k, v in r["count"].items():
            counts[k] = counts.get(k, 0) + v
        for k, v in r["lat"].items():
            lats.setdefault(k, []).extend(v)
        errors.extend(r["errors"])
    cpu1 = cpu_seconds(server_pids(a.pids_cmd)) if pids else 0.0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = sum(counts.values())
    res = {"mode": "mix", "client": "python", "clients": a.clients, "procs": procs,
           "duration": a.duration,
           "commands": total, "cmds_per_s": round(total / a.duration, 1),
           "cycles_per_s": round(counts.get("expunge", 0) / a.duration, 1),
           "per_command": {k: {"n": counts.get(k, 0),
                               "p50_ms": round(1000 * pct(lats.get(k, []), 0.5), 2),
                               "p99_ms": round(1000 * pct(lats.get(k, []), 0.99), 2)}
                           for k in CMDS},
           "errors": len(errors),
           # the workers' CPU, logins and start-up included: on a small
           # machine the client competes with the server for the CPUs
           "client_cpu_s": round(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, 2)}
    add_server_cpu(res, pids, cpu1 - cpu0)
    for e in errors[:5]:
        log(e)
    return res


def add_server_cpu(res, pids, cpu_s):
    """The server's CPU over a mix run, in all and per counted command."""
    if pids:
        total = res["commands"]
        res["server_cpu_s"] = round(cpu_s, 2)
        res["server_cpu_ms_per_cmd"] = round(1000 * cpu_s / total, 3) if total else None


def run_mix_loadgen(a):
    """The mix through the C client: it prints the same report (its own
    CPU included) and the server's CPU is measured around it, here."""
    cmd = [a.loadgen, "--host", a.host, "--port", str(a.port), "--user-fmt", a.user_fmt,
           "--password", a.password, "--clients", str(a.clients),
           "--duration", str(a.duration), "--size", str(a.size), "--seed", str(a.seed),
           "--timeout", str(a.timeout)]
    pids = server_pids(a.pids_cmd)
    cpu0 = cpu_seconds(pids)
    # its error texts go straight to our stderr
    r = subprocess.run(cmd, stdout=subprocess.PIPE, check=False,
                       timeout=a.duration + 10 * a.timeout + 60)
    if r.returncode != 0:
        raise SystemExit("%s: %s failed (exit %d)" % (PROG, a.loadgen, r.returncode))
    cpu1 = cpu_seconds(server_pids(a.pids_cmd)) if pids else 0.0
    res = json.loads(r.stdout)
    add_server_cpu(res, pids, cpu1 - cpu0)
    return res


def pct(v, q):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


# ------------------------------------------------------------------ bigbox

async def fetch_count(s, text):
    """Send a command whose replies carry no literals and count its
    untagged lines, reading in bulk: parsing 100,000 lines one by one
    would time the client rather than the server."""
    s.n += 1
    tag = b"a%d" % s.n
    s.w.write(tag + b" " + text + b"\r\n")
    n = 0
    tail = b"\n"		# so that a first line "* ..." counts
    while True:
        chunk = await asyncio.wait_for(s.r.read(1 << 18), s.timeout)
        if not chunk:
            raise ImapError("connection closed during %r" % text)
        # "\n* " starts an untagged line; two bytes of the previous
        # chunk catch one split across the boundary
        n += (tail[-2:] + chunk).count(b"\n* ")
        tail = (tail + chunk)[-4096:]
        if tail.endswith(b"\r\n"):
            last = tail[:-2].rsplit(b"\n", 1)[-1]
            if last.startswith(tag + b" "):
                if not last.startswith(tag + b" OK"):
                    raise ImapError("%r: %r" % (text, last[:120]))
                return n


async def run_bigbox(a):
    selects, fetches = [], []
    for _ in range(a.repeat):
        s = await Session.open(a.host, a.port, a.timeout)
        try:
            await s.login(a.user, a.password)
            t0 = time.perf_counter()
            await s.ok(b"SELECT INBOX")
            t1 = time.perf_counter()
            if s.exists != a.expect:
                raise ImapError("INBOX has %d messages, expected %d" % (s.exists, a.expect))
            seen = await fetch_count(s, b"FETCH 1:* (UID FLAGS)")
            t2 = time.perf_counter()
            if seen != a.expect:
                raise ImapError("FETCH returned %d responses, expected %d" % (seen, a.expect))
            selects.append(t1 - t0)
            fetches.append(t2 - t1)
            await s.cmd(b"LOGOUT")
        finally:
            s.close()
    return {"mode": "bigbox", "messages": a.expect, "repeat": a.repeat,
            "select_s": [round(x, 4) for x in selects],
            "fetch_s": [round(x, 4) for x in fetches],
            "select_first_s": round(selects[0], 4),
            "select_median_s": round(statistics.median(selects[1:] or selects), 4),
            "fetch_median_s": round(statistics.median(fetches[1:] or fetches), 4)}


# ------------------------------------------------------------------ idle

async def run_idle(a):
    raise_fd_limit(a.conns + 100)
    pids = server_pids(a.pids_cmd)
    before = pss_kb(pids)
    sem = asyncio.Semaphore(a.parallel)
    sessions, errors = [], []
    t0 = time.monotonic()

    async def one(i):
        async with sem:
            s = None
            try:
                s = await Session.open(a.host, a.port, a.timeout)
                await s.login(user_name(a.user_fmt, 1 + i % a.users), a.password)
                await s.ok(b"SELECT INBOX")
                s.n += 1
                s.w.write(b"a%d IDLE\r\n" % s.n)
                line = await s._response()
                if not line.startswith(b"+"):
                    raise ImapError("IDLE refused: %r" % line[:80])
                sessions.append(s)
            except (ImapError, OSError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError) as e:
                errors.append(str(e) or type(e).__name__)
                if s is not None:
                    s.close()

    await asyncio.gather(*(one(i) for i in range(a.conns)))
    setup = time.monotonic() - t0
    await asyncio.sleep(a.settle)
    # sessions the server closed meanwhile do not count
    alive = [s for s in sessions if not s.r.at_eof()]
    pids = server_pids(a.pids_cmd)
    after = pss_kb(pids)
    nproc = len(pids)
    for s in sessions:
        s.close()
    await asyncio.sleep(0.5)
    n = len(alive)
    for e in sorted(set(errors))[:5]:
        log("idle: %s (%d times)" % (e, errors.count(e)))
    return {"mode": "idle", "conns": a.conns, "open": n, "failed": len(errors),
            "setup_s": round(setup, 1), "pss_before_kb": before, "pss_after_kb": after,
            "server_processes": nproc,
            "kb_per_conn": round((after - before) / n, 1) if n else None}


# ------------------------------------------------------------------ report

def report_rows(r):
    """(row name, value, higher is better) of one result."""
    if r.get("mode") == "mix":
        n = r["clients"]
        return [("commands/s, %d client%s" % (n, "" if n == 1 else "s"), r.get("cmds_per_s"), True)]
    if r.get("mode") == "bigbox":
        n = "{:,}".format(r["messages"])
        return [("SELECT INBOX of %s messages, s" % n, r.get("select_median_s"), False),
                ("first SELECT after filling, s", r.get("select_first_s"), False),
                ("FETCH 1:* (UID FLAGS) of %s, s" % n, r.get("fetch_median_s"), False)]
    if r.get("mode") == "fill":
        return [("filling it: SMTP (Postroom) / LMTP (Dovecot), messages/s",
                 r.get("per_s"), True)]
    if r.get("mode") == "idle":
        return [("kB per idle IDLE session (%s asked)" % "{:,}".format(r["conns"]),
                 r.get("kb_per_conn"), False)]
    return []


PHASE_MODES = {"mix": ("mix",), "big": ("fill", "bigbox"), "idle": ("idle",)}


def run_keep(a):
    """The results of the given phases from an earlier file, so that a run
    of other phases still reports them.  Each keeps "kept_from", the date
    of the run that measured it: from the line itself when it was kept
    before, else from the date in that run's Markdown report (--md)."""
    date = None
    if a.md and os.path.exists(a.md):
        with open(a.md) as f:
            for line in f:
                if line.startswith("- date: "):
                    date = line[len("- date: "):].strip()
                    break
    modes = {m for p in a.phases for m in PHASE_MODES[p]}
    out = []
    with open(a.file) as f:
        for line in f:
            if not line.strip().startswith("{"):
                continue
            r = json.loads(line)
            if r.get("mode") in modes:
                r.setdefault("kept_from", date or "an earlier run")
                out.append(json.dumps(r))
    return "".join(x + "\n" for x in out)


def run_report(a):
    with open(a.file) as f:
        rows = [json.loads(l) for l in f if l.strip().startswith("{")]
    meta = {}
    if a.meta:
        with open(a.meta) as f:
            meta = json.load(f)
    vals, higher, order = {}, {}, []
    for r in rows:
        for name, v, hi in report_rows(r):
            if name not in order:
                order.append(name)
            higher[name] = hi
            if v is not None:
                vals.setdefault((name, r.get("label")), []).append(v)
    out = ["# IMAP benchmark", ""]
    for k in ("date", "machine", "software", "settings", "duration"):
        if k in meta:
            out.append("- %s: %s" % (k, meta[k]))
    kept = {}
    for r in rows:
        if "kept_from" in r:
            kept.setdefault(r["kept_from"], set()).add(r.get("mode"))
    for date, modes in sorted(kept.items()):
        out.append("- kept from the run of %s: the %s results" % (date, ", ".join(sorted(modes))))
    out += ["", "| Workload | Postroom | Dovecot | Postroom advantage |", "|---|---|---|---|"]
    for name in order:
        med = {}
        for lab in ("postroom", "peer"):
            v = vals.get((name, lab))
            med[lab] = statistics.median(v) if v else None
        ratio = "-"
        if med["postroom"] and med["peer"]:
            x = med["postroom"] / med["peer"] if higher[name] else med["peer"] / med["postroom"]
            ratio = "%.1fx" % x
        out.append("| %s | %s | %s | %s |" % (name, fmt(med["postroom"]), fmt(med["peer"]), ratio))
    idle = [r for r in rows if r.get("mode") == "idle"]
    if idle:
        out += ["", "Idle sessions (opened / asked, server processes, PSS before -> after):", ""]
        for r in idle:
            out.append("- %s: %d / %d, %d processes, %s -> %s kB" % (
                r.get("label"), r["open"], r["conns"], r["server_processes"],
                "{:,}".format(r["pss_before_kb"]), "{:,}".format(r["pss_after_kb"])))
    mixes = [r for r in rows if r.get("mode") == "mix" and r.get("server_cpu_ms_per_cmd")]
    if mixes:
        out += ["", "Server CPU per command in the mix (ms, median over runs):", ""]
        cpu = {}
        for r in mixes:
            cpu.setdefault((r["clients"], r.get("label")), []).append(r["server_cpu_ms_per_cmd"])
        for (clients, lab), v in sorted(cpu.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            out.append("- %s, %d clients: %.3f" % (lab, clients, statistics.median(v)))
        out += ["", "CPU seconds per mix run (median): server / client:", ""]
        both = {}
        for r in mixes:
            both.setdefault((r["clients"], r.get("label")), []).append(
                (r.get("server_cpu_s", 0), r.get("client_cpu_s", 0)))
        for (clients, lab), v in sorted(both.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            out.append("- %s, %d clients: %.1f / %.1f of %.0f s" % (
                lab, clients, statistics.median(x[0] for x in v),
                statistics.median(x[1] for x in v), mixes[0]["duration"]))
    return "\n".join(out) + "\n"


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.3g" % v


# ------------------------------------------------------------------ main

def parse_args(argv):
    env = os.environ
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default=env.get("HOST", "127.0.0.1"))
    common.add_argument("--port", type=int, default=int(env.get("IMAP_PORT", "143")))
    common.add_argument("--user-fmt", default=env.get("USER_FMT", "user%d@bench.test"))
    common.add_argument("--users", type=int, default=int(env.get("NUSERS", "100")))
    common.add_argument("--password", default=env.get("PASS", "secret"))
    common.add_argument("--timeout", type=float, default=60.0)
    common.add_argument("--pids-cmd", default=None)
    common.add_argument("--label", default=None)
    common.add_argument("--tag", default=None)
    common.add_argument("--seed", type=int, default=1)
    common.add_argument("--size", type=int, default=4096)

    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    sp = sub.add_parser("prepare", parents=[common])
    sp.add_argument("--count", type=int, default=100)
    sp.add_argument("--parallel", type=int, default=10)
    sp.add_argument("--window", type=int, default=16)
    sp = sub.add_parser("fill", parents=[common])
    sp.add_argument("--user", required=True)
    sp.add_argument("--count", type=int, required=True)
    sp.add_argument("--clients", type=int, default=8)
    sp.add_argument("--window", type=int, default=32)
    sp.add_argument("--via", choices=("append", "smtp", "lmtp"), default="append")
    sp.add_argument("--smtp-port", type=int, default=25,
                    help="SMTP or LMTP port for --via smtp/lmtp")
    sp.add_argument("--store-timeout", type=float, default=600.0)
    sp = sub.add_parser("mix", parents=[common])
    sp.add_argument("--clients", type=int, default=1)
    sp.add_argument("--duration", type=float, default=10.0)
    sp.add_argument("--procs", type=int, default=1)
    sp.add_argument("--loadgen", default=None,
                    help="the compiled imap_loadgen.c, to run the mix instead of Python")
    sp = sub.add_parser("mix-worker", parents=[common])
    sp.add_argument("--clients", type=int, default=1)
    sp.add_argument("--duration", type=float, required=True)
    sp.add_argument("--start-at", type=float, required=True)
    sp.add_argument("--ids", default="")
    sp = sub.add_parser("bigbox", parents=[common])
    sp.add_argument("--user", required=True)
    sp.add_argument("--expect", type=int, required=True)
    sp.add_argument("--repeat", type=int, default=3)
    sp = sub.add_parser("idle", parents=[common])
    sp.add_argument("--conns", type=int, default=1000)
    sp.add_argument("--parallel", type=int, default=50)
    sp.add_argument("--settle", type=float, default=3.0)
    sp = sub.add_parser("keep")
    sp.add_argument("file")
    sp.add_argument("--md", default=None, help="the Markdown report of that file's run")
    sp.add_argument("--phases", nargs="+", choices=sorted(PHASE_MODES), required=True)
    sp = sub.add_parser("report")
    sp.add_argument("file")
    sp.add_argument("--meta", default=None)
    sp.add_argument("--markdown", default=None)
    return p.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    if a.mode == "keep":
        sys.stdout.write(run_keep(a))
        return 0
    if a.mode == "report":
        text = run_report(a)
        if a.markdown:
            with open(a.markdown, "w") as f:
                f.write(text)
        sys.stdout.write(text)
        return 0
    if a.mode == "mix":
        res = run_mix(a)
    elif a.mode == "mix-worker":
        res = asyncio.run(run_mix_worker(a))
    else:
        res = asyncio.run({"prepare": run_prepare, "fill": run_fill, "bigbox": run_bigbox,
                           "idle": run_idle}[a.mode](a))
    if a.mode != "mix-worker":
        res["label"] = a.label
        res["tag"] = a.tag
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
