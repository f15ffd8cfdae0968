# SPDX-License-Identifier: ISC
"""Aliases of special folders that a client created, as classic Outlook
uses them.

Outlook ignores SPECIAL-USE: it CREATEs "Sent Items", SUBSCRIBEs it and
looks for it in LIST; a folder missing there is shown as "(This computer
only)" and sent mail stays on the PC.  The server answers such a CREATE by
recording "Sent Items" as an alias of the user's Sent folder: listed (and,
when subscribed, in LSUB) without the \\Sent attribute, which stays on Sent
for clients that read it, and every use of either name reaches the same
mailbox.  python3's imaplib plays Outlook here; the raw ImapConn checks
IDLE across the two names.  Each test makes its own users.

The last test starts a daemon of its own on a data dir whose database is
at schema version 4, as an existing installation's would be, and checks
that version 5 is applied at start and the aliases work for its users.
"""

import glob
import imaplib
import os
import re
import shutil
import sqlite3

from imap_client import ImapTestCase, mailbox_arg
from postroom_harness import Server, insecure_context, make_message, unique

_LIST_RX = re.compile(rb'^\(([^)]*)\) (?:"[^"]*"|NIL) (.+)$')


def close_quietly(m):
    try:
        m.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


def mailboxes(typ, data):
    """{name: set of attributes (lower case)} of an imaplib LIST/LSUB."""
    assert typ == "OK", (typ, data)
    out = {}
    for line in data:
        if line is None:
            continue
        if isinstance(line, tuple):	# a name sent as a literal
            line = line[0] + line[1]
        m = _LIST_RX.match(line)
        assert m, "unparsable LIST line %r" % line
        name = m.group(2)
        if name.startswith(b'"') and name.endswith(b'"'):
            name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        out[name.decode()] = {a.lower() for a in m.group(1).decode().split()}
    return out


def status_items(typ, data):
    """{ITEM: int} of an imaplib STATUS answer."""
    assert typ == "OK", (typ, data)
    m = re.search(rb"\(([^)]*)\)\s*$", data[0])
    words = m.group(1).split()
    return {words[i].decode().upper(): int(words[i + 1])
            for i in range(0, len(words), 2)}


def q(name):
    """A mailbox argument for imaplib, which sends names as they are."""
    return mailbox_arg(name)


