# SPDX-License-Identifier: ISC
"""SMTP on the MX port (role smtp), seen from outside.

Mail is sent with smtplib or a raw socket where the exact bytes matter
(pipelining, BDAT, smuggling, NUL bytes), and read back over POP3 to check
what was really stored: the bytes sent, with only trace fields on top.
One server for the default policy (loopback NOT trusted, bare LF
rejected, 5 recipients, 1 MiB messages) and one configured with
trusted_networks = 127.0.0.0/8 and bare_lf = normalize.
"""

import os
import ssl
import unittest

from postroom_harness import (
    HOSTNAME, USERS, ServerTestCase, b64, make_message, pop3_list_sizes,
    pop3_retr_exact, split_trace, unique)

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
MAX_SIZE = 1024 * 1024

# Sequences that end the message only for a sloppy parser (SMTP smuggling).
SMUGGLE_SEQUENCES = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r"]


def enhanced(lines):
    """The enhanced status code (x.y.z) of a reply, or ''."""
    first = lines[0] if lines else ""
    code = first.split(" ", 1)[0]
    return code if code.count(".") == 2 else ""


class SmtpBase(ServerTestCase):

    def session(self, ehlo=True):
        c = self.server.raw("smtp")
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        if ehlo:
            c.ehlo()
        return c

    def tls_session(self):
        c = self.session()
        self.assertEqual(c.cmd("STARTTLS")[0], 220)
        c.starttls()
        c.ehlo()
        return c

    def send_raw_message(self, c, rcpts, body, sender="sender@outside.test",
                         params=""):
        """MAIL/RCPT/DATA over an open raw session; returns the final reply."""
        code, lines = c.cmd("MAIL FROM:<%s>%s" % (sender, params))
        self.assertEqual(code, 250, lines)
        for r in rcpts:
            code, lines = c.cmd("RCPT TO:<%s>" % r)
            self.assertEqual(code, 250, (r, lines))
        code, lines = c.cmd("DATA")
        self.assertEqual(code, 354, lines)
        c.send(body)
        return c.reply()

    def smuggle_body(self, seq, token, token2):
        """A body where seq would end the message for a sloppy parser,
        followed by a second transaction for bob."""
        return (b"Subject: smuggle " + token.encode() + b"\r\n\r\nfirst part"
                + seq
                + b"MAIL FROM:<evil@outside.test>\r\n"
                + b"RCPT TO:<bob@example.test>\r\n"
                + b"DATA\r\n"
                + b"Subject: smuggled " + token2.encode() + b"\r\n\r\nevil\r\n"
                + b".\r\n")


