"""`torchrun --nproc_per_node 2 -m model train` (DDP, gloo on CPU, each process on its shard of
the runs) reaches the validation metrics of the one-process run with the same seed, within the
tolerance model/README.md states: top-1 within 1 point, loss within 0.02 nats on this data."""
import tempfile
import unittest
from pathlib import Path

from model.tests.synthetic import train_cli, write_dataset

TOP1_POINTS = 1.0
LOSS_NATS = 0.02
ARGS = ["--holdout-workloads", "", "--epochs", "3", "--hidden", "16", "--batch", "8",
        "--chunk", "32", "--burn-in", "4", "--seed", "5"]


def train(dataset, out, processes):
    launcher = ()
    if processes > 1:
        launcher = ("-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}")
    # TMPDIR inside the test's own directory: torchrun makes a torchelastic_* log dir there
    # and never removes it (one per run had piled up in /tmp).
    return train_cli(dataset, out, ARGS, launcher, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
                                                        "TMPDIR": str(Path(out).parent)})


class Distributed(unittest.TestCase):
    def test_two_processes_match_one(self):
        with tempfile.TemporaryDirectory() as d:
            data = write_dataset(Path(d) / "data", {"abac": list("ABACAD-"), "round": list("ABCDE")})
            one, _ = train(data, Path(d) / "one", 1)
            two, out = train(data, Path(d) / "two", 2)
            self.assertIn("2 processes (gloo)", out)
            self.assertEqual((two["processes"], two["backend"]), (2, "gloo"))
            self.assertEqual(two["train_steps"], one["train_steps"], "the shards cover every run")
            a, b = one["history"][-1], two["history"][-1]
            self.assertLessEqual(abs(100 * (a["val_top1"] - b["val_top1"])), TOP1_POINTS, (a, b))
            self.assertLessEqual(abs(a["val_loss"] - b["val_loss"]), LOSS_NATS, (a, b))
            self.assertGreater(b["val_top1"], 0.9, "it learned the schedule")

    def test_more_processes_than_runs_is_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            data = write_dataset(Path(d) / "data", {"abac": list("ABACAD-")}, reps=3, repeats=20)
            with self.assertRaises(AssertionError) as ctx:
                train(data, Path(d) / "two", 2)
            self.assertIn("1 training runs for 2 processes", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
