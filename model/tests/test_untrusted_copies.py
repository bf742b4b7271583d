"""`train --untrusted copies`: the runs encoded with the estimate never trusted are also encoded
trusted (one more copy of each), and train.json says which way a model was trained."""
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from model.tests.synthetic import periodic_events, write_trace


def equal_runs(root, reps=4, repeats=40):
    """One workload, `reps` repetitions of the same schedule (other pids), so every run has
    the same number of steps."""
    (root / "traces").mkdir(parents=True)
    files = []
    for rep in range(1, reps + 1):
        rel = f"traces/abac-rep{rep}.parquet"
        write_trace(root / rel, periodic_events(list("ABACAD-"), repeats, first_pid=100 * rep))
        files.append(dict(file=rel, workload="abac", repetition=rep, vcpus=1))
    (root / "manifest.json").write_text(json.dumps({"files": files}))
    return root

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--holdout-workloads", "", "--epochs", "1", "--hidden", "8", "--batch", "4",
        "--chunk", "32", "--burn-in", "4", "--seed", "5"]


def train(dataset, out, *extra):
    cmd = [sys.executable, "-m", "model", "train", "--dataset", dataset, "--out", out, *ARGS, *extra]
    r = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if r.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed:\n{r.stdout}\n{r.stderr}")
    return json.loads((Path(out) / "train.json").read_text())


class UntrustedCopies(unittest.TestCase):
    def test_copies_add_the_untrusted_runs_trusted(self):
        with tempfile.TemporaryDirectory() as d:
            # 4 runs of equal length: reps 1-2 train (rep 2 untrusted), 3 validates, 4 tests
            data = equal_runs(Path(d) / "data")
            alt = train(data, Path(d) / "alt")
            cop = train(data, Path(d) / "cop", "--untrusted", "copies")
            self.assertEqual((alt["untrusted"], cop["untrusted"]), ("alternate", "copies"))
            self.assertEqual(alt["estimate_untrusted_runs"], cop["estimate_untrusted_runs"])
            self.assertEqual(len(cop["estimate_untrusted_runs"]), 1)
            # alternate: rep 1 trusted + rep 2 untrusted; copies: the same + rep 2 trusted
            self.assertEqual(2 * cop["train_steps"], 3 * alt["train_steps"],
                             (alt["train_steps"], cop["train_steps"]))


if __name__ == "__main__":
    unittest.main()
