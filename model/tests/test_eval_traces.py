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


class StreamScoring(unittest.TestCase):
    def test_chunks_score_as_one_pass(self):
        """Scored a few steps per CPU at a time (state carried), a trace gets the counts that
        model/evaluate.py's score_seq gives its whole sequences, for the model and every
        baseline; the chunk size (97, not a divisor of anything) cuts through every CPU."""
        from model.data import sequences_from_steps
        from model.encoding import encode_trace
        from model.evaluate import load_scorer, score_seq
        from model.stream_score import score_trace
        from types import SimpleNamespace
        scorer = load_scorer(MODEL)
        trace = ROOT / "data/small/traces/desktop_idle-2cpu-rep1.parquet"
        whole = {}
        for s in sequences_from_steps(encode_trace(trace, scorer.spec)):
            self.assertGreater(len(s["target"]), 97 * 3)
            whole[s["cpu"]] = {k: list(v) for k, v in
                               score_seq(scorer, SimpleNamespace(**s), scorer.spec).items()}
        self.assertEqual(score_trace(scorer, trace, chunk=97), whole)
