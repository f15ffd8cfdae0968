# SPDX-License-Identifier: ISC
"""Sockets with their own receive buffer, for SMTP and POP3 replies.

Two flavours: SyncConn (blocking, for one session at a time) and Conn
(asyncio, for many sessions).  Both keep the bytes in one bytearray and
search it in bulk, which costs far less per line than a read call per
line.  Every wait is bounded by a timeout; a reply the client did not
expect, a timeout or a closed connection raise ProtoError.
"""

import asyncio
import socket

CRLF = b"\r\n"


class ProtoError(Exception):
    """A reply the client did not expect, or a broken connection."""


MAX_LINE = 64 * 1024
# Receive in pieces below glibc's mmap threshold (128 KiB): a bigger buffer
# is mapped and unmapped on every call, which made the client spend ten
# times more CPU per POP3 RETR than with this size.
RECV_SIZE = 64 * 1024


def take_line(buf, start):
    """Remove and return the first line of buf (LF included), or None when
    it is not complete; start is where the search for LF may begin."""
    i = buf.find(b"\n", start)
    if i < 0:
        if len(buf) > MAX_LINE:
            raise ProtoError("reply line too long")
        return None
    out = bytes(buf[:i + 1])
    del buf[:i + 1]
    return out


def take_body(buf, start):
    """Remove a POP3 multi-line body (the buffer begins with it) and its
    terminator.  Returns (length as sent, None) when complete, else
    (None, where the next search may begin)."""
    if buf.startswith(b".\r\n"):         # an empty body
        del buf[:3]
        return 0, None
    i = buf.find(b"\r\n.\r\n", start)
    if i < 0:
        return None, max(0, len(buf) - 4)
    del buf[:i + 5]
    return i + 2, None


async def bounded(aw, seconds):
    """await aw for at most seconds (asyncio.TimeoutError after).  On
    Python 3.11+ asyncio.timeout() does it without wrapping aw in a task,
    which wait_for() does at a cost paid several times per message."""
    if hasattr(asyncio, "timeout"):
        async with asyncio.timeout(seconds):
            return await aw
    return await asyncio.wait_for(aw, seconds)


class SyncConn:
    """Blocking socket with a receive buffer, for the single POP3 session.

    One session needs no event loop, and without one the client spends
    about five times less CPU per RETR, which matters when client and
    server share two cores."""

    def __init__(self, host, port, timeout):
        try:
            self.sock = socket.create_connection((host, port), timeout)
        except OSError as e:
            raise ProtoError(f"connect: {e}") from e
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def _fill(self):
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except socket.timeout as e:
            raise ProtoError("timeout waiting for the server") from e
        except OSError as e:
            raise ProtoError(f"read: {e}") from e
        if not chunk:
            raise ProtoError("connection closed by the server")
        self.buf += chunk

    def line(self):
        start = 0
        for _ in range(1 << 20):
            ln = take_line(self.buf, start)
            if ln is not None:
                return ln
            start = len(self.buf)
            self._fill()
        raise ProtoError("reply line too long")

    def multiline_body(self):
        start = 0
        for _ in range(1 << 20):
            n, start = take_body(self.buf, start)
            if n is not None:
                return n
            self._fill()
        raise ProtoError("multi-line reply too long")

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise ProtoError(f"write: {e}") from e

    def pop3_status(self, what):
        ln = self.line()
        if not ln.startswith(b"+OK"):
            raise ProtoError(f"{what}: {ln.decode('latin-1').rstrip()}")
        return ln

    def pop3_cmd(self, cmd):
        self.send(cmd)
        return self.pop3_status(cmd.split(b" ")[0].strip().decode())

    def close(self):
        self.sock.close()


class Conn:
    """The asyncio counterpart of SyncConn, for many concurrent sessions;
    every wait is bounded by `timeout`."""

    def __init__(self, reader, writer, timeout):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.buf = bytearray()

    @classmethod
    async def open(cls, host, port, timeout):
        try:
            r, w = await bounded(
                asyncio.open_connection(host, port, limit=1 << 20), timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise ProtoError(f"connect: {type(e).__name__}: {e}") from e
        return cls(r, w, timeout)

    async def _fill(self):
        try:
            chunk = await bounded(self.reader.read(RECV_SIZE),
                                           self.timeout)
        except asyncio.TimeoutError as e:
            raise ProtoError("timeout waiting for the server") from e
        except OSError as e:
            raise ProtoError(f"read: {e}") from e
        if not chunk:
            raise ProtoError("connection closed by the server")
        self.buf += chunk

    async def line(self):
        start = 0
        for _ in range(1 << 20):
            ln = take_line(self.buf, start)
            if ln is not None:
                return ln
            start = len(self.buf)
            await self._fill()
        raise ProtoError("reply line too long")

    def send(self, data):
        self.writer.write(data)

    async def drain(self):
        try:
            await bounded(self.writer.drain(), self.timeout)
        except asyncio.TimeoutError as e:
            raise ProtoError("timeout sending to the server") from e
        except OSError as e:
            raise ProtoError(f"write: {e}") from e

    async def pop3_status(self, what):
        ln = await self.line()
        if not ln.startswith(b"+OK"):
            raise ProtoError(f"{what}: {ln.decode('latin-1').rstrip()}")
        return ln

    async def pop3_cmd(self, cmd):
        self.send(cmd)
        await self.drain()
        return await self.pop3_status(cmd.split(b" ")[0].strip().decode())

    def close(self):
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


def tune_asyncio():
    """asyncio's socket transport reads up to max_size (256 KiB) per call,
    the mmap cost RECV_SIZE avoids.  The attribute is on a private class,
    hence the care; without it the client is only slower."""
    try:
        from asyncio import selector_events
        cls = selector_events._SelectorSocketTransport
    except (ImportError, AttributeError):
        return
    if getattr(cls, "max_size", 0) > RECV_SIZE:
        cls.max_size = RECV_SIZE
