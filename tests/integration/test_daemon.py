# SPDX-License-Identifier: ISC
"""The daemon as an administrator sees it: configuration checks, first
start, SIGHUP reload, SIGTERM, and the `postroom` admin CLI used while the
daemon runs.
"""

import os
import signal
import socket
import stat
import subprocess
import time
import unittest

import poplib

from postroom_harness import (
    HarnessError, Server, ServerTestCase, insecure_context, make_message,
    unique)


class ConfigCheckTests(unittest.TestCase):
    """postroomd --check-config needs no running daemon."""

    def setUp(self):
        self.srv = Server("checkconfig", accounts=False)
        self.addCleanup(self.srv.cleanup)

    def check(self, text):
        with open(self.srv.conf_path, "w") as f:
            f.write(text)
        return subprocess.run([self.srv.daemon_bin, "-c", self.srv.conf_path,
                               "--check-config"], capture_output=True, timeout=30)

    def test_good_config(self):
        r = self.check(self.srv.config_text())
        out = r.stdout.decode() + r.stderr.decode()
        self.assertEqual(r.returncode, 0, out)
        # the effective configuration is printed, with our values in it
        self.assertIn(str(self.srv.port("pop3s")), out)
        self.assertIn("mx.example.test", out)
        self.assertFalse(os.path.exists(self.srv.data_dir), "--check-config created files")

    def test_bad_key_names_its_line(self):
        lines = self.srv.config_text().splitlines()
        at = lines.index("[limits]") + 1
        lines.insert(at, "max_recipeints = 7")
        r = self.check("\n".join(lines) + "\n")
        self.assertNotEqual(r.returncode, 0)
        err = r.stdout.decode() + r.stderr.decode()
        self.assertRegex(err, r"\b%d\b" % (at + 1), "line number missing: %r" % err)
        self.assertIn("max_recipeints", err)

    def test_bad_values_and_sections(self):
        base = self.srv.config_text()
        for bad in ("[limits]\nmax_recipients = lots\n",
                    "[listen]\nsmtp = 127.0.0.1:99999\n",
                    "[smtp]\nbare_lf = sometimes\n",
                    "[smtp]\ntrusted_networks = 300.1.2.3/8\n",
                    "[nosuchsection]\nx = 1\n",
                    "this is not ini\n"):
            with self.subTest(bad=bad):
                r = self.check(base + "\n" + bad)
                self.assertNotEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())

    def test_missing_config_file(self):
        r = subprocess.run([self.srv.daemon_bin, "-c", self.srv.conf_path + ".missing",
                            "--check-config"], capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)


def stop_clean(test, srv):
    """Cleanup that fails the test unless the daemon exits with status 0."""
    problem = srv.cleanup()
    if problem:
        test.fail(problem)


class FirstStartTests(unittest.TestCase):

    def test_first_start(self):
        srv = Server("firststart", accounts=False)
        self.addCleanup(stop_clean, self, srv)
        srv.start()
        log = srv.log()
        listening = [l for l in log.splitlines() if "listening" in l]
        self.assertTrue(listening, "no 'listening' line in the log:\n" + log)
        for role, port in srv.ports.items():
            self.assertRegex(listening[0], r"%s=127\.0\.0\.1:%d\b" % (role, port))

        # a certificate was made for the configured name
        cert = os.path.join(srv.data_dir, "tls", "cert.pem")
        key = os.path.join(srv.data_dir, "tls", "key.pem")
        self.assertTrue(os.path.exists(cert))
        r = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName"],
                           capture_output=True, timeout=30)
        san = r.stdout.decode()
        for name in ("DNS:mx.example.test", "DNS:localhost", "IP Address:127.0.0.1"):
            self.assertIn(name, san)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode) & 0o077, 0, "key readable by others")

        # the quick-start account
        pwfile = os.path.join(srv.data_dir, "initial-password")
        self.assertTrue(os.path.exists(pwfile))
        self.assertEqual(stat.S_IMODE(os.stat(pwfile).st_mode), 0o600)
        with open(pwfile) as f:
            # the password, possibly after a label ("user@example.org: pw")
            password = f.read().split()[-1]
        self.assertIn("example.org", srv.cli_ok("domain", "list"))
        p = srv.pop3("user@example.org", password)
        self.assertEqual(p.stat()[0], 0)
        p.quit()

        if os.geteuid() == 0:
            with open("/proc/%d/status" % srv.pid) as f:
                uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
            self.assertNotIn("0", uids, "still root after start: %r" % uids)

        # a second start keeps the data: same certificate, same account
        with open(cert, "rb") as f:
            cert_bytes = f.read()
        with open(pwfile, "rb") as f:
            pw_bytes = f.read()
        srv.restart()
        with open(cert, "rb") as f:
            self.assertEqual(f.read(), cert_bytes, "certificate replaced on restart")
        with open(pwfile, "rb") as f:
            self.assertEqual(f.read(), pw_bytes, "initial password replaced on restart")
        p = srv.pop3("user@example.org", password)
        p.quit()


