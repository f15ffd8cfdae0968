# SPDX-License-Identifier: ISC
"""IMAP SEARCH: every RFC 3501 key on a mailbox whose content is known.

Seven messages with different flags, internal dates, Date fields, senders,
headers, sizes and body encodings are APPENDed; each search key is then
checked against what a Python predicate computes from the same message
descriptions, so no result is written down by hand.  UID SEARCH must agree
with SEARCH through the UID map, and CHARSET UTF-8 strings are sent as
literals.
"""

import base64
import datetime
import email.utils
import quopri
import unittest

from imap_client import MONTHS, ImapTestCase, Literal, quote

UTC = datetime.timezone.utc


class Msg:
    def __init__(self, subject, frm, body, day, sent, flags=(), to="alice@example.test",
                 extra=(), subject_raw=None, cte=None, charset=None):
        self.subject = subject			# decoded
        self.flags = set(flags)
        self.day = day				# internal date (a date)
        self.sent = sent			# Date: field (a date)
        self.body = body			# decoded text
        fields = [("From", frm), ("To", to),
                  ("Subject", subject_raw or subject),
                  ("Date", email.utils.format_datetime(
                      datetime.datetime(sent.year, sent.month, sent.day, 12, 0, tzinfo=UTC))),
                  ("Message-ID", "<%s.%s@search.test>" % (sent.isoformat(), abs(hash(subject))))]
        fields.extend(extra)
        if charset or cte:
            fields.append(("MIME-Version", "1.0"))
            fields.append(("Content-Type", "text/plain; charset=%s" % (charset or "us-ascii")))
        if cte:
            fields.append(("Content-Transfer-Encoding", cte))
        self.fields = [(k.lower(), v) for k, v in fields]
        decoded = {"Subject": subject}
        self.header_text = "\r\n".join("%s: %s" % (k, decoded.get(k, v)) for k, v in fields)
        raw_body = body.encode("utf-8")
        if cte == "base64":
            enc = base64.b64encode(raw_body)
            raw_body = b"\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) + b"\r\n"
        else:
            raw_body = raw_body.replace(b"\n", b"\r\n")
        self.bytes = ("\r\n".join("%s: %s" % kv for kv in fields) + "\r\n\r\n").encode() + raw_body
        self.size = len(self.bytes)

    def header(self, name):
        """Decoded values of a field (only Subject is ever encoded here)."""
        name = name.lower()
        return [self.subject if k == "subject" else v for k, v in self.fields if k == name]

    def has(self, name, s):
        return any(s.lower() in v.lower() for v in self.header(name))

    def text_has(self, s):
        return s.lower() in self.header_text.lower() or s.lower() in self.body.lower()

    def body_has(self, s):
        return s.lower() in self.body.lower()


def D(y, m, d):
    return datetime.date(y, m, d)


def imap_day(d):
    """A search date: "12-Jan-2026"."""
    return "%02d-%s-%04d" % (d.day, MONTHS[d.month - 1], d.year)


MSGS = [
    Msg("Project Apollo kickoff", "Bob Builder <bob@builder.test>",
        "meeting notes\nneedle in a haystack\n", D(2026, 1, 10), D(2026, 1, 10),
        flags=["\\Seen"], extra=[("X-Project", "apollo")]),
    Msg("Re: budget", '"Carol" <carol@example.test>', "numbers only\n" * 200,
        D(2026, 1, 12), D(2026, 2, 15), flags=["\\Flagged", "$Work"],
        to="bob@example.test", extra=[("Cc", "Dave <dave@outside.test>")]),
    Msg("lunch", "alice@example.test", "Lunch at noon?\n", D(2026, 1, 12), D(2026, 2, 20),
        flags=["\\Answered", "\\Seen"], extra=[("Bcc", "secret@outside.test")]),
    Msg("Grüße aus Köln", "Eve <eve@outside.test>", "plain ascii body\n", D(2026, 2, 1),
        D(2026, 2, 1), flags=["\\Draft"],
        subject_raw="=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", extra=[("X-Project", "zeus")]),
    Msg("Umlaute", "Frank <frank@outside.test>", "Viele Grüße aus München\n", D(2026, 2, 15),
        D(2026, 2, 15), cte="8bit", charset="utf-8"),
    Msg("base64 mail", "Grace <grace@outside.test>", "the hidden treasure map\n",
        D(2026, 2, 20), D(2026, 2, 21), flags=["\\Deleted", "\\Seen"], cte="base64"),
    Msg("APOLLO status", "Bob <bob@example.test>", "needle again\n", D(2026, 3, 1),
        D(2026, 3, 1), flags=["\\Flagged", "\\Seen", "$Work"], extra=[("X-Project", "Apollo-2")]),
]


