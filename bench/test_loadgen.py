#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Tests of the benchmark client's own logic: reply framing with input
split at every byte, test messages, the SMTP client against small scripted
servers (including ones that misbehave), and the report's arithmetic.

    python3 bench/test_loadgen.py

Servers here are asyncio servers on 127.0.0.1 with a kernel-chosen port.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report                                           # noqa: E402
from loadlib import message, smtp, wire                 # noqa: E402


def split_feed(data, cut, take):
    """Feed data in two pieces cut at `cut`, calling take(buf, start) as a
    reader would after each piece; returns the results that were not None
    and what is left in the buffer."""
    buf = bytearray()
    out = []
    for piece in (data[:cut], data[cut:]):
        buf += piece
        for _ in range(100):
            r = take(buf)
            if r is None:
                break
            out.append(r)
    return out, bytes(buf)


class TestFraming(unittest.TestCase):
    def test_lines_every_split(self):
        data = b"250-first\r\n250-second\r\n250 last\r\n"
        for cut in range(len(data) + 1):
            got, rest = split_feed(data, cut,
                                   lambda b: wire.take_line(b, 0))
            self.assertEqual(got, [b"250-first\r\n", b"250-second\r\n",
                                   b"250 last\r\n"], cut)
            self.assertEqual(rest, b"")

    def test_incomplete_line_stays(self):
        buf = bytearray(b"220 no end")
        self.assertIsNone(wire.take_line(buf, 0))
        self.assertEqual(bytes(buf), b"220 no end")

    def test_line_too_long(self):
        buf = bytearray(b"x" * (wire.MAX_LINE + 1))
        with self.assertRaises(wire.ProtoError):
            wire.take_line(buf, 0)

    def body_reader(self):
        state = {"start": 0}

        def take(buf):
            n, state["start"] = wire.take_body(buf, state["start"] or 0)
            if n is not None:
                state["start"] = 0
            return n
        return take

    def test_bodies_every_split(self):
        # two bodies back to back, as with RETR commands in flight: a
        # normal one with a dot-stuffed line, and an empty one
        first = b"Subject: x\r\n\r\n..leading dot\r\nend\r\n"
        data = first + b".\r\n" + b".\r\n" + b"+OK next"
        for cut in range(len(data) + 1):
            got, rest = split_feed(data, cut, self.body_reader())
            self.assertEqual(got, [len(first), 0], cut)
            self.assertEqual(rest, b"+OK next", cut)

    def test_terminator_needs_crlf_before_dot(self):
        buf = bytearray(b"a line\r\n.not the end\r\n")
        n, start = wire.take_body(buf, 0)
        self.assertIsNone(n)
        buf += b".\r\n"
        n, _ = wire.take_body(buf, start)
        self.assertEqual(n, len(b"a line\r\n.not the end\r\n"))


class TestMessages(unittest.TestCase):
    def test_size_lines_and_ids(self):
        for size in (512, 4096, 65536):
            f = message.MessageFactory(size, "bench.test")
            a = f.header(1, "user1@bench.test") + f.body
            b = f.header(2, "user2@bench.test") + f.body
            self.assertLess(abs(len(a) - size), 80, size)
            self.assertNotEqual(a.split(b"\r\n")[0], b.split(b"\r\n")[0])
            self.assertTrue(a.endswith(b"\r\n"))
            self.assertNotIn(b"\n", a.replace(b"\r\n", b""))
            self.assertNotIn(b"\r", a.replace(b"\r\n", b""))
            for line in a.split(b"\r\n"):
                self.assertLessEqual(len(line), 998)

    def test_dot_stuffing(self):
        self.assertEqual(message.dot_stuff(b".a\r\nb\r\n.c\r\n"),
                         b"..a\r\nb\r\n..c\r\n")


def smtp_args(port, **kw):
    a = dict(host="127.0.0.1", port=port, domain="bench.test", size=1024,
             per_conn=1, clients=2, procs=1, count=6, duration=None,
             timeout=2.0, max_time=20.0, seed=1, count_cmd=None,
             pids_cmd=None, store_timeout=5.0, to=None, users=3,
             user_fmt="user%d@bench.test")
    a.update(kw)
    return argparse.Namespace(**a)


