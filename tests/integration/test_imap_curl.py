# SPDX-License-Identifier: ISC
"""curl as an independent IMAP client: imaps:// and imap:// with STARTTLS.

curl lists folders, fetches a message by UID (whole and one section),
searches, runs a custom command and uploads a message with APPEND; what it
gets must be byte-identical to what the raw client sees.  Without TLS the
login must fail.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from imap_client import ImapTestCase, item
from postroom_harness import make_message, split_trace, unique


@unittest.skipUnless(shutil.which("curl"), "curl is not installed")
class ImapCurlTests(ImapTestCase):
    LABEL = "imap-curl"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="postroom-it-curl-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def curl(self, url, *args, user=None, tls_required=True):
        cmd = ["curl", "-sS", "--max-time", "60", "-k", "-u", "%s:%s" % user]
        if tls_required:
            cmd.append("--ssl-reqd")
        cmd += list(args) + [url]
        return subprocess.run(cmd, capture_output=True, timeout=90)

    def url(self, role, path=""):
        return "%s://127.0.0.1:%d/%s" % (role, self.server.port(role), path)

    def setUp(self):
        self.addr, self.pw = self.new_user("c")
        self.user = (self.addr, self.pw)
        self.token = unique("curl")
        self.msg = make_message("curl " + self.token, "fetched by curl\nline 2\n", to=self.addr)
        self.deliver(self.addr, self.msg)
        c = self.session(self.addr, self.pw)
        c.select("INBOX")
        self.uid = c.uids()[0]
        it = c.fetch(str(self.uid), "(BODY.PEEK[] BODY.PEEK[TEXT])", uid=True)[1]
        self.full = item(it, "BODY[]")
        self.text = item(it, "BODY[TEXT]")
        split_trace(self.full, self.msg)
        c.logout()

    def test_list_over_imaps_and_starttls(self):
        for role in ("imaps", "imap"):
            r = self.curl(self.url(role), user=self.user)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode("utf-8", "replace")
            names = re.findall(r'^\* LIST \([^)]*\) "/" "?([^"\r\n]+)"?\r?$', out, re.M)
            self.assertTrue({"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} <= set(names),
                            "%s LIST: %r" % (role, out))

    def test_fetch_by_uid_identical(self):
        for role in ("imaps", "imap"):
            r = self.curl(self.url(role, "INBOX;UID=%d" % self.uid), user=self.user)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, self.full, "%s: fetched bytes differ" % role)
        r = self.curl(self.url("imaps", "INBOX;UID=%d;SECTION=TEXT" % self.uid), user=self.user)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.text)

    def test_search_and_custom_command(self):
        r = self.curl(self.url("imaps", "INBOX?SUBJECT%%20%s" % self.token), user=self.user)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"^\* SEARCH 1\s*$")
        r = self.curl(self.url("imaps", "INBOX"), "-X", "STATUS INBOX (MESSAGES UNSEEN)",
                      user=self.user)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r'\* STATUS "?INBOX"? \(MESSAGES 1 UNSEEN [01]\)')

    def test_upload_appends(self):
        up = make_message("uploaded " + unique(), "sent with curl -T\n")
        path = os.path.join(self.tmp, "up.eml")
        with open(path, "wb") as f:
            f.write(up)
        r = self.curl(self.url("imaps", "Sent"), "-T", path, user=self.user)
        self.assertEqual(r.returncode, 0, r.stderr)
        c = self.session(self.addr, self.pw)
        c.select("Sent")
        self.assertEqual(item(c.fetch("1:*", "BODY.PEEK[]")[1], "BODY[]"), up)

    def test_login_without_tls_fails(self):
        r = self.curl(self.url("imap", "INBOX;UID=%d" % self.uid), user=self.user,
                      tls_required=False)
        self.assertNotEqual(r.returncode, 0, "curl logged in without TLS")
        self.assertNotIn(self.token.encode(), r.stdout)
        r = self.curl(self.url("imaps"), user=(self.addr, self.pw + "wrong"))
        self.assertNotEqual(r.returncode, 0, "wrong password accepted")


if __name__ == "__main__":
    unittest.main()
