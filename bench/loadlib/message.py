# SPDX-License-Identifier: ISC
"""Test messages: plain text in CRLF lines, with a unique Message-ID."""

import os
import random
import time

from .wire import CRLF

# Plain English words for message bodies: realistic line lengths and a
# compressibility close to real text, without shipping a corpus.
WORDS = (
    "the of and to in is was that for on with as by at from his her be this "
    "have are not but had they which one you were all their there been has "
    "when who will more no if out so said what up its about into than them "
    "can only other new some could time these two may then do first any my "
    "now such like our over man me even most made after also did many before "
    "must through back years where much your way well down should because "
    "each just those people how too little state good very make world still "
    "own see men work long get here between both life being under never day "
    "same another know while last might us great old year off come since "
    "against go came right used take three meeting report invoice shipment "
    "schedule quarterly budget review attached please regards thanks").split()


def make_body(size, seed):
    """Text of about size bytes in CRLF lines of 50-76 characters.

    Lines are built from words, so none starts with a dot; dot-stuffing is
    still applied by the caller, in case a word list ever changes."""
    rnd = random.Random(seed)
    lines = []
    total = 0
    while total < size:
        width = rnd.randint(50, 76)
        words = []
        n = 0
        while n < width:
            w = rnd.choice(WORDS)
            words.append(w)
            n += len(w) + 1
        line = " ".join(words)
        if rnd.random() < 0.08:
            line = ""           # paragraph break
        lines.append(line)
        total += len(line) + 2
    body = CRLF.join(x.encode() for x in lines) + CRLF
    return body[:max(size, 2)].rstrip(b"\r\n") + CRLF


def dot_stuff(data):
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..")


class MessageFactory:
    """Builds messages of about `size` bytes with a unique Message-ID.

    The body is made once; each message gets its own header, so building a
    message costs one small format per send."""

    def __init__(self, size, domain, seed=1):
        self.domain = domain
        self.run_id = f"{os.getpid():x}.{int(time.time() * 1000):x}"
        sample = self.header(0, f"user1@{domain}")
        body_len = max(64, size - len(sample))
        self.body = dot_stuff(make_body(body_len, seed))
        self.size = len(sample) + len(self.body)

    def header(self, n, rcpt):
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        return (f"Message-ID: <{self.run_id}.{n}@loadgen.{self.domain}>\r\n"
                f"Date: {date}\r\n"
                f"From: Load Generator <loadgen@{self.domain}>\r\n"
                f"To: <{rcpt}>\r\n"
                f"Subject: benchmark message {n}\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n"
                "\r\n").encode()
