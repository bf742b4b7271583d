"""Baselines scored on exactly the steps the model is scored on, learning online from the run's
own past like the model's state does. oracle/src/baselines.rs implements the same rules and
model/tests/test_eval_agreement.py keeps the two equal.

Two kinds:
- `recent_wakeup` is a hand rule on the model's own encoded candidate features, so it sees the
  wakeup/runnable state the model sees: it scores slots like the model (ties to the lower slot).
- The identity baselines (last_task, most_frequent, markov_k, repeat_k) see only which task ran
  when on this CPU. Each returns its top-3 guesses (pids, 0 = the CPU's idle task) per step. They
  know what the model knows at a switch: the outgoing task cannot be next, so it is never guessed.
No baseline has an unknown class.
"""
from collections import Counter, defaultdict

import numpy as np

TOP = 3
# Every baseline, the strongest of which the model's margin is measured against.
BASELINES = ("recent_wakeup", "last_task", "most_frequent", "markov_1", "markov_2", "repeat_3",
             "repeat_4")
# recent_wakeup's score tiers (higher ranks first; the same constants in baselines.rs)
WOKEN, RUNNABLE, IDLE, OTHER, NEVER = 3.0, 1.0, 0.5, 0.0, -1.0


def _top(ranked, prev):
    out = []
    for pid in ranked:
        if pid != prev and pid not in out:
            out.append(pid)
            if len(out) == TOP:
                break
    return out


def last_task(seq):
    """The tasks that ran before the outgoing one on this CPU, most recent first. (The task
    picked k switches ago for k = 2 is the same rule, so there is no repeat_2.)"""
    hist, out = [], []
    for prev, nxt in zip(seq.prev, seq.next):
        out.append(_top(hist, prev))
        hist.insert(0, int(nxt))
        del hist[16:]
    return out


def most_frequent(seq):
    """The tasks picked most often on this CPU so far (ties: the one first seen)."""
    counts, out = Counter(), []
    for prev, nxt in zip(seq.prev, seq.next):
        out.append(_top([p for p, _ in counts.most_common(TOP + 1)], prev))
        counts[int(nxt)] += 1
    return out


def markov(seq, k):
    """Order-k Markov chain on task identity (context: the last k picks), backing off to lower
    orders and then to most-frequent when a context has not been seen."""
    tables = [defaultdict(Counter) for _ in range(k + 1)]   # tables[j]: context of j picks
    hist, out = [], []
    for prev, nxt in zip(seq.prev, seq.next):
        ranked = []
        for j in range(min(k, len(hist)), -1, -1):
            ctx = tuple(hist[:j])
            if ctx in tables[j]:
                ranked += [p for p, _ in tables[j][ctx].most_common(TOP + 1)]
        out.append(_top(ranked, prev))
        nxt = int(nxt)
        for j in range(min(k, len(hist)) + 1):
            tables[j][tuple(hist[:j])][nxt] += 1
        hist.insert(0, nxt)
        del hist[k:]
    return out


def repeat_pattern(seq, k):
    """The task picked k switches ago (then 2k, 3k ago): a period-k schedule repeats exactly."""
    picks, out = [], []
    for prev, nxt in zip(seq.prev, seq.next):
        out.append(_top([picks[-j * k] for j in range(1, TOP + 2) if j * k <= len(picks)], prev))
        picks.append(int(nxt))
    return out


def recent_wakeup_scores(steps, cands, spec):
    """Slot scores [N, K] of the rule: a task woken onto this CPU (not preempted), most recently
    woken first; else the runnable candidate most recently seen on this CPU; else idle. Empty slots and the outgoing task
    are never picked; idle is not picked again when it is the outgoing task."""
    ci = {n: i for i, n in enumerate(spec["candidate_features"])}
    col = lambda name: cands[..., ci[name]]   # noqa: E731
    present = col("present") > 0
    prev_idle = steps[:, spec["step_features"].index("prev_idle")] > 0
    idle = (col("is_idle") > 0) & present
    task = present & ~idle & ~(col("is_prev") > 0)
    runnable = task & (col("runnable") > 0)
    woken = runnable & (col("woken_here") > 0) & ~(col("preempted") > 0)
    s = np.full(cands.shape[:2], np.float32(NEVER), np.float32)
    s[task] = np.float32(OTHER)
    s[idle & ~prev_idle[:, None]] = np.float32(IDLE)
    # else the runnable task most recently seen here, whatever the slot order
    s[runnable] = np.float32(RUNNABLE) - np.float32(0.5) * col("recency_rank")[runnable].astype(np.float32)
    # most recent wakeup first: the smaller since_woken, the higher (f32 as in Rust)
    s[woken] = np.float32(WOKEN) - col("since_woken")[woken].astype(np.float32)
    return s


def identity_baselines(seq):
    """{name: per-step top-3 pid guesses} for the identity baselines."""
    return {
        "last_task": last_task(seq),
        "most_frequent": most_frequent(seq),
        "markov_1": markov(seq, 1),
        "markov_2": markov(seq, 2),
        "repeat_3": repeat_pattern(seq, 3),
        "repeat_4": repeat_pattern(seq, 4),
    }
