# SPDX-License-Identifier: ISC
"""Hostile inputs: connection floods, stalled clients, endless lines,
invalid UTF-8, password guessing, garbage on TLS ports.

After every test the server must still be alive and serving (checked in
tearDown with a fresh connection), and one stalled or abusive client must
never hold up another.
"""

import os
import socket
import struct
import threading
import time
import unittest

from postroom_harness import USERS, HarnessError, ServerTestCase, b64, unique

ALICE = "alice@example.test"
CAROL = "carol@example.test"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    """Is the daemon built with AddressSanitizer?  Its allocator keeps freed
    memory in quarantine, so RSS says nothing about buffering there."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            if "libasan" in f.read():
                return True
        with open("/proc/%d/exe" % pid, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


class LimitsTests(ServerTestCase):
    LABEL = "limits"

    def tearDown(self):
        self.assertTrue(self.server.healthy(),
                        "server not serving after the test; log tail:\n"
                        + self.server.log_tail())

    def greet(self, role="smtp", timeout=10):
        c = self.server.raw(role, timeout=timeout)
        self.addCleanup(c.close)
        line = c.readline()
        self.assertTrue(line.startswith(b"220") or line.startswith(b"+OK"), line)
        return c

    # ------------------------------------------------------------ stalls

    def test_slow_client_does_not_stall_others(self):
        stalled = []
        a = self.greet("smtp")
        a.ehlo()
        a.send(b"MAIL FR")
        stalled.append(a)
        b = self.greet("pop3")
        b.send(b"US")
        stalled.append(b)
        # a TLS handshake that never gets past its first bytes
        t = socket.create_connection(("127.0.0.1", self.server.port("submissions")), timeout=10)
        self.addCleanup(t.close)
        t.sendall(b"\x16\x03\x01\x00")
        u = socket.create_connection(("127.0.0.1", self.server.port("pop3s")), timeout=10)
        self.addCleanup(u.close)

        start = time.monotonic()
        c = self.greet("smtp")
        c.ehlo()
        self.assertEqual(c.cmd("NOOP")[0], 250)
        s = self.server.smtp("submissions")
        s.login(ALICE, USERS[ALICE])
        s.quit()
        p = self.server.pop3(ALICE)
        p.stat()
        p.quit()
        self.assertLess(time.monotonic() - start, 8.0)
        # the stalled commands complete when their bytes arrive
        a.send(b"OM:<x@outside.test>\r\n")
        self.assertEqual(a.reply()[0], 250)
        b.send(b"ER x\r\n")
        self.assertTrue(b.readline().startswith(b"-ERR"))

    # ------------------------------------------------------------ floods

    def flood(self, role, expect):
        c = self.greet(role)
        pid = self.server.pid
        before = rss_kb(pid)
        got = []

        def reader():
            try:
                while True:
                    line = c.readline()
                    if not line:
                        break
                    got.append(line)
            except (OSError, HarnessError):
                pass

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        chunk = b"A" * 65536
        sent = 0
        closed_early = False
        c.settimeout(30)
        try:
            while sent < 10 * 1024 * 1024:
                c.sock.sendall(chunk)
                sent += len(chunk)
            # the end of the long line, then a command that must succeed
            c.sock.sendall(b"\r\n" + (b"NOOP\r\n" if role == "smtp" else b"QUIT\r\n"))
        except (BrokenPipeError, ConnectionResetError):
            closed_early = True

        def answered():
            return any(l.startswith(b"250") or l.startswith(b"+OK") for l in got)

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and th.is_alive() and not answered():
            time.sleep(0.05)
        after = rss_kb(pid)
        self.assertTrue(got, "no reply at all to a 10 MB line")
        self.assertTrue(any(l.startswith(e) for l in got for e in expect), got)
        if not closed_early:
            # not closed, so the session must answer the next command
            self.assertTrue(answered(), "no answer after the flood: %r" % got)
        if not sanitized(pid):
            self.assertLess(after - before, 8 * 1024,
                            "RSS grew by %d KB during a 10 MB flood" % (after - before))

    def test_flood_without_newline_smtp(self):
        self.flood("smtp", (b"500", b"421"))

    def test_flood_without_newline_pop3(self):
        self.flood("pop3", (b"-ERR",))

    # ------------------------------------------------------------ bad bytes

    def test_invalid_utf8_in_mail_from(self):
        c = self.greet("smtp")
        c.ehlo()
        for bad in (b"\xff\xfe", b"\xc0\xae", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80",
                    b"\x80"):
            with self.subTest(bytes=bad):
                code, lines = c.cmd(b"MAIL FROM:<a" + bad + b"b@outside.test> SMTPUTF8")
                self.assertTrue(500 <= code < 600, (code, lines))
        self.assertEqual(c.cmd("MAIL FROM:<ok@outside.test> SMTPUTF8")[0], 250)
        code, lines = c.cmd(b"RCPT TO:<\xc3\x28@example.test>")
        self.assertTrue(500 <= code < 600, (code, lines))

    def test_garbage_on_tls_ports(self):
        for role in ("submissions", "pop3s"):
            with self.subTest(role=role):
                s = socket.create_connection(("127.0.0.1", self.server.port(role)), timeout=10)
                self.addCleanup(s.close)
                s.sendall(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(4096))
                s.settimeout(10)
                try:
                    while s.recv(4096):
                        pass
                except (ConnectionResetError, BrokenPipeError):
                    pass
                except socket.timeout:
                    self.fail("%s: connection kept open after garbage" % role)

    def test_abandoned_connections(self):
        for i in range(40):
            role = ("smtp", "submission", "submissions", "pop3", "pop3s")[i % 5]
            s = socket.create_connection(("127.0.0.1", self.server.port(role)), timeout=10)
            if i % 3 == 0:
                s.sendall(b"\x16\x03\x01" if role.endswith("s") else b"EHLO x\r\nMAIL FROM:<a@b>\r\n")
            if i % 2 == 0:
                # linger 0: close with a reset
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        self.assertTrue(self.server.healthy())

    # ------------------------------------------------------------ passwords

    def auth_time(self, user, password):
        """Seconds from AUTH to its reply, on a fresh implicit-TLS session."""
        c = self.server.raw("submissions", timeout=60)
        try:
            self.assertEqual(c.reply()[0], 220)
            c.ehlo()
            t = time.monotonic()
            code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (user, password)))
            return code, time.monotonic() - t
        finally:
            c.close()

    def test_failed_logins_get_slower(self):
        times = []
        for _ in range(2):
            code, t = self.auth_time(CAROL, "guess")
            self.assertEqual(code, 535)
            times.append(t)
        result = {}

        def third():
            result["r"] = self.auth_time(CAROL, "guess-again")

        th = threading.Thread(target=third)
        th.start()
        time.sleep(0.3)
        # another user on the same IP is not held up by carol's failures
        code, t_alice = self.auth_time(ALICE, USERS[ALICE])
        th.join(60)
        self.assertFalse(th.is_alive())
        code3, t3 = result["r"]
        self.assertEqual(code3, 535)
        times.append(t3)
        self.assertEqual(code, 235)
        self.assertLess(t_alice, 2.0, "good login from the same IP took %.2fs" % t_alice)
        self.assertGreater(max(times[1], times[2]), times[0] + 0.75,
                           "failures do not slow down: %r" % times)
        # the right password still works afterwards
        code, _ = self.auth_time(CAROL, USERS[CAROL])
        self.assertEqual(code, 235)


class PerIpLimitTests(ServerTestCase):
    LABEL = "limits-perip"
    CONFIG = {"limits": {"max_connections_per_ip": "5"}}

    def open_greeted(self, role):
        c = self.server.raw(role, timeout=10)
        line = c.readline()
        return c, line

    def test_sixth_connection_refused(self):
        conns = []
        self.addCleanup(lambda: [c.close() for c in conns])
        # wait until the readiness probes of the harness are released
        deadline = time.monotonic() + 10
        while True:
            c, line = self.open_greeted("smtp")
            if line.startswith(b"220"):
                conns.append(c)
                break
            c.close()
            self.assertLess(time.monotonic(), deadline, "no session accepted")
            time.sleep(0.2)
        for role in ("smtp", "pop3", "smtp", "pop3s"):
            c, line = self.open_greeted(role)
            conns.append(c)
            self.assertTrue(line.startswith(b"220") or line.startswith(b"+OK"), (role, line))
        for role in ("smtp", "pop3", "submissions"):
            with self.subTest(role=role):
                try:
                    c, line = self.open_greeted(role)
                except OSError:
                    continue	# refused during the TLS handshake: closed
                try:
                    if role == "smtp":
                        self.assertTrue(line == b"" or line.startswith(b"421"), line)
                    elif role == "pop3":
                        self.assertTrue(line == b"" or line.startswith(b"-ERR"), line)
                    else:
                        self.assertEqual(line, b"")
                    if line:
                        self.assertTrue(c.is_closed(5), "refused but kept open")
                finally:
                    c.close()
        # the existing sessions are unaffected
        self.assertEqual(conns[0].cmd("NOOP")[0], 250)
        # closing one frees a slot
        conns.pop(0).cmd("QUIT")
        deadline = time.monotonic() + 5
        while True:
            c, line = self.open_greeted("smtp")
            conns.append(c)
            if line.startswith(b"220"):
                break
            self.assertLess(time.monotonic(), deadline, "slot never released: %r" % line)
            time.sleep(0.1)


class TimeoutTests(ServerTestCase):
    """Idle sessions are closed after the configured timeouts."""
    LABEL = "limits-timeout"
    CONFIG = {"limits": {"smtp_timeout": "2", "data_timeout": "2", "pop3_timeout": "2"}}

    def wait_closed(self, c, limit):
        t = time.monotonic()
        self.assertTrue(c.is_closed(limit), "still open after %.0fs" % limit)
        return time.monotonic() - t, c.buf

    def test_idle_smtp_session_times_out(self):
        c = self.server.raw("smtp")
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        c.ehlo()
        elapsed, said = self.wait_closed(c, 10)
        self.assertGreater(elapsed, 1.0, "closed before the timeout")
        self.assertTrue(said.startswith(b"421 "), said)

    def test_stalled_data_times_out(self):
        c = self.server.raw("smtp")
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        token = unique("stalled")
        c.send(b"Subject: " + token.encode() + b"\r\n\r\nhalf a mess")
        elapsed, said = self.wait_closed(c, 10)
        self.assertGreater(elapsed, 1.0)
        self.assertTrue(said.startswith(b"421 "), said)
        self.assertEqual(self.server.find(ALICE, token), [])

    def test_idle_pop3_session_times_out(self):
        c = self.server.raw("pop3s")
        self.addCleanup(c.close)
        self.assertTrue(c.readline().startswith(b"+OK"))
        elapsed, _ = self.wait_closed(c, 10)
        self.assertGreater(elapsed, 1.0)


if __name__ == "__main__":
    unittest.main()
