"""`python -m model estimate --trace T...`: the EEVDF estimate alone, scored as a rule.

The encoder replays the fair class per CPU (model/eevdf.py) and hands the model each
candidate's place in that replay (eevdf_rank). The model leans on it more than on anything
else, so where the replay is off, the model is too. This scores the replay with no model: on
each step where the kernel picked a task (idle picks left out: the replay does not rank the
idle task), is the kernel's pick the replay's first choice (rank 0), or among its first three?

`--set KEY=VALUE` overrides a key of the encoding spec for this run, to try a change to the
replay before training on it: `--set eevdf_passed_over_max=0` gives encoding version 6's
replay. A CPU whose picks disagree with the replay stops trusting it (eevdf_trusted), and its
candidates then have no rank: those steps count as misses, and `trusted_pct` says how many
steps had a ranked candidate at all.
"""
import json
import sys

from .encoding import encode_trace, load_spec
from .errors import BadInput
from .eval_traces import expand, trace_row


def parse_overrides(items):
    """["k=v", ...] -> {k: number}; only keys the spec has, only numbers."""
    spec = load_spec()
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise BadInput(f"--set {item!r}: expected KEY=VALUE")
        if key == "version":
            raise BadInput("--set version: the encoding version is not a setting (it names the "
                           "encoding this code implements)")
        if key not in spec:
            raise BadInput(f"--set {key}: not a key of the encoding spec (model/encoding_spec.json)")
        if isinstance(spec[key], bool) or not isinstance(spec[key], (int, float)):
            raise BadInput(f"--set {key}: only numeric spec keys can be overridden")
        try:
            out[key] = type(spec[key])(value)
        except ValueError:
            raise BadInput(f"--set {key}={value!r}: not a {type(spec[key]).__name__}") from None
    return out


def score_trace(path, spec):
    """{steps, first_pct, top3_pct, trusted_pct} over the trace's non-idle picks, all CPUs."""
    col = spec["candidate_features"].index("eevdf_rank")
    trust = spec["step_features"].index("eevdf_trusted")
    k = spec["candidates"]
    n = first = top3 = trusted = 0
    for steps in encode_trace(path, spec).values():
        for s in steps:
            if s.next_pid == 0:
                continue
            n += 1
            ok = s.step[trust] > 0   # untrusted: every candidate's rank is blank
            trusted += ok
            if ok and s.target > 0:
                # eevdf_rank is index / (candidates - 1), 1 when not queued: back to the index
                rank = float(s.cands[s.target, col])
                r = round(rank * (k - 1))
                first += rank < 1.0 and r == 0
                top3 += rank < 1.0 and r <= 2
    return with_percentages({"steps": n, "first": int(first), "top3": int(top3), "trusted": int(trusted)})


def with_percentages(counts):
    """`counts` plus first_pct, top3_pct, trusted_pct (None when there are no steps)."""
    n = counts["steps"]
    pct = lambda x: round(100 * x / n, 2) if n else None
    return dict(counts, **{f"{key}_pct": pct(counts[key]) for key in ("first", "top3", "trusted")})


def main(args):
    overrides = parse_overrides(args.set)
    spec = dict(load_spec(), **overrides)
    rows = {}
    for path in expand(args.trace):
        trace_row(path)   # a file that is not a Parquet trace: one line naming it
        rows[str(path)] = r = score_trace(path, spec)
        print(f"{path.name:<48} {r['steps']:>8} steps  first choice {r['first_pct']}%  "
              f"top-3 {r['top3_pct']}%  trusted {r['trusted_pct']}%")
    total = sum(r["steps"] for r in rows.values())
    if total == 0:
        raise BadInput("no steps where the kernel picked a task: nothing to score")
    # From the summed counts, not the rounded per-trace percentages.
    overall = with_percentages({key: sum(r[key] for r in rows.values()) for key in ("steps", "first", "top3", "trusted")})
    print(f"{'all (step-weighted)':<48} {total:>8} steps  first choice {overall['first_pct']}%  "
          f"top-3 {overall['top3_pct']}%  trusted {overall['trusted_pct']}%")
    if args.json_out:
        args.json_out.write_text(json.dumps(
            {"overrides": overrides, "encoding_version": spec["version"],
             "traces": rows, "overall": overall}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit("run it as: python -m model estimate --trace T...")