class ScriptedSmtp:
    """A minimal SMTP server whose replies are decided by `policy`:
    policy(command_line) -> reply bytes, or None to hang up."""

    def __init__(self, policy):
        self.policy = policy
        self.messages = []

    async def handle(self, reader, writer):
        writer.write(b"220 test ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if line.upper().startswith(b"DATA"):
                    writer.write(b"354 go\r\n")
                    body = await reader.readuntil(b"\r\n.\r\n")
                    self.messages.append(body)
                    line = b"<end of data>"
                reply = self.policy(line)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if line.upper().startswith(b"QUIT"):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()

    def run(self, args_kw):
        async def main():
            server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            args = smtp_args(port, **args_kw)
            loop = asyncio.get_running_loop()
            try:
                # smtp_ingest is synchronous (it may fork); run it beside
                # the server's loop
                return await loop.run_in_executor(None, smtp.smtp_ingest,
                                                  args)
            finally:
                server.close()
        return asyncio.run(main())


def polite(line):
    if line.startswith(b"EHLO"):
        return b"250-test\r\n250 PIPELINING\r\n"
    if line.startswith(b"QUIT"):
        return b"221 bye\r\n"
    return b"250 ok\r\n"


class TestSmtpClient(unittest.TestCase):
    def test_all_accepted(self):
        srv = ScriptedSmtp(polite)
        r = srv.run({"count": 7, "clients": 3})
        self.assertEqual((r["acked"], r["failed"], r["attempted"]), (7, 0, 7))
        self.assertEqual(len(srv.messages), 7)
        ids = {m.split(b"\r\n")[0] for m in srv.messages}
        self.assertEqual(len(ids), 7)

    def test_several_per_connection(self):
        srv = ScriptedSmtp(polite)
        r = srv.run({"count": 9, "clients": 2, "per_conn": 4})
        self.assertEqual(r["acked"], 9)
        self.assertLessEqual(r["connections"], 4)

    def test_rejected_recipient_is_not_counted(self):
        def policy(line):
            if line.startswith(b"RCPT") and b"user2@" in line:
                return b"550 no such user\r\n"
            return polite(line)
        srv = ScriptedSmtp(policy)
        r = srv.run({"count": 9, "clients": 1, "per_conn": 3, "users": 3})
        self.assertEqual((r["acked"], r["failed"]), (6, 3))
        self.assertIn("RCPT: 550 no such user", r["errors"])

    def test_rejected_after_data(self):
        def policy(line):
            if line == b"<end of data>":
                return b"452 full\r\n"
            return polite(line)
        r = ScriptedSmtp(policy).run({"count": 4})
        self.assertEqual((r["acked"], r["failed"]), (0, 4))

    def test_hangup_counts_as_failure(self):
        def policy(line):
            if line.startswith(b"MAIL"):
                return None
            return polite(line)
        r = ScriptedSmtp(policy).run({"count": 3, "clients": 1})
        self.assertEqual((r["acked"], r["failed"]), (0, 3))

    def test_silent_server_times_out(self):
        def policy(line):
            if line.startswith(b"RCPT"):
                return b""             # never answers
            return polite(line)
        r = ScriptedSmtp(policy).run({"count": 1, "clients": 1,
                                      "timeout": 1.0})
        self.assertEqual((r["acked"], r["failed"]), (0, 1))
        self.assertIn("timeout waiting for the server", r["errors"])

    def test_two_processes(self):
        srv = ScriptedSmtp(polite)
        r = srv.run({"count": 10, "clients": 4, "procs": 2})
        self.assertEqual((r["acked"], r["procs"]), (10, 2))
        self.assertEqual(len(srv.messages), 10)


class TestReport(unittest.TestCase):
    def write(self, rows):
        fd, path = tempfile.mkstemp(suffix=".jsonl")
        with os.fdopen(fd, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        self.addCleanup(os.unlink, path)
        return path

    def test_medians_and_ratio(self):
        rows = []
        for server, values in (("peer", (100, 90, 300)),
                               ("postroom", (500, 700, 600))):
            for v in values:
                rows.append({"server": server, "workload": "w", "mode": "smtp",
                             "clients": 10, "size": 4098, "per_conn": 1,
                             "stored_msg_per_s": v, "msg_per_s": v})
        rows.append({"meta": {"date": "today"}})
        loaded, meta = report.load(self.write(rows))
        self.assertEqual(meta, {"date": "today"})
        table = report.main_table(report.summarise(loaded), report.SERVERS)
        self.assertEqual(table[1][2], "100 (n=3)")
        self.assertEqual(table[1][3], "600 (n=3)")
        self.assertEqual(table[1][4], "6.00")

    def test_small_ratio_as_fraction(self):
        self.assertEqual(report.ratio_text(1200.0, 1.0), "1/1,200")
        self.assertEqual(report.ratio_text(0, 5), "-")
        self.assertEqual(report.ratio_text(100, None), "-")


if __name__ == "__main__":
    unittest.main(verbosity=2)
