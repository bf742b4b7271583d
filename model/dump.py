"""`python -m model encode`: a trace's encoded steps as JSON lines, in the order they occur
(the same format `scx_oracle encode` writes, so the two encoders can be compared)."""
import json

from .atomic import replacing
from .encoding import Encoder, load_spec, read_events, spec_for_trace, trace_meta


def main(args):
    spec = spec_for_trace(load_spec(), trace_meta(args.trace))
    enc = Encoder(spec)
    n = 0
    with replacing(args.out) as tmp, open(tmp, "w") as f:   # a bad trace leaves no half file
        for ev in read_events(args.trace):
            s = enc.event(ev)
            if s is None:
                continue
            f.write(json.dumps({"ts": s.ts, "cpu": s.cpu, "target": s.target,
                                "cand_pids": [-1 if p is None else p for p in s.cand_pids],
                                "step": [float(v) for v in s.step],
                                "cands": [[float(v) for v in row] for row in s.cands]}) + "\n")
            n += 1
    print(f"encode: {n} steps -> {args.out}")
