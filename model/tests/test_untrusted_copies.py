"""`train --untrusted copies`: the runs encoded with the estimate never trusted are also encoded
trusted (one more copy of each), and train.json says which way a model was trained."""
import tempfile
import unittest
from pathlib import Path

from model.tests.synthetic import train_cli, write_dataset

ARGS = ["--holdout-workloads", "", "--epochs", "1", "--hidden", "8", "--batch", "4",
        "--chunk", "32", "--burn-in", "4", "--seed", "5"]


class UntrustedCopies(unittest.TestCase):
    def test_copies_add_the_untrusted_runs_trusted(self):
        with tempfile.TemporaryDirectory() as d:
            # 4 runs of equal length: reps 1-2 train (rep 2 untrusted), 3 validates, 4 tests
            data = write_dataset(Path(d) / "data", {"abac": list("ABACAD-")}, repeats=40, cpus=1,
                                 longer_per_rep=0)
            alt, _ = train_cli(data, Path(d) / "alt", ARGS)
            cop, _ = train_cli(data, Path(d) / "cop", [*ARGS, "--untrusted", "copies"])
            self.assertEqual((alt["untrusted"], cop["untrusted"]), ("alternate", "copies"))
            self.assertEqual(alt["estimate_untrusted_runs"], cop["estimate_untrusted_runs"])
            self.assertEqual(len(cop["estimate_untrusted_runs"]), 1)
            # alternate: rep 1 trusted + rep 2 untrusted; copies: the same + rep 2 trusted
            self.assertEqual(2 * cop["train_steps"], 3 * alt["train_steps"],
                             (alt["train_steps"], cop["train_steps"]))


if __name__ == "__main__":
    unittest.main()
