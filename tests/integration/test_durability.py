# SPDX-License-Identifier: ISC
"""A "250" after DATA is a promise: kill -9 must not break it.

Twenty clients send messages as fast as they can; at a random moment the
daemon gets SIGKILL.  Every message whose DATA got 250 must be in the
mailbox after a restart, exactly once and complete: each message carries
the SHA-256 of its own body in a header, and its Message-ID says which
client sent it.  Messages that were committed but not yet acknowledged
may be there too (the ack was lost with the process), but never twice and
never cut short.  Three rounds, with different kill moments and a mix of
small and spooled (over 128 KiB) messages.
"""

import random
import smtplib
import threading
import time
import unittest

from postroom_harness import (ServerTestCase, hashed_message, parse_hashed,
                              split_trace, unique)

CLIENTS = 20
LOAD_SECONDS = 3.0
ROUNDS = 3


def build_message(rnd, msgid, rcpt):
    n = rnd.choice((1, 3, 20, 60)) if rnd.random() > 0.04 else 3000
    lines = []
    for i in range(n):
        lines.append(("%s line %d " % (msgid, i)
                      + "".join(rnd.choice("abcdefghij0123456789") for _ in range(80))))
    return hashed_message(msgid, rcpt, ("\r\n".join(lines) + "\r\n").encode())


class DurabilityTests(ServerTestCase):
    LABEL = "durability"
    CONFIG = {"limits": {"max_connections_per_ip": "100", "max_recipients": "5"}}

    def load(self, rcpt, seed, kill_after):
        """Run the clients, kill -9 the daemon after kill_after seconds.
        Returns (acknowledged ids, attempted ids, bytes by id)."""
        acked = set()
        attempted = {}
        lock = threading.Lock()
        stop = threading.Event()
        port = self.server.port("smtp")

        def client(k):
            rnd = random.Random(seed * 1000 + k)
            seq = 0
            while not stop.is_set():
                try:
                    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
                    s.ehlo("load%d.outside.test" % k)
                except (OSError, smtplib.SMTPException):
                    time.sleep(0.05)
                    continue
                try:
                    while not stop.is_set():
                        seq += 1
                        msgid = "dur-%d-%d-%d" % (seed, k, seq)
                        msg = build_message(rnd, msgid, rcpt)
                        with lock:
                            attempted[msgid] = msg
                        if s.mail("load@outside.test")[0] != 250:
                            break
                        if s.rcpt(rcpt)[0] != 250:
                            break
                        code, _ = s.data(msg)
                        if code == 250:
                            with lock:
                                acked.add(msgid)
                        # a new connection now and then
                        if rnd.random() < 0.1:
                            break
                except (OSError, smtplib.SMTPException):
                    pass
                finally:
                    s.close()

        threads = [threading.Thread(target=client, args=(k,), daemon=True)
                   for k in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(kill_after)
        self.server.kill9()
        stop.set()
        for t in threads:
            t.join(20)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hang")
        with lock:
            return set(acked), dict(attempted)

    def test_kill9_loses_no_acknowledged_message(self):
        rnd = random.Random()
        for rnd_no in range(1, ROUNDS + 1):
            kill_after = rnd.uniform(0.5, LOAD_SECONDS - 0.5)
            with self.subTest(round=rnd_no, kill_after=round(kill_after, 2)):
                rcpt = unique("dur") + "@example.test"
                pw = "pw-" + unique("d")
                self.server.add_user(rcpt, pw)
                acked, attempted = self.load(rcpt, rnd_no, kill_after)
                self.assertGreater(len(acked), 10, "too few messages to prove anything")

                self.server.restart()
                stored = self.server.fetch_all(rcpt, pw)
                seen = {}
                for uid, data in stored:
                    msgid, ok = parse_hashed(data)
                    self.assertIsNotNone(msgid, "unrecognisable message %r" % data[:200])
                    self.assertTrue(ok, "message %s cut short or altered" % msgid)
                    self.assertIn(msgid, attempted, "message nobody sent")
                    split_trace(data, attempted[msgid])
                    seen[msgid] = seen.get(msgid, 0) + 1
                dups = [m for m, n in seen.items() if n > 1]
                self.assertEqual(dups, [], "stored more than once")
                print("round %d: killed after %.2fs, %d acknowledged, %d stored"
                      % (rnd_no, kill_after, len(acked), len(seen)))
                lost = sorted(acked - set(seen))
                self.assertEqual(lost, [], "%d of %d acknowledged messages lost"
                                 % (len(lost), len(acked)))


if __name__ == "__main__":
    unittest.main()
