"""Python's eval and `scx_oracle eval` give the same results on the same traces with the bundled
model: the model's top-1/top-3 within 0.1 point, every baseline's hits exactly, per CPU. And
Python refuses a model of another encoding version. The Rust binary is built first (as
test_rust_side.py does), so a stale one is never compared."""
import json
import shutil
import tempfile
import unittest
from pathlib import Path

from model.data import Sequence, sequences_from_steps
from model.encoding import encode_trace
from model.errors import BadInput, ModelVersionError
from model.evaluate import MODEL as MODEL_NAME, OnnxScorer, score_seq
from model.tests.test_eval_traces import model_cli
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

    def test_gaps_and_empty_traces_agree(self):
        """A trace with nothing to score is left out of the workloads by both; a perf sched map
        import (switches only) is flagged as lacking wakeups and prev_state by both."""
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "wake.txt").write_text("swapper 0 [000] 1.000001: sched:sched_wakeup: "
                                        "comm=x pid=18 prio=120 target_cpu=000\n")
            run(self.bin, "import", "--format", "perf-sched-script", "-o", d / "wake.parquet",
                d / "wake.txt")
            run(self.bin, "import", "--format", "perf-sched-map", "-o", d / "map.parquet",
                ROOT / "trace/tests/data/perf_sched_map.txt")
            shutil.copy(ROOT / TRACES[0], d / "real.parquet")
            for p in d.glob("*.txt"):
                p.unlink()
            rust = json.loads(run(self.bin, "eval", "--model", MODEL, d).stdout)
            r = model_cli("eval", "--model", MODEL, "--trace", d, "--json-out", d / "py.json")
            self.assertEqual(r.returncode, 0, r.stderr)
            py = json.loads((d / "py.json").read_text())
            # Nothing to score at all: one line from each, not a traceback or a 0% result.
            alone = d / "alone"
            alone.mkdir()
            shutil.copy(d / "wake.parquet", alone)
            rr = run(self.bin, "eval", "--model", MODEL, alone, check=False)
            pr = model_cli("eval", "--model", MODEL, "--trace", alone)
            for out in (rr, pr):
                self.assertNotEqual(out.returncode, 0)
                self.assertIn("no scheduling decision to score in any trace", out.stderr)
                self.assertNotIn("Traceback", out.stderr)
        self.assertEqual({Path(t["trace"]).name: t["gaps"] for t in rust["traces"] if t["gaps"]},
                         {Path(f).name: g for f, g in py["gaps"].items()})
        self.assertEqual(py["gaps"][str(d / "wake.parquet")], ["no_steps"])
        self.assertEqual(py["gaps"][str(d / "map.parquet")], ["no_wakeups", "no_prev_state"])
        s = py["splits"]["traces"]
        self.assertEqual(sorted(rust["workloads"]), sorted(s["workloads"]))
        self.assertNotIn("wake", s["workloads"])
        self.assertAlmostEqual(rust["workload_mean"]["top1"], s["macro"]["model"]["top1"], places=3)

    def test_timestamps_past_signed_64_bit_are_refused_by_both(self):
        """Both encoders count time in signed 64-bit ns: a later timestamp would wrap in Rust
        and not in Python, so both refuse the trace by name instead of scoring it apart."""
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            t = "9300000000.00000"   # seconds: 9.3e18 ns, past 2^63 - 1
            (d / "big.txt").write_text(
                f"swapper 0 [000] {t}1: sched:sched_wakeup: comm=x pid=18 prio=120 target_cpu=000\n"
                f"swapper 0 [000] {t}2: sched:sched_switch: prev_comm=swapper/0 prev_pid=0 "
                "prev_prio=120 prev_state=R ==> next_comm=x next_pid=18 next_prio=120\n")
            run(self.bin, "import", "--format", "perf-sched-script", "-o", d / "big.parquet",
                d / "big.txt")
            for out in (run(self.bin, "eval", "--model", MODEL, d / "big.parquet", check=False),
                        run(self.bin, "encode", "--trace", d / "big.parquet", "--out", d / "o.jsonl",
                            check=False),
                        model_cli("eval", "--model", MODEL, "--trace", d / "big.parquet")):
                self.assertNotEqual(out.returncode, 0)
                self.assertIn("big.parquet: timestamp 9300000000000002000 ns is past 2^63 - 1",
                              out.stderr)
                self.assertNotIn("Traceback", out.stderr)
            self.assertFalse((d / "o.jsonl").exists())

    def test_files_written_by_other_tools(self):
        """A trace rewritten as pyarrow, polars or pandas write one (64-bit integers, large or
        dictionary strings) scores the same in both; a float column, or a value that does not
        fit its schema type, is refused by both, naming the column."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        t = pq.read_table(ROOT / "data/small/traces/stress_cpu-2cpu-rep1.parquet")

        def top1s(path):
            """(Rust's model top-1, Python's) on a rewritten copy of the trace."""
            rust = run(self.bin, "eval", "--model", MODEL, path, check=False)
            py = model_cli("eval", "--model", MODEL, "--trace", path, "--json-out",
                           path.with_suffix(".json"))
            self.assertEqual((rust.returncode, py.returncode), (0, 0), rust.stderr + py.stderr)
            p = json.loads(path.with_suffix(".json").read_text())
            return (round(json.loads(rust.stdout)["traces"][0]["top1"], 6),
                    round(p["splits"]["traces"]["overall"]["model"]["top1"], 6))

        def rewrite(path, conv):
            cols = {f.name: conv(f, t[f.name]) for f in t.schema}
            pq.write_table(pa.table(cols).replace_schema_metadata(t.schema.metadata), path)
            return path

        same = lambda f, c: c  # noqa: E731
        wide = lambda f, c: (c.cast(pa.large_string()) if pa.types.is_string(f.type)  # noqa: E731
                             else c.cast(pa.int64()) if pa.types.is_integer(f.type) else c)
        dic = lambda f, c: c.dictionary_encode() if pa.types.is_string(f.type) else c  # noqa: E731
        floats = lambda f, c: c.cast(pa.float64()) if f.name == "prev_pid" else c  # noqa: E731
        big = lambda f, c: pa.array([2**40] * len(c), pa.int64()) if f.name == "next_pid" else c  # noqa: E731
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            want = top1s(rewrite(d / "same.parquet", same))
            self.assertEqual(want[0], want[1])
            for name, conv in (("wide", wide), ("dict", dic)):
                self.assertEqual(top1s(rewrite(d / f"{name}.parquet", conv)), want, name)
            for name, conv, says in (("floats", floats, "column prev_pid has type"),
                                     ("big", big, "column next_pid: value 1099511627776 does not fit")):
                path = rewrite(d / f"{name}.parquet", conv)
                for out in (run(self.bin, "eval", "--model", MODEL, path, check=False),
                            model_cli("eval", "--model", MODEL, "--trace", path)):
                    self.assertNotEqual(out.returncode, 0, name)
                    self.assertIn(says, out.stderr)
                    self.assertNotIn("Traceback", out.stderr)

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
