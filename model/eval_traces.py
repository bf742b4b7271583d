"""`python -m model eval --trace T...`: the model next to every baseline on the same steps of any
traces a user brings (.parquet or .csv files, or directories of *.parquet; no manifest needed), per CPU, per
trace, per workload (the trace's `workload` metadata, else its file name) and overall."""
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from .atomic import replacing
from .baselines import BASELINES
from .errors import BadInput
from .evaluate import (MODEL, SCORING, add_counts, load_scorer, print_split, summarise,
                       write_result)
from .stream_score import score_trace
from .trace_file import read_meta
from .trace_gaps import DESCRIBE, NO_STEPS, gaps

SHOWN = (MODEL,) + BASELINES


def expand(paths):
    """Files as given, directories as their *.parquet files, sorted (as `scx_oracle eval` does)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.glob("*.parquet") if q.is_file())
            if not found:
                raise BadInput(f"{p}: no *.parquet traces in this directory")
            out += found
        elif not p.exists():
            raise BadInput(f"{p}: no such trace file")
        else:
            out.append(p)
    return out


def trace_row(path):
    """One trace as eval reports it: its file, and its workload from the file metadata if it
    has one (else the file name)."""
    meta = read_meta(path)
    return {"file": str(path), "workload": meta.get("workload") or path.stem}


def table(rows):
    """Plain-text table: one row per (label, {scorer: rates}), top-1 % of every scorer."""
    head = f"{'':<34} {'steps':>7} " + " ".join(f"{s[:13]:>13}" for s in SHOWN)
    lines = [head]
    for label, d in rows:
        lines.append(f"{label[:34]:<34} {d[MODEL]['steps']:>7} " +
                     " ".join(f"{100 * d[s]['top1']:>13.1f}" for s in SHOWN))
    return "\n".join(lines)


def main(args):
    t0 = time.time()
    scorer = load_scorer(args.model)
    rows = [trace_row(p) for p in expand(args.trace)]
    by_wl, by_trace, by_cpu = (defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
                               for _ in range(3))
    for r in rows:   # one at a time, each scored as it is encoded (model/stream_score.py)
        for cpu, counts in score_trace(scorer, r["file"]).items():
            for name, c in counts.items():
                for acc in (by_wl[r["workload"]][name], by_trace[r["file"]][name],
                            by_cpu[(r["file"], cpu)][name]):
                    add_counts(acc, c)
    # What each trace lacks; one without steps is simply absent from the tallies.
    found = {}
    for r in rows:
        g = ([] if r["file"] in by_trace else [NO_STEPS]) + gaps(r["file"])
        if g:
            found[r["file"]] = g
            for k in g:
                print(f"{r['file']}: {DESCRIBE[k]}", file=sys.stderr)
    if not by_wl:
        raise BadInput("no scheduling decision to score in any trace given "
                       "(no switch with a known next task)")
    s = summarise(by_wl, by_trace, by_cpu)
    result = {"model": str(args.model), "encoding_version": scorer.spec["version"],
              "traces": [r["file"] for r in rows], "scoring": SCORING, "splits": {"traces": s},
              "gaps": found}
    out = []
    for f, cpus in s["cpus"].items():
        out += [(f"{Path(f).name} cpu {c}", d) for c, d in cpus.items()]
        out.append((f"{Path(f).name} (all CPUs)", s["traces"][f]))
    out += [(f"workload {w}", d) for w, d in s["workloads"].items()]
    out.append(("all traces (step-weighted)", s["overall"]))
    print("top-1 % per CPU, trace, workload (same steps for every scorer):")
    print(table(out))
    print_split("traces", s)
    result["wall_s"] = round(time.time() - t0, 1)
    if args.out is not None:
        write_result(result, args.out)
    if args.json_out is not None:
        with replacing(args.json_out) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
