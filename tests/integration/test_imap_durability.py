# SPDX-License-Identifier: ISC
"""An IMAP tagged OK is a promise: kill -9 must not break it.

Eight clients, each logged in as its own user, change their mailboxes as
fast as they can: APPEND (flags, a date, small, medium and over-1 MB
messages, synchronizing and LITERAL+ literals), UID STORE, UID COPY and
UID MOVE to another folder, STORE \\Deleted followed by EXPUNGE or UID
EXPUNGE, CREATE and RENAME.  Each client sends one command at a time and
keeps a model of its mailboxes, updated only when a tagged OK arrives,
plus the one command it had sent without an answer yet.  At a random
moment the daemon gets SIGKILL and is started again on the same data dir.

Then each user's mailboxes, read back over IMAP, must equal the model, or
the model with the unanswered command applied as a whole: every message
complete (its X-Body-SHA256 header and the bytes sent), with its flags
and INTERNALDATE, none twice; UIDVALIDITY unchanged and UIDNEXT above
every UID handed out in APPENDUID and COPYUID.  The database the process
left behind must pass PRAGMA integrity_check, and POP3 must see the same
INBOX as IMAP.  Three rounds on the same users, each killed at another
moment; a round starts from what the one before left.  A failure prints
the seed: POSTROOM_DURA_SEED=n makes the same choices again (operations,
sizes, kill moments), though thread timing differs from run to run.
"""

import base64
import collections
import hashlib
import os
import random
import shutil
import sqlite3
import tempfile
import threading
import time
import unittest

from imap_client import (ImapConn, ImapTestCase, flagset, imap_date, item,
                         list_entries, mailbox_arg, parse_imap_date)
from postroom_harness import HarnessError, hashed_message, parse_hashed, unique

CLIENTS = 8
ROUNDS = 3
KILL_AFTER = (0.5, 2.2)		# seconds of load before the SIGKILL
FLAGS = ("\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Label1", "$Work")
MAX_OWN_FOLDERS = 4
BIG = 1024 * 1024


# ------------------------------------------------------------------ messages

