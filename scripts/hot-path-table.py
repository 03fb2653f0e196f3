#!/usr/bin/env python3
"""Issue 12's rows from the JSON runs of scripts/hot-path-rows.sh OUT: one line per
row and binary, every round's figure (`a / b`). No dependencies.

Usage: scripts/hot-path-table.py OUT
"""
import glob
import json
import os
import re
import sys
from collections import defaultdict


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def cpu_pct(side, phases):
    """Mean server CPU (% of one core) over the timeline samples of `phases`."""
    return mean([t["server_cpu"] for t in side["timeline"] if t["phase"] in phases])


def cpu_per_ack_us(side, phase_names):
    acks = mean([p["acks_per_s"] for p in side["phases"] if p["name"] in phase_names])
    return cpu_pct(side, phase_names) / 100 / acks * 1e6


def storm_samples(path):
    """From the `.ticks` file the script writes beside the JSON: CPU per device (us) from
    before the storm to its first quiet second (1 tick or less in 10 samples of 0.1 s),
    and the RSS growth per device (bytes) at that point."""
    try:
        lines = open(path[:-len(".json")] + ".ticks").read().split("\n")
    except OSError:
        return float("nan"), float("nan")
    hz, devices = map(int, lines[0].split())
    rows = [r for r in (tuple(map(int, l.split())) for l in lines[1:] if l.strip())
            if len(r) == 2 and r[1] > 0]
    ticks = [r[0] for r in rows]
    start = next((i for i in range(1, len(ticks)) if ticks[i] > ticks[0]), None)
    if start is None:
        return float("nan"), float("nan")
    # An idle node still spends a tick every few samples (timers): "quiet" is at most 2.
    end = next((i for i in range(start, len(ticks) - 10) if ticks[i + 10] - ticks[i] <= 2),
               len(ticks) - 1)
    cpu = (ticks[end] - ticks[0]) / hz / devices * 1e6
    mem = (rows[end][1] - rows[0][1]) * 1024 / devices
    return cpu, mem


def ramp_rows(d):
    b, r = d["baton"], d["relay"]
    rows = {}
    by_rate = lambda side: {p["rate"]: p for p in side["phases"]}
    bp, rp = by_rate(b), by_rate(r)
    for rate in (1000.0, 5000.0):
        if rate in bp and rate in rp:
            bq = bp[rate]["latency"]["propagation"]["p99_us"]
            rq = rp[rate]["latency"]["propagation"]["p99_us"]
            rows[f"prop p99 at {int(rate)}/s: baton / relay ms (x)"] = (
                f"{bq/1000:.1f} / {rq/1000:.1f} ({bq/max(rq,1):.2f}x)")
    best = lambda side: max(p["acks_per_s"] for p in side["phases"])
    rows["highest ack rate: baton / relay (x)"] = (
        f"{best(b):,.0f} / {best(r):,.0f} ({best(b)/best(r):.2f}x)")

    def held5(side):
        ok = [p["rate"] for p in side["phases"]
              if p["latency"]["propagation"]["p99_us"] <= 5000 and p["acks_per_s"] >= 0.9 * p["rate"]]
        return max(ok) if ok else 0
    rows["highest rate with p99 <= 5 ms: baton / relay"] = f"{held5(b):,.0f} / {held5(r):,.0f}"
    rows["ramp: diverged / lost acks"] = (
        f"{b['convergence']['diverged_users']} / {b['convergence']['lost_acks']}")
    return rows


def main():
    out = sys.argv[1]
    table = defaultdict(lambda: defaultdict(list))  # row label -> name -> [values]
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        m = re.match(r"(steady|storm|idle|ramp[0-9a-z]*-pg|ramp[0-9a-z]*|cluster1|cluster3)-(.+)-(\d+)\.json$",
                     os.path.basename(path))
        if not m:
            continue
        row, name, _ = m.groups()
        d = json.load(open(path))
        b = d["baton"]
        cells = {}
        if row == "steady":
            cells["steady 4K: CPU per ack (us)"] = f"{cpu_per_ack_us(b, ['steady']):.0f}"
            lat = b["phases"][0]["latency"]["propagation"]
            cells["steady 4K: prop p50 / p99 (ms)"] = f"{lat['p50_us']/1000:.1f} / {lat['p99_us']/1000:.1f}"
            cells["steady 4K: acks/s"] = f"{b['phases'][0]['acks_per_s']:,.0f}"
            cells["steady 4K: bytes per idle device (1,500)"] = f"{b['server_bytes_per_idle_device']:,}"
        elif row == "storm":
            cells["storm 3,000 in 0.2 s: connects/s"] = f"{b['connected']/b['all_connected_s']:,.0f}"
            cells["storm 3,000 in 0.2 s: CPU per connect (us)"] = f"{storm_samples(path)[0]:.0f}"
            cl = b["connect_latency"]
            cells["storm 3,000 in 0.2 s: connect p50 / p99 (ms)"] = f"{cl['p50_us']/1000:.0f} / {cl['p99_us']/1000:.0f}"
            cells["storm 3,000 in 0.2 s: errors"] = str(sum(b["errors"].values()) if b["errors"] else 0)
        elif row == "idle":
            cpu, mem = storm_samples(path)
            cells["18,900 idle: bytes per device (RSS growth)"] = f"{mem:,.0f}"
            cells["18,900 over 10 s: CPU per connect (us)"] = f"{cpu:.0f}"
            cl = b["connect_latency"]
            cells["18,900 over 10 s: connect p50 / p99 (ms)"] = f"{cl['p50_us']/1000:.1f} / {cl['p99_us']/1000:.0f}"
        elif row.startswith("ramp"):
            cells = {f"{row}: {k}": v for k, v in ramp_rows(d).items()}
        else:
            n = row[-1]
            cells[f"{n} node(s), 2K/s: CPU per ack (us)"] = f"{cpu_per_ack_us(b, ['steady']):.0f}"
            lat = b["phases"][0]["latency"]["propagation"]
            cells[f"{n} node(s), 2K/s: prop p50 / p99 (ms)"] = f"{lat['p50_us']/1000:.1f} / {lat['p99_us']/1000:.1f}"
            cells[f"{n} node(s): bytes per idle device"] = f"{b['server_bytes_per_idle_device']:,}"
        for k, v in cells.items():
            table[k][name].append(v)
    names = sorted({n for r in table.values() for n in r})
    print("| row | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k in table:
        print(f"| {k} | " + " | ".join(" / ".join(table[k].get(n, ["-"])) for n in names) + " |")


if __name__ == "__main__":
    main()
