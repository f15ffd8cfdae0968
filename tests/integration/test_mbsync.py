# SPDX-License-Identifier: ISC
"""mbsync (isync): a strict two-way sync between a local Maildir and
Postroom over IMAPS, with the server certificate verified for "localhost".

Both sides start with messages of their own; after "Sync All, Create Both,
Expunge Both" they must hold the same folders and, in each folder, the same
messages (bytes compared after dropping the X-TUID line mbsync adds and
turning CRLF into LF, Maildir's line end) with the same flags.  Then each
side changes flags, deletes a message and gains a new one (the server also
a nested folder), and after the next sync both sides agree again; a third
sync with no change must change nothing.
"""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from imap_client import ImapTestCase, flagset, item, list_entries, mailbox_arg
from postroom_harness import make_message, unique

# Maildir info letters and the IMAP flags they stand for
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                 "T": "\\Deleted"}
SYSTEM = set(MAILDIR_FLAGS.values())


def normalize(data):
    """Message bytes without mbsync's X-TUID header line, LF line ends."""
    data = data.replace(b"\r\n", b"\n")
    head, sep, body = data.partition(b"\n\n")
    lines = [l for l in head.split(b"\n") if not l.lower().startswith(b"x-tuid:")]
    return b"\n".join(lines) + sep + body


