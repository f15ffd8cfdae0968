# SPDX-License-Identifier: ISC
"""Several clients on one mailbox: IDLE, concurrent sessions, POP3.

A message delivered over SMTP must reach a client IDLEing on INBOX within
a second; two IMAP sessions see each other's flag changes, new messages
and expunges (expunges only where RFC 3501 7.4.1 allows them); POP3 and
IMAP share the store, so a deletion through one shows in the other; and
the Thunderbird drafts cycle (APPEND, APPENDUID, \\Deleted on the old
draft, EXPUNGE) leaves exactly the newest draft.
"""

import os
import re
import sqlite3
import time
import unittest

from imap_client import (ImapTestCase, fetch_items, flagset, item,
                         sequence_after_expunges)
from postroom_harness import make_message, pop3_retr_exact, pop3_uidls, unique

WAKE_LIMIT = 1.0	# seconds from the SMTP 250 to the untagged EXISTS


class ImapSyncTests(ImapTestCase):
    LABEL = "imap-sync"

    def user_with(self, n):
        addr, pw = self.new_user("s")
        msgs = []
        for i in range(n):
            m = make_message("sync %d %s" % (i, unique()), "body %d\n" % i, to=addr)
            self.deliver(addr, m)
            msgs.append(m)
        return addr, pw, msgs

    def wait_for(self, c, kinds, timeout):
        """Untagged responses until one of kinds arrives (or timeout);
        returns (responses, seconds waited)."""
        t0 = time.monotonic()
        seen = []
        while time.monotonic() - t0 < timeout:
            r = c.read_untagged(max(0.05, timeout - (time.monotonic() - t0)))
            if r is None:
                break
            seen.append(r)
            if r.kind() in kinds:
                break
        return seen, time.monotonic() - t0

    # ------------------------------------------------------------ IDLE

    def test_idle_woken_by_smtp_delivery(self):
        addr, pw, _ = self.user_with(1)
        c, _ = self.selected(addr, pw)
        d, _ = self.selected(addr, pw)		# a second IDLEr on the same INBOX
        tags = [c.idle_start(), d.idle_start()]
        # nothing arrives while nothing happens
        self.assertIsNone(c.read_untagged(0.5))
        delays = []
        for round_ in range(3):
            msg = make_message("wake %d %s" % (round_, unique()), "hello\n", to=addr)
            s = self.server.smtp()
            try:
                s.ehlo("client.outside.test")
                s.mail("sender@outside.test")
                s.rcpt(addr)
                code = s.data(msg)[0]
                t0 = time.monotonic()		# the message is committed now
            finally:
                s.close()
            self.assertEqual(code, 250)
            for conn in (c, d):
                got, _ = self.wait_for(conn, ("EXISTS",), 5.0)
                exists = [r for r in got if r.kind() == "EXISTS"]
                self.assertTrue(exists, "no EXISTS within 5 s: %r" % got)
                self.assertEqual(exists[-1].number(), 2 + round_)
                delays.append(time.monotonic() - t0)
        self.assertLessEqual(max(delays), WAKE_LIMIT,
                             "IDLE wake-up took %.3f s (limit %.1f)" % (max(delays), WAKE_LIMIT))
        for conn, tag in zip((c, d), tags):
            r = conn.idle_done(tag)
            self.assertTrue(r.ok, r)
        # the new messages are really there
        self.assertEqual(len(c.uids()), 4)

    def test_idle_sees_flags_and_expunge_from_other_session(self):
        addr, pw, _ = self.user_with(3)
        c, _ = self.selected(addr, pw)
        uids = c.uids()
        d, _ = self.selected(addr, pw)
        tag = c.idle_start()
        d.ok("STORE", "2", "+FLAGS", "(\\Flagged)")
        got, _ = self.wait_for(c, ("FETCH",), 3.0)
        fetch = [r for r in got if r.kind() == "FETCH"]
        self.assertTrue(fetch, "IDLE did not report the flag change: %r" % got)
        self.assertEqual(fetch[0].number(), 2)
        self.assertIn("\\Flagged", flagset(fetch_items(fetch[0].tokens[2])["FLAGS"]))
        d.ok("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
        d.ok("EXPUNGE")
        got, _ = self.wait_for(c, ("EXPUNGE",), 3.0)
        self.assertEqual([r.number() for r in got if r.kind() == "EXPUNGE"], [1],
                         "IDLE did not report the expunge: %r" % got)
        r = c.idle_done(tag)
        self.assertTrue(r.ok, r)
        self.assertEqual(c.uids(), uids[1:])

    # ------------------------------------------------------------ two sessions

    def test_two_sessions_see_each_other(self):
        addr, pw, _ = self.user_with(4)
        a, _ = self.selected(addr, pw)
        b, _ = self.selected(addr, pw)
        uids = a.uids()

        b.ok("STORE", "1", "+FLAGS", "(\\Seen $Done)")
        r = a.ok("NOOP")
        d = r.fetches()
        self.assertIn(1, d, "NOOP did not report the flag change: %r" % r)
        self.assertEqual(flagset(d[1]["FLAGS"]) - {"\\Recent"}, {"\\Seen", "$Done"})

        # new mail from APPEND in the other session
        new = make_message("appended by b " + unique(), "x\n")
        b.append_uid("INBOX", new)
        r = a.ok("NOOP")
        self.assertEqual([x.number() for x in r.of("EXISTS")], [5], r)
        uids = a.uids()

        # an expunge in b is not reported to a during FETCH, STORE or SEARCH
        b.ok("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")
        b.ok("EXPUNGE")
        for cmd in (("FETCH", "1:*", "(FLAGS)"), ("STORE", "1", "+FLAGS", "(\\Flagged)"),
                    ("SEARCH", "ALL")):
            r = a.ok(*cmd)
            self.assertFalse(r.of("EXPUNGE"), "EXPUNGE sent during %s: %r" % (cmd[0], r))
        r = a.ok("NOOP")
        self.assertEqual(sequence_after_expunges(uids, r), uids[:1] + uids[2:])
        self.assertEqual(a.uids(), uids[:1] + uids[2:])
        # b's own session also reports it was done in the same mailbox
        self.assertEqual(b.uids(), a.uids())

    def test_expunge_by_other_then_fetch_does_not_crash(self):
        addr, pw, msgs = self.user_with(2)
        a, _ = self.selected(addr, pw)
        b, _ = self.selected(addr, pw)
        b.ok("STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
        b.ok("EXPUNGE")
        # a still has the messages in its view; FETCH of a vanished one is
        # answered from the old view, with NIL, with NO or an empty OK
        # (RFC 2180 4.1), never with other bytes
        r = a.cmd("FETCH", "1:2", "BODY.PEEK[]")
        self.assertIn(r.status, ("OK", "NO"), r)
        for n, v in r.fetches().items():
            body = v.get("BODY[]")
            if body is not None:
                self.assertTrue(body.endswith(msgs[n - 1]))
        r = a.ok("NOOP")
        self.assertEqual(len(r.of("EXPUNGE")), 2, r)
        self.assertEqual(a.uids(), [])

    def test_sessions_share_one_mailbox_through_big_expunges(self):
        # Sessions on one mailbox share what is the same for all of them
        # (sizes, dates, where the bytes are); a session that has not yet
        # been told of an expunge must still answer for its messages, and
        # what the others dropped must not leak into anyone's answers.
        addr, pw, msgs = self.user_with(400)
        a, _ = self.selected(addr, pw)
        b, _ = self.selected(addr, pw)
        items = "(UID RFC822.SIZE INTERNALDATE)"
        before = a.ok("FETCH", "1:*", items).fetches()
        self.assertEqual(len(before), 400)
        self.assertEqual(b.ok("FETCH", "1:*", items).fetches(), before)

        b.ok("STORE", "1:300", "+FLAGS.SILENT", "(\\Deleted)")
        b.ok("EXPUNGE")
        # b renumbered; a may not yet: its message 1 is still the old one
        self.assertEqual(b.ok("FETCH", "1:*", items).fetches(),
                         {n - 300: v for n, v in before.items() if n > 300})
        r = a.cmd("FETCH", "1,300,301", "(UID RFC822.SIZE BODY.PEEK[])")
        self.assertIn(r.status, ("OK", "NO"), r)
        got = r.fetches()
        self.assertEqual(item(got[301], "UID"), item(before[301], "UID"))
        self.assertTrue(item(got[301], "BODY[]").endswith(msgs[300]))
        for n in (1, 300):
            if n in got and "BODY[]" in got[n]:
                self.assertEqual(item(got[n], "UID"), item(before[n], "UID"))
                self.assertTrue(item(got[n], "BODY[]").endswith(msgs[n - 1]))
        r = a.ok("NOOP")
        self.assertEqual(len(r.of("EXPUNGE")), 300, r)
        after = a.ok("FETCH", "1:*", items).fetches()
        self.assertEqual(after, {n - 300: v for n, v in before.items() if n > 300})

        # a third session opened after the expunge, and one that reopens
        c, _ = self.selected(addr, pw)
        self.assertEqual(c.ok("FETCH", "1:*", items).fetches(), after)
        b.ok("UNSELECT")
        b.ok("SELECT", "INBOX")
        self.assertEqual(b.ok("FETCH", "1:*", items).fetches(), after)
        # new mail after all that reaches every session with its own facts
        new = make_message("after the expunge " + unique(), "tail\n")
        uid = c.append_uid("INBOX", new)
        for s in (a, b):
            r = s.ok("NOOP")
            self.assertEqual([x.number() for x in r.of("EXISTS")], [101], r)
        for s in (a, b, c):
            d = s.ok("FETCH", "101", "(UID BODY.PEEK[])").fetches()
            self.assertEqual(int(item(d[101], "UID")), uid)
            self.assertEqual(item(d[101], "BODY[]"), new)
        for s in (a, b, c):
            s.logout()

    def tombstones(self, addr):
        """Tombstones (expunged uids kept for syncing views) of addr's
        mailboxes, read from the store beside the running daemon."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.server.data_dir, "mail.db"),
                             uri=True, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM expunged e JOIN mailboxes m"
                              " ON m.id = e.mailbox_id JOIN users u ON u.id = m.user_id"
                              " WHERE u.address = ?", (addr.lower(),)).fetchone()[0]
        finally:
            db.close()

    def test_tombstones_pruned_when_no_view_needs_them(self):
        addr, pw, _ = self.user_with(4)
        a, _ = self.selected(addr, pw)
        b, _ = self.selected(addr, pw)
        a.ok("STORE", "1:2", "+FLAGS.SILENT", "(\\Deleted)")
        a.ok("EXPUNGE")
        # b has not been told yet: the tombstones are what tells it
        self.assertEqual(self.tombstones(addr), 2)
        r = b.ok("NOOP")
        self.assertEqual(len(r.of("EXPUNGE")), 2, r)
        a.logout()
        self.assertEqual(self.tombstones(addr), 2)
        # the last view of the mailbox closes: nobody needs them any more
        b.logout()
        deadline = time.monotonic() + 5
        while self.tombstones(addr) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.tombstones(addr), 0)
        # and a new session still sees the right mailbox
        c, r = self.selected(addr, pw)
        self.assertEqual(r.of("EXISTS")[-1].number(), 2)
        c.logout()

    # ------------------------------------------------------------ POP3

    def test_pop3_dele_vanishes_from_imap(self):
        addr, pw, msgs = self.user_with(3)
        a, _ = self.selected(addr, pw)
        uids = a.uids()
        p = self.server.pop3(addr, pw)
        try:
            ids = pop3_uidls(p)
            self.assertEqual(len(ids), 3)
            first = pop3_retr_exact(p, 1)[1]
            self.assertTrue(first.endswith(msgs[0]))
            p.dele(1)
            p.quit()
        except BaseException:
            p.close()
            raise
        r = a.ok("NOOP")
        self.assertEqual(sequence_after_expunges(uids, r), uids[1:], r)
        c, r = self.selected(addr, pw)
        self.assertEqual([x.number() for x in r.of("EXISTS")], [2])
        self.assertEqual(c.uids(), uids[1:])
        body = item(c.fetch("1", "BODY.PEEK[]")[1], "BODY[]")
        self.assertTrue(body.endswith(msgs[1]))

    def test_imap_expunge_vanishes_from_pop3(self):
        addr, pw, msgs = self.user_with(3)
        a, _ = self.selected(addr, pw)
        a.ok("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")
        a.ok("EXPUNGE")
        p = self.server.pop3(addr, pw)
        try:
            self.assertEqual(p.stat()[0], 2)
            got = [pop3_retr_exact(p, n)[1] for n in (1, 2)]
            p.quit()
        except BaseException:
            p.close()
            raise
        self.assertTrue(got[0].endswith(msgs[0]))
        self.assertTrue(got[1].endswith(msgs[2]))
        # POP3 RETR and IMAP BODY[] return the same bytes
        self.assertEqual(item(a.fetch("2", "BODY.PEEK[]")[2], "BODY[]"), got[1])

    def test_imap_move_vanishes_from_pop3(self):
        # a message MOVEd out of INBOX over IMAP is gone for POP3 too
        addr, pw, msgs = self.user_with(2)
        a, _ = self.selected(addr, pw)
        a.ok("MOVE", "1", "Archive")
        p = self.server.pop3(addr, pw)
        try:
            self.assertEqual(p.stat()[0], 1)
            self.assertTrue(pop3_retr_exact(p, 1)[1].endswith(msgs[1]))
            p.quit()
        except BaseException:
            p.close()
            raise

    # ------------------------------------------------------------ drafts

    def test_thunderbird_drafts_cycle(self):
        addr, pw = self.new_user("d")
        tb = self.session(addr, pw)
        watcher, _ = self.selected(addr, pw, mailbox="Drafts")
        wtag = watcher.idle_start()
        r = tb.ok("LIST", '"" "*"')
        drafts = [x for x in r.of("LIST") if "\\drafts" in {str(a).lower() for a in x.tokens[1]}]
        self.assertEqual(len(drafts), 1, r)
        name = drafts[0].tokens[3]
        name = name.decode() if isinstance(name, bytes) else str(name)
        versions = []
        prev_uid = None
        for v in range(3):
            draft = make_message("draft " + unique(), "version %d\n%s\n" % (v, "text " * v),
                                 extra_headers=["X-Mozilla-Draft-Info: internal/draft; vcard=0"])
            uid = tb.append_uid(name, draft, flags=["\\Draft", "\\Seen"])
            versions.append((uid, draft))
            if prev_uid is not None:
                r = tb.select(name)
                self.assertTrue(r.ok)
                tb.ok("UID STORE", str(prev_uid), "+FLAGS.SILENT", "(\\Deleted)")
                r = tb.ok("EXPUNGE")
                self.assertEqual(len(r.of("EXPUNGE")), 1, r)
                tb.ok("UNSELECT")
            prev_uid = uid
        r = tb.select(name)
        self.assertEqual([x.number() for x in r.of("EXISTS")], [1], r)
        it = tb.fetch("1", "(UID FLAGS BODY.PEEK[])")[1]
        self.assertEqual(int(it["UID"]), versions[-1][0])
        self.assertEqual(item(it, "BODY[]"), versions[-1][1])
        self.assertEqual(flagset(it["FLAGS"]) - {"\\Recent"}, {"\\Draft", "\\Seen"})
        uids_seen = [u for u, _ in versions]
        self.assertEqual(sorted(set(uids_seen)), uids_seen, "APPENDUIDs must increase")
        # the IDLEing client followed every step and ends with one message
        got, _ = self.wait_for(watcher, (), 1.5)
        count = 0
        for x in got:
            if x.kind() == "EXISTS":
                count = x.number()
            elif x.kind() == "EXPUNGE":
                count -= 1
        self.assertEqual(count, 1, [g.first for g in got])
        r = watcher.idle_done(wtag)
        self.assertTrue(r.ok)



class ImapRecentTests(ImapTestCase):
    """\\Recent (RFC 3501 2.3.2): a new message is recent in exactly one
    session, the first read-write one to see it; EXAMINE shows it without
    taking it (6.3.2); and a restart forgets nothing either way."""
    LABEL = "imap-recent"

    def recent(self, r):
        counts = r.of("RECENT")
        self.assertEqual(len(counts), 1, "RECENT is required: %r" % r)
        return counts[-1].number()

    def status_recent(self, c):
        r = c.ok("STATUS", "INBOX", "(MESSAGES RECENT)")
        m = re.search(r"RECENT (\d+)", r.of("STATUS")[0].wire.decode())
        return int(m.group(1))

    def deliver_n(self, addr, n):
        for i in range(n):
            self.deliver(addr, make_message("recent %d %s" % (i, unique()),
                                            "x\n", to=addr))

    def recent_flags(self, c):
        d = c.fetch("1:*", "(FLAGS)")
        return {n for n, it in d.items() if "\\Recent" in flagset(it["FLAGS"])}

    def test_first_session_takes_recent(self):
        addr, pw = self.new_user("r")
        self.deliver_n(addr, 3)
        c = self.session(addr, pw)
        # delivered before any session looked: all three are new
        self.assertEqual(self.status_recent(c), 3)
        # EXAMINE shows them as recent but does not take them
        e, r = self.selected(addr, pw, examine=True)
        self.assertEqual(self.recent(r), 3)
        e.logout()
        a, r = self.selected(addr, pw)
        self.assertEqual(self.recent(r), 3)
        self.assertEqual(self.recent_flags(a), {1, 2, 3})
        b, r = self.selected(addr, pw)
        self.assertEqual(self.recent(r), 0)
        self.assertEqual(self.recent_flags(b), set())
        self.assertEqual(self.status_recent(c), 0)
        # one more while both are selected: recent in one session only
        self.deliver_n(addr, 1)
        ra = a.ok("NOOP")
        rb = b.ok("NOOP")
        got = sorted(len(self.recent_flags(x) & {4}) for x in (a, b))
        self.assertEqual(got, [0, 1], "message 4 must be recent in one session: %r %r"
                         % (ra, rb))
        for x in (a, b, c):
            x.logout()

    def test_recent_survives_restart(self):
        addr, pw = self.new_user("r")
        self.deliver_n(addr, 2)
        a, r = self.selected(addr, pw)
        self.assertEqual(self.recent(r), 2)
        a.logout()
        # two more arrive, then the daemon restarts before anyone looks
        self.deliver_n(addr, 2)
        self.server.restart()
        c = self.session(addr, pw)
        self.assertEqual(self.status_recent(c), 2)
        b, r = self.selected(addr, pw)
        self.assertEqual(self.recent(r), 2)
        self.assertEqual(self.recent_flags(b), {3, 4})
        b.logout()
        # what b was told stays told after another restart
        self.server.restart()
        d, r = self.selected(addr, pw)
        self.assertEqual(self.recent(r), 0)
        self.assertEqual(self.recent_flags(d), set())
        d.logout()
        c.close()


if __name__ == "__main__":
    unittest.main()
