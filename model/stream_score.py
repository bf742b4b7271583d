"""One trace scored as it is encoded, a few thousand steps per CPU at a time, for `python -m model
eval --trace`: memory stays bounded by the trace's events rather than by its encoding (a 1.3M-event
trace from 64 CPUs took 9 GB encoded whole). The model carries each CPU's LSTM state from one
chunk to the next, so the scores are those of one pass over the whole sequence, and every
baseline sees the same steps as in model/evaluate.py's score_seq."""
from collections import defaultdict
from types import SimpleNamespace

import numpy as np

from .baselines import identity_baselines, recent_wakeup_scores
from .data import sequences_from_steps
from .encoding import Encoder, read_events, spec_for_trace, trace_meta
from .evaluate import MODEL, add_counts, hits_guesses, hits_model

CHUNK = 4096   # steps per CPU held at once


class CpuTally:
    def __init__(self):
        self.steps, self.state = [], None
        self.counts = defaultdict(lambda: [0, 0, 0])   # scorer -> [steps, top-1, top-3]
        self.prev, self.next = [], []                  # what the identity baselines read

    def add(self, name, n, h1, h3):
        add_counts(self.counts[name], (n, h1, h3))


def _flush(cpu, t, scorer, spec):
    if not t.steps:
        return
    seq = SimpleNamespace(**sequences_from_steps({cpu: t.steps})[0])
    t.steps = []
    scores, t.state = scorer.scores_from(seq, t.state)
    n = len(seq.target)
    t.add(MODEL, n, *hits_model(seq, scores))
    t.add("recent_wakeup", n, *hits_model(seq, recent_wakeup_scores(seq.steps, seq.cands, spec)))
    t.prev.append(seq.prev)
    t.next.append(seq.next)


def score_trace(scorer, path, chunk=CHUNK):
    """{cpu: {scorer: [steps, top-1 hits, top-3 hits]}} for one trace, CPUs in order."""
    spec = scorer.spec
    enc = Encoder(spec_for_trace(spec, trace_meta(path)))
    cpus = defaultdict(CpuTally)
    for ev in read_events(path):
        step = enc.event(ev)
        if step is not None:
            t = cpus[step.cpu]
            t.steps.append(step)
            if len(t.steps) >= chunk:
                _flush(step.cpu, t, scorer, spec)
    out = {}
    for cpu in sorted(cpus):
        t = cpus[cpu]
        _flush(cpu, t, scorer, spec)
        seq = SimpleNamespace(prev=np.concatenate(t.prev), next=np.concatenate(t.next))
        for name, guesses in identity_baselines(seq).items():
            t.add(name, len(seq.next), *hits_guesses(seq, guesses))
        out[cpu] = dict(t.counts)
    return out
