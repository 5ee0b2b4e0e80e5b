#!/usr/bin/env python3
"""Reads bench/run.sh's results (figure, threads, side A|B, JSON line) and prints one table:
figure, threads, spikeglue median, peer median, ratio (peer / spikeglue), fraction of peak sgemm."""
import json, statistics, sys
from collections import defaultdict

rows = defaultdict(lambda: {"A": [], "B": [], "A_gflops": [], "A_rss": [], "B_rss": []})
peak = {}
for line in open(sys.argv[1]):
    fig, th, side, payload = line.rstrip("\n").split("\t", 3)
    d = json.loads(payload)
    if fig == "peak_sgemm":
        peak[th] = d["gflops"]
        continue
    r = rows[(fig, th)]
    value = d.get("median_s", d.get("value"))
    r[side].append(value)
    r["unit"] = d.get("unit", "s")
    r["higher_better"] = d.get("higher_is_better", False)
    if side == "A" and "gflops" in d:
        r["A_gflops"].append(d["gflops"])
    if "peak_rss_mb" in d:
        r[side + "_rss"].append(d["peak_rss_mb"])

print(f"{'figure':<14} {'thr':>3} {'spikeglue':>12} {'peer':>12} {'ratio':>7} {'peak%':>6} {'RSS MB (sg/peer)':>18}")
for (fig, th), r in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    a = statistics.median(r["A"]) if r["A"] else float("nan")
    b = statistics.median(r["B"]) if r["B"] else float("nan")
    ratio = (a / b if r["higher_better"] else b / a) if r["B"] else float("nan")
    pk = (100 * statistics.median(r["A_gflops"]) / peak[th]) if r["A_gflops"] and th in peak else float("nan")
    rss = f"{statistics.median(r['A_rss']):.0f}/{statistics.median(r['B_rss']):.0f}" if r["A_rss"] and r["B_rss"] else ""
    unit = r["unit"]
    print(f"{fig:<14} {th:>3} {a:>10.4g}{unit:>2} {b:>10.4g}{unit:>2} {ratio:>7.2f} {pk:>6.1f} {rss:>18}")
for th, g in sorted(peak.items()):
    print(f"peak sgemm ({th} threads, n=2048): {g:.1f} GFLOP/s")
