"""Training smoke test: the model must learn a periodic schedule that only history explains."""
import argparse
import unittest

import numpy as np
import torch

from model.data import Sequence, sequences_from_steps
from model.encoding import encode_events, load_spec
from model.evaluate import hits_model
from model.train import Windows, fit, seed_everything
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
                                  weight_decay=0.0, seed=3, epochs=25, patience=25, batch=16,
                                  focus=0.0)
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


class FocusSampling(unittest.TestCase):
    """`--focus`: windows drawn by their steps with a real choice, the rest evenly."""

    def windows(self, focus):
        spec = load_spec()
        col = spec["step_features"].index("runnable_candidates")
        k = spec["candidates"]

        def seq(mark, runnable, n=10):
            steps = np.zeros((n, len(spec["step_features"]) + k - 1), np.float32)
            steps[:, 0] = mark                     # tells the windows apart once drawn
            steps[:, col] = runnable / (k - 1)
            return Sequence(file="f", workload="w", rep=1, vcpus=1, cpu=0, steps=steps,
                            cands=np.zeros((n, k, 2), np.float32), target=np.zeros(n, np.int64),
                            cand_pids=np.zeros((n, k), np.int64), prev=np.zeros(n, np.int64),
                            next=np.zeros(n, np.int64))
        # three windows of 10 scored steps: no choice, a choice at every step, no choice
        return Windows([seq(0, 1), seq(1, 3), seq(2, 0)], chunk=10, burn_in=0, focus=focus, spec=spec)

    def drawn(self, windows, n_batches, seed=0):
        rng = np.random.default_rng(seed)
        return np.concatenate([steps[:, 0, 0].numpy() for steps, _, _ in
                               windows.batches(3, rng, n_batches)]).astype(int)

    def test_weights_mix_even_and_choice_steps(self):
        w = self.windows(0.5)
        np.testing.assert_allclose(w.weights, [0.5 / 3, 0.5 / 3 + 0.5, 0.5 / 3])
        self.assertAlmostEqual(w.choice_share[0], 1 / 3)
        self.assertAlmostEqual(w.choice_share[1], 0.5 / 3 + 0.5)

    def test_draws_follow_the_weights(self):
        counts = np.bincount(self.drawn(self.windows(0.9), 1000), minlength=3) / 3000
        np.testing.assert_allclose(counts, [0.1 / 3, 0.9 + 0.1 / 3, 0.1 / 3], atol=0.02)

    def test_no_focus_is_one_pass_over_every_window(self):
        plain = self.windows(0.0)
        self.assertIsNone(plain.weights)
        self.assertEqual(sorted(self.drawn(plain, 1)), [0, 1, 2])


if __name__ == "__main__":
    unittest.main()
