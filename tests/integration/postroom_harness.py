# SPDX-License-Identifier: ISC
"""Start a real postroomd for integration tests and talk to it.

Each Server owns a temporary directory holding its configuration file, its
data dir and its log.  It listens on free loopback ports for every role
(smtp, submission, submissions, pop3, pop3s, and imap, imaps once the
daemon accepts them: see imap_supported()), gets the test domains, users
and aliases through the admin CLI, and is stopped by its PID: SIGTERM first,
SIGKILL only after a timeout.  Nothing here trusts the daemon: every wait is
bounded and every helper returns what the server really sent, so the tests
can compare bytes.

Accounts made by setup_accounts():
  domains   example.test, second.test
  users     alice, bob, carol @example.test (passwords in USERS)
  aliases   sales@example.test -> alice, bob
            ext@example.test -> someone@outside.test
            @second.test (catch-all) -> alice

Run as a script it serves the shell tests:
  postroom_harness.py exec CMD [ARG...]
starts a server, runs CMD with PR_PORT_SMTP, PR_DATA, PR_PW_ALICE ... in
its environment, then stops the server by its PID.
  postroom_harness.py imap-supported
exits 0 when the daemon accepts IMAP listeners, 1 when it does not.
"""

import base64
import hashlib
import os
import poplib
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

ROLES = ("smtp", "submission", "submissions", "pop3", "pop3s")
IMAP_ROLES = ("imap", "imaps")
TLS_ROLES = ("submissions", "pop3s", "imaps")
HOSTNAME = "mx.example.test"
USERS = {
    "alice@example.test": "Alice-pw-7d3f",
    "bob@example.test": "Bob-pw-91ac",
    "carol@example.test": "Carol-pw-5e20",
}
# Bounded waits, in seconds.  Sanitizer builds are several times slower.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
IO_TIMEOUT = 15.0


class HarnessError(Exception):
    pass


def find_binaries():
    """Locate postroomd and postroom: $top_builddir, then the current dir."""
    dirs = []
    if os.environ.get("top_builddir"):
        dirs.append(os.environ["top_builddir"])
    dirs.append(os.getcwd())
    for d in dirs:
        daemon = os.path.join(d, "postroomd")
        cli = os.path.join(d, "postroom")
        if os.access(daemon, os.X_OK) and os.access(cli, os.X_OK):
            return os.path.abspath(daemon), os.path.abspath(cli)
    raise HarnessError("postroomd/postroom not found in %s" % ", ".join(dirs))


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(n):
    """n distinct loopback ports nobody listens on right now.

    Picked at random below the kernel's range of ephemeral ports: a port
    that bind(0) hands out can be handed out again, or taken by the client
    side of some other test's connection, before the daemon binds it.  All
    n stay bound until every one is found, so none comes twice."""
    rnd = random.SystemRandom()
    hi = _ephemeral_low() - 1
    lo = 10000 if hi > 12000 else 1024
    held, ports = [], []
    try:
        for _ in range(50 * n):
            if len(ports) == n:
                break
            p = rnd.randint(lo, hi)
            if p in ports:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                s.close()
                continue
            held.append(s)
            ports.append(p)
        while len(ports) < n:	# a crowded range: let the kernel choose
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            held.append(s)
            ports.append(s.getsockname()[1])
        return ports
    finally:
        for s in held:
            s.close()


_imap_support = []


def imap_supported():
    """Does postroomd accept imap/imaps listeners?  Asked once with
    --check-config on a config that has them, so the IMAP tests can run
    as soon as the daemon serves IMAP and skip before.
    POSTROOM_TEST_IMAP=yes/no overrides the check."""
    forced = os.environ.get("POSTROOM_TEST_IMAP", "").lower()
    if forced in ("yes", "1", "no", "0"):
        return forced in ("yes", "1")
    if not _imap_support:
        daemon, _ = find_binaries()
        base = tempfile.mkdtemp(prefix="postroom-it-imapcheck-")
        try:
            conf = os.path.join(base, "postroom.conf")
            lines = ["[server]", "hostname = " + HOSTNAME,
                     "data_dir = " + os.path.join(base, "data")]
            if os.geteuid() == 0:
                lines.append("user = " + os.environ.get("POSTROOM_TEST_USER", "nobody"))
            lines.append("[listen]")
            lines.extend("%s = 127.0.0.1:%d" % (r, p) for r, p in
                         zip(ROLES + IMAP_ROLES, free_ports(len(ROLES + IMAP_ROLES))))
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            r = subprocess.run([daemon, "--check-config", "-c", conf],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=30, cwd=base)
            _imap_support.append(r.returncode == 0)
        finally:
            shutil.rmtree(base, ignore_errors=True)
    return _imap_support[0]


