# SPDX-License-Identifier: ISC
"""A server's processes: the tree below its root PIDs, and the memory (PSS)
and CPU time of that tree, read from /proc.  Also the helpers that run the
shell commands the env files provide (PIDs, stored message count)."""

import os
import subprocess


def _proc_stat(pid):
    """(ppid, cpu ticks incl. reaped children) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    # the command name may hold spaces and parentheses: split after the last ')'
    fields = data[data.rindex(b")") + 2:].split()
    ppid = int(fields[1])
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ppid, ticks


def process_tree(roots):
    """The root PIDs and all their descendants that exist now."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid, _ = _proc_stat(int(name))
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    seen = set()
    pending = [p for p in roots if os.path.exists(f"/proc/{p}")]
    while pending and len(seen) < 100000:
        p = pending.pop()
        if p in seen:
            continue
        seen.add(p)
        pending.extend(children.get(p, ()))
    return sorted(seen)


def tree_pss_kb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for ln in f:
                    if ln.startswith("Pss:"):
                        total += int(ln.split()[1])
                        break
        except OSError:
            pass            # exited in between: it holds no memory any more
    return total


def tree_cpu_s(pids):
    ticks = 0
    for pid in pids:
        try:
            ticks += _proc_stat(pid)[1]
        except (OSError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def shell_out(cmd, timeout=60):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                       timeout=timeout, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {cmd}: "
                           f"{r.stderr.strip()[:200]}")
    return r.stdout


def root_pids(cmd):
    pids = [int(x) for x in shell_out(cmd).split() if x.isdigit()]
    if not pids:
        raise RuntimeError(f"no PIDs from: {cmd}")
    return pids


def server_cpu(args):
    if not args.pids_cmd:
        return None
    return tree_cpu_s(process_tree(root_pids(args.pids_cmd)))


def shell_count(cmd):
    out = shell_out(cmd).split()
    if not out or not out[-1].isdigit():
        raise RuntimeError(f"count command printed no number: {cmd}")
    return int(out[-1])
