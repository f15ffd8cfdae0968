# SPDX-License-Identifier: ISC
"""IMAP sessions: TLS and login, capabilities, folders, SELECT/EXAMINE.

Logins happen over implicit TLS (imaps) and after STARTTLS (imap); without
TLS the plaintext LOGIN and AUTHENTICATE must be refused.  python3's imaplib
is the independent client for the login paths; the rest uses the raw
ImapConn so that every untagged response can be checked.  Each test makes
its own user, whose folders are therefore known: INBOX plus the special-use
folders that every new user has from the start.
"""

import imaplib
import socket
import ssl
import unittest

from imap_client import (SPECIAL_USE, ImapConn, ImapTestCase, Literal,
                         flagset, list_entries, mailbox_arg, quote, utf7_encode)
from postroom_harness import b64, insecure_context, make_message, unique

# Capabilities the issue promises once logged in (RFC 3501 and the
# extensions Thunderbird and Outlook use).
AUTH_CAPS = ("IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "NAMESPACE",
             "ID", "ENABLE", "LITERAL+", "UNSELECT", "CHILDREN", "CONDSTORE",
             "LIST-STATUS")


def close_quietly(m):
    try:
        m.shutdown()
    except OSError:
        pass


class ImapSessionTests(ImapTestCase):
    LABEL = "imap-session"

    # ------------------------------------------------------------ TLS, login

    def test_capability_before_and_after_starttls(self):
        c = self.conn("imap")
        caps = c.capabilities()
        self.assertIn("IMAP4REV1", caps)
        self.assertIn("STARTTLS", caps)
        self.assertIn("LOGINDISABLED", caps, "LOGIN offered without TLS")
        self.assertFalse([x for x in caps if x.startswith("AUTH=")],
                         "SASL mechanisms offered without TLS: %s" % sorted(caps))
        c.starttls()
        caps = c.capabilities()
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertIn("AUTH=PLAIN", caps)
        self.assertIn("IMAP4REV1", caps)

    def test_capability_after_login(self):
        addr, pw = self.new_user()
        for role in ("imaps", "imap"):
            c = self.session(addr, pw, role)
            caps = c.capabilities()
            missing = [x for x in AUTH_CAPS if x not in caps]
            self.assertEqual(missing, [], "%s: missing after login: %s" % (role, missing))
            self.assertNotIn("STARTTLS", caps)
            self.assertNotIn("LOGINDISABLED", caps)
            c.logout()

    def test_imaplib_imaps_login(self):
        addr, pw = self.new_user()
        m = imaplib.IMAP4_SSL("127.0.0.1", self.server.port("imaps"),
                              ssl_context=insecure_context(), timeout=15)
        self.addCleanup(close_quietly, m)
        typ, _ = m.login(addr, pw)
        self.assertEqual(typ, "OK")
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b"0"])
        self.assertEqual(m.logout()[0], "BYE")

    def test_imaplib_starttls_login(self):
        addr, pw = self.new_user()
        m = imaplib.IMAP4("127.0.0.1", self.server.port("imap"), timeout=15)
        self.addCleanup(close_quietly, m)
        self.assertIn("STARTTLS", m.capabilities)
        self.assertEqual(m.starttls(insecure_context())[0], "OK")
        self.assertEqual(m.login(addr, pw)[0], "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")

    def test_starttls_verifies_with_generated_certificate(self):
        # The certificate made at first start names localhost, so a client
        # that checks names (as mbsync does) accepts it for "localhost".
        cert = self.server.data_dir + "/tls/cert.pem"
        ctx = ssl.create_default_context(cafile=cert)
        s = socket.create_connection(("127.0.0.1", self.server.port("imaps")), timeout=15)
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            self.assertTrue(t.recv(200).startswith(b"* OK"))

    def test_authenticate_plain_and_bad_password(self):
        addr, pw = self.new_user()
        c = self.conn("imaps")
        r = c.cmd("AUTHENTICATE", "PLAIN", b64("\0%s\0%s" % (addr, pw + "x")))
        self.assertEqual(r.status, "NO", r)
        r = c.cmd("LOGIN", quote(addr), quote(pw + "x"))
        self.assertEqual(r.status, "NO", r)
        r = c.cmd("SELECT", "INBOX")
        self.assertIn(r.status, ("NO", "BAD"), "SELECT before a login: %r" % r)
        # the SASL exchange with a continuation instead of an initial response
        tag, _ = c.begin("AUTHENTICATE PLAIN")
        cont = c.read_response()
        self.assertTrue(cont.continuation, cont)
        c.send(b64("\0%s\0%s" % (addr, pw)) + "\r\n")
        r = c.wait(tag)
        self.assertTrue(r.ok, r)
        self.assertTrue(c.select("INBOX").ok)

    def test_authenticate_cancelled(self):
        c = self.conn("imaps")
        tag, _ = c.begin("AUTHENTICATE PLAIN")
        self.assertTrue(c.read_response().continuation)
        c.send("*\r\n")
        r = c.wait(tag)
        self.assertEqual(r.status, "BAD", r)

    def test_login_refused_without_tls(self):
        addr, pw = self.new_user()
        c = self.conn("imap")
        r = c.cmd("LOGIN", quote(addr), quote(pw))
        self.assertIn(r.status, ("NO", "BAD"), r)
        r = c.cmd("AUTHENTICATE", "PLAIN", b64("\0%s\0%s" % (addr, pw)))
        self.assertIn(r.status, ("NO", "BAD"), r)
        r = c.cmd("SELECT", "INBOX")
        self.assertIn(r.status, ("NO", "BAD"), "logged in without TLS: %r" % r)
        # and the same connection can still upgrade and log in
        c.starttls()
        c.login(addr, pw)
        self.assertTrue(c.select("INBOX").ok)

    def test_starttls_ignores_pipelined_plaintext(self):
        # Bytes sent in plaintext behind STARTTLS must not be executed inside
        # the TLS session (the STARTTLS command injection attack).
        addr, pw = self.new_user()
        c = self.conn("imap")
        c.send("s1 STARTTLS\r\ns2 LOGIN %s %s\r\n" % (quote(addr), quote(pw)))
        line = c.readline()
        if not line.startswith(b"s1 OK"):
            # refusing the pipelined command (or the connection) is fine too
            self.assertTrue(line.startswith(b"s1 BAD") or line.startswith(b"* BYE")
                            or line == b"", line)
            return
        try:
            c.sock = insecure_context().wrap_socket(c.sock)
        except (ssl.SSLError, OSError):
            return		# closed instead: also safe
        c.buf = b""
        r = c.cmd("SELECT", "INBOX")
        self.assertNotEqual(r.status, "OK", "the plaintext LOGIN was carried into TLS")
        self.assertFalse([u for u in r.untagged if u.tag == "s2"])

    def test_noop_logout_id_namespace(self):
        addr, pw = self.new_user()
        c = self.session(addr, pw)
        self.assertTrue(c.cmd("NOOP").ok)
        r = c.ok("ID", '("name" "postroom-tests" "version" "1")')
        ids = r.of("ID")
        self.assertEqual(len(ids), 1, r)
        self.assertTrue(ids[0].tokens[1] is None or isinstance(ids[0].tokens[1], list))
        r = c.ok("NAMESPACE")
        ns = r.of("NAMESPACE")
        self.assertEqual(len(ns), 1, r)
        personal = ns[0].tokens[1]
        self.assertEqual(personal[0][1], b"/", "hierarchy delimiter: %r" % (personal,))
        self.assertEqual(personal[0][0], b"", "personal namespace prefix: %r" % (personal,))
        r = c.ok("ENABLE", "CONDSTORE")
        self.assertEqual([str(t).upper() for t in r.of("ENABLED")[0].tokens[1:]],
                         ["CONDSTORE"])
        r = c.cmd("LOGOUT")
        self.assertTrue(r.ok, r)
        self.assertTrue(r.of("BYE"), "no untagged BYE before the LOGOUT OK: %r" % r)
        self.assertTrue(c.is_closed())

    # ------------------------------------------------------------ folders

    def test_list_special_use_present_from_start(self):
        addr, pw = self.new_user()
        c = self.session(addr, pw)
        r = c.ok("LIST", '""', '"*"')
        ents = list_entries(r)
        self.assertIn("INBOX", ents)
        for name, use in SPECIAL_USE.items():
            self.assertIn(name, ents, "folder %s missing: %s" % (name, sorted(ents)))
            attrs, delim = ents[name]
            self.assertIn(use.lower(), attrs, "%s lacks %s: %s" % (name, use, attrs))
            self.assertEqual(delim, "/")
        self.assertEqual(len(ents), 1 + len(SPECIAL_USE), "extra folders: %s" % sorted(ents))
        self.assertFalse([n for n in ents if "." in n or n.upper().startswith("INBOX/")],
                         "folders should be top-level: %s" % sorted(ents))
        # each special-use attribute exactly once
        uses = [a for attrs, _ in ents.values() for a in attrs
                if a in {u.lower() for u in SPECIAL_USE.values()}]
        self.assertEqual(sorted(uses), sorted(u.lower() for u in SPECIAL_USE.values()))
        # the delimiter query
        r = c.ok("LIST", '""', '""')
        lst = r.of("LIST")
        self.assertEqual(len(lst), 1, r)
        self.assertEqual(lst[0].tokens[2], b"/")
        self.assertIn("\\noselect", {str(a).lower() for a in lst[0].tokens[1]})
        # they are subscribed, and selectable
        ents = list_entries(c.ok("LSUB", '""', '"*"'))
        for name in SPECIAL_USE:
            self.assertIn(name, ents, "LSUB: %s" % sorted(ents))
            self.assertTrue(c.select(name).ok)
        # RFC 6154 SPECIAL-USE selection and return options (LIST-EXTENDED)
        r = c.cmd("LIST", "(SPECIAL-USE)", '""', '"*"')
        if r.ok:
            self.assertEqual(set(list_entries(r)), set(SPECIAL_USE), r)

    def test_list_status(self):
        addr, pw = self.new_user()
        for i in range(3):
            self.deliver(addr, make_message("ls %d" % i, "body %d\n" % i, to=addr))
        c = self.session(addr, pw)
        r = c.ok("LIST", '""', '"*"', "RETURN", "(STATUS (MESSAGES UNSEEN UIDNEXT))")
        self.assertIn("INBOX", list_entries(r))
        st = {}
        for u in r.of("STATUS"):
            name = u.tokens[1]
            name = name.decode() if isinstance(name, bytes) else str(name)
            kv = u.tokens[2]
            st[name] = {str(kv[i]).upper(): int(kv[i + 1]) for i in range(0, len(kv), 2)}
        self.assertEqual(st.get("INBOX", {}).get("MESSAGES"), 3, r)
        self.assertEqual(st["INBOX"]["UNSEEN"], 3)
        self.assertEqual(st["Sent"]["MESSAGES"], 0, st)
        # plain STATUS agrees
        r = c.ok("STATUS", "INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
        kv = r.of("STATUS")[0].tokens[2]
        d = {str(kv[i]).upper(): int(kv[i + 1]) for i in range(0, len(kv), 2)}
        self.assertEqual(d["MESSAGES"], 3)
        self.assertEqual(d["UIDNEXT"], st["INBOX"]["UIDNEXT"])
        self.assertGreater(d["UIDVALIDITY"], 0)

    def test_create_rename_delete_hierarchy(self):
        addr, pw = self.new_user()
        c = self.session(addr, pw)
        c.ok("CREATE", '"Projects/2026/Q1"')
        ents = list_entries(c.ok("LIST", '""', '"Projects*"'))
        self.assertEqual(set(ents), {"Projects", "Projects/2026", "Projects/2026/Q1"}, ents)
        self.assertIn("\\haschildren", ents["Projects"][0])
        self.assertIn("\\hasnochildren", ents["Projects/2026/Q1"][0])
        # "%" stops at the delimiter
        ents = list_entries(c.ok("LIST", '"Projects/"', '"%"'))
        self.assertEqual(set(ents), {"Projects/2026"}, ents)
        ents = list_entries(c.ok("LIST", '""', '"%"'))
        self.assertIn("Projects", ents)
        self.assertNotIn("Projects/2026", ents)

        msg = make_message("in Q1 " + unique(), "quarterly\n", to=addr)
        c.append_uid("Projects/2026/Q1", msg)
        self.assertEqual(c.cmd("CREATE", '"Projects/2026/Q1"').status, "NO")
        self.assertEqual(c.cmd("CREATE", "INBOX").status, "NO")

        c.ok("RENAME", '"Projects"', '"Work"')
        ents = list_entries(c.ok("LIST", '""', '"*"'))
        self.assertFalse([n for n in ents if n.startswith("Projects")], ents)
        self.assertTrue({"Work", "Work/2026", "Work/2026/Q1"} <= set(ents), ents)
        r = c.select("Work/2026/Q1")
        self.assertTrue(r.ok, r)
        self.assertEqual([u.number() for u in r.of("EXISTS")], [1])
        body = c.fetch("1", "BODY.PEEK[]")[1]["BODY[]"]
        self.assertEqual(body, msg)
        c.ok("UNSELECT")
        self.assertEqual(c.select("Projects/2026/Q1").status, "NO")
        self.assertEqual(c.cmd("RENAME", '"Work"', '"Sent"').status, "NO")
        self.assertEqual(c.cmd("RENAME", '"Nothing"', '"Else"').status, "NO")

        # a folder that holds messages and has children is never turned into
        # a \Noselect parent: deleting it is refused or deletes it all
        c.append_uid("Work", make_message("in work", "w\n", to=addr))
        r = c.cmd("DELETE", '"Work"')
        ents = list_entries(c.ok("LIST", '""', '"Work*"'))
        if r.ok:
            self.assertNotIn("\\noselect", ents.get("Work", (set(), ""))[0],
                             "a folder with messages became \\Noselect")
        else:
            self.assertEqual(r.status, "NO", r)
            self.assertTrue(c.select("Work").ok)
            self.assertEqual(len(c.uids()), 1, "messages lost by a refused DELETE")
            c.ok("UNSELECT")
        c.ok("DELETE", '"Work/2026/Q1"')
        c.ok("DELETE", '"Work/2026"')
        if "Work" in list_entries(c.ok("LIST", '""', '"Work"')):
            c.ok("DELETE", '"Work"')
        ents = list_entries(c.ok("LIST", '""', '"*"'))
        self.assertFalse([n for n in ents if n.startswith("Work")], ents)
        self.assertEqual(c.cmd("DELETE", "INBOX").status, "NO")
        self.assertEqual(c.cmd("DELETE", '"Work"').status, "NO")
        self.assertEqual(c.select("Work").status, "NO")

    def test_rename_inbox_moves_messages(self):
        addr, pw = self.new_user()
        msg = make_message("old inbox " + unique(), "x\n", to=addr)
        self.deliver(addr, msg)
        c = self.session(addr, pw)
        c.ok("RENAME", "INBOX", '"Old Mail"')
        r = c.select("INBOX")
        self.assertTrue(r.ok, r)
        self.assertEqual([u.number() for u in r.of("EXISTS")], [0])
        r = c.select("Old Mail")
        self.assertEqual([u.number() for u in r.of("EXISTS")], [1])
        self.assertTrue(c.fetch("1", "BODY.PEEK[]")[1]["BODY[]"].endswith(msg))

    def test_create_utf7_and_subscribe(self):
        addr, pw = self.new_user()
        c = self.session(addr, pw)
        name = "Entwürfe & Pläne"
        wire = utf7_encode(name)
        self.assertEqual(wire, "Entw&APw-rfe &- Pl&AOQ-ne")
        c.ok("CREATE", mailbox_arg(name))
        self.assertIn(wire, list_entries(c.ok("LIST", '""', '"*"')))
        c.ok("UNSUBSCRIBE", mailbox_arg(name))
        self.assertNotIn(wire, list_entries(c.ok("LSUB", '""', '"*"')))
        c.ok("SUBSCRIBE", mailbox_arg(name))
        self.assertIn(wire, list_entries(c.ok("LSUB", '""', '"*"')))
        self.assertTrue(c.select(name).ok)
        # broken modified UTF-7 is refused, not stored
        r = c.cmd("CREATE", '"Bad&Jjo"')
        self.assertIn(r.status, ("NO", "BAD"), r)

    def test_create_alias_maps_to_special_use(self):
        addr, pw = self.new_user()
        c = self.session(addr, pw)
        for alias, canonical in (("Sent Items", "Sent"), ("Deleted Items", "Trash"),
                                 ("Gesendete Elemente", "Sent")):
            r = c.cmd("CREATE", quote(alias))
            self.assertTrue(r.ok or r.status == "NO" and "ALREADYEXISTS" in (r.code or ""),
                            "CREATE %s: %r" % (alias, r))
            token = unique("alias")
            c.append_uid(alias, make_message(token, "saved via %s\n" % alias, to=addr))
            r = c.select(canonical)
            self.assertTrue(r.ok)
            found = c.ok("SEARCH", "SUBJECT", quote(token)).search()
            self.assertEqual(len(found), 1, "%s did not land in %s" % (alias, canonical))
            c.ok("UNSELECT")
        # Listed as the client created them, but no second folder with a
        # special use: that stays with the real one.
        aliases = {"Sent Items", "Deleted Items", "Gesendete Elemente"}
        ents = list_entries(c.ok("LIST", '""', '"*"'))
        self.assertEqual(set(ents), {"INBOX"} | set(SPECIAL_USE) | aliases,
                         "alias folders created as duplicates: %s" % sorted(ents))
        for name in aliases:
            self.assertEqual(ents[name][0], {"\\hasnochildren"}, ents)

    # ------------------------------------------------------------ SELECT

    def test_select_and_examine_responses(self):
        addr, pw = self.new_user()
        for i in range(3):
            self.deliver(addr, make_message("sel %d" % i, "b\n", to=addr))
        c = self.session(addr, pw)
        r = c.select("INBOX")
        self.assertTrue(r.ok, r)
        self.assertEqual((r.code or "").upper(), "READ-WRITE", r)
        self.assertEqual([u.number() for u in r.of("EXISTS")], [3])
        self.assertEqual(len(r.of("RECENT")), 1, "RECENT is required: %r" % r)
        flags = flagset(r.of("FLAGS")[0].tokens[1])
        self.assertTrue({"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"} <= flags)
        uidvalidity = int(r.code_value("UIDVALIDITY"))
        self.assertGreater(uidvalidity, 0)
        uidnext = int(r.code_value("UIDNEXT"))
        self.assertIn("\\*", r.code_value("PERMANENTFLAGS"))
        self.assertEqual(int(r.code_value("UNSEEN")), 1)
        uids = c.uids()
        self.assertEqual(len(uids), 3)
        self.assertGreater(uidnext, max(uids))

        # another session sees the same UIDVALIDITY and UIDs; EXAMINE is
        # read-only: no flag changes, no \Seen from BODY[]
        d = self.session(addr, pw)
        r = d.select("INBOX", examine=True)
        self.assertEqual((r.code or "").upper(), "READ-ONLY", r)
        self.assertEqual(int(r.code_value("UIDVALIDITY")), uidvalidity)
        self.assertEqual(d.uids(), uids)
        # STORE in a read-only mailbox: NO, or at least no change
        r = d.cmd("STORE", "1", "+FLAGS", "(\\Flagged)")
        self.assertIn(r.status, ("NO", "OK"), r)
        self.assertNotIn("\\Flagged", flagset(c.fetch("1", "FLAGS")[1]["FLAGS"]))
        d.fetch("1", "BODY[]")
        self.assertNotIn("\\Seen", flagset(c.fetch("1", "FLAGS")[1]["FLAGS"]))
        self.assertEqual(d.cmd("EXPUNGE").status, "NO")
        self.assertEqual(d.cmd("APPEND", "INBOX", Literal(make_message("x", "y\n"))).status,
                         "OK", "APPEND works whatever is selected")

        # a failed SELECT leaves no mailbox selected
        r = c.select("No Such Folder")
        self.assertEqual(r.status, "NO", r)
        r = c.cmd("FETCH", "1", "FLAGS")
        self.assertIn(r.status, ("NO", "BAD"), r)
        # SELECT (CONDSTORE) reports HIGHESTMODSEQ
        r = c.select("INBOX", extra="(CONDSTORE)")
        self.assertTrue(r.ok, r)
        self.assertGreater(int(r.code_value("HIGHESTMODSEQ")), 0)

    def test_status_of_selected_and_other(self):
        addr, pw = self.new_user()
        c = self.session(addr, pw)
        uid = c.append_uid("Drafts", make_message("d", "d\n"), flags=["\\Draft"])
        r = c.ok("STATUS", "Drafts", "(MESSAGES UIDNEXT UNSEEN)")
        kv = r.of("STATUS")[0].tokens[2]
        d = {str(kv[i]).upper(): int(kv[i + 1]) for i in range(0, len(kv), 2)}
        self.assertEqual(d, {"MESSAGES": 1, "UIDNEXT": d["UIDNEXT"], "UNSEEN": 1})
        self.assertGreater(d["UIDNEXT"], uid)
        self.assertEqual(c.cmd("STATUS", '"Nope"', "(MESSAGES)").status, "NO")


class ImapBadInputTests(ImapTestCase):
    """Hostile and broken input: replies, limits, disconnects."""
    LABEL = "imap-bad"

    def tearDown(self):
        super().tearDown()
        c = ImapConn(self.server.port("imaps"), tls=True, timeout=10)
        try:
            self.assertTrue(c.greeting.first.startswith(b"* OK"))
            self.assertTrue(c.cmd("NOOP").ok)
        finally:
            c.close()

    def authed(self):
        addr, pw = self.new_user("b")
        return self.session(addr, pw), addr

    def test_unknown_command_and_bad_syntax(self):
        c, _ = self.authed()
        self.assertEqual(c.cmd("FROBNICATE").status, "BAD")
        self.assertEqual(c.cmd("SELECT").status, "BAD")		# missing argument
        self.assertEqual(c.cmd("SELECT", '"unterminated').status, "BAD")
        self.assertEqual(c.cmd("FETCH", "1", "FLAGS").status, "BAD",
                         "FETCH without a selected mailbox")
        self.assertTrue(c.select("INBOX").ok)
        self.assertEqual(c.cmd("FETCH", "0:x", "FLAGS").status, "BAD")
        self.assertEqual(c.cmd("FETCH", "1", "(FLAGS").status, "BAD")
        self.assertEqual(c.cmd("FETCH", "1", "BODY[NOSUCHSECTION]").status, "BAD")
        self.assertEqual(c.cmd("STORE", "1", "+FLAGS", "(\\Bogus)").status, "BAD")
        self.assertEqual(c.cmd("SEARCH", "NOSUCHKEY").status, "BAD")
        self.assertEqual(c.cmd("SEARCH", "SINCE", "32-Foo-2020").status, "BAD")
        # a line without a tag
        c.send("\r\n")
        r = c.read_response()
        self.assertTrue(r.first.startswith(b"* BAD"), r)
        self.assertTrue(c.cmd("NOOP").ok, "session unusable after errors")

    def test_command_before_login(self):
        for cmd in (("SELECT", "INBOX"), ("LIST", '""', '"*"'), ("CREATE", "x"),
                    ("APPEND", "INBOX", Literal("abc", nonsync=True)),
                    ("STATUS", "INBOX", "(MESSAGES)"), ("UID FETCH", "1", "FLAGS")):
            c = self.conn("imaps")
            r = c.cmd(*cmd)
            self.assertIn(r.status, ("BAD", "NO"), "%s before login: %r" % (cmd[0], r))
            c.close()

    def test_nul_rejected(self):
        c, _ = self.authed()
        c.send(b"n1 SELECT IN\0BOX\r\n")
        r = c.wait("n1")
        self.assertEqual(r.status, "BAD", r)
        c.send(b"n2 CREATE \"a\0b\"\r\n")
        r = c.wait("n2")
        self.assertIn(r.status, ("BAD", "NO"), r)
        r = c.cmd("CREATE", Literal(b"with\0nul"))
        self.assertIn(r.status, ("BAD", "NO"), r)
        self.assertNotIn("with", str(c.ok("LIST", '""', '"*"').untagged))

    def test_overlong_command_line(self):
        c, _ = self.authed()
        c.send(b"L1 NOOP " + b"x" * (2 * 1024 * 1024) + b"\r\n")
        # a BAD tagged L1 (the client waits for its tag), or a BYE and the
        # connection closed -- never OK, never an untagged-only answer
        r = c.read_response()
        self.assertIsNotNone(r, "connection closed without a reply")
        st = r.status()
        self.assertTrue(st and (r.tag == "L1" and st[0] == "BAD" or st[0] == "BYE"), r)
        if st[0] == "BYE":
            self.assertTrue(c.is_closed())
            return
        # the rest of the line was thrown away, not read as commands
        r = c.cmd("NOOP")
        self.assertTrue(r.ok, r)
        self.assertFalse([u for u in r.untagged if u.status() and u.status()[0] == "BAD"], r)

    def test_literal_too_big(self):
        c, _ = self.authed()
        # a synchronising literal beyond the message size limit: refused
        # before the data is sent (no '+' continuation)
        tag = c.next_tag()
        c.send("%s APPEND INBOX {%d}\r\n" % (tag, 200 * 1024 * 1024))
        r = c.read_response()
        self.assertFalse(r.continuation, "continuation for a 200 MB literal")
        self.assertEqual(r.tag, tag, r)
        self.assertIn(r.status()[0], ("NO", "BAD"), r)
        if r.status()[0] == "NO":
            self.assertIn("TOOBIG", (r.status()[1] or "").upper())
        self.assertTrue(c.cmd("NOOP").ok)
        # a huge literal in an ordinary command
        tag = c.next_tag()
        c.send("%s LIST \"\" {%d}\r\n" % (tag, 50 * 1024 * 1024))
        r = c.read_response()
        self.assertFalse(r.continuation, "continuation for a 50 MB LIST argument")
        self.assertIn(r.status()[0], ("NO", "BAD"), r)
        # a non-synchronising one cannot be refused before it arrives: the
        # server answers and then closes (it cannot find the next command)
        c.send("n3 APPEND INBOX {%d+}\r\n" % (200 * 1024 * 1024))
        try:
            c.send(b"y" * 65536)
        except (OSError, ssl.SSLError):
            pass		# already closed: fine, the reply is checked below
        try:
            r = c.read_untagged(10)
        except (OSError, ssl.SSLError):
            r = None
        if r is None:
            self.assertTrue(c.is_closed(), "no reply to an oversized non-synchronising literal")
        else:
            self.assertTrue(r.first.startswith(b"n3 BAD") or r.first.startswith(b"n3 NO")
                            or r.first.startswith(b"* BYE"), r)

    def test_many_bad_commands_end_with_bye(self):
        c, _ = self.authed()
        r = None
        for i in range(100):
            try:
                c.send("b%d FROBNICATE\r\n" % i)
                r = c.read_response()
            except OSError:
                break
            if r is None or r.first.startswith(b"* BYE"):
                break
            self.assertTrue(r.first.startswith(b"b%d BAD" % i), r)
        self.assertTrue(r is None or r.first.startswith(b"* BYE"),
                        "100 bad commands did not end the session")
        self.assertTrue(c.is_closed())

    def test_invalid_utf8_in_utf8_search(self):
        c, _ = self.authed()
        c.select("INBOX")
        r = c.cmd("SEARCH", "CHARSET", "UTF-8", "SUBJECT", Literal(b"\xc3\x28"))
        self.assertIn(r.status, ("BAD", "NO"), r)
        r = c.cmd("SEARCH", "CHARSET", "X-UNKNOWN", "SUBJECT", "x")
        self.assertEqual(r.status, "NO", r)
        self.assertTrue((r.code or "").upper().startswith("BADCHARSET"), r)

    def test_idle_without_done_and_garbage(self):
        c, _ = self.authed()
        c.select("INBOX")
        tag = c.idle_start()
        c.send("XYZZY\r\n")
        r = c.wait(tag)
        self.assertEqual(r.status, "BAD", r)
        self.assertTrue(c.cmd("NOOP").ok)


if __name__ == "__main__":
    unittest.main()
