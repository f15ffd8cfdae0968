# SPDX-License-Identifier: ISC
"""fetchmail: the fetch-and-deliver client, over IMAP and POP3.

fetchmail logs in (implicit TLS, or STARTTLS/STLS with the certificate
checked against "localhost"), downloads every message and hands each one
to a delivery program with LF line ends.  What it hands over must be the
stored message byte for byte (after turning LF back into CRLF), with
"keep" the messages stay on the server marked \\Seen, and without it they
are gone from the server afterwards.  A second run with "keep" fetches
nothing new (it remembers what it saw by UID).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from imap_client import ImapTestCase, flagset, item
from postroom_harness import make_message, unique

# Stores each message it is given as a new file in the directory named.
STORE_SCRIPT = r"""
import os, sys, time
data = sys.stdin.buffer.read()
name = "%d-%d" % (time.time_ns(), os.getpid())
with open(os.path.join(sys.argv[1], name + ".tmp"), "wb") as f:
    f.write(data)
os.rename(os.path.join(sys.argv[1], name + ".tmp"), os.path.join(sys.argv[1], name))
"""


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@unittest.skipUnless(shutil.which("fetchmail"), "fetchmail is not installed")
class FetchmailTests(ImapTestCase):
    LABEL = "fetchmail"

    def setUp(self):
        self.addr, self.pw = self.new_user("f")
        self.work = tempfile.mkdtemp(prefix="postroom-it-fetchmail-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.out = os.path.join(self.work, "out")
        os.makedirs(self.out)
        self.script = os.path.join(self.work, "store.py")
        with open(self.script, "w") as f:
            f.write(STORE_SCRIPT)

    def messages(self):
        """Test messages: plain, UTF-8 8-bit, and a big one with lines that
        start with a dot (POP3 dot-stuffing) and with "From "."""
        big = "".join(".line %d with a leading dot\nFrom here on, line %d\n" % (i, i)
                      for i in range(4000))
        return [
            make_message("plain " + unique(), "hello\n"),
            make_message("Grüße " + unique(), "Ünïcödé body: ½ €\n",
                         extra_headers=["Content-Type: text/plain; charset=utf-8",
                                        "Content-Transfer-Encoding: 8bit"]),
            make_message("big " + unique(), big),
        ]

    def fetchmail(self, protocol, role, keep, starttls=False):
        rc = os.path.join(self.work, "fetchmailrc")
        cert = os.path.join(self.server.data_dir, "tls", "cert.pem")
        tls = ("sslproto 'TLS1.2+'" if starttls else "ssl") + \
            " sslcertck sslcertfile '%s'" % cert
        with open(rc, "w") as f:
            f.write("set no syslog\n"
                    "poll localhost service %d protocol %s timeout 60 uidl:\n"
                    "  user '%s' there with password '%s' is '%s' here\n"
                    "  %s\n"
                    "  %s no rewrite\n"
                    "  mda '%s %s %s'\n"
                    % (self.server.port(role), protocol, self.addr, self.pw,
                       os.environ.get("USER", "root"), tls,
                       "keep" if keep else "no keep",
                       sys.executable, self.script, self.out))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=self.work, FETCHMAILHOME=self.work)
        r = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "--invisible"],
                           capture_output=True, timeout=120, env=env, cwd=self.work,
                           stdin=subprocess.DEVNULL)
        # 0: mail fetched, 1: no new mail; anything else is a failure
        if r.returncode not in (0, 1):
            self.fail("fetchmail exit %d:\n%s%s\nserver log:\n%s" % (
                r.returncode, r.stdout.decode("utf-8", "replace"),
                r.stderr.decode("utf-8", "replace"), self.server.log_tail(20)))
        return r.returncode

    def fetched(self):
        out = []
        for name in sorted(os.listdir(self.out)):
            if not name.endswith(".tmp"):
                with open(os.path.join(self.out, name), "rb") as f:
                    out.append(f.read())
        return out

    def assert_same_messages(self, got, sent):
        self.assertEqual(len(got), len(sent), "fetched %d of %d" % (len(got), len(sent)))
        # the server adds its trace fields on top; the rest is the message
        for data in got:
            data = crlf(data)
            self.assertTrue(any(data.endswith(m) for m in sent),
                            "a fetched message differs: %r" % data[:300])
        for m in sent:
            self.assertTrue(any(crlf(d).endswith(m) for d in got))

    def test_imaps_keep(self):
        sent = self.messages()
        for m in sent:
            self.deliver(self.addr, m)
        self.assertEqual(self.fetchmail("IMAP", "imaps", keep=True), 0)
        self.assert_same_messages(self.fetched(), sent)
        # kept on the server, now \Seen
        c, r = self.selected(self.addr, self.pw)
        self.assertEqual(r.of("EXISTS")[-1].number(), len(sent))
        flags = c.ok("FETCH", "1:*", "(FLAGS)").fetches()
        for n in range(1, len(sent) + 1):
            self.assertIn("\\Seen", flagset(item(flags[n], "FLAGS")))
        c.logout()
        # nothing new the second time
        self.assertEqual(self.fetchmail("IMAP", "imaps", keep=True), 1)
        self.assertEqual(len(self.fetched()), len(sent))

    def test_imap_starttls_delete(self):
        sent = self.messages()[:2]
        for m in sent:
            self.deliver(self.addr, m)
        self.assertEqual(self.fetchmail("IMAP", "imap", keep=False, starttls=True), 0)
        self.assert_same_messages(self.fetched(), sent)
        c, r = self.selected(self.addr, self.pw)
        self.assertEqual(r.of("EXISTS")[-1].number(), 0)
        c.logout()

    def test_pop3s_delete(self):
        sent = self.messages()
        for m in sent:
            self.deliver(self.addr, m)
        self.assertEqual(self.fetchmail("POP3", "pop3s", keep=False), 0)
        self.assert_same_messages(self.fetched(), sent)
        c, r = self.selected(self.addr, self.pw)
        self.assertEqual(r.of("EXISTS")[-1].number(), 0)
        c.logout()

    def test_pop3_stls_keep(self):
        sent = self.messages()[1:]
        for m in sent:
            self.deliver(self.addr, m)
        self.assertEqual(self.fetchmail("POP3", "pop3", keep=True, starttls=True), 0)
        self.assert_same_messages(self.fetched(), sent)
        self.assertEqual(self.fetchmail("POP3", "pop3", keep=True, starttls=True), 1)
        self.assertEqual(len(self.fetched()), len(sent))


if __name__ == "__main__":
    unittest.main()
