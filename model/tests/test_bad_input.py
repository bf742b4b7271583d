"""Bad input gets an error that names the problem: corrupt checkpoints, non-traces, thin datasets."""
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from model.checkpoint import load_checkpoint
from model.data import split_runs
from model.encoding import read_events
from model import errors

ROOT = Path(__file__).resolve().parents[2]


class BadInput(unittest.TestCase):
    def test_corrupt_checkpoint_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "model.pt"
            bad.write_bytes(b"PK\x03\x04 truncated")
            with self.assertRaises(errors.BadInput) as ctx:
                load_checkpoint(bad)
            self.assertIn("model.pt: not a model checkpoint", str(ctx.exception))

    def test_parquet_without_trace_columns(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "other.parquet"
            table = pa.table({"ts_ns": [1, 2]}).replace_schema_metadata({"schema_version": "1"})
            pq.write_table(table, path)
            with self.assertRaises(errors.BadInput) as ctx:
                list(read_events(path))
            self.assertIn("no column(s) cpu, event", str(ctx.exception))

    def test_split_needs_three_repetitions(self):
        rows = [dict(file=f"w-rep{r}", workload="w", repetition=r, vcpus=2) for r in (1, 2)]
        with self.assertRaises(errors.BadInput) as ctx:
            split_runs(rows, holdout=())
        self.assertIn("at least 3", str(ctx.exception))

    def test_a_traces_base_slice_replaces_the_default_only_when_it_is_a_positive_integer(self):
        # the same values as oracle/src/spec.rs's test: the two encoders must agree
        from model.encoding import load_spec, spec_for_trace
        spec = load_spec()
        slice_of = lambda v: spec_for_trace(spec, {"sched_base_slice_ns": v})["eevdf_slice_ns"]
        self.assertEqual(slice_of("1400000"), 1_400_000)
        self.assertEqual(slice_of(" +2100000\n"), 2_100_000)
        for bad in ["", "0", "-5", "1_400_000", "1.4e6", "99999999999999999999"]:
            self.assertEqual(slice_of(bad), spec["eevdf_slice_ns"], bad)
        self.assertEqual(spec_for_trace(spec, {}), spec)

    def test_the_kernels_count_is_read_only_under_the_fair_class(self):
        # the same values as oracle/src/spec.rs's test
        from model.encoding import load_spec, spec_for_trace
        spec = load_spec()
        count = lambda meta: spec_for_trace(spec, meta)["eevdf_kernel_count"]
        self.assertEqual(spec["eevdf_kernel_count"], 1)
        for meta, want in [({}, 1), ({"scheduler": ""}, 1), ({"scheduler": "fair"}, 1),
                           ({"scheduler": "oracle"}, 0), ({"scheduler": "scx_oracle-fifo"}, 0),
                           ({"scheduler": "Fair"}, 0), ({"scheduler": " fair"}, 0)]:
            self.assertEqual(count(meta), want, meta)

    def test_cli_reports_without_traceback(self):
        with tempfile.TemporaryDirectory() as d:
            csv = Path(d) / "t.csv"
            csv.write_text("ts_ns,cpu\n1,2\n")
            r = subprocess.run([sys.executable, "-m", "model", "encode", "--trace", str(csv),
                                "--out", str(Path(d) / "o.jsonl")], cwd=ROOT, capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("t.csv: no complete=true", r.stderr)
            self.assertNotIn("Traceback", r.stderr)
            self.assertFalse((Path(d) / "o.jsonl").exists(), "nothing written for a bad trace")
            txt = Path(d) / "t.txt"
            txt.write_text("bash 1 [000] 1.0: sched:sched_switch: ...\n")
            r = subprocess.run([sys.executable, "-m", "model", "encode", "--trace", str(txt),
                                "--out", str(Path(d) / "o.jsonl")], cwd=ROOT, capture_output=True, text=True)
            self.assertIn("t.txt: not a trace file (.parquet or .csv)", r.stderr)
            self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    unittest.main()
