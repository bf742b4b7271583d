"""Python's eval and `scx_oracle eval` give the same top-1/top-3 (within 0.1 point) on the same
trace with the bundled model, and Python refuses a model of another encoding version."""
import json
import subprocess
import tempfile
import unittest
from pathlib import Path

from model.data import Sequence, sequences_from_steps
from model.encoding import encode_trace
from model.evaluate import ModelVersionError, OnnxScorer, hits_model

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "model/artifacts/oracle.onnx"
AGENT = ROOT / "target/release/scx_oracle"
TRACES = ["data/small/traces/hackbench_pipe-2cpu-rep4.parquet",      # seen workload, test run
          "data/small/traces/request_response-4cpu-rep1.parquet"]   # held-out workload


def python_eval(scorer, trace):
    steps = hits1 = hits3 = 0
    for s in sequences_from_steps(encode_trace(ROOT / trace, scorer.spec)):
        seq = Sequence(file=trace, workload="", rep=0, vcpus=0, **s)
        h1, h3 = hits_model(seq, scorer.scores(seq))
        steps, hits1, hits3 = steps + len(seq.target), hits1 + int(h1), hits3 + int(h3)
    return steps, hits1 / steps, hits3 / steps


class EvalAgreement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not AGENT.exists():
            subprocess.run(["cargo", "build", "--release", "-p", "scx_oracle"], cwd=ROOT, check=True)

    def test_python_and_rust_agree(self):
        scorer = OnnxScorer(MODEL)
        out = subprocess.run([str(AGENT), "eval", "--model", str(MODEL)] +
                             sum((["--trace", str(ROOT / t)] for t in TRACES), []),
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout
        rust = {Path(r["trace"]).name: r for r in json.loads(out)["traces"]}
        for trace in TRACES:
            steps, top1, top3 = python_eval(scorer, trace)
            r = rust[Path(trace).name]
            self.assertEqual(r["steps"], steps, trace)
            self.assertLessEqual(abs(100 * (r["top1"] - top1)), 0.1, f"{trace}: top-1 {r['top1']} vs {top1}")
            self.assertLessEqual(abs(100 * (r["top3"] - top3)), 0.1, f"{trace}: top-3 {r['top3']} vs {top3}")

    def test_python_refuses_another_encoding_version(self):
        import onnx
        m = onnx.load(str(MODEL))
        for p in m.metadata_props:
            if p.key == "scx_oracle.encoding_version":
                p.value = "999"
        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "v999.onnx"
            onnx.save(m, str(bad))
            with self.assertRaises(ModelVersionError) as ctx:
                OnnxScorer(bad)
            self.assertIn("encoding version", str(ctx.exception))

    def test_python_refuses_a_corrupt_model(self):
        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "corrupt.onnx"
            bad.write_bytes(b"\x08\x01garbage" * 100)
            with self.assertRaises(SystemExit) as ctx:
                OnnxScorer(bad)
            self.assertIn("corrupt.onnx", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
