# SPDX-License-Identifier: ISC
"""One session's long command must not hold up the others.

A SEARCH TEXT through a mailbox of many large messages reads every body;
the daemon serves all sessions from one event loop, so such a search has
to yield between slices of messages.  Another session's NOOP, sent right
after the SEARCH, must be answered before the SEARCH completes, and the
SEARCH must still find exactly the messages it should.
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


if __name__ == "__main__":
    unittest.main()
