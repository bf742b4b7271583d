"""Python's eval and `scx_oracle eval` give the same results on the same traces with the bundled
model: the model's top-1/top-3 within 0.1 point, every baseline's hits exactly, per CPU. And
Python refuses a model of another encoding version. The Rust binary is built first (as
test_rust_side.py does), so a stale one is never compared."""
import json
import tempfile
import unittest
from pathlib import Path

from model.data import Sequence, sequences_from_steps
from model.encoding import encode_trace
from model.errors import BadInput, ModelVersionError
from model.evaluate import MODEL as MODEL_NAME, OnnxScorer, score_seq
from model.tests.test_rust_side import agent, run

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "model/artifacts/oracle.onnx"
TRACES = ["data/small/traces/hackbench_pipe-2cpu-rep4.parquet",      # seen workload, test run
          "data/small/traces/request_response-4cpu-rep1.parquet"]   # held-out workload


def python_eval(scorer, trace):
    """{cpu: {scorer: (steps, top-1 hits, top-3 hits)}}"""
    out = {}
    for s in sequences_from_steps(encode_trace(ROOT / trace, scorer.spec)):
        seq = Sequence(file=trace, workload="", rep=0, vcpus=0, **s)
        out[seq.cpu] = score_seq(scorer, seq, scorer.spec)
    return out


class EvalAgreement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = agent()

    def test_python_and_rust_agree(self):
        scorer = OnnxScorer(MODEL)
        out = run(self.bin, "eval", "--model", MODEL,
                  *sum((["--trace", ROOT / t] for t in TRACES), [])).stdout
        rust = {Path(r["trace"]).name: r for r in json.loads(out)["traces"]}
        for trace in TRACES:
            py = python_eval(scorer, trace)
            r = rust[Path(trace).name]
            self.assertEqual(sorted(py), [c["cpu"] for c in r["cpus"]], trace)
            for c in r["cpus"]:
                p, where = py[c["cpu"]], f"{trace} cpu {c['cpu']}"
                steps = p[MODEL_NAME][0]
                self.assertEqual(c["steps"], steps, where)
                for k, col in (("top1", 1), ("top3", 2)):
                    self.assertLessEqual(abs(100 * (c[k] - p[MODEL_NAME][col] / steps)), 0.1,
                                         f"{where}: model {k}")
                self.assertEqual(sorted(c["baselines"]), sorted(n for n in p if n != MODEL_NAME))
                for name, rates in c["baselines"].items():
                    for k, col in (("top1", 1), ("top3", 2)):
                        self.assertEqual(round(rates[k] * steps), p[name][col], f"{where}: {name} {k}")

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
            with self.assertRaises(BadInput) as ctx:
                OnnxScorer(bad)
            self.assertIn("corrupt.onnx", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
