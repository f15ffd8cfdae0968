# SPDX-License-Identifier: ISC
"""One session's long command must not hold up the others.

A SEARCH TEXT through a mailbox of many large messages reads every body;
the daemon serves all sessions from one event loop, so such a search has
to yield between slices of messages.  Another session's NOOP, sent right
after the SEARCH, must be answered before the SEARCH completes, and the
SEARCH must still find exactly the messages it should.  Likewise a client
that asks for a 17 MB body and stops reading (more than the kernel buffers
between the two ends) leaves the others served as usual, and gets every
byte once it reads again.
"""

import threading
import time
import unittest

from imap_client import ImapTestCase
from postroom_harness import make_message, unique

MESSAGES = 1200
BODY_LINES = 250		# about 16 KB a message


class ImapFairnessTests(ImapTestCase):
    LABEL = "imap-fairness"
    CONFIG = {"limits": {"max_message_size": "40m"}}

    def fill(self, addr, n, marked):
        s = self.server.smtp()
        try:
            s.ehlo("client.outside.test")
            for i in range(n):
                word = "needle%s" % marked[i] if i in marked else "hay"
                body = "".join("line %d of message %d, %s and more text to fill it\n"
                               % (j, i, word if j == BODY_LINES // 2 else "hay")
                               for j in range(BODY_LINES))
                msg = make_message("fill %d %s" % (i, unique()), body, to=addr)
                s.sendmail("sender@outside.test", [addr], msg)
        finally:
            s.quit()

    def test_long_search_does_not_stall_other_sessions(self):
        addr, pw = self.new_user("fair")
        marked = {7: "A", 600: "A", MESSAGES - 1: "A", 300: "B"}
        self.fill(addr, MESSAGES, marked)
        a, r = self.selected(addr, pw)
        self.assertEqual(r.of("EXISTS")[-1].number(), MESSAGES)
        b, _ = self.selected(addr, pw)

        # A's SEARCH is read by a thread so that both replies are timed as
        # they arrive; B's NOOP goes out right behind the SEARCH.
        done = {}

        def reader():
            done["result"] = a.wait(tag)
            done["t"] = time.monotonic()

        tag, _ = a.begin("SEARCH", "TEXT", "needleA")
        t0 = time.monotonic()
        th = threading.Thread(target=reader)
        th.start()
        r = b.ok("NOOP")
        t_noop = time.monotonic() - t0
        th.join(120)
        self.assertFalse(th.is_alive(), "no reply to SEARCH")
        t_search = done["t"] - t0
        self.assertTrue(done["result"].ok, done["result"])
        self.assertEqual(done["result"].search(), {8, 601, MESSAGES})
        # the search is long enough to tell, and the NOOP was not held up
        # until its end
        self.assertGreater(t_search, 0.05, "SEARCH too quick to tell (%.3f s)" % t_search)
        self.assertLess(t_noop, t_search / 2,
                        "NOOP answered after %.3f s, SEARCH took %.3f s" % (t_noop, t_search))

        # the same through UID SEARCH, with a key needing no body
        uids = a.uids()
        r = a.ok("UID", "SEARCH", "OR", "BODY", "needleB", "UID", str(uids[0]))
        self.assertEqual(r.search(), {uids[0], uids[300]})
        a.logout()
        b.logout()

    def test_reader_that_stops_reading_does_not_stall_others(self):
        addr, pw = self.new_user("slow")
        # bigger than what the kernel buffers between the two ends
        big = make_message("big " + unique(), "x" * 76 + "\n") + (b"y" * 76 + b"\r\n") * 220000
        c0 = self.session(addr, pw)
        c0.append_uid("INBOX", big)
        c0.logout()
        # a client asks for 17 MB and then reads nothing
        a, _ = self.selected(addr, pw)
        a.send("s1 FETCH 1 BODY.PEEK[]\r\n")
        time.sleep(0.5)
        # everyone else is served as usual, the same mailbox included
        for _ in range(3):
            t0 = time.monotonic()
            b, r = self.selected(addr, pw)
            d = b.ok("FETCH", "1", "(RFC822.SIZE)").fetches()
            self.assertEqual(int(d[1]["RFC822.SIZE"]), len(big))
            b.ok("NOOP")
            b.logout()
            self.assertLess(time.monotonic() - t0, 5.0)
        # the stalled reader still gets every byte once it reads again
        a.sock.settimeout(30)
        got = bytearray()
        while not got.endswith(b"s1 OK FETCH completed.\r\n"):
            chunk = a.sock.recv(1 << 20) if not a.buf else a.buf
            a.buf = b""
            self.assertTrue(chunk, "EOF while reading the big FETCH")
            got += chunk
        self.assertIn(big, bytes(got))


if __name__ == "__main__":
    unittest.main()
