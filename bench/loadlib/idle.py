# SPDX-License-Identifier: ISC
"""Idle connections: the growth of a server's memory while it holds many
connections that have only been greeted."""

import asyncio
import time

from .procs import process_tree, root_pids, tree_pss_kb
from .wire import Conn, ProtoError, bounded


async def quiet_tree(cmd, max_wait):
    """Wait (at most max_wait seconds) until the server's process count has
    not changed for three polls: processes of an earlier test may still be
    exiting (1000 Dovecot login processes take a while), and counting them
    in the baseline would hide the cost of the new connections."""
    end = time.monotonic() + max_wait
    last = -1
    same = 0
    pids = []
    while time.monotonic() < end:
        pids = process_tree(root_pids(cmd))
        same = same + 1 if len(pids) == last else 0
        if same >= 2:
            break
        last = len(pids)
        await asyncio.sleep(0.5)
    return pids


async def idle(args):
    pids = await quiet_tree(args.pids_cmd, 60)
    before = tree_pss_kb(pids)
    greeting = b"220" if args.proto == "smtp" else b"+OK"
    conns = []
    failed = 0
    errors = {}
    sem = asyncio.Semaphore(args.parallel)

    async def open_one():
        nonlocal failed
        async with sem:
            try:
                c = await Conn.open(args.host, args.port, args.timeout)
            except ProtoError as e:
                failed += 1
                errors[str(e)[:100]] = errors.get(str(e)[:100], 0) + 1
                return
            try:
                ln = await c.line()
                if not ln.startswith(greeting):
                    raise ProtoError(f"greeting {ln[:60]!r}")
                # drain an SMTP multi-line greeting
                while args.proto == "smtp" and ln[3:4] == b"-":
                    ln = await c.line()
                conns.append(c)
            except ProtoError as e:
                failed += 1
                errors[str(e)[:100]] = errors.get(str(e)[:100], 0) + 1
                c.close()

    t0 = time.monotonic()
    await bounded(asyncio.gather(*(open_one()
                                            for _ in range(args.conns))),
                           args.max_time)
    open_s = time.monotonic() - t0
    await asyncio.sleep(args.settle)
    pids_after = process_tree(root_pids(args.pids_cmd))
    after = tree_pss_kb(pids_after)
    served = len(conns)
    # A server may greet and then drop connections it cannot keep (Dovecot
    # does when its login processes run out): only live ones count.
    alive = sum(1 for c in conns if not c.reader.at_eof())
    quit_cmd = b"QUIT\r\n"
    for c in conns:
        try:
            c.send(quit_cmd)
        except (OSError, RuntimeError):
            pass
    await asyncio.sleep(0.2)
    for c in conns:
        c.close()
    res = {"mode": "idle", "proto": args.proto, "conns": args.conns,
           "served": served, "alive": alive, "failed": failed,
           "open_s": round(open_s, 2),
           "procs_before": len(pids), "procs_after": len(pids_after),
           "pss_before_kb": before, "pss_after_kb": after,
           "kb_per_conn": round((after - before) / alive, 1) if alive
           else None}
    if errors:
        res["errors"] = errors
    return res