class ImapAliasTests(ImapTestCase):
    LABEL = "imap-alias"

    def outlook(self, user, pw):
        """A logged-in imaplib client over implicit TLS."""
        m = imaplib.IMAP4_SSL("127.0.0.1", self.server.port("imaps"),
                              ssl_context=insecure_context(), timeout=15)
        self.addCleanup(close_quietly, m)
        self.assertEqual(m.login(user, pw)[0], "OK")
        return m

    def outlook_creates_sent_items(self, m):
        self.assertEqual(m.create(q("Sent Items"))[0], "OK")
        self.assertEqual(m.subscribe(q("Sent Items"))[0], "OK")

    # ---------------------------------------------------------------- tests

    def test_outlook_flow(self):
        addr, pw = self.new_user()
        m = self.outlook(addr, pw)
        self.assertNotIn("Sent Items", mailboxes(*m.list('""', "*")))
        self.outlook_creates_sent_items(m)

        boxes = mailboxes(*m.list('""', "*"))
        self.assertIn("Sent Items", boxes, boxes)
        self.assertEqual(boxes["Sent Items"], {"\\hasnochildren"})
        self.assertIn("\\sent", boxes["Sent"])
        self.assertEqual([n for n, a in boxes.items() if "\\sent" in a],
                         ["Sent"], "only Sent carries \\Sent: %r" % boxes)
        self.assertIn("Sent Items", mailboxes(*m.lsub('""', "*")))
        self.assertIn("Sent Items", mailboxes(*m.list('""', "Sent%")))
        self.assertNotIn("Sent Items", mailboxes(*m.list('""', "Sent")))

        # What Outlook files under "Sent Items" is in Sent.
        token = unique("sent-items")
        msg = make_message("copy of " + token, "sent with Outlook " + token,
                           sender=addr, to="someone@outside.test")
        self.assertEqual(m.append(q("Sent Items"), "(\\Seen)", None, msg)[0], "OK")
        typ, data = m.select("Sent")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], msg)
        m.close()

        items = "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)"
        via_alias = status_items(*m.status(q("Sent Items"), items))
        via_sent = status_items(*m.status("Sent", items))
        self.assertEqual(via_alias, via_sent)
        self.assertEqual(via_alias["MESSAGES"], 1)

        # The same mailbox under both names: same UIDVALIDITY and message.
        typ, data = m.select(q("Sent Items"), readonly=True)
        self.assertEqual((typ, data), ("OK", [b"1"]))
        self.assertEqual(m.response("UIDVALIDITY")[1],
                         [str(via_sent["UIDVALIDITY"]).encode()])
        m.close()

        # Outlook's "delete folder" removes its name, not the sent mail.
        self.assertEqual(m.delete(q("Sent Items"))[0], "OK")
        boxes = mailboxes(*m.list('""', "*"))
        self.assertNotIn("Sent Items", boxes)
        self.assertIn("\\sent", boxes["Sent"])
        self.assertEqual(status_items(*m.status("Sent", "(MESSAGES)")),
                         {"MESSAGES": 1})
        self.assertEqual(m.delete(q("Sent Items"))[0], "NO")

    def test_subscriptions_apart(self):
        addr, pw = self.new_user()
        m = self.outlook(addr, pw)
        self.outlook_creates_sent_items(m)
        self.assertEqual(m.unsubscribe(q("Sent Items"))[0], "OK")
        subs = mailboxes(*m.lsub('""', "*"))
        self.assertNotIn("Sent Items", subs)
        self.assertIn("Sent", subs, "the folder's subscription was touched")
        self.assertEqual(m.unsubscribe("Sent")[0], "OK")
        self.assertEqual(m.subscribe(q("Sent Items"))[0], "OK")
        subs = mailboxes(*m.lsub('""', "*"))
        self.assertIn("Sent Items", subs)
        self.assertNotIn("Sent", subs)
        # A second CREATE is refused, and so is a folder of that name.
        typ, data = m.create(q("Sent Items"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.rename(q("Sent Items"), "Other")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[CANNOT]", data[0])
        typ, data = m.rename("Drafts", q("Sent Items"))
        self.assertIn(b"[ALREADYEXISTS]", data[0])

    def test_other_user_does_not_see_it(self):
        alice, apw = self.new_user()
        bob, bpw = self.new_user()
        a = self.outlook(alice, apw)
        self.outlook_creates_sent_items(a)
        self.assertEqual(a.create(q("Gelöschte Elemente"))[0], "OK")
        b = self.outlook(bob, bpw)
        boxes = mailboxes(*b.list('""', "*"))
        self.assertNotIn("Sent Items", boxes)
        self.assertNotIn(mailbox_arg("Gelöschte Elemente").strip('"'), boxes)
        self.assertNotIn("Sent Items", mailboxes(*b.lsub('""', "*")))
        # Bob's unlisted name still reaches his own Sent, not Alice's.
        self.assertEqual(a.append(q("Sent Items"), None, None,
                                  make_message("a", "alice's"))[0], "OK")
        self.assertEqual(status_items(*b.status(q("Sent Items"), "(MESSAGES)")),
                         {"MESSAGES": 0})
        # Non-ASCII aliases go out in modified UTF-7.
        self.assertIn(mailbox_arg("Gelöschte Elemente").strip('"'),
                      mailboxes(*a.list('""', "*")))

    def test_idle_across_names(self):
        addr, pw = self.new_user()
        m = self.outlook(addr, pw)
        self.outlook_creates_sent_items(m)
        for watch, write in (("Sent Items", "Sent"), ("Sent", "Sent Items")):
            c = self.session(addr, pw)
            r = c.select(watch)
            self.assertTrue(r.ok, r)
            before = [u.number() for u in r.of("EXISTS")][-1]
            tag = c.idle_start()
            self.assertEqual(m.append(q(write), None, None,
                                      make_message("idle", unique("x")))[0], "OK")
            seen = None
            for _ in range(20):
                u = c.read_untagged(5)
                if u is None:
                    break
                if u.kind() == "EXISTS":
                    seen = u.number()
                    break
            self.assertEqual(seen, before + 1,
                             "no EXISTS in %s for an APPEND to %s" % (watch, write))
            self.assertTrue(c.idle_done(tag).ok)
            c.logout()

    def test_listed_after_restart(self):
        addr, pw = self.new_user()
        m = self.outlook(addr, pw)
        self.outlook_creates_sent_items(m)
        self.assertEqual(m.unsubscribe(q("Sent Items"))[0], "OK")
        close_quietly(m)
        self.server.restart()
        m = self.outlook(addr, pw)
        boxes = mailboxes(*m.list('""', "*"))
        self.assertEqual(boxes.get("Sent Items"), {"\\hasnochildren"})
        self.assertNotIn("Sent Items", mailboxes(*m.lsub('""', "*")))
        typ, _ = m.create(q("Sent Items"))
        self.assertEqual(typ, "NO")


def schema_files(upto):
    """The migrations up to version upto, in order."""
    top = os.environ.get("top_srcdir") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    files = sorted(glob.glob(os.path.join(top, "schema", "[0-9][0-9][0-9]_*.sql")))
    return [f for f in files if int(os.path.basename(f)[:3]) <= upto]


def downgrade_to_v4(db_path):
    """Replace the database at db_path (daemon stopped) by a version 4
    one holding the same rows: an installation from before aliases."""
    old_tables = None
    new_path = db_path + ".v4"
    files = schema_files(4)
    assert [int(os.path.basename(f)[:3]) for f in files] == [1, 2, 3, 4], files
    db = sqlite3.connect(new_path)
    try:
        for f in files:
            with open(f, encoding="utf-8") as fh:
                db.executescript(fh.read())
        db.execute("PRAGMA user_version = 4")
        old_tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite%'")]
        db.execute("ATTACH DATABASE ? AS cur", (db_path,))
        # By column name: a later version may add columns.
        for t in ("domains", "users", "aliases", "mailboxes"):
            cols = ", ".join(r[1] for r in db.execute(
                "PRAGMA main.table_info(%s)" % t))
            db.execute("INSERT INTO main.%s (%s) SELECT %s FROM cur.%s"
                       % (t, cols, cols, t))
        db.commit()
        db.execute("DETACH DATABASE cur")
    finally:
        db.close()
    assert "mailbox_aliases" not in old_tables
    st = os.stat(db_path)
    os.chown(new_path, st.st_uid, st.st_gid)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.unlink(db_path + suffix)
    shutil.move(new_path, db_path)


class ImapAliasUpgradeTests(ImapTestCase):
    """A data dir from before version 5: the daemon migrates it at start."""
    LABEL = "imap-alias-upgrade"

    def test_version_4_data_dir(self):
        addr, pw = self.new_user()
        db_path = os.path.join(self.server.data_dir, "mail.db")
        self.assertEqual(self.server.stop(), 0)
        downgrade_to_v4(db_path)
        mark = self.server.log_size()
        self.server.start()
        self.server.wait_log(r"schema migrated to 005_mailbox_aliases", since=mark)
        db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
        try:
            self.assertGreaterEqual(
                db.execute("PRAGMA user_version").fetchone()[0], 5)
            self.assertEqual(db.execute(
                "SELECT count(*) FROM mailbox_aliases").fetchone()[0], 0)
        finally:
            db.close()
        m = imaplib.IMAP4_SSL("127.0.0.1", self.server.port("imaps"),
                              ssl_context=insecure_context(), timeout=15)
        self.addCleanup(close_quietly, m)
        self.assertEqual(m.login(addr, pw)[0], "OK")
        self.assertEqual(m.create(q("Sent Items"))[0], "OK")
        boxes = mailboxes(*m.list('""', "*"))
        self.assertEqual(boxes.get("Sent Items"), {"\\hasnochildren"})
        self.assertIn("\\sent", boxes["Sent"])