class SmtpTests(SmtpBase):
    LABEL = "smtp"
    CONFIG = {"limits": {"max_recipients": "5", "max_message_size": "1m"},
              "smtp": {"bare_lf": "reject"}}

    # ------------------------------------------------------------ greeting

    def test_greeting_and_ehlo_keywords(self):
        c = self.server.raw("smtp")
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220)
        self.assertIn(HOSTNAME, lines[0])
        kw, lines = c.ehlo()
        for k in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES",
                  "SMTPUTF8", "CHUNKING", "STARTTLS"):
            self.assertIn(k, kw)
        self.assertNotIn("AUTH", kw, "AUTH offered before STARTTLS: %r" % lines)
        size = [l for l in lines if l.upper().startswith("SIZE")][0].split()
        self.assertEqual(int(size[1]), MAX_SIZE, lines)

        self.assertEqual(c.cmd("STARTTLS")[0], 220)
        c.starttls()
        kw, lines = c.ehlo()
        self.assertIn("AUTH", kw)
        self.assertNotIn("STARTTLS", kw)
        auth = [l for l in lines if l.upper().startswith("AUTH")][0].upper().split()
        self.assertIn("PLAIN", auth)
        self.assertIn("LOGIN", auth)
        self.assertEqual(c.cmd("STARTTLS")[0], 503, "STARTTLS twice")

    def test_helo_and_quit(self):
        c = self.session(ehlo=False)
        code, lines = c.cmd("HELO client.outside.test")
        self.assertEqual(code, 250)
        self.assertEqual(len(lines), 1, "HELO must not list extensions")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(c.is_closed(5), "not closed after QUIT")

    def test_verify_certificate_against_generated_file(self):
        cafile = os.path.join(self.server.data_dir, "tls", "cert.pem")
        self.assertTrue(os.path.exists(cafile), "no generated certificate")
        for name in ("localhost", "127.0.0.1"):
            with self.subTest(server_hostname=name):
                ctx = ssl.create_default_context(cafile=cafile)
                self.assertTrue(ctx.check_hostname)
                c = self.session()
                self.assertEqual(c.cmd("STARTTLS")[0], 220)
                c.starttls(ctx, server_hostname=name)
                kw, _ = c.ehlo()
                self.assertIn("AUTH", kw)

    # ------------------------------------------------------------ delivery

    def test_local_delivery_byte_identical(self):
        token = unique("deliv")
        body = ("Hello Alice,\n\nline with trailing spaces   \n\ttabbed line\n"
                "a line with a single dot follows\n.\n..two dots\n"
                + "x" * 900 + "\nend\n")
        msg = make_message(token, body)
        self.assertEqual(self.server.deliver(ALICE, msg), 250)

        p = self.server.pop3(ALICE)
        try:
            sizes = pop3_list_sizes(p)
            found = []
            for n in sorted(sizes):
                _, data = pop3_retr_exact(p, n)
                if token.encode() in data:
                    found.append((n, data))
            self.assertEqual(len(found), 1, "message stored %d times" % len(found))
            n, data = found[0]
            self.assertEqual(sizes[n], len(data), "LIST size != bytes RETR sent")
            prefix = split_trace(data, msg)
            self.assertTrue(prefix.startswith(b"Return-Path: <sender@outside.test>\r\n"),
                            prefix)
        finally:
            p.quit()

    def test_multiple_recipients_stored_for_each(self):
        token = unique("multi")
        msg = make_message(token, "to both\n", to="alice, bob")
        self.assertEqual(self.server.deliver([ALICE, BOB], msg), 250)
        for user in (ALICE, BOB):
            got = self.server.find(user, token)
            self.assertEqual(len(got), 1, user)
            split_trace(got[0], msg)

    def test_alias_fanout_and_dedup(self):
        token = unique("sales")
        msg = make_message(token, "to sales\n", to="sales@example.test")
        # alice is reached directly and through the alias: stored once for her
        self.assertEqual(self.server.deliver(["sales@example.test", ALICE], msg), 250)
        for user in (ALICE, BOB):
            got = self.server.find(user, token)
            self.assertEqual(len(got), 1, "%s got %d copies" % (user, len(got)))
            split_trace(got[0], msg)
        self.assertEqual(self.server.find(CAROL, token), [])

    def test_catch_all_and_subaddress(self):
        token = unique("catch")
        msg = make_message(token, "catch-all\n", to="whoever@second.test")
        self.assertEqual(self.server.deliver("whoever-%s@second.test" % token, msg), 250)
        self.assertEqual(len(self.server.find(ALICE, token)), 1)
        self.assertEqual(self.server.find(BOB, token), [])

        token = unique("plus")
        msg = make_message(token, "subaddress\n")
        self.assertEqual(self.server.deliver("bob+lists@example.test", msg), 250)
        self.assertEqual(len(self.server.find(BOB, token)), 1)

        # the catch-all is for its own domain only
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        code, lines = c.cmd("RCPT TO:<whoever-%s@example.test>" % token)
        self.assertEqual(code, 550, lines)

    def test_unknown_user(self):
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        code, lines = c.cmd("RCPT TO:<nosuchuser@example.test>")
        self.assertEqual(code, 550)
        self.assertEqual(enhanced(lines), "5.1.1", lines)
        # the transaction goes on with a good recipient
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], 250)

    def test_relay_refused_without_auth_accepted_with_auth(self):
        remote = "relay-%s@outside.test" % unique("r")
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<alice@example.test>")[0], 250)
        code, lines = c.cmd("RCPT TO:<%s>" % remote)
        self.assertEqual(code, 554, lines)
        self.assertEqual(enhanced(lines), "5.7.1", lines)
        c.close()

        c = self.tls_session()
        code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (ALICE, USERS[ALICE])))
        self.assertEqual(code, 235, lines)
        code, lines = self.send_raw_message(
            c, [remote], make_message(unique("relay"), "out\n", sender=ALICE, to=remote)
            + b".\r\n", sender=ALICE)
        self.assertEqual(code, 250, lines)
        queue = self.server.cli_ok("queue", "list")
        self.assertIn(remote, queue)

    def test_alias_to_outside_is_queued(self):
        token = unique("ext")
        msg = make_message(token, "forwarded\n", to="ext@example.test")
        self.assertEqual(self.server.deliver("ext@example.test", msg), 250)
        self.assertIn("someone@outside.test", self.server.cli_ok("queue", "list"))

    def test_address_forms(self):
        token = unique("forms")
        c = self.session()
        # null reverse-path, upper-case recipient, a source route to ignore
        self.assertEqual(c.cmd("MAIL FROM:<>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<ALICE@EXAMPLE.TEST>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<@relay.outside.test,@b.test:bob@example.test>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        msg = make_message(token, "bounce\n", sender="MAILER-DAEMON@outside.test")
        c.send(msg + b".\r\n")
        self.assertEqual(c.reply()[0], 250)
        for user in (ALICE, BOB):
            got = self.server.find(user, token)
            self.assertEqual(len(got), 1, user)
            prefix = split_trace(got[0], msg)
            self.assertTrue(prefix.startswith(b"Return-Path: <>\r\n"), prefix)
        for bad in ("RCPT TO:<>", "RCPT TO:alice@example.test", "RCPT TO:<alice@example.test"):
            with self.subTest(bad=bad):
                self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
                code, lines = c.cmd(bad)
                self.assertTrue(500 <= code < 600, (code, lines))
                self.assertEqual(c.cmd("RSET")[0], 250)

    def test_pipelined_transaction(self):
        token = unique("pipe")
        c = self.session()
        c.send("MAIL FROM:<a@outside.test>\r\nRCPT TO:<%s>\r\nRCPT TO:<nosuch@example.test>\r\n"
               "RCPT TO:<%s>\r\nDATA\r\n" % (ALICE, BOB))
        self.assertEqual([c.reply()[0] for _ in range(5)], [250, 250, 550, 250, 354])
        msg = make_message(token, "pipelined\n")
        c.send(msg + b".\r\nMAIL FROM:<b@outside.test>\r\nRSET\r\nQUIT\r\n")
        self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 250, 221])
        self.assertTrue(c.is_closed(5))
        for user in (ALICE, BOB):
            self.assertEqual(len(self.server.find(user, token)), 1, user)

    def test_dot_at_start_of_data(self):
        token = unique("dotstart")
        c = self.session()
        code, lines = self.send_raw_message(
            c, [ALICE], b"..X-First: dot " + token.encode() + b"\r\n\r\n..\r\n.\r\n")
        self.assertEqual(code, 250, lines)
        got = self.server.find(ALICE, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], b".X-First: dot " + token.encode() + b"\r\n\r\n.\r\n")

    # ------------------------------------------------------------ commands

    def test_vrfy_expn_rset_noop_help(self):
        c = self.session()
        code, lines = c.cmd("VRFY alice")
        self.assertEqual(code, 252, lines)
        self.assertEqual(c.cmd("EXPN sales")[0], 502)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(c.cmd("HELP")[0], 214)
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        self.assertEqual(c.cmd("RSET")[0], 250)
        # RSET really dropped the transaction
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], 503)
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 503, "nested MAIL")
        code = c.cmd("DATA")[0]
        self.assertIn(code, (503, 554), "DATA without recipients")

    def test_too_many_recipients(self):
        token = unique("rcpts")
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        rcpts = [ALICE, BOB, CAROL, "sales@example.test", "alice+x@example.test"]
        for r in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r)[0], 250, r)
        code, lines = c.cmd("RCPT TO:<bob+six@example.test>")
        self.assertEqual(code, 452, lines)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(make_message(token, "five recipients\n") + b".\r\n")
        self.assertEqual(c.reply()[0], 250)
        for user in (ALICE, BOB, CAROL):
            self.assertEqual(len(self.server.find(user, token)), 1, user)

    def test_size_too_big_at_mail(self):
        c = self.session()
        code, lines = c.cmd("MAIL FROM:<a@outside.test> SIZE=%d" % (MAX_SIZE * 2))
        self.assertEqual(code, 552, lines)
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test> SIZE=1000")[0], 250)

    def test_size_too_big_during_data(self):
        token = unique("big")
        line = b"y" * 998 + b"\r\n"
        body = (b"Subject: " + token.encode() + b"\r\n\r\n"
                + line * (MAX_SIZE // len(line) + 200) + b".\r\n")
        c = self.session()
        code, lines = self.send_raw_message(c, [ALICE], body)
        self.assertEqual(code, 552, lines)
        self.assertEqual(c.cmd("NOOP")[0], 250, "session unusable after 552")
        self.assertEqual(self.server.find(ALICE, token), [])

    def test_command_line_length(self):
        c = self.session()
        ok = "NOOP " + "x" * (1000 - 2 - 5)	# 1000 bytes with CRLF
        self.assertEqual(len(ok) + 2, 1000)
        self.assertEqual(c.cmd(ok)[0], 250)
        code, lines = c.cmd("NOOP " + "x" * 1000)
        self.assertEqual(code, 500, lines)
        self.assertEqual(c.cmd("NOOP")[0], 250, "no recovery after a long line")
        code, lines = c.cmd("MAIL FROM:<%s@outside.test>" % ("a" * 5000))
        self.assertEqual(code, 500, lines)
        self.assertEqual(c.cmd("NOOP")[0], 250)

    def test_nul_in_command(self):
        c = self.session()
        code, lines = c.cmd(b"NOOP\x00")
        self.assertEqual(code, 500, lines)
        code, lines = c.cmd(b"MAIL FROM:<a\x00b@outside.test>")
        self.assertGreaterEqual(code, 500, lines)
        self.assertLess(code, 600, lines)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250,
                         "a refused MAIL must not open a transaction")

    def test_bare_lf_and_cr_rejected(self):
        for name, bad in (("LF", b"line one\nline two\r\n"),
                          ("CR", b"line one\rline two\r\n")):
            with self.subTest(bare=name):
                token = unique("bare")
                body = b"Subject: " + token.encode() + b"\r\n\r\n" + bad + b".\r\n"
                c = self.session()
                code, lines = self.send_raw_message(c, [ALICE], body)
                self.assertEqual(code, 550, lines)
                self.assertEqual(enhanced(lines), "5.6.11", lines)
                self.assertEqual(c.cmd("NOOP")[0], 250)
                c.close()
                self.assertEqual(self.server.find(ALICE, token), [])

    def test_smuggling_is_not_a_message_end(self):
        for seq in SMUGGLE_SEQUENCES:
            with self.subTest(sequence=seq):
                token, token2 = unique("smug"), unique("smuggled")
                c = self.session()
                code, lines = self.send_raw_message(c, [ALICE],
                                                    self.smuggle_body(seq, token, token2))
                # bare CR/LF policy is reject: refused as a whole
                self.assertEqual(code, 550, lines)
                # exactly one reply for the whole DATA: the next is NOOP's
                code, lines = c.cmd("NOOP")
                self.assertEqual((code, enhanced(lines)), (250, "2.0.0"), lines)
                c.close()
                self.assertEqual(self.server.find(BOB, token2), [])
                self.assertEqual(self.server.find(ALICE, token), [])

    def test_pipelined_command_after_starttls_discarded(self):
        c = self.session()
        c.send(b"STARTTLS\r\nMAIL FROM:<x@y.test>\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        c.starttls()
        c.send(b"EHLO client.outside.test\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertGreater(len(lines), 1, "first reply after TLS is not EHLO's: %r" % lines)
        self.assertIn("PIPELINING", [l.upper() for l in lines])
        # the injected MAIL never opened a transaction
        code, lines = c.cmd("MAIL FROM:<a@outside.test>")
        self.assertEqual(code, 250, lines)
        c.settimeout(1.0)
        self.assertFalse(c.is_closed(1.0))
        self.assertEqual(c.buf, b"", "extra reply after TLS: %r" % c.buf)

    def test_bdat_chunking(self):
        token = unique("bdat")
        chunk1 = (b"Subject: " + token.encode() + b"\r\n\r\n"
                  + b".leading dot kept as is\r\n\r\n.\r\nnot the end\r\n")
        chunk2 = b"second chunk, binary-ish \xc3\xa9\r\n..\r\nlast line\r\n"
        c = self.session()
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
        c.send(b"BDAT %d\r\n" % len(chunk1) + chunk1)
        self.assertEqual(c.reply()[0], 250)
        # the last chunk pipelined with a NOOP
        c.send(b"BDAT %d LAST\r\n" % len(chunk2) + chunk2 + b"NOOP\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.reply()[0], 250)
        got = self.server.find(ALICE, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], chunk1 + chunk2)

        # BDAT 0 LAST ends a transaction built from earlier chunks
        token = unique("bdat0")
        chunk = b"Subject: " + token.encode() + b"\r\n\r\nbody\r\n"
        self.assertEqual(c.cmd("MAIL FROM:<a@outside.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[0], 250)
        self.assertEqual(c.cmd(b"BDAT %d\r\n" % len(chunk) + chunk[:-2])[0], 250)
        self.assertEqual(c.cmd(b"BDAT 0 LAST")[0], 250)
        got = self.server.find(BOB, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], chunk)

    def test_smtputf8_address(self):
        local = "jösé-%s" % unique("u")
        self.server.cli_ok("alias", "add", local + "@example.test", ALICE)
        token = unique("utf8")
        msg = make_message("Grüße " + token, "Ünïcödé body ✓\n",
                           sender="sëndér@outside.test", to=local + "@example.test",
                           extra_headers=["Content-Type: text/plain; charset=utf-8"])
        c = self.session()
        code, lines = c.cmd("MAIL FROM:<sëndér@outside.test> SMTPUTF8 BODY=8BITMIME")
        self.assertEqual(code, 250, lines)
        code, lines = c.cmd("RCPT TO:<%s@example.test>" % local)
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(msg + b".\r\n")
        self.assertEqual(c.reply()[0], 250)
        got = self.server.find(ALICE, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], msg)

    def test_eightbitmime_body_preserved(self):
        token = unique("8bit")
        body = bytes(b for b in range(0x20, 0x100) if b != 0x7f) + b"\r\n"
        body += "é ü ß € 漢字\r\n".encode("utf-8") + b"\tTAB \x1b escape\r\n"
        msg = make_message(token, body)
        self.assertEqual(self.server.deliver(ALICE, msg, mail_options=["BODY=8BITMIME"]), 250)
        got = self.server.find(ALICE, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], msg)

    def test_too_many_bad_commands_closes(self):
        c = self.session()
        codes = []
        for _ in range(40):
            code, _ = c.cmd("BOGUS%d" % len(codes))
            codes.append(code)
            if code != 500:
                break
        self.assertIn(421, codes, "never closed: %r" % codes)
        self.assertEqual(codes[-1], 421)
        self.assertTrue(all(x == 500 for x in codes[:-1]), codes)
        self.assertTrue(c.is_closed(5), "421 but the connection stays open")


class TrustedNormalizeTests(SmtpBase):
    """trusted_networks = 127.0.0.0/8 and bare_lf = normalize."""
    LABEL = "smtp-trusted"
    CONFIG = {"smtp": {"trusted_networks": "127.0.0.0/8", "bare_lf": "normalize"}}

    def test_trusted_network_may_relay(self):
        remote = "trusted-%s@outside.test" % unique("r")
        token = unique("relay")
        msg = make_message(token, "relayed\n", to=remote)
        self.assertEqual(self.server.deliver(remote, msg), 250)
        self.assertIn(remote, self.server.cli_ok("queue", "list"))

    def test_bare_lf_normalized(self):
        token = unique("norm")
        c = self.session()
        body = b"Subject: " + token.encode() + b"\r\n\r\none\ntwo\r\nthree\nfour\r\n.\r\n"
        code, lines = self.send_raw_message(c, [ALICE], body)
        self.assertEqual(code, 250, lines)
        got = self.server.find(ALICE, token)
        self.assertEqual(len(got), 1)
        split_trace(got[0], b"Subject: " + token.encode()
                    + b"\r\n\r\none\r\ntwo\r\nthree\r\nfour\r\n")

    def test_smuggling_is_not_a_message_end(self):
        for seq in SMUGGLE_SEQUENCES:
            with self.subTest(sequence=seq):
                token, token2 = unique("smug"), unique("smuggled")
                c = self.session()
                code, lines = self.send_raw_message(c, [ALICE],
                                                    self.smuggle_body(seq, token, token2))
                if b"\r" in seq.replace(b"\r\n", b""):
                    # normalize is about bare LF; a bare CR may still be refused
                    self.assertIn(code, (250, 550), lines)
                else:
                    self.assertEqual(code, 250, lines)
                code2, lines2 = c.cmd("NOOP")
                self.assertEqual((code2, enhanced(lines2)), (250, "2.0.0"), lines2)
                c.close()
                # at most one message, the would-be second transaction inside it
                got = self.server.find(ALICE, token)
                self.assertEqual(len(got), 1 if code == 250 else 0)
                if got:
                    self.assertIn(token2.encode(), got[0])
                self.assertEqual(self.server.find(BOB, token2), [])


if __name__ == "__main__":
    unittest.main()
