#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Print the case folding range table of imap-lite/imap_casefold.c.

Reads the Unicode data file CaseFolding.txt (argument 1, by default the
copy Debian's unicode-data package installs) and keeps the simple case
folding: status C (common) and S (simple).  Consecutive mappings that
share their delta become one range, either of neighbouring code points
(stride 1, as A-Z) or of every other code point (stride 2, the alternating
upper/lower pairs of Latin Extended-A/B, Cyrillic, Vietnamese ...).  A
stride-2 range is only made over code points that do not fold at all in
between, so ranges never overlap and a binary search on their first code
point finds the only candidate.

The output replaces the body of fold_ranges[] in imap_casefold.c; the
unit test tests/unit/check_imap_casefold.c checks the result against
Python's own case mapping for every code point.
"""

import sys

DEFAULT = "/usr/share/unicode/CaseFolding.txt"


def utf8_len(cp):
    return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4


def load(path):
    fold = {}
    version = "?"
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# CaseFolding-"):
                version = line[len("# CaseFolding-"):].strip().removesuffix(".txt")
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            code, status, mapping = [x.strip() for x in line.split(";")[:3]]
            if status in ("C", "S"):
                fold[int(code, 16)] = int(mapping, 16)
    return fold, version


def ranges(fold):
    """(first, span, stride, delta) covering exactly the keys of fold."""
    cps = sorted(fold)
    out = []
    i = 0
    while i < len(cps):
        first = cps[i]
        delta = fold[first] - first
        best = (0, 1)
        for stride in (1, 2):
            n = 0
            while True:
                nxt = first + (n + 1) * stride
                if fold.get(nxt, nxt) - nxt != delta or nxt not in fold:
                    break
                if stride == 2 and (nxt - 1) in fold:
                    break
                n += 1
            if n > best[0]:
                best = (n, stride)
        n, stride = best
        out.append((first, n * stride, stride, delta))
        i = cps.index(first + n * stride) + 1
    return out


def main():
    fold, version = load(sys.argv[1] if len(sys.argv) > 1 else DEFAULT)
    for src, dst in fold.items():
        # imap_casefold.h promises at most 3/2 of the input length.
        assert utf8_len(dst) <= utf8_len(src) * 3 // 2, hex(src)
    table = ranges(fold)
    assert all(span < 65536 for _, span, _, _ in table), "span overflows uint16_t"
    covered = {r[0] + k * r[2] for r in table for k in range(r[1] // r[2] + 1)}
    assert covered == set(fold), "ranges do not cover the mappings exactly"
    print("\t/* CaseFolding-%s, status C and S: %d mappings */" % (version, len(fold)))
    for first, span, stride, delta in table:
        print("\t{ 0x%05X, %4d, %d, %6d }," % (first, span, stride, delta))


if __name__ == "__main__":
    main()
