#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Tests of the IMAP benchmark client's own logic: replies with literals and
bulk-counted FETCH output split at every byte, the test messages, and the
report's medians and ratios.

    python3 bench/test_imap_load.py
"""

import asyncio
import json
import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import imap_load                                        # noqa: E402


class FakeWriter:
    def __init__(self):
        self.sent = b""

    def write(self, data):
        self.sent += data

    def close(self):
        pass


def run_split(data, cut, coro_fn):
    """Run coro_fn(session) while the server's bytes arrive in two pieces
    cut at `cut`; returns its result and what the client sent."""
    async def main():
        reader = asyncio.StreamReader()
        w = FakeWriter()
        s = imap_load.Session(reader, w, timeout=5)
        task = asyncio.ensure_future(coro_fn(s))
        for piece in (data[:cut], data[cut:]):
            await asyncio.sleep(0)
            if piece:
                reader.feed_data(piece)
        await asyncio.sleep(0)
        reader.feed_eof()
        return await asyncio.wait_for(task, 5), w.sent
    return asyncio.run(main())


class TestReplies(unittest.TestCase):
    def test_literal_reply_every_split(self):
        data = (b"* 1 FETCH (UID 7 BODY[] {12}\r\nline\r\na1 OK x)\r\n"
                b"* 2 EXISTS\r\na1 OK FETCH done\r\n")
        for cut in range(len(data) + 1):
            (line, n), sent = run_split(data, cut, lambda s: s.ok(b"FETCH 1 BODY[]"))
            self.assertEqual(line, b"a1 OK FETCH done\r\n", cut)
            self.assertEqual(n, 2, cut)
            self.assertEqual(sent, b"a1 FETCH 1 BODY[]\r\n")

    def test_no_reply_raises(self):
        data = b"a1 NO [TRYCREATE] no such mailbox\r\n"
        with self.assertRaises(imap_load.ImapError):
            run_split(data, 3, lambda s: s.ok(b"SELECT Nope"))

    def test_sync_literal_waits_for_continuation(self):
        data = b"+ go ahead\r\na1 OK [APPENDUID 9 4] done\r\n"
        (line, _), sent = run_split(data, 5, lambda s: s.ok(b"APPEND INBOX", b"abc"))
        self.assertIn(b"APPENDUID 9 4", line)
        self.assertEqual(sent, b"a1 APPEND INBOX {3}\r\nabc\r\n")

    def test_fetch_count_every_split(self):
        lines = b"".join(b"* %d FETCH (UID %d FLAGS (\\Seen))\r\n" % (i, i + 100)
                         for i in range(1, 8))
        data = lines + b"* OK still here\r\na1 OK Fetch completed\r\n"
        for cut in range(len(data) + 1):
            n, _ = run_split(data, cut, lambda s: imap_load.fetch_count(s, b"FETCH 1:* (UID)"))
            self.assertEqual(n, 8, cut)

    def test_fetch_count_failure(self):
        with self.assertRaises(imap_load.ImapError):
            run_split(b"* 1 FETCH (UID 1)\r\na1 BAD no\r\n", 10,
                      lambda s: imap_load.fetch_count(s, b"FETCH 1:* (UID)"))
        with self.assertRaises(imap_load.ImapError):
            run_split(b"* 1 FETCH (UID 1)\r\n", 10,
                      lambda s: imap_load.fetch_count(s, b"FETCH 1:* (UID)"))


class TestMessages(unittest.TestCase):
    def test_size_and_line_ends(self):
        rnd = random.Random(3)
        for size in (512, 4096, 65536):
            m = imap_load.make_message(size, 5, rnd)
            self.assertLessEqual(abs(len(m) - size), 100)
            self.assertNotIn(b"\n", m.replace(b"\r\n", b""))
            self.assertIn(b"\r\n\r\n", m)


class TestReport(unittest.TestCase):
    def report(self, rows):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        self.addCleanup(os.unlink, f.name)
        a = imap_load.parse_args(["report", f.name])
        return imap_load.run_report(a)

    def test_medians_and_ratios(self):
        rows = []
        for lab, vals in (("postroom", (300, 100, 200)), ("peer", (50, 150, 100))):
            rows += [{"mode": "mix", "clients": 10, "cmds_per_s": v, "label": lab} for v in vals]
        rows.append({"mode": "bigbox", "messages": 1000, "select_median_s": 0.01,
                     "select_first_s": 0.02, "fetch_median_s": 0.5, "label": "postroom"})
        rows.append({"mode": "bigbox", "messages": 1000, "select_median_s": 0.04,
                     "select_first_s": 0.02, "fetch_median_s": 0.25, "label": "peer"})
        rows.append({"mode": "idle", "conns": 10, "open": 10, "kb_per_conn": 4.0,
                     "server_processes": 1, "pss_before_kb": 1, "pss_after_kb": 41,
                     "label": "postroom"})
        text = self.report(rows)
        self.assertIn("| commands/s, 10 clients | 200 | 100 | 2.0x |", text)
        self.assertIn("| SELECT INBOX of 1,000 messages, s | 0.01 | 0.04 | 4.0x |", text)
        self.assertIn("| FETCH 1:* (UID FLAGS) of 1,000, s | 0.5 | 0.25 | 0.5x |", text)
        self.assertIn("| first SELECT after filling, s | 0.02 | 0.02 | 1.0x |", text)
        self.assertIn("| kB per idle IDLE session (10 asked) | 4 | - | - |", text)


if __name__ == "__main__":
    unittest.main()