def flag(f):
    return lambda m: f in m.flags


def noflag(f):
    return lambda m: f not in m.flags


def cases():
    """(search key parts, predicate on (seq, Msg)) pairs."""
    mid = D(2026, 1, 12)
    size3 = MSGS[2].size
    return [
        (["ALL"], lambda n, m: True),
        (["SEEN"], lambda n, m: "\\Seen" in m.flags),
        (["UNSEEN"], lambda n, m: "\\Seen" not in m.flags),
        (["FLAGGED"], lambda n, m: "\\Flagged" in m.flags),
        (["UNFLAGGED"], lambda n, m: "\\Flagged" not in m.flags),
        (["ANSWERED"], lambda n, m: "\\Answered" in m.flags),
        (["UNANSWERED"], lambda n, m: "\\Answered" not in m.flags),
        (["DELETED"], lambda n, m: "\\Deleted" in m.flags),
        (["UNDELETED"], lambda n, m: "\\Deleted" not in m.flags),
        (["DRAFT"], lambda n, m: "\\Draft" in m.flags),
        (["UNDRAFT"], lambda n, m: "\\Draft" not in m.flags),
        (["KEYWORD", "$Work"], lambda n, m: "$Work" in m.flags),
        (["UNKEYWORD", "$Work"], lambda n, m: "$Work" not in m.flags),
        (["KEYWORD", "$NeverUsed"], lambda n, m: False),
        (["BEFORE", imap_day(mid)], lambda n, m: m.day < mid),
        (["ON", imap_day(mid)], lambda n, m: m.day == mid),
        (["SINCE", imap_day(mid)], lambda n, m: m.day >= mid),
        (["SENTBEFORE", imap_day(D(2026, 2, 15))], lambda n, m: m.sent < D(2026, 2, 15)),
        (["SENTON", imap_day(D(2026, 2, 15))], lambda n, m: m.sent == D(2026, 2, 15)),
        (["SENTSINCE", imap_day(D(2026, 2, 15))], lambda n, m: m.sent >= D(2026, 2, 15)),
        (["FROM", "bob"], lambda n, m: m.has("from", "bob")),
        (["FROM", "BUILDER"], lambda n, m: m.has("from", "builder")),
        (["TO", "bob"], lambda n, m: m.has("to", "bob")),
        (["CC", "dave"], lambda n, m: m.has("cc", "dave")),
        (["BCC", "secret"], lambda n, m: m.has("bcc", "secret")),
        (["SUBJECT", "apollo"], lambda n, m: m.has("subject", "apollo")),
        (["SUBJECT", '"project apollo"'], lambda n, m: m.has("subject", "project apollo")),
        (["HEADER", "X-Project", "apollo"], lambda n, m: m.has("x-project", "apollo")),
        (["HEADER", "x-project", '""'], lambda n, m: bool(m.header("x-project"))),
        (["HEADER", "Message-ID", quote(MSGS[3].header("message-id")[0])],
         lambda n, m: m is MSGS[3]),
        (["BODY", "needle"], lambda n, m: m.body_has("needle")),
        (["BODY", "apollo"], lambda n, m: m.body_has("apollo")),
        (["BODY", "treasure"], lambda n, m: m.body_has("treasure")),
        (["TEXT", "needle"], lambda n, m: m.text_has("needle")),
        (["TEXT", "builder"], lambda n, m: m.text_has("builder")),
        (["LARGER", str(size3)], lambda n, m: m.size > size3),
        (["SMALLER", str(size3)], lambda n, m: m.size < size3),
        (["OR", "SEEN", "FLAGGED"], lambda n, m: m.flags & {"\\Seen", "\\Flagged"}),
        (["NOT", "SEEN"], lambda n, m: "\\Seen" not in m.flags),
        (["NOT", "OR", "SEEN", "FLAGGED"], lambda n, m: not m.flags & {"\\Seen", "\\Flagged"}),
        (["SEEN", "FLAGGED"], lambda n, m: {"\\Seen", "\\Flagged"} <= m.flags),
        (["OR", "(SEEN FLAGGED)", "DRAFT"],
         lambda n, m: {"\\Seen", "\\Flagged"} <= m.flags or "\\Draft" in m.flags),
        (["(OR ANSWERED DRAFT)", "UNSEEN"],
         lambda n, m: m.flags & {"\\Answered", "\\Draft"} and "\\Seen" not in m.flags),
        (["2:4"], lambda n, m: 2 <= n <= 4),
        (["5:3", "SEEN"], lambda n, m: 3 <= n <= 5 and "\\Seen" in m.flags),
        (["*"], lambda n, m: n == len(MSGS)),
        (["1,3,*"], lambda n, m: n in (1, 3, len(MSGS))),
        (["NOT", "1:2"], lambda n, m: n > 2),
        (["CHARSET", "UTF-8", "BODY", Literal("Grüße")], lambda n, m: m.body_has("Grüße")),
        (["CHARSET", "UTF-8", "SUBJECT", Literal("köln")], lambda n, m: m.has("subject", "köln")),
        (["CHARSET", "US-ASCII", "SUBJECT", "lunch"], lambda n, m: m.has("subject", "lunch")),
    ]