@unittest.skipUnless(shutil.which("mbsync"), "mbsync (isync) is not installed")
class MbsyncTests(ImapTestCase):
    LABEL = "mbsync"

    def setUp(self):
        self.addr, self.pw = self.new_user("m")
        self.work = tempfile.mkdtemp(prefix="postroom-it-mbsync-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.local = os.path.join(self.work, "mail")
        os.makedirs(self.local)
        self.rc = os.path.join(self.work, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(
                "IMAPAccount postroom\n"
                "Host localhost\n"
                "Port %d\n"
                "User %s\n"
                "Pass \"%s\"\n"
                "SSLType IMAPS\n"
                "CertificateFile %s\n"
                "Timeout 60\n"
                "\n"
                "IMAPStore remote\n"
                "Account postroom\n"
                "\n"
                "MaildirStore local\n"
                "Path %s/\n"
                "Inbox %s/INBOX\n"
                "SubFolders Verbatim\n"
                "\n"
                "Channel all\n"
                "Far :remote:\n"
                "Near :local:\n"
                "Patterns *\n"
                "Create Both\n"
                "Expunge Both\n"
                "SyncState *\n"
                "Sync All\n"
                "CopyArrivalDate yes\n"
                % (self.server.port("imaps"), self.addr, self.pw,
                   os.path.join(self.server.data_dir, "tls", "cert.pem"),
                   self.local, self.local))
        self.seq = 0

    # -- the two sides

    def mbsync(self):
        env = dict(os.environ, HOME=self.work)
        r = subprocess.run(["mbsync", "-c", self.rc, "-a"], capture_output=True,
                           timeout=180, env=env, cwd=self.work)
        if r.returncode != 0:
            self.fail("mbsync exit %d:\n%s%s\nserver log:\n%s" % (
                r.returncode, r.stdout.decode("utf-8", "replace"),
                r.stderr.decode("utf-8", "replace"), self.server.log_tail(20)))
        return r

    def local_add(self, folder, msg, flags=""):
        d = os.path.join(self.local, folder)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self.seq += 1
        name = "%d.P%dQ%d.testhost" % (int(time.time()), os.getpid(), self.seq)
        if flags:
            path = os.path.join(d, "cur", name + ":2," + "".join(sorted(flags)))
        else:
            path = os.path.join(d, "new", name)
        with open(path, "wb") as f:
            f.write(msg.replace(b"\r\n", b"\n"))
        return path

    def local_state(self):
        """{folder: sorted [(normalized bytes, flags)]} of the Maildir."""
        out = {}
        for root, dirs, files in os.walk(self.local):
            if not {"cur", "new", "tmp"} <= set(dirs):
                continue
            folder = os.path.relpath(root, self.local)
            msgs = []
            for sub in ("cur", "new"):
                for name in os.listdir(os.path.join(root, sub)):
                    with open(os.path.join(root, sub, name), "rb") as f:
                        data = f.read()
                    info = name.split(":2,", 1)[1] if ":2," in name else ""
                    flags = frozenset(MAILDIR_FLAGS[c] for c in info if c in MAILDIR_FLAGS)
                    msgs.append((normalize(data), flags))
            out[folder] = sorted(msgs)
        return out

    def local_files(self, folder):
        d = os.path.join(self.local, folder)
        return [os.path.join(d, sub, n) for sub in ("cur", "new")
                for n in sorted(os.listdir(os.path.join(d, sub)))]

    def remote_state(self):
        c = self.session(self.addr, self.pw)
        out = {}
        for name, (attrs, _) in list_entries(c.ok("LIST", '""', '"*"')).items():
            if "\\noselect" in attrs or "\\nonexistent" in attrs:
                continue
            r = c.select(name)
            self.assertTrue(r.ok, r)
            msgs = []
            if r.of("EXISTS")[-1].number():
                for v in c.fetch("1:*", "(FLAGS BODY.PEEK[])").values():
                    msgs.append((normalize(item(v, "BODY[]")),
                                 frozenset(flagset(v["FLAGS"]) & SYSTEM)))
            out[name] = sorted(msgs)
        c.logout()
        return out

    def assert_same(self):
        local, remote = self.local_state(), self.remote_state()
        self.assertEqual(sorted(local), sorted(remote), "folder sets differ")
        for folder in remote:
            l_msgs, r_msgs = local[folder], remote[folder]
            if l_msgs != r_msgs:
                self.fail("%s differs: local %d messages %s, remote %d messages %s" % (
                    folder, len(l_msgs), [(m[:60], sorted(f)) for m, f in l_msgs],
                    len(r_msgs), [(m[:60], sorted(f)) for m, f in r_msgs]))
        return remote

    # -- the test

    def test_two_way_sync(self):
        token = unique("sync")
        # server side: three delivered messages, one flagged in Archive
        delivered = [make_message("%s remote %d" % (token, i), "remote body %d\n" % i,
                                  to=self.addr) for i in range(3)]
        for m in delivered:
            self.deliver(self.addr, m)
        c = self.session(self.addr, self.pw)
        archived = make_message("%s archived" % token, "kept\n")
        c.append_uid("Archive", archived, flags=["\\Flagged", "\\Seen"])
        c.logout()
        # local side: two in INBOX (one read), one in a folder of its own
        local_msgs = [make_message("%s local %d" % (token, i), "local body %d\n" % i)
                      for i in range(3)]
        self.local_add("INBOX", local_msgs[0], "S")
        self.local_add("INBOX", local_msgs[1])
        self.local_add("Projects", local_msgs[2], "F")

        self.mbsync()
        state = self.assert_same()
        self.assertEqual(len(state["INBOX"]), 5)
        self.assertEqual(len(state["Projects"]), 1)
        self.assertEqual(len(state["Archive"]), 1)
        self.assertEqual(state["Archive"][0][1], {"\\Flagged", "\\Seen"})
        for name in ("Sent", "Drafts", "Trash", "Junk"):
            self.assertEqual(state[name], [])

        # round 2: changes on both sides
        files = self.local_files("INBOX")
        remote_origin = [p for p in files if normalize(open(p, "rb").read()).endswith(
            b"remote body 0\n")]
        self.assertEqual(len(remote_origin), 1)
        os.unlink(remote_origin[0])			# deleted locally
        local_origin = [p for p in self.local_files("INBOX") if normalize(
            open(p, "rb").read()).endswith(b"local body 1\n")][0]
        base = os.path.basename(local_origin)
        stem, _, info = base.partition(":2,")
        os.rename(local_origin, os.path.join(self.local, "INBOX", "cur",
                                             stem + ":2," + "".join(sorted(set(info) | {"F"}))))
        new_local = make_message("%s local new" % token, "written offline\n")
        self.local_add("Projects", new_local)

        c = self.session(self.addr, self.pw)
        c.select("INBOX")
        found = c.ok("SEARCH", "BODY", '"remote body 1"').search()
        self.assertEqual(len(found), 1)
        c.ok("STORE", str(found.pop()), "+FLAGS", "(\\Seen \\Answered)")
        found = c.ok("SEARCH", "BODY", '"remote body 2"').search()
        c.ok("STORE", str(found.pop()), "+FLAGS.SILENT", "(\\Deleted)")
        c.ok("EXPUNGE")
        c.append_uid("Archive", make_message("%s archived 2" % token, "also kept\n"))
        c.ok("CREATE", mailbox_arg("Remote/Sub"))
        c.append_uid("Remote/Sub", make_message("%s nested" % token, "deep\n"),
                     flags=["\\Seen"])
        c.logout()

        self.mbsync()
        state = self.assert_same()
        self.assertEqual(len(state["INBOX"]), 3, "5 - 1 deleted locally - 1 expunged remotely")
        self.assertEqual(len(state["Projects"]), 2)
        self.assertEqual(len(state["Archive"]), 2)
        self.assertEqual(len(state["Remote/Sub"]), 1)
        inbox = dict((m, f) for m, f in state["INBOX"])
        flagged = [f for m, f in inbox.items() if m.endswith(b"local body 1\n")]
        self.assertEqual(flagged, [{"\\Flagged"}])
        answered = [f for m, f in inbox.items() if m.endswith(b"remote body 1\n")]
        self.assertEqual(answered, [{"\\Seen", "\\Answered"}])

        # round 3: nothing changed, nothing happens
        self.mbsync()
        self.assertEqual(self.assert_same(), state)


if __name__ == "__main__":
    unittest.main()
