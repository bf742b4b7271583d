"""Baselines scored on exactly the steps the model is scored on, learning online from the run's
own past like the model's state does. Each returns its top-3 guesses (task ids) per step. They
know what the model knows at a switch: the outgoing task cannot be next, so it is never guessed.
Task identity is the pid, with 0 for the CPU's idle task. No baseline has an unknown class."""
from collections import Counter, defaultdict

TOP = 3


def _top(ranked, prev):
    out = []
    for pid in ranked:
        if pid != prev and pid not in out:
            out.append(pid)
            if len(out) == TOP:
                break
    return out


def last_task(seq):
    """The tasks that ran before the outgoing one on this CPU, most recent first."""
    hist, out = [], []
    for prev, nxt in zip(seq.prev, seq.next):
        out.append(_top(hist, prev))
        hist.insert(0, int(nxt))
        del hist[16:]
    return out


def most_frequent(seq):
    """The tasks picked most often on this CPU so far."""
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


def longest_waiting(seq, spec):
    """Not one of the issue's baselines, but the obvious hand-written rule on the model's own
    candidate features: the runnable task woken onto this CPU that has waited longest, else idle.
    It shows how much the LSTM adds over the encoding itself."""
    ci = {n: i for i, n in enumerate(spec["candidate_features"])}
    out = []
    for cands, pids, prev in zip(seq.cands, seq.cand_pids, seq.prev):
        waiting = [(-row[ci["since_woken"]], slot) for slot, row in enumerate(cands)
                   if row[ci["present"]] > 0 and row[ci["woken_here"]] > 0 and not row[ci["is_prev"]]]
        ranked = [int(pids[slot]) for _, slot in sorted(waiting)] + [0]
        out.append(_top(ranked, prev))
    return out


def all_baselines(seq, spec):
    return {
        "last_task": last_task(seq),
        "most_frequent": most_frequent(seq),
        "markov_1": markov(seq, 1),
        "markov_2": markov(seq, 2),
        "repeat_2": repeat_pattern(seq, 2),
        "repeat_3": repeat_pattern(seq, 3),
        "repeat_4": repeat_pattern(seq, 4),
        "longest_waiting": longest_waiting(seq, spec),
    }


ISSUE_BASELINES = ("last_task", "most_frequent", "markov_1", "markov_2", "repeat_2", "repeat_3",
                   "repeat_4")
