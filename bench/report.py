#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Turn the JSON lines written by loadgen.py into the benchmark table.

Each line is one measured run of one workload against one server (the
"server" and "workload" keys).  Runs of the same workload and server are
summarised by their median, and the two servers are put side by side with
their ratio.  The table goes to stdout; with --markdown it is also written
as a Markdown page, together with the run's settings (the {"meta": ...}
line run.sh appends, or a JSON file given with --meta).
"""

import argparse
import json
import statistics
import sys

SERVERS = (("peer", "Postfix + Dovecot"), ("postroom", "Postroom"))


def size_text(n):
    return f"{round(n / 1024)} KB" if n >= 1024 else f"{n} B"


def describe(r):
    """(row title, primary metric key, unit, higher_is_better)."""
    mode = r["mode"]
    if mode == "smtp":
        title = (f"SMTP ingest {size_text(r['size'])}, "
                 f"{r['clients']} client{'s' if r['clients'] > 1 else ''}")
        if r.get("per_conn", 1) > 1:
            title += f", {r['per_conn']} msg/conn"
        if "stored_msg_per_s" in r:
            return title, "stored_msg_per_s", "msg/s to mailbox", True
        return title, "msg_per_s", "msg/s accepted", True
    if mode == "pop3":
        got = r.get("retrieved", r["messages"])
        avg = r["bytes"] // got if got else 0
        inflight = ("1 command" if r["window"] == 1
                    else f"{r['window']} commands")
        title = (f"POP3 RETR {r['messages']} x {size_text(avg)}, "
                 f"{inflight} in flight")
        return title, "msg_per_s", "msg/s", True
    if mode == "idle":
        return (f"Idle {r['proto'].upper()} connections ({r['conns']})",
                "kb_per_conn", "KB PSS per connection", False)
    raise ValueError(f"unknown mode {mode}")


# Secondary figures shown in the detail table: (key, label, digits).
DETAILS = {
    "smtp": (("msg_per_s", "msg/s acked", 1),
             ("stored_msg_per_s", "msg/s stored", 1),
             ("lat_p50_ms", "p50 ms", 1),
             ("lat_p99_ms", "p99 ms", 1),
             ("server_cpu_ms_per_msg", "server CPU ms/msg", 2),
             ("client_cpu_s", "client CPU s", 2),
             ("failed", "failed", 0)),
    "pop3": (("retrieved", "RETRs", 0),
             ("msg_per_s", "msg/s", 0),
             ("mb_per_s", "MB/s", 1),
             ("login_ms", "login ms", 1),
             ("server_cpu_s", "server CPU s", 3),
             ("client_cpu_s", "client CPU s", 3)),
    "idle": (("kb_per_conn", "KB/conn", 1),
             ("alive", "alive", 0),
             ("pss_before_kb", "PSS before KB", 0),
             ("pss_after_kb", "PSS after KB", 0),
             ("procs_after", "processes", 0),
             ("open_s", "open s", 1)),
}


def load(path):
    """(runs, meta): the result lines, and the settings line run.sh adds
    ({"meta": {...}}) if there is one."""
    rows = []
    meta = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"report: {path}:{n}: {e}")
            if isinstance(r.get("meta"), dict):
                meta = r["meta"]
            elif "server" in r and "workload" in r and "mode" in r:
                rows.append(r)
    return rows, meta


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def fmt(v, digits=1):
    if v is None:
        return "-"
    if digits == 0 or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def summarise(rows):
    """Workloads in order of first appearance, each with its per-server
    runs."""
    order = []
    by = {}
    for r in rows:
        w = r["workload"]
        if w not in by:
            order.append(w)
            by[w] = {}
        by[w].setdefault(r["server"], []).append(r)
    return [(w, by[w]) for w in order]


def ratio_text(peer, postroom):
    """Postroom's figure over the peer's; a tiny ratio reads better as a
    fraction (1/1200) than as 0.00."""
    if not peer or postroom is None:
        return "-"
    r = postroom / peer
    if r == 0:
        return "0"
    return f"{r:.2f}" if r >= 0.1 else f"1/{round(1 / r):,}"


def main_table(workloads, servers):
    head = ["Workload", "Metric"] + [name for _, name in servers]
    if len(servers) == 2:
        head.append("Postroom / peer")
    out = [head]
    for w, per in workloads:
        sample = next(iter(per.values()))[0]
        title, key, unit, higher = describe(sample)
        cells = [title, unit + (" (higher is better)" if higher
                                else " (lower is better)")]
        meds = []
        for s, _ in servers:
            runs = per.get(s, [])
            m = median(r.get(key) for r in runs)
            meds.append(m)
            text = fmt(m, 0 if m is not None and m >= 100 else 1)
            if runs and m is not None and len(runs) > 1:
                text += f" (n={len(runs)})"
            cells.append(text if runs else "not run")
        if len(servers) == 2:
            cells.append(ratio_text(*meds))
        out.append(cells)
    return out


def detail_table(workloads, servers):
    out = [["Workload", "Server", "Figures (medians)"]]
    for w, per in workloads:
        sample = next(iter(per.values()))[0]
        title = describe(sample)[0]
        for s, name in servers:
            runs = per.get(s)
            if not runs:
                continue
            parts = []
            for key, label, digits in DETAILS[sample["mode"]]:
                m = median(r.get(key) for r in runs)
                if m is not None:
                    parts.append(f"{label} {fmt(m, digits)}")
            errs = {}
            for r in runs:
                for e, n in r.get("errors", {}).items():
                    errs[e] = errs.get(e, 0) + n
            if errs:
                e, n = max(errs.items(), key=lambda kv: kv[1])
                parts.append(f"errors: {n} x \"{e}\"")
            out.append([title, name, "; ".join(parts)])
    return out


def text_table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[i]) if i < 2 else
                               c.rjust(widths[i]) for i, c in enumerate(r))
                     .rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(rows, numeric=True):
    """Markdown table; with numeric, columns after the first two are
    right-aligned."""
    def esc(c):
        return c.replace("|", "\\|")
    lines = ["| " + " | ".join(esc(c) for c in rows[0]) + " |",
             "|" + "|".join("---:" if numeric and i >= 2 else "---"
                            for i in range(len(rows[0]))) + "|"]
    for r in rows[1:]:
        lines.append("| " + " | ".join(esc(c) for c in r) + " |")
    return "\n".join(lines)


def markdown(meta, main, detail):
    out = ["# Benchmark results", ""]
    if meta:
        out.append("Produced by `bench/run.sh`; docs/PERFORMANCE.md explains "
                   "the method.")
        out.append("")
        for k, v in meta.items():
            out.append(f"- {k}: {v}")
        out.append("")
    out += ["## Medians", "", md_table(main), "",
            "## Details", "", md_table(detail, numeric=False), ""]
    return "\n".join(out)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", help="JSON lines from loadgen.py")
    p.add_argument("--meta", help="JSON object describing the run (default:"
                   " the meta line of the results, if any)")
    p.add_argument("--markdown", help="also write a Markdown page here")
    a = p.parse_args(argv)
    rows, meta = load(a.results)
    if not rows:
        print("report: no results", file=sys.stderr)
        return 1
    present = {r["server"] for r in rows}
    servers = [s for s in SERVERS if s[0] in present]
    workloads = summarise(rows)
    main_rows = main_table(workloads, servers)
    detail_rows = detail_table(workloads, servers)
    print(text_table(main_rows))
    if a.markdown:
        if a.meta:
            with open(a.meta) as f:
                meta = json.load(f)
        with open(a.markdown, "w") as f:
            f.write(markdown(meta, main_rows, detail_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
