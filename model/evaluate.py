"""`python -m model eval`: the model and the baselines on the test splits (held-out repetitions of
seen workloads; workloads held out entirely), per workload. Writes eval.json, report.md and
accuracy.svg. A step whose next task is not among the candidates is a miss for the model; every
scorer is scored on the same steps and none has an unknown class."""
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from .atomic import replacing
from .baselines import BASELINES, identity_baselines, recent_wakeup_scores
from .data import encode_runs, holdout_from, load_manifest, split_runs
from .encoding import load_spec
from .errors import BadInput, EvalError, ModelVersionError

MODEL = "model"
TEST_SPLITS = ("test_seen", "test_unseen")
SCORING = ("top-k over the candidate set; a next task outside it is a miss for the model; "
           "baselines exclude the outgoing task like the model")


def check_spec(model_spec, where):
    """The model's encoding must be the one this code implements (same version, same features)."""
    ours = load_spec()
    if model_spec is None:
        raise ModelVersionError(f"{where}: no scx_oracle.encoding metadata: not an scx_oracle model")
    if str(model_spec.get("version")) != str(ours["version"]):
        raise ModelVersionError(
            f"{where}: model encoding version {model_spec.get('version')}, but this code implements "
            f"encoding version {ours['version']}: re-export the model with this model/ or use the "
            f"tooling it was trained with")
    for key in ("step_features", "candidate_features"):
        if model_spec.get(key) != ours[key]:
            raise ModelVersionError(f"{where}: model {key} differ from model/encoding_spec.json "
                                    f"at the same encoding version {ours['version']}")
    return model_spec


class OnnxScorer:
    """One step at a time with h, c carried, as the agent runs it."""

    def __init__(self, path):
        import onnxruntime as ort
        try:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            self.sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise BadInput(f"{path}: cannot load the ONNX model: {e}")
        meta = self.sess.get_modelmeta().custom_metadata_map
        spec = json.loads(meta["scx_oracle.encoding"]) if "scx_oracle.encoding" in meta else None
        if spec is not None and "scx_oracle.encoding_version" in meta:
            v = meta["scx_oracle.encoding_version"]   # the key the agent checks
            spec = dict(spec, version=int(v) if v.isdigit() else v)
        self.spec = check_spec(spec, path)
        h = self.sess.get_inputs()[2].shape
        self.state_shape = (h[0], 1, h[2])

    def scores(self, seq):
        return self.scores_from(seq, None)[0]

    def scores_from(self, seq, state):
        """Scores of seq's steps from `state` (None: zero), and the state after them."""
        h, c = state if state is not None else (np.zeros(self.state_shape, np.float32),) * 2
        out = np.empty(seq.target.shape + (seq.cands.shape[1],), np.float32)
        for t in range(len(seq.target)):
            s, h, c = self.sess.run(None, {"step": seq.steps[t:t + 1], "cands": seq.cands[t:t + 1],
                                           "h": h, "c": c})
            out[t] = s[0]
        return out, (h, c)


class TorchScorer:
    def __init__(self, path):
        import torch
        from .checkpoint import load_checkpoint
        self.torch = torch
        self.net, spec, _ = load_checkpoint(path)
        self.spec = check_spec(spec, path)

    def scores(self, seq):
        return self.scores_from(seq, None)[0]

    def scores_from(self, seq, state):
        with self.torch.no_grad():
            s, state = self.net(self.torch.from_numpy(seq.steps)[None],
                                self.torch.from_numpy(seq.cands)[None], state)
        return s[0].numpy(), state


def load_scorer(path):
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such model file")
    return OnnxScorer(path) if path.suffix == ".onnx" else TorchScorer(path)


def ranked_slots(scores):
    """Slots by score, descending; ties go to the lower slot (the Rust side does the same)."""
    return np.argsort(-scores, axis=-1, kind="stable")[:, :3]


def hits_model(seq, scores):
    """Top-1 and top-3 hits of slot scores [N, K] (the model's, or recent_wakeup's)."""
    top = ranked_slots(scores)
    ok = seq.target >= 0
    return (ok & (top[:, 0] == seq.target)).sum(), (ok & (top == seq.target[:, None]).any(1)).sum()


def hits_guesses(seq, guesses):
    h1 = h3 = 0
    for nxt, g in zip(seq.next, guesses):
        h1 += bool(g) and g[0] == nxt
        h3 += nxt in g
    return h1, h3


def score_seq(scorer, seq, spec):
    """{scorer name: (steps, top-1 hits, top-3 hits)} for the model and every baseline, on the
    same steps of one CPU sequence."""
    n = len(seq.target)
    out = {MODEL: (n, *hits_model(seq, scorer.scores(seq))),
           "recent_wakeup": (n, *hits_model(seq, recent_wakeup_scores(seq.steps, seq.cands, spec)))}
    for name, guesses in identity_baselines(seq).items():
        out[name] = (n, *hits_guesses(seq, guesses))
    return out