class SignalTests(unittest.TestCase):

    def setUp(self):
        self.srv = Server("signals", {"limits": {"max_connections_per_ip": "20"}})
        self.addCleanup(stop_clean, self, self.srv)
        self.srv.start()

    def smtp_session(self):
        c = self.srv.raw("smtp", timeout=10)
        self.addCleanup(c.close)
        line = c.readline()
        return c, line

    def test_sighup_reload(self):
        old = []
        for _ in range(3):
            c, line = self.smtp_session()
            self.assertTrue(line.startswith(b"220"), line)
            c.ehlo()
            old.append(c)
        m = self.srv.reload({"limits": {"max_connections_per_ip": "4"}})
        self.assertTrue(m)
        self.assertTrue(self.srv.alive())
        for c in old:
            self.assertEqual(c.cmd("NOOP")[0], 250, "existing session lost on reload")
        c, line = self.smtp_session()
        self.assertTrue(line.startswith(b"220"), line)
        c, line = self.smtp_session()
        self.assertTrue(line == b"" or line.startswith(b"421"),
                        "new limit not applied after reload: %r" % line)

        # a broken file is refused and the running config stays
        with open(self.srv.conf_path, "a") as f:
            f.write("\n[limits]\nnot_a_key = 1\n")
        mark = self.srv.log_size()
        self.srv.signal(signal.SIGHUP)
        time.sleep(1.0)
        self.assertTrue(self.srv.alive(), "died on a bad reload:\n" + self.srv.log_tail())
        self.assertRegex(self.srv.log(mark), r"not_a_key|line \d+")
        for c in old:
            self.assertEqual(c.cmd("NOOP")[0], 250)
        c, line = self.smtp_session()
        self.assertTrue(line == b"" or line.startswith(b"421"),
                        "limit lost after a bad reload: %r" % line)

    def test_sigterm_exits_cleanly(self):
        c, line = self.smtp_session()
        self.assertTrue(line.startswith(b"220"))
        c.ehlo()
        p = poplib.POP3_SSL("127.0.0.1", self.srv.port("pop3s"), timeout=10,
                            context=insecure_context())
        self.addCleanup(p.close)
        t = time.monotonic()
        self.srv.signal(signal.SIGTERM)
        try:
            self.srv.proc.wait(8)
        except subprocess.TimeoutExpired:
            self.fail("still running 8 s after SIGTERM")
        self.assertLess(time.monotonic() - t, 5.0)
        self.assertEqual(self.srv.proc.returncode, 0, self.srv.log_tail())
        code, lines = c.reply()
        self.assertEqual(code, 421, "idle SMTP session not told: %r" % lines)
        self.assertTrue(c.is_closed(2))
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.srv.port("smtp")), timeout=2).close()


