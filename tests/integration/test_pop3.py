# SPDX-License-Identifier: ISC
"""POP3 on port 110 (STLS) and 995 (implicit TLS).

Each test gets a fresh user so the maildrop's content is known: messages
are delivered over SMTP first, then read with poplib, raw sockets and curl.
What RETR returns is compared byte for byte with what was sent (plus the
trace fields on top), and LIST sizes with the bytes RETR really sends.
"""

import hashlib
import random
import socket
import subprocess
import time
import unittest

import poplib

from postroom_harness import (
    ServerTestCase, b64, insecure_context, make_message,
    pop3_list_sizes, pop3_retr_exact, pop3_uidls, split_trace, unique)


class Pop3Tests(ServerTestCase):
    LABEL = "pop3"
    CONFIG = {"limits": {"max_message_size": "8m"}}

    def new_user(self, count=0, bodies=None):
        """A fresh user with count messages; returns (addr, pw, [msg bytes])."""
        addr = unique("p") + "@example.test"
        pw = "pw-" + unique("s")
        self.server.add_user(addr, pw)
        msgs = []
        for i in range(count):
            body = bodies[i] if bodies else "message number %d\n%s\n" % (i + 1, "z" * (i * 37))
            msg = make_message("%s #%d" % (addr, i + 1), body, to=addr)
            self.assertEqual(self.server.deliver(addr, msg), 250)
            msgs.append(msg)
        return addr, pw, msgs

    def pop(self, addr, pw, role="pop3s"):
        p = self.server.pop3(addr, pw, role=role)
        self.addCleanup(p.close)
        return p

    def raw_pop(self, role="pop3"):
        c = self.server.raw(role)
        self.addCleanup(c.close)
        self.assertTrue(c.readline().startswith(b"+OK"))
        return c

    def pcmd(self, c, line):
        c.send(line + "\r\n")
        return c.readline().decode("utf-8", "replace").rstrip("\r\n")

    # ------------------------------------------------------------ capabilities

    def test_capa_before_and_after_stls(self):
        p = poplib.POP3("127.0.0.1", self.server.port("pop3"), timeout=15)
        self.addCleanup(p.close)
        caps = p.capa()
        self.assertIn("STLS", caps)
        self.assertIn("TOP", caps)
        self.assertIn("UIDL", caps)
        self.assertNotIn("USER", caps, "USER offered without TLS")
        self.assertNotIn("SASL", caps, "SASL offered without TLS")
        p.stls(insecure_context())
        caps = p.capa()
        self.assertNotIn("STLS", caps)
        self.assertIn("USER", caps)
        self.assertIn("SASL", caps)
        self.assertIn("PLAIN", caps["SASL"])
        self.assertIn("LOGIN", caps["SASL"])

    def test_plaintext_login_refused_without_tls(self):
        addr, pw, _ = self.new_user(1)
        c = self.raw_pop()
        r = self.pcmd(c, "USER " + addr)
        if r.startswith("+OK"):
            self.assertTrue(self.pcmd(c, "PASS " + pw).startswith("-ERR"))
        else:
            self.assertTrue(r.startswith("-ERR"), r)
        self.assertTrue(self.pcmd(c, "AUTH PLAIN " + b64("\0%s\0%s" % (addr, pw)))
                        .startswith("-ERR"))
        self.assertTrue(self.pcmd(c, "STAT").startswith("-ERR"), "logged in without TLS")

    def test_stls_then_login(self):
        addr, pw, msgs = self.new_user(2)
        p = self.pop(addr, pw, role="pop3")
        count, size = p.stat()
        self.assertEqual(count, 2)

    def test_pop3s_login(self):
        addr, pw, msgs = self.new_user(1)
        p = self.pop(addr, pw, role="pop3s")
        self.assertEqual(p.stat()[0], 1)

    def test_wrong_password(self):
        addr, pw, _ = self.new_user(0)
        p = poplib.POP3_SSL("127.0.0.1", self.server.port("pop3s"), timeout=15,
                            context=insecure_context())
        self.addCleanup(p.close)
        p.user(addr)
        with self.assertRaises(poplib.error_proto):
            p.pass_("not-" + pw)

    def test_auth_plain(self):
        addr, pw, _ = self.new_user(1)
        c = self.raw_pop("pop3s")
        r = self.pcmd(c, "AUTH PLAIN " + b64("\0%s\0%s" % (addr, pw)))
        self.assertTrue(r.startswith("+OK"), r)
        self.assertTrue(self.pcmd(c, "STAT").startswith("+OK 1 "))

        c = self.raw_pop("pop3s")
        r = self.pcmd(c, "AUTH PLAIN")
        self.assertTrue(r.startswith("+"), r)
        self.assertFalse(r.startswith("+OK"), r)
        r = self.pcmd(c, b64("\0%s\0%s" % (addr, pw)))
        self.assertTrue(r.startswith("+OK"), r)

        c = self.raw_pop("pop3s")
        self.assertTrue(self.pcmd(c, "AUTH LOGIN").startswith("+ "))
        self.assertTrue(self.pcmd(c, b64(addr)).startswith("+ "))
        self.assertTrue(self.pcmd(c, b64(pw)).startswith("+OK"))

        c = self.raw_pop("pop3s")
        self.assertTrue(self.pcmd(c, "AUTH PLAIN").startswith("+"))
        self.assertTrue(self.pcmd(c, "*").startswith("-ERR"), "cancel")
        self.assertTrue(self.pcmd(c, "STAT").startswith("-ERR"))

    def test_pipelined_command_after_stls_discarded(self):
        addr, pw, _ = self.new_user(1)
        c = self.raw_pop("pop3")
        c.send("STLS\r\nUSER %s\r\n" % addr)
        self.assertTrue(c.readline().startswith(b"+OK"))
        c.starttls()
        # the injected USER was not carried into the TLS session
        self.assertTrue(self.pcmd(c, "PASS " + pw).startswith("-ERR"))
        self.assertTrue(self.pcmd(c, "NOOP").startswith("-ERR"))
        self.assertTrue(self.pcmd(c, "USER " + addr).startswith("+OK"))
        self.assertTrue(self.pcmd(c, "PASS " + pw).startswith("+OK"))

    # ------------------------------------------------------------ transaction

    def test_transaction_commands(self):
        addr, pw, msgs = self.new_user(3)
        p = self.pop(addr, pw)
        sizes = pop3_list_sizes(p)
        self.assertEqual(sorted(sizes), [1, 2, 3])
        count, total = p.stat()
        self.assertEqual((count, total), (3, sum(sizes.values())))
        uidls = pop3_uidls(p)
        self.assertEqual(len(set(uidls.values())), 3, "UIDs not unique")
        for n in (1, 2, 3):
            resp = p.list(n).decode()
            self.assertEqual(resp.split()[1:], [str(n), str(sizes[n])])
            self.assertEqual(p.uidl(n).decode().split()[1:], [str(n), uidls[n]])
            _, data = pop3_retr_exact(p, n)
            self.assertEqual(len(data), sizes[n])
            split_trace(data, msgs[n - 1])
            head, body = data.split(b"\r\n\r\n", 1)
            _, top0 = pop3_retr_exact(p, n, "TOP", " 0")
            self.assertEqual(top0, head + b"\r\n\r\n")
            _, top1 = pop3_retr_exact(p, n, "TOP", " 1")
            self.assertEqual(top1, head + b"\r\n\r\n" + body.split(b"\r\n")[0] + b"\r\n")

        self.assertTrue(p.noop().startswith(b"+OK"))
        self.assertTrue(p.dele(1).startswith(b"+OK"))
        with self.assertRaises(poplib.error_proto):
            p.dele(1)
        with self.assertRaises(poplib.error_proto):
            p.retr(1)
        with self.assertRaises(poplib.error_proto):
            p.retr(4)
        self.assertEqual(p.stat(), (2, total - sizes[1]))
        self.assertNotIn(1, pop3_list_sizes(p))
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p.stat(), (3, total))
        p.dele(2)
        self.assertTrue(p.quit().startswith(b"+OK"))

        p2 = self.pop(addr, pw)
        self.assertEqual(p2.stat()[0], 2)
        after = pop3_uidls(p2)
        self.assertEqual(sorted(after.values()), sorted([uidls[1], uidls[3]]))
        _, data = pop3_retr_exact(p2, 1)
        split_trace(data, msgs[0])

    def test_pipelined_commands(self):
        addr, pw, msgs = self.new_user(2)
        c = self.raw_pop("pop3s")
        c.send("USER %s\r\nPASS %s\r\nSTAT\r\nRETR 1\r\nLIST\r\nRETR 2\r\nDELE 2\r\n"
               "QUIT\r\n" % (addr, pw))

        def multi():
            first = c.readline()
            self.assertTrue(first.startswith(b"+OK"), first)
            out = b""
            while True:
                line = c.readline()
                self.assertTrue(line, "EOF inside a multi-line response")
                if line == b".\r\n":
                    return out
                out += line[1:] if line.startswith(b".") else line

        for _ in range(2):
            self.assertTrue(c.readline().startswith(b"+OK"))
        self.assertTrue(c.readline().startswith(b"+OK 2 "))
        split_trace(multi(), msgs[0])
        self.assertEqual(len(multi().splitlines()), 2)
        split_trace(multi(), msgs[1])
        self.assertTrue(c.readline().startswith(b"+OK"))
        self.assertTrue(c.readline().startswith(b"+OK"))
        self.assertTrue(c.is_closed(5))
        p = self.pop(addr, pw)
        self.assertEqual(p.stat()[0], 1)

    def test_bad_arguments(self):
        addr, pw, _ = self.new_user(1)
        c = self.raw_pop("pop3s")
        self.assertTrue(self.pcmd(c, "USER " + addr).startswith("+OK"))
        self.assertTrue(self.pcmd(c, "PASS " + pw).startswith("+OK"))
        for bad in ("RETR", "RETR 0", "RETR -1", "RETR 1x", "RETR 99999999999999999999",
                    "TOP 1", "TOP 1 -1", "DELE abc", "LIST 2", "XYZZY"):
            with self.subTest(command=bad):
                self.assertTrue(self.pcmd(c, bad).startswith("-ERR"), bad)
        self.assertTrue(self.pcmd(c, "STAT").startswith("+OK 1 "))

    def test_dele_only_at_quit(self):
        addr, pw, msgs = self.new_user(3)
        p = self.pop(addr, pw)
        p.dele(1)
        p.dele(3)
        # drop the connection without QUIT
        p.sock.shutdown(socket.SHUT_RDWR)
        p.close()
        time.sleep(1.0)
        p = self.pop(addr, pw)
        self.assertEqual(p.stat()[0], 3, "a dropped session deleted messages")
        p.dele(1)
        p.dele(3)
        p.quit()
        p = self.pop(addr, pw)
        self.assertEqual(p.stat()[0], 1)
        _, data = pop3_retr_exact(p, 1)
        split_trace(data, msgs[1])

    def test_uidl_stable_across_sessions_and_deletions(self):
        addr, pw, msgs = self.new_user(4)

        def by_content(pp):
            out = {}
            for n, uid in pop3_uidls(pp).items():
                _, data = pop3_retr_exact(pp, n)
                out[hashlib.sha256(data).hexdigest()] = uid
            return out

        p = self.pop(addr, pw)
        first = by_content(p)
        p.quit()
        p = self.pop(addr, pw)
        self.assertEqual(by_content(p), first)
        p.dele(2)
        p.quit()
        self.assertEqual(self.server.deliver(addr, make_message("late", "late\n", to=addr)), 250)
        p = self.pop(addr, pw)
        now = by_content(p)
        p.quit()
        self.assertEqual(len(now), 4)
        kept = {h: u for h, u in now.items() if h in first}
        self.assertEqual(len(kept), 3)
        for h, u in kept.items():
            self.assertEqual(u, first[h])
        new_uid = [u for h, u in now.items() if h not in first][0]
        self.assertNotIn(new_uid, first.values(), "a UID was reused")

    def test_concurrent_sessions_same_maildrop(self):
        addr, pw, msgs = self.new_user(4)
        a = self.pop(addr, pw)
        b = self.pop(addr, pw)
        ua, ub = pop3_uidls(a), pop3_uidls(b)
        self.assertEqual(ua, ub)
        self.assertEqual(a.stat(), b.stat())
        a.dele(1)
        self.assertTrue(a.quit().startswith(b"+OK"))
        # b keeps its own consistent view until it quits
        self.assertEqual(b.stat()[0], 4)
        self.assertEqual(pop3_uidls(b), ub)
        _, data = pop3_retr_exact(b, 3)
        split_trace(data, msgs[2])
        b.dele(2)
        self.assertTrue(b.quit().startswith(b"+OK"))
        c = self.pop(addr, pw)
        left = pop3_uidls(c)
        self.assertEqual(sorted(left.values()), sorted([ua[3], ua[4]]))

    # ------------------------------------------------------------ content

    def test_dot_stuffing_round_trip(self):
        body = (b".\r\n..\r\n...\r\n.leading\r\n..double\r\n. space\r\n"
                b"end .\r\n.\r\n")
        msg = make_message("dots", b"") + body
        addr, pw, _ = self.new_user(0)
        self.assertEqual(self.server.deliver(addr, msg), 250)
        p = self.pop(addr, pw)
        sizes = pop3_list_sizes(p)
        _, data = pop3_retr_exact(p, 1)
        self.assertEqual(len(data), sizes[1])
        split_trace(data, msg)
        # the wire form really is stuffed: read it raw
        c = self.raw_pop("pop3s")
        self.assertTrue(self.pcmd(c, "USER " + addr).startswith("+OK"))
        self.assertTrue(self.pcmd(c, "PASS " + pw).startswith("+OK"))
        c.send("RETR 1\r\n")
        self.assertTrue(c.readline().startswith(b"+OK"))
        wire = b""
        while not wire.endswith(b"\r\n.\r\n"):
            line = c.readline()
            self.assertTrue(line, "EOF inside RETR")
            wire += line
        self.assertTrue(wire.endswith(b"\r\n..\r\n...\r\n....\r\n..leading\r\n"
                                      b"...double\r\n.. space\r\nend .\r\n..\r\n.\r\n"),
                        wire[-120:])

    def test_five_megabyte_message(self):
        rnd = random.Random(1939)
        lines = []
        total = 0
        while total < 5 * 1024 * 1024:
            n = rnd.randint(0, 200)
            line = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz .,;:-") for _ in range(n))
            lines.append(line)
            total += n + 2
        msg = make_message("five mb", "\n".join(lines) + "\n")
        self.assertGreater(len(msg), 5 * 1024 * 1024)
        addr, pw, _ = self.new_user(0)
        self.assertEqual(self.server.deliver(addr, msg), 250)
        p = self.pop(addr, pw)
        sizes = pop3_list_sizes(p)
        t = time.monotonic()
        _, data = pop3_retr_exact(p, 1)
        self.assertLess(time.monotonic() - t, 30)
        self.assertEqual(len(data), sizes[1])
        split_trace(data, msg)
        self.assertTrue(p.quit().startswith(b"+OK"))

    # ------------------------------------------------------------ curl

    def test_curl_pop3s_list_and_retr(self):
        addr, pw, msgs = self.new_user(2)
        p = self.pop(addr, pw)
        sizes = pop3_list_sizes(p)
        _, first = pop3_retr_exact(p, 1)
        p.quit()
        base = ["curl", "-sS", "--max-time", "30", "-k", "-u", "%s:%s" % (addr, pw)]
        for url, extra in (("pop3s://127.0.0.1:%d" % self.server.port("pop3s"), []),
                           ("pop3://127.0.0.1:%d" % self.server.port("pop3"), ["--ssl-reqd"])):
            with self.subTest(url=url):
                r = subprocess.run(base + extra + [url + "/"], capture_output=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                listing = {int(a): int(b) for a, b in
                           (l.split() for l in r.stdout.decode().splitlines() if l.strip())}
                self.assertEqual(listing, sizes)
                r = subprocess.run(base + extra + [url + "/1"], capture_output=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, first)


if __name__ == "__main__":
    unittest.main()