def score_split(scorer, seqs, spec):
    """-> per-workload, per-trace and per-(trace, CPU) counts {scorer: [steps, top1, top3]}."""
    by_wl = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    by_trace = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    by_cpu = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for seq in seqs:
        for name, counts in score_seq(scorer, seq, spec).items():
            for acc in (by_wl[seq.workload][name], by_trace[seq.file][name],
                        by_cpu[(seq.file, seq.cpu)][name]):
                add_counts(acc, counts)
    return by_wl, by_trace, by_cpu


def add_counts(acc, counts):
    """acc [steps, top-1, top-3] += counts."""
    for i, v in enumerate(counts):
        acc[i] += int(v)


def rates(acc):
    n, h1, h3 = acc
    return {"steps": n, "top1": h1 / n if n else 0.0, "top3": h3 / n if n else 0.0}


def strongest(table, key="top1"):
    """The baseline with the best `key` in {scorer: rates}, with the model's margin over it."""
    best = max(BASELINES, key=lambda s: table[s][key])
    return {"name": best, "top1": table[best][key],
            "margin_points": 100 * (table[MODEL][key] - table[best][key])}


def summarise(by_wl, by_trace, by_cpu=None):
    workloads = {w: {s: rates(a) for s, a in sorted(d.items())} for w, d in sorted(by_wl.items())}
    scorers = sorted({s for d in by_wl.values() for s in d})
    overall, macro = {}, {}
    for s in scorers:
        tot = np.sum([d[s] for d in by_wl.values()], axis=0)
        overall[s] = rates(list(map(int, tot)))
        macro[s] = {k: float(np.mean([workloads[w][s][k] for w in workloads])) for k in ("top1", "top3")}
    out = {
        "overall": overall,
        "macro": macro,
        # the margin that counts: against the strongest baseline, step-weighted and workload mean
        "best_baseline": strongest(overall),
        "best_baseline_workload_mean": strongest(macro),
        "workloads": workloads,
        "traces": {f: {s: rates(a) for s, a in sorted(d.items())} for f, d in sorted(by_trace.items())},
    }
    if by_cpu is not None:
        cpus = defaultdict(dict)
        for (f, cpu), d in sorted(by_cpu.items()):
            cpus[f][str(cpu)] = {s: rates(a) for s, a in sorted(d.items())}
        out["cpus"] = dict(cpus)
    return out


def print_split(name, s):
    o = s["overall"][MODEL]
    b, bm = s["best_baseline"], s["best_baseline_workload_mean"]
    print(f"eval {name}: {o['steps']} steps, model top-1 {100 * o['top1']:.2f}% top-3 "
          f"{100 * o['top3']:.2f}% (workload mean {100 * s['macro'][MODEL]['top1']:.2f}%); strongest "
          f"baseline {b['name']} {100 * b['top1']:.2f}% ({b['margin_points']:+.2f} points), workload "
          f"mean {bm['name']} {100 * bm['top1']:.2f}% ({bm['margin_points']:+.2f} points)", flush=True)


def write_result(result, out):
    out.mkdir(parents=True, exist_ok=True)
    from .report import write_report
    with replacing(out / "eval.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    write_report(result, out)
    print(f"eval: wrote {out / 'eval.json'}, report.md, accuracy.svg ({result['wall_s']} s)")


def main(args):
    if args.trace:
        from .eval_traces import main as traces_main
        return traces_main(args)
    if args.dataset is None:
        raise EvalError("give --dataset DIR (a manifest's test splits) or --trace T... (any traces)")
    t0 = time.time()
    scorer = load_scorer(args.model)
    spec = scorer.spec
    holdout = holdout_from(args.holdout_workloads)
    split = split_runs(load_manifest(args.dataset), holdout)
    result = {"model": str(args.model), "encoding_version": spec["version"],
              "dataset": str(args.dataset), "holdout_workloads": list(holdout),
              "scoring": SCORING, "splits": {}}
    for name in TEST_SPLITS:
        if not split[name]:
            continue
        seqs = encode_runs(args.dataset, split[name], spec)
        s = summarise(*score_split(scorer, seqs, spec)[:2])
        s["runs"] = [f["file"] for f in split[name]]
        result["splits"][name] = s
        print_split(name, s)
    result["wall_s"] = round(time.time() - t0, 1)
    if args.out is None:
        raise EvalError("--out DIR is needed with --dataset")
    write_result(result, args.out)