class CliTests(ServerTestCase):
    LABEL = "cli"

    def run_cli(self, *args, input=None):
        r = self.server.cli(*args, input=input)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    def test_domains(self):
        d = unique("dom") + ".test"
        self.assertEqual(self.run_cli("domain", "add", d)[0], 0)
        rc, out, err = self.run_cli("domain", "add", d)
        self.assertEqual(rc, 1, "duplicate domain: %r" % err)
        self.assertTrue(err.strip(), "no error message")
        self.assertIn(d, self.run_cli("domain", "list")[1].split())
        self.assertEqual(self.run_cli("domain", "add", "UPPER-" + d)[0], 0)
        self.assertIn("upper-" + d, self.run_cli("domain", "list")[1].split())
        self.assertEqual(self.run_cli("user", "add", "u@" + d, "--password-stdin",
                                      input=b"pw-12345\n")[0], 0)
        self.assertEqual(self.run_cli("domain", "del", d)[0], 1, "deleted a non-empty domain")
        self.assertEqual(self.run_cli("user", "del", "u@" + d)[0], 0)
        self.assertEqual(self.run_cli("domain", "del", d)[0], 0)
        self.assertNotIn(d, self.run_cli("domain", "list")[1].split())
        self.assertEqual(self.run_cli("domain", "del", d)[0], 1, "deleted a missing domain")

    def test_users_live(self):
        addr = unique("live") + "@example.test"
        pw = "pw-" + unique("x")
        rc, out, err = self.run_cli("user", "add", addr, "--password-stdin",
                                    input=(pw + "\n").encode())
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.run_cli("user", "add", addr, "--password-stdin",
                                      input=b"other\n")[0], 1)
        self.assertEqual(self.run_cli("user", "add", "x@nosuchdomain.test",
                                      "--password-stdin", input=b"pw\n")[0], 1)
        self.assertEqual(self.run_cli("user", "add", "not an address",
                                      "--password-stdin", input=b"pw\n")[0], 1)
        self.assertIn(addr, self.run_cli("user", "list")[1])
        self.assertIn(addr, self.run_cli("user", "list", "example.test")[1])
        # the running daemon sees the new user at once
        self.assertEqual(self.server.deliver(addr, make_message("hi", "hi\n", to=addr)), 250)
        p = self.server.pop3(addr, pw)
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        # password change
        pw2 = "pw2-" + unique("y")
        self.assertEqual(self.run_cli("user", "passwd", addr, "--password-stdin",
                                      input=(pw2 + "\n").encode())[0], 0)
        p = self.server.pop3(addr, pw2)
        p.quit()
        # and its removal
        self.assertEqual(self.run_cli("user", "del", addr)[0], 0)
        self.assertNotIn(addr, self.run_cli("user", "list")[1])
        self.assertEqual(self.run_cli("user", "del", addr)[0], 1)
        c = self.server.raw("smtp")
        try:
            c.reply()
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % addr)[0], 550)
        finally:
            c.close()

    def test_aliases_live(self):
        src = unique("al") + "@example.test"
        self.assertEqual(self.run_cli("alias", "add", src, "bob@example.test")[0], 0)
        self.assertEqual(self.run_cli("alias", "add", src, "bob@example.test")[0], 1)
        self.assertEqual(self.run_cli("alias", "add", "x@notlocal.test", "bob@example.test")[0], 1)
        out = self.run_cli("alias", "list")[1]
        self.assertTrue(any(src in l and "bob@example.test" in l for l in out.splitlines()), out)
        token = unique("alias")
        self.assertEqual(self.server.deliver(src, make_message(token, "x\n", to=src)), 250)
        self.assertEqual(len(self.server.find("bob@example.test", token)), 1)
        self.assertEqual(self.run_cli("alias", "del", src, "bob@example.test")[0], 0)
        self.assertNotIn(src, self.run_cli("alias", "list")[1])
        self.assertEqual(self.run_cli("alias", "del", src, "bob@example.test")[0], 1)
        with self.assertRaises(HarnessError):
            self.server.deliver(src, make_message(token, "x\n", to=src))

    def test_usage_errors_and_help(self):
        for args in ((), ("frobnicate",), ("domain",), ("domain", "add"),
                     ("user", "explode", "a@b.c"), ("alias", "add", "only-one@example.test")):
            with self.subTest(args=args):
                rc, out, err = self.run_cli(*args)
                self.assertEqual(rc, 2, (out, err))
        for args in (("--help",), ("domain", "--help"), ("user", "--help"), ("alias", "--help")):
            with self.subTest(args=args):
                rc, out, err = self.run_cli(*args)
                self.assertEqual(rc, 0, err)
                self.assertTrue((out + err).strip())

    def test_mailbox_and_queue_list(self):
        rc, out, err = self.run_cli("mailbox", "list", "alice@example.test")
        self.assertEqual(rc, 0, err)
        for name in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
            self.assertRegex(out, r"\b%s\b" % name)
        self.assertEqual(self.run_cli("mailbox", "list", "nobody@example.test")[0], 1)
        self.assertEqual(self.run_cli("queue", "list")[0], 0)


if __name__ == "__main__":
    unittest.main()
