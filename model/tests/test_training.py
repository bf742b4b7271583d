"""Training smoke test: the model must learn a periodic schedule that only history explains."""
import argparse
import unittest

import numpy as np
import torch

from model.data import Sequence, sequences_from_steps
from model.encoding import encode_events, load_spec
from model.evaluate import hits_model
from model.train import fit, seed_everything
from model.tests.synthetic import periodic_events

# After A the next task is B, C or idle depending on where in the period we are.
PATTERN = list("ABACAD-")


def sequences(spec, repeats, first_pid):
    seqs = sequences_from_steps(encode_events(periodic_events(PATTERN, repeats, first_pid=first_pid), spec))
    return [Sequence(file="synthetic", workload="periodic", rep=1, vcpus=1, **s) for s in seqs]


class PeriodicSchedule(unittest.TestCase):
    def test_learns_a_periodic_schedule(self):
        torch.set_num_threads(2)
        seed_everything(3)
        spec = load_spec()
        train = sequences(spec, 300, first_pid=100)
        val = sequences(spec, 60, first_pid=500)    # other pids: the encoding must not care
        test = sequences(spec, 100, first_pid=900)
        args = argparse.Namespace(chunk=64, burn_in=8, hidden=32, layers=1, pool=16, lr=1e-2,
                                  weight_decay=0.0, seed=3, epochs=25, patience=25, batch=16)
        net, history, _ = fit(train, val, spec, args)
        from model.evaluate import TorchScorer
        scorer = TorchScorer.__new__(TorchScorer)
        scorer.torch, scorer.net = torch, net
        seq = test[0]
        top1, _ = hits_model(seq, scorer.scores(seq))
        warm = 2 * len(PATTERN)   # the first period cannot be known
        acc = top1 / len(seq.target)
        self.assertGreaterEqual(acc, (len(seq.target) - warm) / len(seq.target) - 0.01,
                                f"periodic schedule top-1 {acc:.3f}; history {history[-3:]}")
        # and no baseline-free trick: the plain most-recent guess is far from it
        self.assertLess(np.mean(seq.target == 1), 0.7)


if __name__ == "__main__":
    unittest.main()
