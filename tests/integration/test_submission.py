# SPDX-License-Identifier: ISC
"""Message submission: port 587 with STARTTLS and port 465 with implicit TLS.

Covers what real clients do: smtplib, Outlook's "AUTH LOGIN <user>",
Windows Mail's "AUTH PLAIN" with a padded continuation line, curl with
--ssl-reqd and smtps://, and swaks.  Authentication is refused before TLS
(loopback is not special), a user may send only as an address of their own,
and mail for the outside is queued (seen through `postroom queue list`).
"""

import base64
import os
import shutil
import subprocess
import tempfile
import unittest

from postroom_harness import (
    USERS, ServerTestCase, b64, insecure_context, make_message, split_trace,
    unique)

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"


class SubmissionTests(ServerTestCase):
    LABEL = "submission"

    def session(self, tls=True):
        c = self.server.raw("submission")
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        kw, _ = c.ehlo()
        if tls:
            self.assertIn("STARTTLS", kw)
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            c.starttls()
            c.ehlo()
        return c

    def login(self, c, user=ALICE):
        code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (user, USERS[user])))
        self.assertEqual(code, 235, lines)

    def tmpfile(self, data):
        d = tempfile.mkdtemp(prefix="postroom-it-sub-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "msg.eml")
        with open(path, "wb") as f:
            f.write(data)
        return path

    # ------------------------------------------------------------ policy

    def test_mail_before_auth_is_530(self):
        for tls in (False, True):
            with self.subTest(tls=tls):
                c = self.session(tls)
                code, lines = c.cmd("MAIL FROM:<%s>" % ALICE)
                self.assertEqual(code, 530, lines)

    def test_auth_before_starttls_refused(self):
        c = self.session(tls=False)
        kw, lines = c.ehlo()
        self.assertNotIn("AUTH", kw, lines)
        code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (ALICE, USERS[ALICE])))
        self.assertEqual(code, 538, lines)
        self.assertEqual(c.cmd("AUTH LOGIN")[0], 538)
        # still not authenticated
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE)[0], 530)

    def test_wrong_password_535(self):
        c = self.session()
        code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0wrong-password" % CAROL))
        self.assertEqual(code, 535, lines)
        self.assertTrue(lines[0].startswith("5.7.8"), lines)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % CAROL)[0], 530)
        code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (CAROL, USERS[CAROL])))
        self.assertEqual(code, 235, lines)

    # ------------------------------------------------------------ mechanisms

    def test_auth_plain_smtplib(self):
        s = self.server.smtp("submission")
        try:
            s.starttls(context=insecure_context())
            s.ehlo()
            self.assertIn("plain", s.esmtp_features.get("auth", "").lower())
            code, _ = s.login(ALICE, USERS[ALICE])
            self.assertEqual(code, 235)
            token = unique("sub")
            msg = make_message(token, "submitted\n", sender=ALICE, to=BOB)
            self.assertEqual(s.sendmail(ALICE, [BOB], msg), {})
        finally:
            s.quit()
        got = self.server.find(BOB, token)
        self.assertEqual(len(got), 1)
        prefix = split_trace(got[0], msg)
        self.assertIn(b"ESMTPSA", prefix, "Received should say ESMTPSA: %r" % prefix)

    def test_plain_authzid_must_match(self):
        c = self.session()
        code, lines = c.cmd("AUTH PLAIN " + b64("%s\0%s\0%s" % (BOB, ALICE, USERS[ALICE])))
        self.assertEqual(code, 535, "logged in as alice acting for bob: %r" % lines)
        code, lines = c.cmd("AUTH PLAIN " + b64("%s\0%s\0%s" % (ALICE, ALICE, USERS[ALICE])))
        self.assertEqual(code, 235, lines)

    def test_auth_twice_is_503(self):
        c = self.session()
        self.login(c)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (ALICE, USERS[ALICE])))[0], 503)

    def test_auth_login_with_initial_response_outlook(self):
        c = self.session()
        code, lines = c.cmd("AUTH LOGIN " + b64(ALICE))
        self.assertEqual(code, 334, lines)
        self.assertEqual(base64.b64decode(lines[0]).lower(), b"password:")
        code, lines = c.cmd(b64(USERS[ALICE]))
        self.assertEqual(code, 235, lines)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE)[0], 250)

    def test_auth_login_two_steps(self):
        c = self.session()
        code, lines = c.cmd("AUTH LOGIN")
        self.assertEqual(code, 334, lines)
        self.assertEqual(base64.b64decode(lines[0]).lower(), b"username:")
        code, lines = c.cmd(b64(ALICE))
        self.assertEqual(code, 334, lines)
        code, lines = c.cmd(b64(USERS[ALICE]))
        self.assertEqual(code, 235, lines)

    def test_auth_plain_continuation_with_spaces_windows_mail(self):
        for verb in ("AUTH PLAIN", "AUTH  PLAIN"):
            with self.subTest(command=verb):
                c = self.session()
                code, lines = c.cmd(verb)
                self.assertEqual(code, 334, lines)
                code, lines = c.cmd("  %s  " % b64("\0%s\0%s" % (ALICE, USERS[ALICE])))
                self.assertEqual(code, 235, lines)
                c.close()

    def test_auth_cancel_and_bad_base64(self):
        c = self.session()
        self.assertEqual(c.cmd("AUTH LOGIN")[0], 334)
        code, lines = c.cmd("*")
        self.assertEqual(code, 501, lines)
        code, lines = c.cmd("AUTH PLAIN !!!not-base64!!!")
        self.assertEqual(code, 501, lines)
        code, lines = c.cmd("AUTH CRAM-FOO")
        self.assertEqual(code, 504, lines)
        # a continuation line that is not base64 ends the exchange
        self.assertEqual(c.cmd("AUTH LOGIN")[0], 334)
        code, lines = c.cmd("@@@")
        self.assertEqual(code, 501, lines)
        # and the session is not left waiting: commands work, AUTH too
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.login(c)

    # ------------------------------------------------------------ sending

    def test_mail_from_someone_else_is_553(self):
        c = self.session()
        self.login(c)
        code, lines = c.cmd("MAIL FROM:<%s>" % BOB)
        self.assertEqual(code, 553, lines)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE)[0], 250)

    def test_send_to_outside_is_queued(self):
        remote = "out-%s@outside.test" % unique("q")
        c = self.session()
        self.login(c)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE)[0], 250)
        code, lines = c.cmd("RCPT TO:<%s>" % remote)
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(make_message(unique("out"), "to the world\n", sender=ALICE, to=remote)
               + b".\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        out = self.server.cli_ok("queue", "list")
        self.assertIn(remote, out)
        self.assertIn(ALICE, [l for l in out.splitlines() if remote in l][0])

    def test_implicit_tls_465(self):
        s = self.server.smtp("submissions")
        try:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            self.assertTrue(s.has_extn("auth"))
            self.assertFalse(s.has_extn("starttls"))
            s.login(ALICE, USERS[ALICE])
            token = unique("465")
            msg = make_message(token, "implicit tls\n", sender=ALICE, to=BOB)
            self.assertEqual(s.sendmail(ALICE, [BOB], msg), {})
        finally:
            s.quit()
        got = self.server.find(BOB, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], msg)

    # ------------------------------------------------------------ real clients

    def curl_send(self, url, extra):
        token = unique("curl")
        msg = make_message(token, "sent by curl\n.a line with a leading dot\nend\n",
                           sender=ALICE, to=BOB)
        path = self.tmpfile(msg)
        r = subprocess.run(
            ["curl", "-sS", "--max-time", "30", "-k", "--url", url] + extra +
            ["--mail-from", ALICE, "--mail-rcpt", BOB, "--upload-file", path,
             "-u", "%s:%s" % (ALICE, USERS[ALICE])],
            capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode("utf-8", "replace"))
        got = self.server.find(BOB, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], msg)

    def test_curl_smtp_starttls(self):
        self.curl_send("smtp://127.0.0.1:%d/client.outside.test"
                       % self.server.port("submission"), ["--ssl-reqd"])

    def test_curl_smtps(self):
        self.curl_send("smtps://127.0.0.1:%d/client.outside.test"
                       % self.server.port("submissions"), [])

    def test_curl_without_tls_cannot_authenticate(self):
        path = self.tmpfile(make_message(unique("curl"), "x\n", sender=ALICE, to=BOB))
        r = subprocess.run(
            ["curl", "-sS", "--max-time", "30", "--url",
             "smtp://127.0.0.1:%d/client.outside.test" % self.server.port("submission"),
             "--mail-from", ALICE, "--mail-rcpt", BOB, "--upload-file", path,
             "-u", "%s:%s" % (ALICE, USERS[ALICE])],
            capture_output=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, "curl sent without TLS")

    def test_swaks_tls_auth_plain(self):
        token = unique("swaks")
        r = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.server.port("submission")),
             "--tls", "--auth", "PLAIN", "--auth-user", ALICE,
             "--auth-password", USERS[ALICE], "--from", ALICE, "--to", BOB,
             "--helo", "client.outside.test",
             "--header", "Subject: " + token, "--body", "swaks body line\n.dot line\n",
             "--timeout", "30"],
            capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout.decode("utf-8", "replace")[-2000:])
        got = self.server.find(BOB, token)
        self.assertEqual(len(got), 1)
        self.assertIn(b"\r\nswaks body line\r\n.dot line\r\n", got[0])


if __name__ == "__main__":
    unittest.main()