class ImapSearchTests(ImapTestCase):
    LABEL = "imap-search"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addr = "search@example.test"
        cls.pw = "Search-pw-1"
        cls.server.add_user(cls.addr, cls.pw)

    def setUp(self):
        self.c = self.session(self.addr, self.pw)
        r = self.c.select("INBOX")
        self.assertTrue(r.ok, r)
        if not r.of("EXISTS") or r.of("EXISTS")[-1].number() == 0:
            for m in MSGS:
                date = '%s 12:00:00 +0000' % imap_day(m.day)
                r = self.c.append("INBOX", m.bytes, flags=sorted(m.flags), date=date)
                self.assertTrue(r.ok, r)
            self.c.select("INBOX")
        self.uids = self.c.uids()
        self.assertEqual(len(self.uids), len(MSGS))
        sizes = self.c.fetch("1:*", "RFC822.SIZE")
        self.assertEqual([int(sizes[n]["RFC822.SIZE"]) for n in sorted(sizes)],
                         [m.size for m in MSGS])

    def check(self, key, pred):
        want = {n for n, m in enumerate(MSGS, 1) if pred(n, m)}
        r = self.c.cmd("SEARCH", *key)
        self.assertTrue(r.ok, "SEARCH %s: %r" % (key, r))
        self.assertEqual(r.search(), want, "SEARCH %s" % " ".join(map(str, key)))
        r = self.c.cmd("UID SEARCH", *key)
        self.assertTrue(r.ok, "UID SEARCH %s: %r" % (key, r))
        self.assertEqual(r.search(), {self.uids[n - 1] for n in want},
                         "UID SEARCH %s" % " ".join(map(str, key)))

    def test_each_key(self):
        failures = []
        for key, pred in cases():
            try:
                self.check(key, pred)
            except AssertionError as e:
                failures.append(str(e).splitlines()[0] + " / " + str(e).splitlines()[-1])
        self.assertEqual(failures, [], "\n" + "\n".join(failures))

    def test_uid_sets(self):
        u = self.uids
        r = self.c.ok("UID SEARCH", "UID", "%d:%d" % (u[1], u[3]))
        self.assertEqual(r.search(), set(u[1:4]))
        r = self.c.ok("SEARCH", "UID", "%d,%d" % (u[0], u[6]))
        self.assertEqual(r.search(), {1, 7})
        r = self.c.ok("SEARCH", "UID", "%d:*" % (u[6] + 1000))
        self.assertEqual(r.search(), {7})
        r = self.c.ok("SEARCH", "NOT", "UID", "%d:%d" % (u[0], u[5]))
        self.assertEqual(r.search(), {7})

    def test_utf8_literal_needs_continuation(self):
        # The same search with a synchronising and a non-synchronising
        # literal, and as a quoted 7-bit string when possible.
        for lit in (Literal("München"), Literal("München", nonsync=True)):
            r = self.c.ok("SEARCH", "CHARSET", "UTF-8", "BODY", lit)
            self.assertEqual(r.search(), {5})
        self.assertEqual(self.c.ok("SEARCH", "BODY", '"Viele Gr"').search(), {5})

    def test_unicode_case_insensitive(self):
        # Non-ASCII letters match in the other case (simple Unicode case
        # folding), in encoded-word subjects and in 8bit, base64 and
        # quoted-printable bodies.  A fresh user keeps INBOX's seven intact.
        def fold_char(c):
            # Simple folding: full casefold() unless it gives several
            # characters, then lower() ("ẞ" to "ß"), else the character.
            for t in (c.casefold(), c.lower()):
                if len(t) == 1:
                    return t
            return c

        def fold(text):
            return "".join(map(fold_char, text))

        def b64word(text):
            return "=?UTF-8?B?%s?=" % base64.b64encode(text.encode()).decode()

        msgs = [  # (subject, body, Content-Transfer-Encoding)
            ("ÄRGER mit ΣΟΦΙΑΣ", "Grüße aus МОСКВА, ЀЏ\n", "8bit"),
            ("arger ohne Umlaut", "Привет, Москва!\n", "base64"),
            ("Tiếng Việt", "ĐƯỜNG PHỐ ＦＵＬＬ\n", "quoted-printable"),
        ]
        addr, pw = self.new_user("fold")
        c = self.session(addr, pw)
        for subject, body, cte in msgs:
            raw = body.replace("\n", "\r\n").encode()
            if cte == "base64":
                raw = base64.encodebytes(raw).replace(b"\n", b"\r\n")
            elif cte == "quoted-printable":
                raw = quopri.encodestring(raw).replace(b"\n", b"\r\n")
            head = ("From: fold@example.test\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: %s\r\n\r\n" % (b64word(subject), cte))
            self.assertTrue(c.append("INBOX", head.encode() + raw).ok)
        self.assertTrue(c.select("INBOX").ok)
        searches = [("SUBJECT", "ärger"), ("SUBJECT", "σοφιας"), ("SUBJECT", "ARGER"),
                    ("SUBJECT", "TIẾNG"), ("SUBJECT", "ärgerlich"), ("BODY", "москва"),
                    ("BODY", "ѐџ"), ("BODY", "GRÜSSE"), ("BODY", "grüße"),
                    ("BODY", "đường"), ("BODY", "ｆｕｌｌ"), ("BODY", "москвы"),
                    ("TEXT", "ΣΟΦΙΑς")]
        for key, needle in searches:
            want = {n for n, (subject, body, _) in enumerate(msgs, 1)
                    if fold(needle) in fold({"SUBJECT": subject, "BODY": body,
                                             "TEXT": subject + "\n" + body}[key])}
            r = c.ok("SEARCH", "CHARSET", "UTF-8", key, Literal(needle))
            self.assertEqual(r.search(), want, "SEARCH %s %s" % (key, needle))
        # Both kinds of answer occur, so neither can pass by accident.
        self.assertEqual(c.ok("SEARCH", "CHARSET", "UTF-8", "BODY", Literal("МОСКВА")).search(),
                         {1, 2})
        self.assertEqual(c.ok("SEARCH", "CHARSET", "UTF-8", "SUBJECT",
                              Literal("ÄRGERLICH")).search(), set())

    def test_bad_keys(self):
        for key in (["FROM"], ["BEFORE", "2026-01-01"], ["LARGER", "x"], ["OR", "SEEN"],
                    ["NOT"], ["(SEEN"], ["UID", "x:y"], ["KEYWORD"]):
            r = self.c.cmd("SEARCH", *key)
            self.assertEqual(r.status, "BAD", "SEARCH %s: %r" % (key, r))


if __name__ == "__main__":
    unittest.main()
