# SPDX-License-Identifier: ISC
"""A small IMAP client for the integration tests, and their base class.

imaplib hides what the server really sent (it rewrites nothing, but keeps
untagged responses in a dictionary and throws their order away), so the
tests that check the protocol use ImapConn: it sends one command at a time
and returns the tagged status together with every untagged response in
the order they came.  Responses are parsed from the wire format: atoms
(ImapAtom, a str), quoted strings and literals (bytes, exactly as sent),
NIL (None) and parenthesised lists (list).  A section such as
BODY[HEADER.FIELDS (FROM)]<0> is one atom, as in a FETCH response.

Every read is bounded by the socket timeout; nothing here waits forever.
"""

import base64
import calendar
import re
import socket
import time
import unittest

from postroom_harness import (IO_TIMEOUT, USERS, HarnessError, LineClient,
                              ServerTestCase, imap_supported, unique)

SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash",
               "Junk": "\\Junk", "Archive": "\\Archive"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec")


class ImapAtom(str):
    """An atom (or number, flag, section) as opposed to a string."""


class ImapProtocolError(HarnessError):
    pass


_LITERAL_RX = re.compile(rb"~?\{(\d+)\}\r\n$")
_STATUS_RX = re.compile(rb"^(\S+) (OK|NO|BAD|PREAUTH|BYE)(?: \[([^\]]*)\])? ?(.*?)\r?\n?$",
                        re.I | re.S)


