"""`python -m model eval --trace`: any trace or directory, no manifest, the model next to every
baseline per CPU and overall; bad paths get one line."""
import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from model.baselines import BASELINES

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "model/artifacts/oracle.onnx"
TRACE = ROOT / "data/small/traces/stress_cpu-2cpu-rep1.parquet"


def model_cli(*args):
    return subprocess.run([sys.executable, "-m", "model", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


class EvalTraces(unittest.TestCase):
    def test_a_directory_without_manifest(self):
        with tempfile.TemporaryDirectory() as d:
            traces = Path(d) / "mine"
            traces.mkdir()
            shutil.copy(TRACE, traces / "run.parquet")
            out = Path(d) / "eval.json"
            r = model_cli("eval", "--model", MODEL, "--trace", traces, "--json-out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("run.parquet cpu 0", r.stdout)
            res = json.loads(out.read_text())["splits"]["traces"]
            self.assertEqual(sorted(res["overall"]), sorted(("model",) + BASELINES))
            cpus = next(iter(res["cpus"].values()))
            self.assertEqual(sorted(cpus), ["0", "1"])
            self.assertEqual(sum(c["model"]["steps"] for c in cpus.values()),
                             res["overall"]["model"]["steps"])
            self.assertEqual(list(res["workloads"]), ["stress_cpu"])   # from the file metadata
            self.assertIn(res["best_baseline_workload_mean"]["name"], BASELINES)

    def test_missing_trace_is_one_line(self):
        r = model_cli("eval", "--model", MODEL, "--trace", "/nonexistent/x.parquet")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("x.parquet: no such trace file", r.stderr)
        self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    unittest.main()