def build_message(rnd, msgid, rcpt, big_share):
    """A message whose header carries the SHA-256 of its body; big_share
    of them are over 1 MB, a fifth are tens of KB, the rest small."""
    x = rnd.random()
    if x < big_share:
        n = rnd.randint(BIG + 4096, BIG + 600000)
    elif x < big_share + 0.2:
        n = rnd.randint(20000, 200000)
    else:
        n = rnd.randint(60, 3000)
    body = base64.encodebytes(rnd.randbytes(n * 3 // 4)).replace(b"\n", b"\r\n")
    return hashed_message(msgid, rcpt, body, subject="durability " + msgid,
                          date="Mon, 02 Mar 2026 10:00:00 +0000")


def uid_list(uidset):
    """A uid set of a COPYUID code, in its order: '4:6,2' -> [4, 5, 6, 2]."""
    out = []
    for part in uidset.split(","):
        a, _, b = part.partition(":")
        a, b = int(a), int(b or a)
        out.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
    return out


def uid_text(uids):
    return ",".join(str(u) for u in uids)


# ------------------------------------------------------------------ the model

class Folder:
    """One mailbox as a client knows it.  msgs: uid -> (msgid, flags,
    internaldate).  fresh: messages an unanswered command may have added,
    whose uids nobody was told."""

    def __init__(self, name):
        self.name = name
        self.validity = None
        self.msgs = {}
        self.fresh = []
        self.max_uid = 0	# highest uid handed out in APPENDUID/COPYUID
        self.uidnext = 1	# highest UIDNEXT a SELECT showed

    def clone(self):
        f = Folder(self.name)
        f.validity, f.max_uid, f.uidnext = self.validity, self.max_uid, self.uidnext
        f.msgs = dict(self.msgs)
        f.fresh = list(self.fresh)
        return f

    def learn_validity(self, v):
        if self.validity is None:
            self.validity = v
        elif self.validity != v:
            raise AssertionError("%s: UIDVALIDITY changed from %d to %d under load"
                                 % (self.name, self.validity, v))

    def add(self, uid, rec):
        if uid in self.msgs or uid <= self.max_uid:
            raise AssertionError("%s: uid %d handed out twice (highest so far %d)"
                                 % (self.name, uid, self.max_uid))
        self.msgs[uid] = rec
        self.max_uid = uid


def clone_model(model):
    return {k: f.clone() for k, f in model.items()}


# Each operation changes a model the way the server must once the command
# succeeded.  r is the command's Result, or None for a command whose answer
# never came: its uids are unknown, so new messages go to Folder.fresh.

class Append:
    kind = "append"

    def __init__(self, key, msgid, flags, date, size):
        self.key, self.msgid, self.flags, self.date = key, msgid, flags, date
        self.size = size

    def apply(self, model, r):
        f = model[self.key]
        rec = (self.msgid, self.flags, self.date)
        if r is None:
            f.fresh.append(rec)
            return
        code = r.code_value("APPENDUID")
        if code is None:
            raise AssertionError("APPEND without APPENDUID: %r" % r)
        validity, uid = (int(x) for x in code.split())
        f.learn_validity(validity)
        f.add(uid, rec)

    def __str__(self):
        return "APPEND %s (%d bytes) to folder %d" % (self.msgid, self.size, self.key)


class Store:
    kind = "store"

    def __init__(self, key, uids, mode, flags):
        self.key, self.uids, self.mode, self.flags = key, uids, mode, frozenset(flags)

    def apply(self, model, r):
        f = model[self.key]
        for u in self.uids:
            msgid, old, date = f.msgs[u]
            new = (old | self.flags if self.mode == "+" else
                   old - self.flags if self.mode == "-" else self.flags)
            f.msgs[u] = (msgid, frozenset(new), date)

    def __str__(self):
        return "STORE %sFLAGS %s on uids %s of folder %d" % (
            self.mode, sorted(self.flags), self.uids, self.key)


class Copy:
    def __init__(self, src, uids, dst, move):
        self.src, self.uids, self.dst, self.move = src, uids, dst, move
        self.kind = "move" if move else "copy"

    def apply(self, model, r):
        src, dst = model[self.src], model[self.dst]
        if r is None:
            dst.fresh.extend(src.msgs[u] for u in self.uids)
        else:
            code = r.code_value("COPYUID")
            if code is None:
                raise AssertionError("%s without COPYUID: %r" % (self.kind, r))
            validity, s, d = code.split()
            s, d = uid_list(s), uid_list(d)
            if sorted(s) != sorted(self.uids) or len(d) != len(s):
                raise AssertionError("COPYUID %s for uids %s" % (code, self.uids))
            dst.learn_validity(int(validity))
            for su, du in sorted(zip(s, d), key=lambda p: p[1]):
                dst.add(du, src.msgs[su])
        if self.move:
            for u in self.uids:
                del src.msgs[u]

    def __str__(self):
        return "%s uids %s of folder %d to folder %d" % (
            self.kind.upper(), self.uids, self.src, self.dst)


class Expunge:
    kind = "expunge"

    def __init__(self, key, uids):
        self.key, self.uids = key, uids		# uids None: plain EXPUNGE

    def apply(self, model, r):
        f = model[self.key]
        for u in list(f.msgs if self.uids is None else self.uids):
            if u in f.msgs and "\\Deleted" in f.msgs[u][1]:
                del f.msgs[u]

    def __str__(self):
        return "%sEXPUNGE %s in folder %d" % (
            "" if self.uids is None else "UID ", self.uids or "", self.key)


class Create:
    kind = "create"

    def __init__(self, key, name):
        self.key, self.name = key, name

    def apply(self, model, r):
        model[self.key] = Folder(self.name)

    def __str__(self):
        return "CREATE %s (folder %d)" % (self.name, self.key)


class Rename:
    kind = "rename"

    def __init__(self, key, old, new):
        self.key, self.old, self.new = key, old, new

    def apply(self, model, r):
        model[self.key].name = self.new

    def __str__(self):
        return "RENAME %s %s (folder %d)" % (self.old, self.new, self.key)


class Killed(Exception):
    """The connection ended: expected once the daemon got SIGKILL."""


# ------------------------------------------------------------------ a client

class Client:
    """One user's load, round after round on the same mailboxes: a thread
    that runs operations until the server goes away.  inflight is the
    operation sent without a tagged answer yet."""

    def __init__(self, k, user, password, big_share):
        self.k, self.user, self.password = k, user, password
        self.big_share = big_share
        self.model = {}			# key -> Folder; keys survive RENAME
        self.attempted = {}		# msgid -> SHA-256 of the whole message
        self.next_key = 0
        self.names = 0
        self.conn = None

    def new_key(self):
        self.next_key += 1
        return self.next_key

    def own_folders(self):
        return [k for k, f in self.model.items() if f.name[:1] in ("F", "R")
                and f.name[1:2].isdigit()]

    def adopt(self, model, stored):
        """Continue from what the server has, once it matched model (None:
        a new user, whose folders are all there is)."""
        if model is None:
            model = {self.new_key(): Folder(name) for name in sorted(stored)}
        self.model = {}
        for key, f in model.items():
            st = stored[f.name]
            nf = Folder(f.name)
            nf.validity, nf.uidnext = st.validity, st.uidnext
            nf.msgs = {uid: rec[:3] for uid, rec in st.msgs.items()}
            nf.max_uid = max([f.max_uid] + list(nf.msgs))
            self.model[key] = nf

    def new_round(self, conn, seed):
        self.conn = conn
        self.rnd = random.Random(seed)
        self.tag = "s%d-c%d" % (seed, self.k)
        self.seq = 0
        self.selected = None
        self.inflight = None
        self.acked = collections.Counter()	# "big": appends over 1 MB
        # the big-message clients start with one, so that every round has
        # some acknowledged and some cut off by the kill
        self.big_next = self.big_share > 0.1
        self.error = None		# an exception other than the kill
        self.ended = None		# monotonic time the connection broke
        self.end_reason = None
        self.landed = False		# the unanswered command was committed

    # -- running

    def run(self, barrier, stop):
        try:
            self.select(next(k for k, f in self.model.items() if f.name == "INBOX"))
        except BaseException as e:
            self.error = e
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        try:
            while not stop.is_set():
                self.step()
        except (Killed, OSError, HarnessError) as e:
            self.ended = time.monotonic()
            self.end_reason = e
        except BaseException as e:
            self.error = e
        finally:
            self.conn.close()

    def command(self, op, *parts):
        """Run one command that changes the store; the model follows only
        on a tagged OK."""
        self.inflight = op
        r = self.conn.cmd(*parts)
        return self.finish(op, r)

    def finish(self, op, r):
        if r.status == "EOF":
            raise Killed("connection closed during %s" % op)
        if not r.ok:
            raise AssertionError("%s: unexpected answer %r" % (op, r))
        op.apply(self.model, r)
        self.inflight = None
        self.acked[op.kind] += 1
        return r

    def step(self):
        rnd = self.rnd
        sel = self.model[self.selected]
        x = rnd.random()
        if x < 0.14 and sel.msgs:
            self.store()
        elif x < 0.28 and sel.msgs:
            self.copy_move()
        elif x < 0.38 and sel.msgs:
            self.delete()
        elif x < 0.45:
            self.select(rnd.choice(sorted(self.model)))
        elif x < 0.49:
            self.create()
        elif x < 0.55:
            self.rename()
        else:
            self.append()

    def append(self):
        rnd = self.rnd
        key = self.selected if rnd.random() < 0.6 else rnd.choice(sorted(self.model))
        self.seq += 1
        msgid = "%s-%d" % (self.tag, self.seq)
        data = build_message(rnd, msgid, self.user, 1.0 if self.big_next else self.big_share)
        self.big_next = False
        flags = frozenset(rnd.sample(FLAGS, rnd.randint(0, 3)))
        t = rnd.randint(1000000000, 1750000000)
        date = imap_date(t, rnd.choice((0, 60, -300, 330, 120, -480)))
        self.attempted[msgid] = hashlib.sha256(data).hexdigest()
        op = Append(key, msgid, flags, t, len(data))
        self.inflight = op
        r = self.conn.append(self.model[key].name, data,
                             flags=sorted(flags), date=date,
                             nonsync=rnd.random() < 0.5)
        self.finish(op, r)
        if len(data) > BIG:
            self.acked["big"] += 1

    def pick(self, most):
        msgs = sorted(self.model[self.selected].msgs)
        return sorted(self.rnd.sample(msgs, min(len(msgs), self.rnd.randint(1, most))))

    def store(self):
        rnd = self.rnd
        uids = self.pick(3)
        mode = rnd.choice(("+", "-", ""))
        flags = rnd.sample(FLAGS, rnd.randint(0 if mode == "" else 1, 3))
        item_name = "%sFLAGS%s" % (mode, ".SILENT" if rnd.random() < 0.3 else "")
        self.command(Store(self.selected, uids, mode, flags), "UID STORE",
                     uid_text(uids), item_name, "(%s)" % " ".join(flags))

    def copy_move(self):
        rnd = self.rnd
        dst = rnd.choice(sorted(k for k in self.model if k != self.selected))
        uids = self.pick(4)
        op = Copy(self.selected, uids, dst, rnd.random() < 0.5)
        self.command(op, "UID MOVE" if op.move else "UID COPY", uid_text(uids),
                     mailbox_arg(self.model[dst].name))

    def delete(self):
        """STORE \\Deleted by message number, then EXPUNGE or UID EXPUNGE."""
        uids = self.pick(3)
        order = sorted(self.model[self.selected].msgs)
        seqs = [order.index(u) + 1 for u in uids]
        self.command(Store(self.selected, uids, "+", ["\\Deleted"]), "STORE",
                     uid_text(seqs), "+FLAGS.SILENT", "(\\Deleted)")
        if self.rnd.random() < 0.5:
            self.command(Expunge(self.selected, None), "EXPUNGE")
        else:
            self.command(Expunge(self.selected, uids), "UID EXPUNGE", uid_text(uids))

    def select(self, key):
        f = self.model[key]
        r = self.conn.select(f.name)
        if r.status == "EOF":
            raise Killed("connection closed during SELECT")
        if not r.ok:
            raise AssertionError("SELECT %s: %r" % (f.name, r))
        f.learn_validity(int(r.code_value("UIDVALIDITY")))
        f.uidnext = max(f.uidnext, int(r.code_value("UIDNEXT")))
        exists = r.of("EXISTS")[0].number()
        if exists != len(f.msgs):
            raise AssertionError("SELECT %s: %d messages, the client counts %d"
                                 % (f.name, exists, len(f.msgs)))
        self.selected = key

    def create(self):
        if len(self.own_folders()) >= MAX_OWN_FOLDERS:
            return self.rename()
        self.names += 1
        op = Create(self.new_key(), "F%d-%d" % (self.k, self.names))
        self.command(op, "CREATE", mailbox_arg(op.name))

    def rename(self):
        keys = [k for k in self.own_folders() if k != self.selected]
        if not keys:
            return self.create() if len(self.own_folders()) < MAX_OWN_FOLDERS else None
        key = self.rnd.choice(sorted(keys))
        self.names += 1
        op = Rename(key, self.model[key].name, "R%d-%d" % (self.k, self.names))
        self.command(op, "RENAME", mailbox_arg(op.old), mailbox_arg(op.new))


# ------------------------------------------------------------------ checks

class Stored:
    """One mailbox as the server has it."""

    def __init__(self, validity, uidnext):
        self.validity, self.uidnext = validity, uidnext
        self.msgs = {}		# uid -> (msgid, flags, date, sha256, body ok)


def read_mailboxes(c):
    """{name: Stored} for every mailbox of the user logged in on c."""
    out = {}
    for name in list_entries(c.ok("LIST", '""', '"*"')):
        r = c.select(name)
        if not r.ok:
            raise AssertionError("SELECT %s: %r" % (name, r))
        st = Stored(int(r.code_value("UIDVALIDITY")), int(r.code_value("UIDNEXT")))
        exists = r.of("EXISTS")[0].number()
        if exists:
            items = c.fetch("1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
            for v in items.values():
                data = item(v, "BODY[]")
                msgid, ok = parse_hashed(data)
                st.msgs[int(v["UID"])] = (
                    msgid, frozenset(flagset(v["FLAGS"]) - {"\\Recent"}),
                    parse_imap_date(v["INTERNALDATE"]),
                    hashlib.sha256(data).hexdigest(), ok)
        if len(st.msgs) != exists:
            raise AssertionError("%s: EXISTS %d but %d messages fetched"
                                 % (name, exists, len(st.msgs)))
        out[name] = st
    return out


def compare(model, stored, attempted):
    """What differs between a model and the stored mailboxes (a list of
    sentences; empty when they agree)."""
    bad = []
    names = {f.name for f in model.values()}
    if set(stored) != names:
        bad.append("folders %s, expected %s" % (sorted(stored), sorted(names)))
    for f in model.values():
        st = stored.get(f.name)
        if st is None:
            continue
        if f.validity is not None and st.validity != f.validity:
            bad.append("%s: UIDVALIDITY %d, was %d" % (f.name, st.validity, f.validity))
        if st.uidnext <= f.max_uid or st.uidnext < f.uidnext:
            bad.append("%s: UIDNEXT %d after uid %d was handed out and UIDNEXT %d seen"
                       % (f.name, st.uidnext, f.max_uid, f.uidnext))
        fresh = list(f.fresh)
        for uid, (msgid, flags, date, sha, ok) in sorted(st.msgs.items()):
            where = "%s uid %d (%s)" % (f.name, uid, msgid)
            if not ok or attempted.get(msgid) != sha:
                bad.append("%s: not the complete message sent" % where)
            want = f.msgs.get(uid)
            if want is None:
                i = next((i for i, rec in enumerate(fresh) if rec[0] == msgid), None)
                if i is None or uid <= f.max_uid:
                    bad.append("%s: not acknowledged in this folder" % where)
                    continue
                want = fresh.pop(i)
            if want[0] != msgid:
                bad.append("%s: expected message %s" % (where, want[0]))
            elif want[1] != flags:
                bad.append("%s: flags %s, expected %s" % (where, sorted(flags),
                                                          sorted(want[1])))
            elif want[2] != date:
                bad.append("%s: INTERNALDATE %d, expected %d" % (where, date, want[2]))
        for uid in sorted(set(f.msgs) - set(st.msgs)):
            bad.append("%s uid %d (%s): acknowledged, missing" % (f.name, uid, f.msgs[uid][0]))
        for rec in fresh:
            bad.append("%s: %s missing" % (f.name, rec[0]))
    return bad


def integrity_check(data_dir):
    """PRAGMA integrity_check on a copy of the files the killed daemon
    left behind, so the check itself cannot repair the real store."""
    tmp = tempfile.mkdtemp(prefix="postroom-dura-db-")
    try:
        for suffix in ("", "-wal", "-shm"):
            src = os.path.join(data_dir, "mail.db" + suffix)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(tmp, "mail.db" + suffix))
        db = sqlite3.connect(os.path.join(tmp, "mail.db"))
        try:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            fk = db.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            db.close()
        return rows, fk
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parallel(fn, items):
    """fn(item) for every item, each in a thread; the results in order,
    or the first item's exception."""
    results = [None] * len(items)
    errors = [None] * len(items)

    def run(i):
        try:
            results[i] = fn(items[i])
        except BaseException as e:
            errors[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True)
               for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        if t.is_alive():
            raise AssertionError("a helper thread hangs")
    for e in errors:
        if e is not None:
            raise e
    return results


# ------------------------------------------------------------------ the test

class ImapDurabilityTests(ImapTestCase):
    LABEL = "imap-durability"
    CONFIG = {"limits": {"max_connections_per_ip": "100"}}

    def login(self, c):
        conn = ImapConn(self.server.port("imaps"), tls=True)
        try:
            conn.login(c.user, c.password)
        except BaseException:
            conn.close()
            raise
        return conn

    def make_clients(self):
        users = [(unique("dura") + "@example.test", "pw-" + unique("d"))
                 for _ in range(CLIENTS)]
        parallel(lambda u: self.server.add_user(*u), users)
        # two clients append many big messages, so that one is often
        # in flight when the kill comes
        clients = [Client(k, u, pw, 0.3 if k < 2 else 0.02)
                   for k, (u, pw) in enumerate(users)]

        def first_look(c):
            conn = self.login(c)
            c.adopt(None, read_mailboxes(conn))
            return conn
        return clients, parallel(first_look, clients)

    def load(self, clients, conns, seed, kill_after):
        """Run the clients on their connections and SIGKILL the daemon
        kill_after seconds after all of them are ready."""
        for c, conn in zip(clients, conns):
            c.new_round(conn, seed * 100 + c.k)
        barrier = threading.Barrier(len(clients) + 1, timeout=60)
        stop = threading.Event()
        threads = [threading.Thread(target=c.run, args=(barrier, stop), daemon=True)
                   for c in clients]
        for t in threads:
            t.start()
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            stop.set()
            raise AssertionError("clients could not start: %r"
                                 % [c.error for c in clients if c.error is not None])
        time.sleep(kill_after)
        killed_at = time.monotonic()
        self.server.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hang")
        for c in clients:
            if c.error is not None:
                raise AssertionError("client %d: %s" % (c.k, c.error))
            if c.ended is not None and c.ended < killed_at:
                raise AssertionError("client %d lost its connection before the kill: %s"
                                     % (c.k, c.end_reason))

    def check_client(self, c):
        """Compare what the restarted server has with what c knows; the
        client then continues from there.  Returns its new connection."""
        conn = self.login(c)
        try:
            stored = read_mailboxes(conn)
            candidates = [("the acknowledged state", c.model)]
            if c.inflight is not None:
                after = clone_model(c.model)
                c.inflight.apply(after, None)
                candidates.append(("the acknowledged state plus the unanswered %s"
                                   % c.inflight, after))
            results = [(what, m, compare(m, stored, c.attempted))
                       for what, m in candidates]
            match = next((m for _, m, bad in results if not bad), None)
            if match is None:
                raise AssertionError(
                    "client %d (%s): the store matches no possible state:\n%s"
                    % (c.k, c.user, "\n".join(
                        "  against %s:\n    %s" % (what, "\n    ".join(bad[:12]))
                        for what, _, bad in results)))
            inbox = sorted(m[3] for m in stored["INBOX"].msgs.values())
            pop = sorted(hashlib.sha256(data).hexdigest()
                         for _, data in self.server.fetch_all(c.user, c.password))
            if pop != inbox:
                raise AssertionError("client %d: POP3 sees %d INBOX messages, IMAP %d"
                                     " (or other bytes)" % (c.k, len(pop), len(inbox)))
            # the unanswered command, if any, was committed when only the
            # state with it applied matches
            c.landed = bool(results[0][2]) and match is not c.model
            c.adopt(match, stored)
            return conn
        except BaseException:
            conn.close()
            raise

    def test_kill9_keeps_every_acknowledged_imap_change(self):
        master = int(os.environ.get("POSTROOM_DURA_SEED") or
                     random.SystemRandom().randrange(1, 1 << 30))
        rnd = random.Random(master)
        totals = collections.Counter()
        conns = []
        try:
            clients, conns = self.make_clients()
            for rnd_no in range(1, ROUNDS + 1):
                kill_after = rnd.uniform(*KILL_AFTER)
                self.load(clients, conns, master * 10 + rnd_no, kill_after)
                conns = []
                rows, fk = integrity_check(self.server.data_dir)
                self.assertEqual(rows, [("ok",)], "integrity_check after the kill")
                self.assertEqual(fk, [], "foreign_key_check after the kill")
                self.server.restart()
                conns = parallel(self.check_client, clients)
                acked = sum((c.acked for c in clients), collections.Counter())
                totals.update(acked)
                print("round %d: killed after %.2fs, acknowledged %s, %d in flight"
                      " of which %d committed"
                      % (rnd_no, kill_after, dict(sorted(acked.items())),
                         sum(c.inflight is not None for c in clients),
                         sum(c.landed for c in clients)))
                self.assertGreaterEqual(sum(acked.values()) - acked["big"], 10,
                                        "too little load to prove anything")
            for kind in ("append", "store", "copy", "move", "expunge", "create",
                         "rename", "big"):
                self.assertGreater(totals[kind], 0, "no acknowledged %s in %d rounds"
                                   % (kind, ROUNDS))
        except (AssertionError, HarnessError, OSError) as e:
            print("seed %d (POSTROOM_DURA_SEED=%d repeats it)" % (master, master))
            raise AssertionError("seed %d: %s: %s" % (master, type(e).__name__, e)) from None
        finally:
            for conn in conns:
                conn.logout()
            # a round that failed between the kill and the restart must
            # not leave the class without its server
            if not self.server.alive():
                self.server.restart()


if __name__ == "__main__":
    unittest.main()