def parse_tokens(wire):
    """Tokens of one response in wire format (lines joined with CRLF and
    literal bytes inline).  Returns a list; raises ImapProtocolError."""
    pos = 0
    n = len(wire)
    stack = [[]]
    while pos < n:
        c = wire[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif c == b"\r" and wire[pos:pos + 2] == b"\r\n":
            pos += 2
        elif c == b"(":
            stack.append([])
            pos += 1
        elif c == b")":
            if len(stack) == 1:
                raise ImapProtocolError("unbalanced ')' in %r" % wire[:200])
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif c == b'"':
            out = bytearray()
            pos += 1
            while True:
                if pos >= n:
                    raise ImapProtocolError("unterminated quoted string in %r" % wire[:200])
                ch = wire[pos]
                if ch == 0x5C:		# backslash
                    out.append(wire[pos + 1])
                    pos += 2
                elif ch == 0x22:
                    pos += 1
                    break
                elif ch in (0x0D, 0x0A):
                    raise ImapProtocolError("CR/LF in a quoted string: %r" % wire[:200])
                else:
                    out.append(ch)
                    pos += 1
            stack[-1].append(bytes(out))
        elif c in (b"{", b"~") and re.match(rb"~?\{\d+\}\r\n", wire[pos:pos + 24]):
            m = re.match(rb"~?\{(\d+)\}\r\n", wire[pos:pos + 24])
            size = int(m.group(1))
            pos += m.end()
            if pos + size > n:
                raise ImapProtocolError("literal of %d bytes is cut short" % size)
            stack[-1].append(wire[pos:pos + size])
            pos += size
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = wire[pos:pos + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b"(", b")", b"\r", b"\n"):
                    break
                pos += 1
            atom = wire[start:pos].decode("utf-8", "surrogateescape")
            stack[-1].append(None if atom.upper() == "NIL" else ImapAtom(atom))
    if len(stack) != 1:
        raise ImapProtocolError("unbalanced '(' in %r" % wire[:200])
    return stack[0]


class Response:
    """One server response: raw bytes (wire format) and, for untagged data
    and status responses, its tokens after the '*'."""

    def __init__(self, wire):
        self.wire = wire
        self.first = wire.split(b"\r\n", 1)[0]
        self.tag = self.first.split(b" ", 1)[0].decode("ascii", "replace")
        self._tokens = None

    @property
    def tokens(self):
        if self._tokens is None:
            self._tokens = parse_tokens(self.wire)[1:]
        return self._tokens

    @property
    def untagged(self):
        return self.tag == "*"

    @property
    def continuation(self):
        return self.tag == "+"

    def status(self):
        """(status, code, text) of a status response, else None."""
        m = _STATUS_RX.match(self.first)
        if not m:
            return None
        code = m.group(3).decode("utf-8", "replace") if m.group(3) is not None else None
        return (m.group(2).decode().upper(), code,
                m.group(4).decode("utf-8", "replace"))

    def kind(self):
        """The response name: OK/NO/BAD/BYE/PREAUTH, CAPABILITY, LIST,
        FLAGS, SEARCH ..., or EXISTS/RECENT/EXPUNGE/FETCH after a number."""
        t = self.tokens
        if not t:
            return ""
        if len(t) > 1 and isinstance(t[0], str) and t[0].isdigit():
            return str(t[1]).upper()
        return str(t[0]).upper()

    def number(self):
        return int(self.tokens[0])

    def __repr__(self):
        return "Response(%r)" % self.wire[:300]


class Result:
    """A command's result: the tagged status and the untagged responses."""

    def __init__(self, tag, tagged, untagged):
        self.tag = tag
        self.tagged = tagged
        self.untagged = untagged
        st = tagged.status() if tagged is not None else None
        self.status, self.code, self.text = st if st else ("EOF", None, "")

    @property
    def ok(self):
        return self.status == "OK"

    def of(self, kind):
        return [r for r in self.untagged if r.kind() == kind]

    def codes(self):
        """Response codes of the tagged and untagged status responses."""
        out = [r.status()[1] for r in self.untagged
               if r.status() and r.status()[1] is not None]
        if self.code is not None:
            out.append(self.code)
        return out

    def code_value(self, name):
        """The text after NAME in a response code (tagged or untagged)."""
        for c in self.codes():
            parts = c.split(" ", 1)
            if parts[0].upper() == name.upper():
                return parts[1] if len(parts) > 1 else ""
        return None

    def fetches(self):
        """{seq: {ITEM: value}} from the FETCH responses (items merged)."""
        out = {}
        for r in self.of("FETCH"):
            out.setdefault(r.number(), {}).update(fetch_items(r.tokens[2]))
        return out

    def search(self):
        """The numbers of the SEARCH responses, as a set."""
        nums = set()
        for r in self.of("SEARCH"):
            for t in r.tokens[1:]:
                if isinstance(t, list):
                    break		# (MODSEQ n)
                nums.add(int(t))
        return nums

    def __repr__(self):
        return "Result(%s %s [%s] %s, %d untagged: %r)" % (
            self.tag, self.status, self.code, self.text, len(self.untagged),
            [u.first[:120] for u in self.untagged[:12]])


def fetch_items(lst):
    """A FETCH response's list as {NAME: value}: names are upper-cased
    atoms such as 'FLAGS', 'UID', 'BODY[]', 'BODY[1.MIME]<0>'."""
    if not isinstance(lst, list) or len(lst) % 2:
        raise ImapProtocolError("malformed FETCH item list %r" % (lst,))
    out = {}
    for i in range(0, len(lst), 2):
        name = lst[i]
        if not isinstance(name, ImapAtom):
            raise ImapProtocolError("FETCH item name is not an atom: %r" % (name,))
        # upper-case the item name but keep header names inside [] as sent
        m = re.match(r"^([A-Za-z0-9.]+)(.*)$", name, re.S)
        key = m.group(1).upper() + m.group(2)
        out[key] = lst[i + 1]
    return out


def _item_name(name):
    return re.sub(r"\s+", " ", name.replace('"', "")).upper()


def item(items, name):
    """The value of FETCH item name in a fetch_items() dict; names compare
    without case and quotes (BODY[HEADER.FIELDS ("From")] is
    BODY[HEADER.FIELDS (FROM)]).  Raises KeyError when it is missing."""
    want = _item_name(name)
    for k, v in items.items():
        if _item_name(k) == want:
            return v
    raise KeyError("%s not in the FETCH response (%s)" % (name, ", ".join(items)))


def flagset(value):
    """A FLAGS list as a set of str, system flags with their case fixed."""
    out = set()
    for f in value or []:
        f = str(f)
        out.add("\\" + f[1:].capitalize() if f.startswith("\\") else f)
    return out


def quote(s):
    """s as an IMAP quoted string (s must be 7-bit without CR/LF)."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    if any(ord(c) > 126 or c in "\r\n\0" for c in s):
        raise ValueError("cannot quote %r" % s)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_date(t, tz_minutes=0):
    """An INTERNALDATE string for UTC seconds t shown in zone tz_minutes."""
    tm = time.gmtime(t + tz_minutes * 60)
    sign = "+" if tz_minutes >= 0 else "-"
    return "%02d-%s-%04d %02d:%02d:%02d %s%02d%02d" % (
        tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year, tm.tm_hour, tm.tm_min,
        tm.tm_sec, sign, abs(tz_minutes) // 60, abs(tz_minutes) % 60)


def parse_imap_date(s):
    """An INTERNALDATE ('dd-Mon-yyyy hh:mm:ss +zzzz') to UTC seconds."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    m = re.match(r"^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$", s)
    if not m:
        raise ImapProtocolError("bad date-time %r" % s)
    mon = [x.lower() for x in MONTHS].index(m.group(2).lower()) + 1
    t = calendar.timegm((int(m.group(3)), mon, int(m.group(1)), int(m.group(4)),
                         int(m.group(5)), int(m.group(6)), 0, 0, 0))
    off = int(m.group(8)) * 3600 + int(m.group(9)) * 60
    return t - off if m.group(7) == "+" else t + off


class Literal:
    """An argument sent as a literal: {n} (waits for '+') or {n+}."""

    def __init__(self, data, nonsync=False):
        self.data = data.encode("utf-8") if isinstance(data, str) else data
        self.nonsync = nonsync


class ImapConn(LineClient):
    """One IMAP connection.  cmd() sends a command and returns its Result;
    parts of the command are str (sent as they are) and Literal objects."""

    error = ImapProtocolError

    def __init__(self, port, tls=False, timeout=IO_TIMEOUT, host="127.0.0.1"):
        super().__init__(port, tls, timeout, host)
        self.ntag = 0
        self.pending = []	# untagged responses read outside a command
        self.greeting = self.read_response()

    def read_response(self):
        """One whole response (with its literals); None at EOF."""
        parts = []
        while True:
            line = self.readline()
            if not line:
                if parts:
                    raise ImapProtocolError("EOF inside a response: %r" % b"".join(parts)[:200])
                return None
            if not line.endswith(b"\r\n"):
                raise ImapProtocolError("line not ended by CRLF: %r" % line[:200])
            parts.append(line)
            m = _LITERAL_RX.search(line)
            if not m:
                return Response(b"".join(parts))
            parts.append(self.read_exact(int(m.group(1))))

    # -- commands

    def next_tag(self):
        self.ntag += 1
        return "t%03d" % self.ntag

    def begin(self, *parts):
        """Send a command (tag added); returns (tag, untagged responses
        seen while waiting for literal continuations)."""
        tag = self.next_tag()
        untagged = []
        line = tag.encode()
        for p in parts:
            if isinstance(p, Literal):
                line += b" {%d%s}\r\n" % (len(p.data), b"+" if p.nonsync else b"")
                self.send(line)
                line = b""
                if not p.nonsync:
                    while True:
                        r = self.read_response()
                        if r is None:
                            raise ImapProtocolError("EOF waiting for '+' after a literal")
                        if r.continuation:
                            break
                        if not r.untagged:
                            # refused: the tagged reply instead of '+'
                            self.pending.append(r)
                            return tag, untagged
                        untagged.append(r)
                self.send(p.data)
            else:
                p = p.encode("utf-8") if isinstance(p, str) else p
                line += (b" " if line else b"") + p
        self.send(line + b"\r\n")
        return tag, untagged

    def wait(self, tag, untagged=None):
        """Read until the tagged response for tag; returns a Result."""
        untagged = list(untagged or [])
        while True:
            if self.pending:
                r = self.pending.pop(0)
            else:
                r = self.read_response()
            if r is None:
                return Result(tag, None, untagged)
            if r.tag == tag:
                return Result(tag, r, untagged)
            if r.untagged or r.continuation:
                untagged.append(r)
            else:
                raise ImapProtocolError("reply for another tag: %r" % r.wire[:200])

    def cmd(self, *parts):
        tag, seen = self.begin(*parts)
        return self.wait(tag, seen)

    def ok(self, *parts):
        """cmd() that must succeed."""
        r = self.cmd(*parts)
        if not r.ok:
            raise ImapProtocolError("%s failed: %r" % (
                " ".join(p if isinstance(p, str) else "{literal}" for p in parts), r))
        return r

    # -- common commands

    def starttls(self):
        r = self.ok("STARTTLS")
        super().starttls()
        return r

    def login(self, user, password):
        return self.ok("LOGIN", quote(user), quote(password))

    def capabilities(self):
        r = self.ok("CAPABILITY")
        caps = set()
        for u in r.of("CAPABILITY"):
            caps.update(str(t).upper() for t in u.tokens[1:])
        return caps

    def select(self, mailbox, examine=False, extra=None):
        parts = ["EXAMINE" if examine else "SELECT", mailbox_arg(mailbox)]
        if extra:
            parts.append(extra)
        return self.cmd(*parts)

    def fetch(self, seqset, items, uid=False):
        """{seq: {ITEM: value}} of a FETCH that must succeed."""
        r = self.ok("UID FETCH" if uid else "FETCH", seqset, items)
        return r.fetches()

    def uids(self):
        """The UIDs of the selected mailbox in sequence order (UIDs
        ascend with the message sequence numbers)."""
        return sorted(self.ok("UID SEARCH", "ALL").search())

    def append(self, mailbox, message, flags=None, date=None, nonsync=False):
        parts = ["APPEND", mailbox_arg(mailbox)]
        if flags is not None:
            parts.append("(%s)" % " ".join(flags))
        if date is not None:
            parts.append('"%s"' % date)
        parts.append(Literal(message, nonsync))
        return self.cmd(*parts)

    def append_uid(self, mailbox, message, **kw):
        """APPEND that must succeed; returns the new message's UID."""
        r = self.append(mailbox, message, **kw)
        if not r.ok:
            raise ImapProtocolError("APPEND failed: %r" % r)
        v = r.code_value("APPENDUID")
        if v is None:
            raise ImapProtocolError("APPEND without APPENDUID: %r" % r)
        return int(v.split()[1])

    def idle_start(self):
        tag, _ = self.begin("IDLE")
        r = self.read_response()
        if r is None or not r.continuation:
            raise ImapProtocolError("IDLE not accepted: %r" % r)
        return tag

    def idle_done(self, tag):
        self.send("DONE\r\n")
        return self.wait(tag)

    def read_untagged(self, timeout):
        """The next response within timeout seconds, or None."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            return self.read_response()
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(old)

    def logout(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, ImapProtocolError):
            pass
        self.close()



def mailbox_arg(name):
    """A mailbox name as an astring: modified UTF-7 for non-ASCII."""
    return quote(utf7_encode(name))


def utf7_encode(name):
    """UTF-8 text to IMAP modified UTF-7 (RFC 3501 5.1.3)."""
    out = []
    run = []

    def flush():
        if run:
            raw = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def list_entries(result):
    """{name: (attribute set (lower case), delimiter)} from LIST/LSUB
    responses; names as sent (modified UTF-7)."""
    out = {}
    for r in result.of("LIST") + result.of("LSUB"):
        attrs, delim, name = r.tokens[1], r.tokens[2], r.tokens[3]
        if isinstance(name, bytes):
            name = name.decode("utf-8", "surrogateescape")
        if isinstance(delim, bytes):
            delim = delim.decode()
        out[str(name)] = ({str(a).lower() for a in attrs}, delim)
    return out


class ImapTestCase(ServerTestCase):
    """One server with IMAP listeners per test class; each test gets fresh
    users so that mailbox contents are known."""

    IMAP = True

    @classmethod
    def setUpClass(cls):
        if not imap_supported():
            raise unittest.SkipTest("postroomd has no IMAP listeners yet")
        super().setUpClass()

    def new_user(self, prefix="i"):
        addr = unique(prefix) + "@example.test"
        pw = "pw-" + unique("s")
        self.server.add_user(addr, pw)
        return addr, pw

    def conn(self, role="imaps", timeout=IO_TIMEOUT):
        """A connected ImapConn, closed at the end of the test."""
        c = ImapConn(self.server.port(role), tls=(role == "imaps"), timeout=timeout)
        self.addCleanup(c.close)
        if c.greeting is None or not c.greeting.first.startswith(b"* OK"):
            self.fail("no '* OK' greeting on %s: %r" % (role, c.greeting))
        return c

    def session(self, user, password=None, role="imaps"):
        """A logged-in ImapConn (STARTTLS first on the imap port)."""
        c = self.conn(role)
        if role == "imap":
            c.starttls()
        c.login(user, USERS[user] if password is None else password)
        return c

    def selected(self, user, password=None, mailbox="INBOX", examine=False):
        c = self.session(user, password)
        r = c.select(mailbox, examine=examine)
        self.assertTrue(r.ok, r)
        return c, r

    def deliver(self, rcpt, msg):
        self.assertEqual(self.server.deliver(rcpt, msg), 250)

    def tearDown(self):
        if not self.server.alive():
            self.fail("postroomd died during the test; log tail:\n" + self.server.log_tail())


def sequence_after_expunges(uids, result):
    """Apply the EXPUNGE responses of result to the list uids (index 0 is
    message 1), as a client must; returns the new list."""
    uids = list(uids)
    for r in result.untagged:
        if r.kind() == "EXPUNGE":
            n = r.number()
            if not 1 <= n <= len(uids):
                raise ImapProtocolError("EXPUNGE %d with %d messages" % (n, len(uids)))
            del uids[n - 1]
    return uids