def insecure_context():
    """TLS client context that accepts the self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def hashed_message(msgid, rcpt, body, subject="durability", date=None):
    """A message that can tell whether it came back whole: its
    X-Body-SHA256 header holds the hash of body (bytes, CRLF lines) and its
    Message-ID is <msgid@hash.test>.  See parse_hashed()."""
    head = "From: load@hash.test\r\nTo: %s\r\nSubject: %s\r\n" % (rcpt, subject)
    if date is not None:
        head += "Date: %s\r\n" % date
    head += ("Message-ID: <%s@hash.test>\r\nX-Body-SHA256: %s\r\n\r\n"
             % (msgid, hashlib.sha256(body).hexdigest()))
    return head.encode() + body


_HASHED_RX = re.compile(rb"\r\nMessage-ID: <([^>]+)@hash\.test>\r\n"
                        rb"X-Body-SHA256: ([0-9a-f]{64})\r\n\r\n")


def parse_hashed(data):
    """(msgid, body matches its hash?) of a hashed_message() read back,
    trace headers added in front or not; (None, False) if it is none."""
    m = _HASHED_RX.search(data)
    if not m:
        return None, False
    body = data[m.end():]
    return m.group(1).decode(), hashlib.sha256(body).hexdigest() == m.group(2).decode()


def make_message(subject, body, sender="sender@outside.test",
                 to="alice@example.test", extra_headers=(), msgid=None):
    """An RFC 5322 message with CRLF line ends.  body: str or bytes; its
    lines are re-terminated with CRLF and the result ends with CRLF."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(subject, str):
        subject = subject.encode("utf-8")
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join(l.rstrip(b"\r") + b"\r\n" for l in lines)
    head = [b"From: " + sender.encode("utf-8"),
            b"To: " + to.encode("utf-8"),
            b"Subject: " + subject,
            b"Date: Mon, 02 Mar 2026 10:00:00 +0000",
            b"Message-ID: <" + (msgid or unique("m")).encode() + b"@outside.test>"]
    for h in extra_headers:
        head.append(h.encode("utf-8") if isinstance(h, str) else h)
    return b"\r\n".join(head) + b"\r\n\r\n" + body


_counter = [0]


def unique(prefix="t"):
    _counter[0] += 1
    return "%s%d-%d-%s" % (prefix, os.getpid(), _counter[0],
                           base64.b32encode(os.urandom(5)).decode().lower())


TRACE_FIELDS = (b"return-path", b"received", b"delivered-to",
                b"authentication-results")


def split_trace(stored, original):
    """Check that stored == trace header fields + original, exactly, and
    return the trace prefix.  Raises AssertionError otherwise."""
    if not stored.endswith(original):
        raise AssertionError("stored message does not end with the bytes sent"
                             " (sent %d bytes, stored %d)" % (len(original), len(stored)))
    prefix = stored[:len(stored) - len(original)]
    if not prefix.startswith(b"Return-Path: <"):
        raise AssertionError("no Return-Path on top: %r" % prefix[:80])
    if not prefix.endswith(b"\r\n"):
        raise AssertionError("trace block does not end with CRLF: %r" % prefix[-80:])
    for line in prefix[:-2].split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue		# folded continuation
        name = line.split(b":", 1)[0].lower()
        if name not in TRACE_FIELDS:
            raise AssertionError("non-trace field added on top: %r" % line)
    if b"\r\nReceived: " not in b"\r\n" + prefix:
        raise AssertionError("no Received field on top: %r" % prefix)
    return prefix


