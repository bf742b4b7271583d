"""Hackbench's own CPU time, traced / untraced in the same round, pooled over this folder's
runs: median, mean and a bootstrap 95% interval of the median, per mode.
Usage: python3 pool.py   (from this folder)"""
import json, random, statistics as st
from pathlib import Path

pool = {}
for f in sorted(Path(__file__).parent.glob("*.json")):
    d = json.loads(f.read_text())
    if "raw" in d:  # ab.py: per mode, (wall s, CPU s) per round
        cpu = {m: [x[1] for x in v] for m, v in d["raw"].items()}
    else:  # scripts/bench-tracer
        cpu = d["hackbench"]["hackbench_cpu_s"]
    for m, xs in cpu.items():
        if m != "untraced":
            pool.setdefault(m, []).extend(a / b - 1 for a, b in zip(xs, cpu["untraced"]))
random.seed(1)
for m, r in pool.items():
    boot = sorted(st.median(random.choices(r, k=len(r))) for _ in range(2000))
    print(f"{m:8} rounds {len(r):3}  median {100 * st.median(r):+.2f}%  mean {100 * st.mean(r):+.2f}%"
          f"  95% interval of the median {100 * boot[50]:+.2f} .. {100 * boot[1949]:+.2f}")
