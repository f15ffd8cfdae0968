# SPDX-License-Identifier: ISC
"""IMAP message access: APPEND, FETCH, STORE, COPY/MOVE, EXPUNGE.

Messages are built here part by part, so the bytes of every MIME part are
known: what FETCH BODY[section] returns is compared with them byte for byte,
and the sizes and line counts in BODYSTRUCTURE with the bytes the server
returns for the same part.  A message delivered over SMTP comes back as the
trace fields plus exactly the bytes sent.
"""

import hashlib
import imaplib
import os
import time
import unittest

from imap_client import (ImapTestCase, flagset, item,
                         parse_imap_date, sequence_after_expunges)
from postroom_harness import insecure_context, make_message, split_trace, unique

CRLF = b"\r\n"


def multipart(boundary, parts, preamble=b"", epilogue=b""):
    """A multipart body: parts are (header bytes, body bytes); every header
    field ends in CRLF, the blank line is added here."""
    out = preamble + CRLF if preamble else b""
    for hdr, body in parts:
        out += b"--" + boundary + CRLF + hdr + CRLF + body + CRLF
    return out + b"--" + boundary + b"--" + CRLF + epilogue


def lines_of(body):
    return body.count(b"\n")


class Mime:
    """The test message with nested multiparts, an attachment and an
    attached message; the attributes hold the bytes of each part."""

    def __init__(self, token):
        self.plain_hdr = (b"Content-Type: text/plain; charset=utf-8\r\n"
                          b"Content-Transfer-Encoding: quoted-printable\r\n")
        self.plain = b"Hello Bob,\r\nthe numbers are in: Gr=C3=BC=C3=9Fe=\r\n, " + \
            token.encode() + b".\r\n"
        self.html_hdr = b"Content-Type: text/html; charset=utf-8\r\n"
        self.html = b"<p>Hello Bob</p>\r\n<p>see the attachment</p>\r\n"
        self.alt_hdr = b'Content-Type: multipart/alternative; boundary="=_inner"\r\n'
        self.alt = multipart(b"=_inner", [(self.plain_hdr, self.plain),
                                          (self.html_hdr, self.html)])
        self.pdf_hdr = (b'Content-Type: application/pdf; name="report.pdf"\r\n'
                        b"Content-Transfer-Encoding: base64\r\n"
                        b'Content-Disposition: attachment; filename="report.pdf"\r\n')
        self.pdf = b"JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n" * 3
        self.inner_hdr = (b"From: Carol <carol@example.test>\r\n"
                          b"Subject: inner message\r\n"
                          b"Date: Sun, 01 Mar 2026 08:00:00 +0000\r\n")
        self.inner_text = b"the forwarded text\r\nin two lines\r\n"
        self.inner = self.inner_hdr + CRLF + self.inner_text
        self.msg_hdr = b"Content-Type: message/rfc822\r\n"
        self.text = multipart(b"outer", [(self.alt_hdr, self.alt), (self.pdf_hdr, self.pdf),
                                         (self.msg_hdr, self.inner)],
                              preamble=b"This is a MIME message.", epilogue=b"epilogue\r\n")
        self.header = (b'From: "Alice Example" <alice@example.test>\r\n'
                       b'To: Bob <bob@example.test>, carol@example.test\r\n'
                       b'Cc: "Dave, Jr." <dave@outside.test>\r\n'
                       b"Subject: Quarterly report\r\n"
                       b"X-Long: first part\r\n\tsecond part\r\n"
                       b"Date: Tue, 03 Mar 2026 09:15:00 +0100\r\n"
                       b"Message-ID: <mp-" + token.encode() + b"@example.test>\r\n"
                       b"In-Reply-To: <parent@example.test>\r\n"
                       b"MIME-Version: 1.0\r\n"
                       b'Content-Type: multipart/mixed; boundary="outer"\r\n')
        self.bytes = self.header + CRLF + self.text


def upper(v):
    return v.upper() if isinstance(v, (bytes, str)) else v


def params(v):
    """A body parameter list as {NAME: value}, names upper-cased."""
    if v is None:
        return {}
    return {upper(v[i]): v[i + 1] for i in range(0, len(v), 2)}