# ------------------------------------------------------------------ raw client

class LineClient:
    """A plain or TLS socket read by lines and by byte counts, the part
    every test client shares (RawClient below, imap_client.ImapConn).
    Every read is bounded by the socket timeout."""

    error = HarnessError        # raised for a broken stream

    def __init__(self, port, tls=False, timeout=IO_TIMEOUT, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.sock = insecure_context().wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self):
        """The next bytes from the socket; b'' at EOF or a reset.  A TLS
        read that times out raises socket.timeout like a plain one."""
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        except ssl.SSLError as e:
            if "timed out" in str(e):
                raise socket.timeout(str(e))
            data = b""
        return data

    def readline(self):
        """Next line with its terminator; b'' at EOF.  Raises socket.timeout."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                return line
            data = self._fill()
            if not data:
                line, self.buf = self.buf, b""
                return line
            self.buf += data

    def read_exact(self, n):
        chunks = [self.buf[:n]]
        have = len(chunks[0])
        self.buf = self.buf[n:]
        while have < n:
            data = self._fill()
            if not data:
                raise self.error("EOF after %d of %d bytes" % (have, n))
            if len(data) > n - have:
                self.buf = data[n - have:]
                data = data[:n - have]
            chunks.append(data)
            have += len(data)
        return b"".join(chunks)

    def starttls(self, ctx=None, server_hostname=None):
        """TLS from here on, after the server's go-ahead; nothing may be
        buffered from before."""
        if self.buf:
            raise self.error("bytes buffered across TLS start: %r" % self.buf)
        self.sock = (ctx or insecure_context()).wrap_socket(
            self.sock, server_hostname=server_hostname)

    def is_closed(self, timeout=5.0):
        """True if the peer closes within timeout (data before EOF is kept)."""
        deadline = time.monotonic() + timeout
        old = self.sock.gettimeout()
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    return False
                except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                    return True
                if not data:
                    return True
                self.buf += data
            return False
        finally:
            self.sock.settimeout(old)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RawClient(LineClient):
    """A line client for exact SMTP and POP3 protocol tests."""

    def reply(self):
        """One SMTP reply: (code, [text lines]).  code 0 means EOF."""
        lines = []
        while True:
            line = self.readline()
            if not line:
                return 0, lines
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if len(text) < 3 or not text[:3].isdigit():
                raise HarnessError("malformed reply line %r" % text)
            lines.append(text[4:])
            if len(text) == 3 or text[3] == " ":
                return int(text[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def ehlo(self, name="client.outside.test"):
        code, lines = self.cmd("EHLO " + name)
        if code != 250:
            raise HarnessError("EHLO failed: %d %r" % (code, lines))
        return [l.split(" ")[0].upper() for l in lines[1:]], lines


# ------------------------------------------------------------------ POP3 helpers

def pop3_retr_exact(pop, n, verb="RETR", extra=""):
    """RETR/TOP through a poplib connection, returning the exact bytes the
    server sent after removing the byte-stuffing (poplib itself rewrites
    line ends).  Returns (status line, data)."""
    pop._putcmd("%s %s%s" % (verb, n, extra))
    first = pop.file.readline()
    if not first.startswith(b"+OK"):
        raise poplib.error_proto(first)
    out = []
    total = 0
    while True:
        line = pop.file.readline()
        if not line:
            raise HarnessError("EOF inside a multi-line response")
        if line == b".\r\n":
            break
        if not line.endswith(b"\r\n"):
            raise HarnessError("line not ended by CRLF in a multi-line response: %r" % line[-60:])
        if line.startswith(b"."):
            line = line[1:]
        out.append(line)
        total += len(line)
        if total > 64 * 1024 * 1024:
            raise HarnessError("multi-line response too long")
    return first, b"".join(out)


def pop3_list_sizes(pop):
    resp, lines, _ = pop.list()
    sizes = {}
    for l in lines:
        num, size = l.split()
        sizes[int(num)] = int(size)
    return sizes


def pop3_uidls(pop):
    resp, lines, _ = pop.uidl()
    out = {}
    for l in lines:
        num, uid = l.split()
        out[int(num)] = uid.decode()
    return out


# ------------------------------------------------------------------ server

class Server:
    """One postroomd under test.  config: {section: {key: value}} merged over
    the defaults below; a value of None removes a default key.  imap: listen
    on imap/imaps too (None: when the daemon supports it); when off, both
    roles are turned off explicitly."""

    def __init__(self, label, config=None, accounts=True, imap=None):
        self.daemon_bin, self.cli_bin = find_binaries()
        self.label = label
        self.base = tempfile.mkdtemp(prefix="postroom-it-%s-" % label)
        # The daemon may run as "nobody": it must reach its data dir and
        # re-read its config on SIGHUP after dropping privileges.
        os.chmod(self.base, 0o755)
        self.data_dir = os.path.join(self.base, "data")
        self.conf_path = os.path.join(self.base, "postroom.conf")
        self.log_path = os.path.join(self.base, "postroomd.log")
        self.imap = imap_supported() if imap is None else imap
        roles = ROLES + IMAP_ROLES if self.imap else ROLES
        self.ports = dict(zip(roles, free_ports(len(roles))))
        self.overrides = config or {}
        self.want_accounts = accounts
        self.accounts_done = False
        self.proc = None
        self.write_config()

    # -- configuration

    def config_sections(self):
        sec = {
            "server": {"hostname": HOSTNAME, "data_dir": self.data_dir},
            "listen": {r: "127.0.0.1:%d" % p for r, p in self.ports.items()},
            "limits": {"max_recipients": "5", "max_message_size": "8m"},
        }
        if not self.imap:
            # an empty list turns a role off, whatever the defaults are
            sec["listen"].update({r: "" for r in IMAP_ROLES})
        if os.geteuid() == 0:
            sec["server"]["user"] = os.environ.get("POSTROOM_TEST_USER", "nobody")
        if os.environ.get("POSTROOM_TEST_DEBUG"):
            sec["server"]["debug"] = "yes"
        for s, kv in self.overrides.items():
            sec.setdefault(s, {})
            for k, v in kv.items():
                if v is None:
                    sec[s].pop(k, None)
                else:
                    sec[s][k] = str(v)
        return sec

    def config_text(self):
        out = ["# written by the integration tests"]
        for s, kv in self.config_sections().items():
            out.append("[%s]" % s)
            out.extend("%s = %s" % (k, v) for k, v in kv.items())
            out.append("")
        return "\n".join(out)

    def write_config(self, overrides=None):
        if overrides is not None:
            for s, kv in overrides.items():
                self.overrides.setdefault(s, {}).update(kv)
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.config_text())
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.conf_path)

    def port(self, role):
        return self.ports[role]

    # -- process control

    def start(self):
        # Another program may take a port between the choice and the
        # daemon's bind: then choose again, a few times.
        for attempt in range(3):
            self._spawn()
            try:
                self.wait_ready()
                break
            except HarnessError:
                if self.alive() or attempt == 2 or \
                        "Address already in use" not in self.log_tail():
                    raise
                self.ports = dict(zip(self.ports, free_ports(len(self.ports))))
                self.write_config()
        if self.want_accounts and not self.accounts_done:
            self.setup_accounts()
            self.accounts_done = True
        return self

    def _spawn(self):
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError("already running")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.daemon_bin, "-c", self.conf_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.base, start_new_session=True)
        finally:
            log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def wait_ready(self, timeout=START_TIMEOUT):
        """Until the SMTP port greets and every other port accepts."""
        deadline = time.monotonic() + timeout
        pending = list(self.ports)
        while pending:
            if not self.alive():
                raise HarnessError("postroomd exited with %s during start; log:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise HarnessError("postroomd not ready (%s) after %.0fs; log:\n%s"
                                   % (", ".join(pending), timeout, self.log_tail()))
            role = pending[0]
            try:
                s = socket.create_connection(("127.0.0.1", self.ports[role]), timeout=2)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                if role == "smtp":
                    s.settimeout(max(0.5, deadline - time.monotonic()))
                    if not s.recv(512).startswith(b"220"):
                        raise HarnessError("no 220 greeting on the smtp port")
                    s.sendall(b"QUIT\r\n")
                pending.pop(0)
            except socket.timeout:
                pass
            finally:
                s.close()

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout.  Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode

    def kill9(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def restart(self):
        self.stop()
        self._spawn()
        self.wait_ready()

    def reload(self, overrides=None, timeout=10.0):
        """Rewrite the config and SIGHUP; wait for the 'reloaded' log line."""
        mark = self.log_size()
        if overrides:
            self.write_config(overrides)
        self.signal(signal.SIGHUP)
        return self.wait_log(r"reload", timeout, since=mark)

    def cleanup(self):
        """Stop, keep a copy of the log next to the test logs, remove files.
        Returns None after a clean exit (status 0), else a description."""
        was_running = self.alive()
        status = self.stop()
        problem = None
        if was_running and status != 0:
            problem = ("postroomd exited with status %s on SIGTERM; log tail:\n%s"
                       % (status, self.log_tail()))
        keep = os.environ.get("top_builddir")
        if keep and os.path.isdir(os.path.join(keep, "tests")):
            d = os.path.join(keep, "tests", "integration", "logs")
            try:
                os.makedirs(d, exist_ok=True)
                shutil.copyfile(self.log_path, os.path.join(d, self.label + ".log"))
            except OSError:
                pass
        if not os.environ.get("POSTROOM_KEEP_TMP"):
            shutil.rmtree(self.base, ignore_errors=True)
        return problem

    # -- log

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, pattern, timeout=10.0, since=0):
        """The first match of pattern in the log after offset since."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log(since))
            if m:
                return m
            if time.monotonic() > deadline:
                raise HarnessError("log has no /%s/ after %.0fs; tail:\n%s"
                                   % (pattern, timeout, self.log_tail()))
            time.sleep(0.05)

    # -- admin CLI

    def cli(self, *args, input=None, timeout=30):
        return subprocess.run([self.cli_bin, "-c", self.conf_path] + list(args),
                              input=input, capture_output=True, timeout=timeout,
                              cwd=self.base)

    def cli_ok(self, *args, input=None):
        r = self.cli(*args, input=input)
        if r.returncode != 0:
            raise HarnessError("postroom %s: exit %d: %s%s" % (
                " ".join(args), r.returncode, r.stdout.decode("utf-8", "replace"),
                r.stderr.decode("utf-8", "replace")))
        return r.stdout.decode("utf-8", "replace")

    def add_user(self, address, password):
        self.cli_ok("user", "add", address, "--password-stdin",
                    input=(password + "\n").encode("utf-8"))

    def setup_accounts(self):
        self.cli_ok("domain", "add", "example.test")
        self.cli_ok("domain", "add", "second.test")
        for addr, pw in USERS.items():
            self.add_user(addr, pw)
        self.cli_ok("alias", "add", "sales@example.test", "alice@example.test")
        self.cli_ok("alias", "add", "sales@example.test", "bob@example.test")
        self.cli_ok("alias", "add", "ext@example.test", "someone@outside.test")
        self.cli_ok("alias", "add", "@second.test", "alice@example.test")

    # -- protocol helpers

    def smtp(self, role="smtp", timeout=IO_TIMEOUT):
        """A connected smtplib client (implicit TLS for submissions)."""
        if role == "submissions":
            return smtplib.SMTP_SSL("127.0.0.1", self.ports[role], timeout=timeout,
                                    context=insecure_context())
        return smtplib.SMTP("127.0.0.1", self.ports[role], timeout=timeout)

    def raw(self, role="smtp", timeout=IO_TIMEOUT):
        return RawClient(self.ports[role], tls=role in TLS_ROLES, timeout=timeout)

    def deliver(self, rcpts, data, sender="sender@outside.test", role="smtp",
                mail_options=()):
        """Send one message unauthenticated; returns the DATA reply code.
        Raises on a MAIL/RCPT refusal."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        s = self.smtp(role)
        try:
            s.ehlo("client.outside.test")
            code, msg = s.mail(sender, list(mail_options))
            if code != 250:
                raise HarnessError("MAIL: %d %r" % (code, msg))
            for r in rcpts:
                code, msg = s.rcpt(r)
                if code != 250:
                    raise HarnessError("RCPT %s: %d %r" % (r, code, msg))
            code, msg = s.data(data)
            return code
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                s.close()

    def pop3(self, user, password=None, role="pop3s", timeout=IO_TIMEOUT):
        """A poplib client logged in as user (STLS on the pop3 role)."""
        if password is None:
            password = USERS[user]
        if role == "pop3s":
            p = poplib.POP3_SSL("127.0.0.1", self.ports[role], timeout=timeout,
                                context=insecure_context())
        else:
            p = poplib.POP3("127.0.0.1", self.ports[role], timeout=timeout)
            p.stls(insecure_context())
        p.user(user)
        p.pass_(password)
        return p

    def fetch_all(self, user, password=None, delete=False):
        """Every message in user's maildrop: list of (uidl, bytes)."""
        p = self.pop3(user, password)
        try:
            uidls = pop3_uidls(p)
            out = []
            for n in sorted(uidls):
                _, data = pop3_retr_exact(p, n)
                out.append((uidls[n], data))
                if delete:
                    p.dele(n)
            p.quit()
            return out
        except BaseException:
            p.close()
            raise

    def find(self, user, token, password=None):
        """Messages of user containing token (bytes or str)."""
        if isinstance(token, str):
            token = token.encode("utf-8")
        return [m for _, m in self.fetch_all(user, password) if token in m]

    def healthy(self):
        """Process alive, SMTP greets and answers NOOP."""
        if not self.alive():
            return False
        try:
            c = self.raw("smtp", timeout=10)
            try:
                code, _ = c.reply()
                if code != 220:
                    return False
                return c.cmd("NOOP")[0] == 250
            finally:
                c.close()
        except (OSError, HarnessError):
            return False