class ImapFetchTests(ImapTestCase):
    LABEL = "imap-fetch"

    def mailbox(self, messages=(), **append):
        """A fresh user with messages APPENDed to INBOX, selected.
        Returns (conn, addr, pw, [uid])."""
        addr, pw = self.new_user("f")
        c = self.session(addr, pw)
        uids = [c.append_uid("INBOX", m, **append) for m in messages]
        r = c.select("INBOX")
        self.assertTrue(r.ok, r)
        return c, addr, pw, uids

    # ------------------------------------------------------------ APPEND

    def test_append_with_flags_and_date_fetch_identical(self):
        addr, pw = self.new_user("f")
        c = self.session(addr, pw)
        msg = make_message("appended " + unique(), "line one\nline two\n" + "x" * 3000 + "\n")
        date = "05-Mar-2026 12:34:56 +0100"
        r = c.append("Drafts", msg, flags=["\\Seen", "\\Draft", "$Forwarded"], date=date)
        self.assertTrue(r.ok, r)
        appenduid = r.code_value("APPENDUID")
        self.assertIsNotNone(appenduid, "no APPENDUID: %r" % r)
        uidvalidity, uid = (int(x) for x in appenduid.split())
        r = c.select("Drafts")
        self.assertEqual(int(r.code_value("UIDVALIDITY")), uidvalidity)
        d = c.fetch(str(uid), "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])", uid=True)
        self.assertEqual(len(d), 1, d)
        it = d[1]
        self.assertEqual(int(it["UID"]), uid)
        self.assertEqual(item(it, "BODY[]"), msg)
        self.assertEqual(int(it["RFC822.SIZE"]), len(msg))
        self.assertEqual(flagset(it["FLAGS"]) - {"\\Recent"},
                         {"\\Seen", "\\Draft", "$Forwarded"})
        self.assertEqual(parse_imap_date(it["INTERNALDATE"]), parse_imap_date(date))

    def test_append_literal_plus_and_binary_content(self):
        c, addr, pw, _ = self.mailbox()
        body = bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"") * 4
        msg = make_message("8bit " + unique(), b"") + body + CRLF + b"end\r\n"
        uid = c.append_uid("INBOX", msg, nonsync=True)
        self.assertEqual(item(c.fetch(str(uid), "BODY.PEEK[]", uid=True)[1], "BODY[]"), msg)
        # APPEND without a date gets the current time
        it = c.fetch(str(uid), "INTERNALDATE", uid=True)[1]
        self.assertLess(abs(parse_imap_date(it["INTERNALDATE"]) - time.time()), 300)

    def test_append_errors(self):
        c, addr, pw, _ = self.mailbox()
        r = c.append("No/Such/Folder", make_message("x", "y\n"))
        self.assertEqual(r.status, "NO", r)
        self.assertEqual((r.code or "").upper(), "TRYCREATE", r)
        r = c.append("INBOX", make_message("x", "y\n"), flags=["\\Recent"])
        self.assertIn(r.status, ("BAD", "NO"), r)
        r = c.append("INBOX", make_message("x", "y\n"), date="31-Feb-2026 99:00:00 +0000")
        self.assertIn(r.status, ("BAD", "NO"), r)
        self.assertEqual(c.uids(), [], "a failed APPEND stored a message")

    def test_smtp_delivery_fetched_identical(self):
        addr, pw = self.new_user("f")
        msg = make_message("via smtp " + unique(), "body\n" * 50, to=addr)
        self.deliver(addr, msg)
        c = self.session(addr, pw)
        c.select("INBOX")
        it = c.fetch("1", "(RFC822.SIZE BODY.PEEK[] RFC822.HEADER BODY.PEEK[TEXT])")[1]
        full = item(it, "BODY[]")
        split_trace(full, msg)
        self.assertEqual(int(it["RFC822.SIZE"]), len(full))
        head, _, text = full.partition(b"\r\n\r\n")
        self.assertEqual(item(it, "RFC822.HEADER"), head + b"\r\n\r\n")
        self.assertEqual(item(it, "BODY[TEXT]"), text)

    # ------------------------------------------------------------ FETCH

    def test_envelope(self):
        m = Mime(unique())
        group = (b"From: Eve <eve@outside.test>\r\nTo: undisclosed-recipients:;\r\n"
                 b"Sender: list@outside.test\r\nReply-To: Replies <r@outside.test>\r\n"
                 b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nno date, no id\r\n")
        c, _, _, uids = self.mailbox([m.bytes, group])
        d = c.fetch("1:2", "ENVELOPE")
        env = d[1]["ENVELOPE"]
        self.assertEqual(len(env), 10, env)
        self.assertEqual(env[0], b"Tue, 03 Mar 2026 09:15:00 +0100")
        self.assertEqual(env[1], b"Quarterly report")
        alice = [[b"Alice Example", None, b"alice", b"example.test"]]
        self.assertEqual(env[2], alice)
        self.assertEqual(env[3], alice, "Sender defaults to From")
        self.assertEqual(env[4], alice, "Reply-To defaults to From")
        self.assertEqual(env[5], [[b"Bob", None, b"bob", b"example.test"],
                                  [None, None, b"carol", b"example.test"]])
        self.assertEqual(env[6], [[b"Dave, Jr.", None, b"dave", b"outside.test"]])
        self.assertIsNone(env[7])
        self.assertEqual(env[8], b"<parent@example.test>")
        self.assertTrue(env[9].startswith(b"<mp-") and env[9].endswith(b"@example.test>"))

        env = d[2]["ENVELOPE"]
        self.assertIsNone(env[0], "no Date header: NIL")
        self.assertEqual(env[1], b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "subject is not decoded")
        self.assertEqual(env[3], [[None, None, b"list", b"outside.test"]])
        self.assertEqual(env[4], [[b"Replies", None, b"r", b"outside.test"]])
        self.assertEqual(env[5], [[None, None, b"undisclosed-recipients", None],
                                  [None, None, None, None]], "group syntax")
        self.assertIsNone(env[9])

    def test_bodystructure_matches_parts(self):
        m = Mime(unique())
        c, _, _, _ = self.mailbox([m.bytes])
        it = c.fetch("1", "(BODYSTRUCTURE BODY)")[1]
        bs = it["BODYSTRUCTURE"]
        # multipart: parts..., subtype, params, disposition, language, location
        self.assertEqual(upper(bs[3]), b"MIXED", bs)
        self.assertEqual(params(bs[4]).get(b"BOUNDARY"), b"outer")
        alt, pdf, msg = bs[0], bs[1], bs[2]
        self.assertEqual(upper(alt[2]), b"ALTERNATIVE")
        plain, html = alt[0], alt[1]

        sections = {"1": m.alt, "1.1": m.plain, "1.2": m.html, "2": m.pdf, "3": m.inner,
                    "1.1.MIME": m.plain_hdr + CRLF, "2.MIME": m.pdf_hdr + CRLF,
                    "3.HEADER": m.inner_hdr + CRLF, "3.TEXT": m.inner_text,
                    "3.1": m.inner_text, "HEADER": m.header + CRLF, "TEXT": m.text}
        items = " ".join("BODY.PEEK[%s]" % s for s in sections)
        got = c.fetch("1", "(%s)" % items)[1]
        for s, want in sections.items():
            self.assertEqual(item(got, "BODY[%s]" % s), want, "BODY[%s]" % s)

        # text/plain: type subtype params id description encoding size lines
        self.assertEqual((upper(plain[0]), upper(plain[1])), (b"TEXT", b"PLAIN"))
        self.assertEqual(upper(params(plain[2]).get(b"CHARSET")), b"UTF-8")
        self.assertEqual(upper(plain[5]), b"QUOTED-PRINTABLE")
        self.assertEqual(int(plain[6]), len(m.plain))
        self.assertIn(int(plain[7]), (lines_of(m.plain), lines_of(m.plain) + 1))
        self.assertEqual(upper(html[1]), b"HTML")
        self.assertEqual(int(html[6]), len(m.html))
        # the attachment, with its disposition (extension data)
        self.assertEqual((upper(pdf[0]), upper(pdf[1])), (b"APPLICATION", b"PDF"))
        self.assertEqual(params(pdf[2]).get(b"NAME"), b"report.pdf")
        self.assertEqual(upper(pdf[5]), b"BASE64")
        self.assertEqual(int(pdf[6]), len(m.pdf))
        disp = pdf[8]
        self.assertEqual(upper(disp[0]), b"ATTACHMENT", pdf)
        self.assertEqual(params(disp[1]).get(b"FILENAME"), b"report.pdf")
        # message/rfc822: ... size envelope body lines
        self.assertEqual((upper(msg[0]), upper(msg[1])), (b"MESSAGE", b"RFC822"))
        self.assertEqual(int(msg[6]), len(m.inner))
        self.assertEqual(msg[7][1], b"inner message")
        self.assertEqual((upper(msg[8][0]), upper(msg[8][1])), (b"TEXT", b"PLAIN"))
        self.assertEqual(int(msg[8][6]), len(m.inner_text))
        self.assertIn(int(msg[9]), (lines_of(m.inner), lines_of(m.inner) + 1))
        # BODY is BODYSTRUCTURE without the extension data
        body = it["BODY"]
        self.assertEqual(upper(body[-1]), b"MIXED")
        self.assertEqual(len(body[0][0]), 8, "BODY text part has no extension data: %r"
                         % (body[0][0],))

    def test_bodystructure_of_plain_and_broken_messages(self):
        plain = make_message("plain", "just text\nand more\n")
        broken = (b"Subject: broken\r\nContent-Type: multipart/mixed; boundary=\"nope\"\r\n"
                  b"\r\nthere is no boundary line here\r\n")
        nohdr = b"\r\nbody without any header\r\n"
        badct = (b"Content-Type: ;;;===\r\nContent-Transfer-Encoding: x-unknown\r\n"
                 b"\r\nodd\r\n")
        c, _, _, _ = self.mailbox([plain, broken, nohdr, badct])
        d = c.fetch("1:4", "(BODYSTRUCTURE ENVELOPE RFC822.SIZE)")
        self.assertEqual(len(d), 4, d)
        bs = d[1]["BODYSTRUCTURE"]
        text = plain.split(b"\r\n\r\n", 1)[1]
        self.assertEqual((upper(bs[0]), upper(bs[1])), (b"TEXT", b"PLAIN"), "default type")
        self.assertEqual(upper(params(bs[2]).get(b"CHARSET")), b"US-ASCII")
        self.assertEqual(upper(bs[5]), b"7BIT")
        self.assertEqual(int(bs[6]), len(text))
        self.assertEqual(int(bs[7]), 2)
        self.assertEqual(item(c.fetch("1", "BODY.PEEK[1]")[1], "BODY[1]"), text,
                         "part 1 of a single-part message is its body")
        for n, raw in ((2, broken), (3, nohdr), (4, badct)):
            self.assertEqual(int(d[n]["RFC822.SIZE"]), len(raw))
            self.assertIsInstance(d[n]["BODYSTRUCTURE"], list)
            self.assertEqual(item(c.fetch(str(n), "BODY.PEEK[]")[n], "BODY[]"), raw)

    def test_header_fields_and_partial(self):
        m = Mime(unique())
        c, _, _, _ = self.mailbox([m.bytes])
        it = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)] "
                     "BODY.PEEK[HEADER.FIELDS (x-long Nonexistent)] "
                     "BODY.PEEK[HEADER.FIELDS.NOT (FROM SUBJECT X-LONG)] "
                     "BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<5.20> BODY.PEEK[]<%d.5>)"
                     % (len(m.bytes) + 10))[1]
        self.assertEqual(item(it, "BODY[HEADER.FIELDS (FROM SUBJECT)]"),
                         b'From: "Alice Example" <alice@example.test>\r\n'
                         b"Subject: Quarterly report\r\n\r\n")
        self.assertEqual(item(it, "BODY[HEADER.FIELDS (X-LONG NONEXISTENT)]"),
                         b"X-Long: first part\r\n\tsecond part\r\n\r\n")
        rest = [l for l in m.header.split(CRLF)[:-1]
                if not l.startswith((b"From:", b"Subject:", b"X-Long:", b"\t"))]
        self.assertEqual(item(it, "BODY[HEADER.FIELDS.NOT (FROM SUBJECT X-LONG)]"),
                         CRLF.join(rest) + CRLF + CRLF)
        self.assertEqual(item(it, "BODY[]<0>"), m.bytes[:10])
        self.assertEqual(item(it, "BODY[TEXT]<5>"), m.text[5:25])
        self.assertIn(item(it, "BODY[]<%d>" % (len(m.bytes) + 10)), (b"", None))
        # partial of a part, and a count running past its end
        it = c.fetch("1", "BODY.PEEK[1.1]<3.1000>")[1]
        self.assertEqual(item(it, "BODY[1.1]<3>"), m.plain[3:])

    def test_peek_does_not_set_seen_and_body_does(self):
        c, _, _, uids = self.mailbox([make_message("s1", "a\n"), make_message("s2", "b\n"),
                                      make_message("s3", "c\n")])
        c.fetch("1:3", "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.HEADER "
                "RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
        flags = c.fetch("1:3", "FLAGS")
        self.assertFalse([n for n, v in flags.items() if "\\Seen" in flagset(v["FLAGS"])],
                         "PEEK set \\Seen: %r" % flags)
        r = c.ok("FETCH", "1", "BODY[]")
        d = r.fetches()[1]
        if "FLAGS" in d:
            self.assertIn("\\Seen", flagset(d["FLAGS"]))
        c.ok("FETCH", "2", "RFC822.TEXT")
        c.ok("FETCH", "3", "BODY[HEADER]")
        flags = {n: "\\Seen" in flagset(v["FLAGS"]) for n, v in c.fetch("1:3", "FLAGS").items()}
        self.assertEqual(flags, {1: True, 2: True, 3: True})
        # another session sees \Seen too, so it is stored, not cached
        d = self.session(*self.user_of(c))
        d.select("INBOX", examine=True)
        self.assertEqual(len([1 for v in d.fetch("1:*", "FLAGS").values()
                              if "\\Seen" in flagset(v["FLAGS"])]), 3)

    def user_of(self, c):
        # the credentials used by mailbox(); kept on the connection
        return c.creds

    def session(self, user, password=None, role="imaps"):
        c = super().session(user, password, role)
        c.creds = (user, password)
        return c

    def test_macros_and_rfc822_names(self):
        msg = make_message("macros " + unique(), "m\n")
        c, _, _, uids = self.mailbox([msg])
        it = c.fetch("1", "ALL")[1]
        self.assertTrue({"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"} <= set(it), it)
        it = c.fetch("1", "FAST")[1]
        self.assertEqual(set(it), {"FLAGS", "INTERNALDATE", "RFC822.SIZE"})
        it = c.fetch("1", "FULL")[1]
        self.assertTrue({"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"} <= set(it))
        it = c.fetch("1", "(RFC822 UID)")[1]
        self.assertEqual(it["RFC822"], msg)
        self.assertEqual(int(it["UID"]), uids[0])
        # UID FETCH always returns the UID
        it = c.fetch(str(uids[0]), "FLAGS", uid=True)[1]
        self.assertEqual(int(it["UID"]), uids[0])

    def test_sequence_sets(self):
        msgs = [make_message("seq %d" % i, "n%d\n" % i) for i in range(6)]
        c, _, _, uids = self.mailbox(msgs)
        def seqs(s, uid=False):
            return sorted(int(v["UID"]) if uid else n
                          for n, v in c.fetch(s, "UID", uid=uid).items())
        self.assertEqual(seqs("1:*"), [1, 2, 3, 4, 5, 6])
        self.assertEqual(seqs("*:4"), [4, 5, 6])
        self.assertEqual(seqs("5:2"), [2, 3, 4, 5])
        self.assertEqual(seqs("6,1,3:2,*"), [1, 2, 3, 6])
        self.assertEqual(seqs("*"), [6])
        self.assertEqual(seqs("%d:*" % uids[3], uid=True), uids[3:])
        self.assertEqual(seqs("%d:*" % (uids[5] + 100), uid=True), [uids[5]],
                         "n:* includes the last message even past UIDNEXT (RFC 3501 6.4.8)")
        self.assertEqual(seqs("%d:%d" % (uids[5] + 100, uids[5] + 200), uid=True), [])
        r = c.cmd("FETCH", "7", "FLAGS")
        self.assertIn(r.status, ("BAD", "NO"), "message 7 of 6: %r" % r)

    # ------------------------------------------------------------ STORE

    def test_store_flags_silent_and_keywords(self):
        c, _, _, uids = self.mailbox([make_message("st%d" % i, "b\n") for i in range(3)])
        r = c.ok("STORE", "1", "+FLAGS", "(\\Flagged $Work)")
        d = r.fetches()
        self.assertEqual(flagset(d[1]["FLAGS"]) - {"\\Recent"}, {"\\Flagged", "$Work"})
        r = c.ok("STORE", "1", "+FLAGS.SILENT", "(\\Answered)")
        self.assertFalse(r.of("FETCH"), ".SILENT still sent FETCH: %r" % r)
        r = c.ok("STORE", "1", "-FLAGS", "(\\Flagged)")
        self.assertEqual(flagset(r.fetches()[1]["FLAGS"]) - {"\\Recent"}, {"\\Answered", "$Work"})
        r = c.ok("STORE", "1:2", "FLAGS", "(\\Seen)")
        d = r.fetches()
        self.assertEqual({n: flagset(v["FLAGS"]) - {"\\Recent"} for n, v in d.items()},
                         {1: {"\\Seen"}, 2: {"\\Seen"}})
        r = c.ok("UID STORE", "%d" % uids[2], "+FLAGS", "(\\Deleted)")
        d = r.fetches()
        self.assertEqual(int(d[3]["UID"]), uids[2], "UID STORE answers with the UID")
        r = c.ok("STORE", "1:*", "-FLAGS.SILENT", "(\\Seen \\Deleted)")
        flags = c.fetch("1:*", "FLAGS")
        self.assertEqual({n: flagset(v["FLAGS"]) - {"\\Recent"} for n, v in flags.items()},
                         {1: set(), 2: set(), 3: set()})
        # keywords persist across sessions and show up in FLAGS/PERMANENTFLAGS
        c.ok("STORE", "2", "+FLAGS", "($Label1 NonJunk)")
        d = self.session(*c.creds)
        r = d.select("INBOX")
        self.assertTrue({"$Label1", "NonJunk"} <= flagset(r.of("FLAGS")[0].tokens[1]), r)
        self.assertEqual(flagset(d.fetch("2", "FLAGS")[2]["FLAGS"]) - {"\\Recent"},
                         {"$Label1", "NonJunk"})

    def test_condstore_unchangedsince(self):
        c, addr, pw, _ = self.mailbox([make_message("cs%d" % i, "b\n") for i in range(3)])
        r = c.select("INBOX", extra="(CONDSTORE)")
        high0 = int(r.code_value("HIGHESTMODSEQ"))
        ms = {n: int(v["MODSEQ"][0]) for n, v in c.fetch("1:3", "(MODSEQ)").items()}
        self.assertTrue(all(0 < m <= high0 for m in ms.values()), (ms, high0))
        base = max(ms.values())
        # another client changes message 1
        other = self.session(addr, pw)
        other.select("INBOX")
        other.ok("STORE", "1", "+FLAGS", "(\\Flagged)")
        # so a conditional store on 1:2 must skip 1 and report it
        r = c.ok("STORE", "1:2", "(UNCHANGEDSINCE %d)" % base, "+FLAGS", "(\\Seen)")
        mod = r.code_value("MODIFIED")
        self.assertEqual(mod, "1", "MODIFIED: %r" % r)
        d = r.fetches()
        self.assertIn(2, d)
        self.assertGreater(int(d[2]["MODSEQ"][0]), base)
        flags = {n: flagset(v["FLAGS"]) - {"\\Recent"} for n, v in c.fetch("1:3", "FLAGS").items()}
        self.assertEqual(flags, {1: {"\\Flagged"}, 2: {"\\Seen"}, 3: set()})
        # CHANGEDSINCE lists exactly the changed ones
        d = c.fetch("1:*", "(FLAGS) (CHANGEDSINCE %d)" % base)
        self.assertEqual(sorted(d), [1, 2])
        # Thunderbird's first CONDSTORE sync asks with CHANGEDSINCE 0: all
        # of them, each with its MODSEQ
        r = c.ok("UID FETCH", "1:*", "(FLAGS) (CHANGEDSINCE 0)")
        d = r.fetches()
        self.assertEqual(sorted(d), [1, 2, 3], r)
        self.assertTrue(all(int(v["MODSEQ"][0]) > 0 for v in d.values()), r)
        self.assertEqual(c.ok("SEARCH", "MODSEQ", str(base + 1)).search(), {1, 2})
        r = c.select("INBOX", extra="(CONDSTORE)")
        self.assertGreater(int(r.code_value("HIGHESTMODSEQ")), high0)
        # UNCHANGEDSINCE 0 on a message always fails
        r = c.cmd("STORE", "3", "(UNCHANGEDSINCE 0)", "+FLAGS", "(\\Seen)")
        self.assertTrue(r.ok and r.code_value("MODIFIED") == "3", r)

    # ------------------------------------------------------------ COPY, MOVE

    def test_copy_and_move_with_copyuid(self):
        msgs = [make_message("cp%d %s" % (i, unique()), "body %d\n" % i) for i in range(4)]
        c, _, _, uids = self.mailbox(msgs)
        c.ok("STORE", "2", "+FLAGS", "(\\Flagged $Keep)")
        r = c.ok("UID COPY", "%d:%d" % (uids[0], uids[1]), "Archive")
        cu = r.code_value("COPYUID")
        self.assertIsNotNone(cu, "no COPYUID: %r" % r)
        validity, src, dst = cu.split()
        self.assertEqual(expand(src), uids[:2])
        dst = expand(dst)
        self.assertEqual(len(dst), 2)
        self.assertEqual(len(c.uids()), 4, "COPY changed the source")

        r = c.ok("UID MOVE", str(uids[2]), "Trash")
        mv = r.code_value("COPYUID")
        self.assertIsNotNone(mv, "MOVE without COPYUID: %r" % r)
        self.assertEqual(sequence_after_expunges(uids, r), uids[:2] + uids[3:])
        self.assertEqual(c.uids(), uids[:2] + uids[3:])
        r = c.ok("MOVE", "3", "Trash")		# sequence form: message uids[3]
        self.assertEqual(sequence_after_expunges(uids[:2] + uids[3:], r), uids[:2])

        r = c.cmd("COPY", "1", '"No Such"')
        self.assertEqual(r.status, "NO")
        self.assertEqual((r.code or "").upper(), "TRYCREATE")

        r = c.select("Archive")
        self.assertEqual(int(r.code_value("UIDVALIDITY")), int(validity))
        it = c.fetch("%s" % ",".join(map(str, dst)), "(UID FLAGS BODY.PEEK[])", uid=True)
        got = {int(v["UID"]): v for v in it.values()}
        self.assertEqual(item(got[dst[0]], "BODY[]"), msgs[0])
        self.assertEqual(item(got[dst[1]], "BODY[]"), msgs[1])
        self.assertEqual(flagset(got[dst[1]]["FLAGS"]) - {"\\Recent"}, {"\\Flagged", "$Keep"})
        r = c.select("Trash")
        bodies = sorted(item(v, "BODY[]") for v in c.fetch("1:*", "BODY.PEEK[]").values())
        self.assertEqual(bodies, sorted([msgs[2], msgs[3]]))
        # a copy is independent: expunging the source keeps it
        c.select("INBOX")
        c.ok("STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
        c.ok("EXPUNGE")
        c.select("Archive")
        self.assertEqual(len(c.uids()), 2)

    # ------------------------------------------------------------ EXPUNGE

    def test_expunge_uid_expunge_close(self):
        msgs = [make_message("ex%d" % i, "b%d\n" % i) for i in range(6)]
        c, addr, pw, uids = self.mailbox(msgs)
        c.ok("STORE", "2,4", "+FLAGS.SILENT", "(\\Deleted)")
        r = c.ok("EXPUNGE")
        self.assertEqual(len(r.of("EXPUNGE")), 2, r)
        left = sequence_after_expunges(uids, r)
        self.assertEqual(left, [uids[0], uids[2], uids[4], uids[5]])
        self.assertEqual(c.uids(), left)
        # UID EXPUNGE removes only the given \Deleted messages
        c.ok("STORE", "1,2", "+FLAGS.SILENT", "(\\Deleted)")
        r = c.ok("UID EXPUNGE", "%d:%d" % (uids[0], uids[1]))
        self.assertEqual(sequence_after_expunges(left, r), [uids[2], uids[4], uids[5]])
        self.assertEqual(c.uids(), [uids[2], uids[4], uids[5]])
        self.assertIn("\\Deleted", flagset(c.fetch("1", "FLAGS")[1]["FLAGS"]))
        # UNSELECT keeps \Deleted messages; CLOSE from EXAMINE keeps them too
        c.ok("UNSELECT")
        c.select("INBOX", examine=True)
        r = c.ok("CLOSE")
        self.assertFalse(r.of("EXPUNGE"))
        c.select("INBOX")
        self.assertEqual(c.uids(), [uids[2], uids[4], uids[5]])
        # CLOSE expunges silently and leaves the selected state
        r = c.ok("CLOSE")
        self.assertFalse(r.of("EXPUNGE"), "CLOSE sent EXPUNGE responses: %r" % r)
        self.assertIn(c.cmd("FETCH", "1", "FLAGS").status, ("BAD", "NO"))
        c.select("INBOX")
        self.assertEqual(c.uids(), [uids[4], uids[5]])
        # the bytes of what is left are untouched
        self.assertEqual(item(c.fetch("1", "BODY.PEEK[]")[1], "BODY[]"), msgs[4])

    # ------------------------------------------------------------ size

    def test_rfc822_size_equals_body_length(self):
        bodies = ["", "x\n", "line\n" * 1000, "no final newline", "é ü ß\n" * 10]
        msgs = [make_message("size %d" % i, b) for i, b in enumerate(bodies)]
        msgs.append(b"Subject: minimal\r\n\r\n")
        c, _, _, _ = self.mailbox(msgs)
        d = c.fetch("1:*", "(RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(len(d), len(msgs))
        for n, v in d.items():
            self.assertEqual(item(v, "BODY[]"), msgs[n - 1])
            self.assertEqual(int(v["RFC822.SIZE"]), len(msgs[n - 1]))


def expand(uidset):
    """'3:5,9' -> [3, 4, 5, 9] (ranges in either order)."""
    out = []
    for part in uidset.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


class ImapLargeMessageTests(ImapTestCase):
    LABEL = "imap-large"
    CONFIG = {"limits": {"max_message_size": "20m"}}

    def test_10mb_append_fetch_identical_bounded_memory(self):
        addr, pw = self.new_user("big")
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-=+/"
        rnd = os.urandom(10 * 1024 * 1024 // 2).hex().encode()
        body = CRLF.join(rnd[i:i + 76] for i in range(0, len(rnd), 76)) + CRLF
        msg = make_message("ten megabytes", b"") + line + CRLF + body
        self.assertGreater(len(msg), 10 * 1024 * 1024)
        digest = hashlib.sha256(msg).hexdigest()
        c = self.session(addr, pw)
        uid = c.append_uid("INBOX", msg)
        c.select("INBOX")
        it = c.fetch(str(uid), "RFC822.SIZE", uid=True)[1]
        self.assertEqual(int(it["RFC822.SIZE"]), len(msg))

        # Read the literal slowly while watching the daemon's memory: a
        # streaming server holds a bounded window, not the whole message.
        pid = self.server.pid
        base = rss_kb(pid)
        peak = base
        c.sock.settimeout(60)
        c.send("big UID FETCH %d BODY.PEEK[]\r\n" % uid)
        head = c.readline()
        self.assertTrue(head.startswith(b"* 1 FETCH") and head.rstrip().endswith(b"}"), head)
        size = int(head.rsplit(b"{", 1)[1].split(b"}")[0])
        self.assertEqual(size, len(msg))
        h = hashlib.sha256()
        got = 0
        data = c.buf
        c.buf = b""
        h.update(data[:size])
        got = min(len(data), size)
        rest = data[size:]
        while got < size:
            chunk = c.sock.recv(min(65536, size - got))
            if not chunk:
                self.fail("EOF after %d of %d bytes" % (got, size))
            h.update(chunk)
            got += len(chunk)
            if got % (1024 * 1024) < 65536:
                peak = max(peak, rss_kb(pid))
                time.sleep(0.05)
        c.buf = rest
        self.assertEqual(h.hexdigest(), digest, "10 MB message not byte-identical")
        self.assertEqual(c.readline(), b")\r\n")
        r = c.wait("big")
        self.assertTrue(r.ok, r)
        if not sanitized(pid):
            self.assertLess(peak - base, 5 * 1024,
                            "RSS grew by %d kB while one client read a 10 MB message"
                            % (peak - base))
        # and through imaplib, an independent client
        m = imaplib.IMAP4_SSL("127.0.0.1", self.server.port("imaps"),
                              ssl_context=insecure_context(), timeout=60)
        try:
            m.login(addr, pw)
            m.select("INBOX", readonly=True)
            typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            self.assertEqual(hashlib.sha256(data[0][1]).hexdigest(), digest)
            m.logout()
        finally:
            try:
                m.shutdown()
            except OSError:
                pass

    def test_too_big_append_refused(self):
        addr, pw = self.new_user("big")
        c = self.session(addr, pw)
        r = c.append("INBOX", b"Subject: big\r\n\r\n" + b"y" * (21 * 1024 * 1024))
        self.assertEqual(r.status, "NO", r)
        c.select("INBOX")
        self.assertEqual(c.uids(), [])


if __name__ == "__main__":
    unittest.main()