class ServerTestCase(unittest.TestCase):
    """One server per test class.  Subclasses set CONFIG and LABEL, and
    IMAP to force the imap listeners on or off (None: when supported)."""

    CONFIG = None
    LABEL = None
    IMAP = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.LABEL or cls.__name__.lower(), cls.CONFIG,
                            imap=cls.IMAP)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        # Every shutdown must be clean: status 0 (sanitizer reports of
        # leaks or errors at exit show up here as well).
        problem = cls.server.cleanup()
        if problem:
            raise AssertionError(problem)


# ------------------------------------------------------------------ shell use

def _main(argv):
    """exec CMD...: start a server, run CMD with PR_* variables describing
    it in the environment, stop the server, exit with CMD's status.
    imap-supported: exit 0 if the daemon serves IMAP, else 1."""
    if len(argv) == 2 and argv[1] == "imap-supported":
        return 0 if imap_supported() else 1
    if len(argv) < 3 or argv[1] != "exec":
        sys.stderr.write("usage: postroom_harness.py exec CMD [ARG...]\n"
                         "       postroom_harness.py imap-supported\n")
        return 2
    srv = Server(os.path.basename(argv[-1]).split(".")[0])
    try:
        srv.start()
        env = dict(os.environ)
        env.update({"PR_PID": str(srv.pid), "PR_BASE": srv.base,
                    "PR_CONF": srv.conf_path, "PR_DATA": srv.data_dir,
                    "PR_LOG": srv.log_path, "PR_CLI": srv.cli_bin})
        for role, port in srv.ports.items():
            env["PR_PORT_" + role.upper()] = str(port)
        for addr, pw in USERS.items():
            env["PR_PW_" + addr.split("@")[0].upper()] = pw
        status = subprocess.call(argv[2:], env=env)
    finally:
        problem = srv.cleanup()
    if problem:
        print("not ok - clean exit on SIGTERM: " + problem)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
