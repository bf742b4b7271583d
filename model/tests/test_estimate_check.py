"""`python -m model estimate`: the EEVDF replay scored alone, spec overrides applied, bad
input refused in one line."""
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "data/small/traces/stress_cpu-2cpu-rep1.parquet"


def model_cli(*args):
    return subprocess.run([sys.executable, "-m", "model", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


class EstimateCheck(unittest.TestCase):
    def test_scores_a_trace_and_applies_overrides(self):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "e.json"
            r = model_cli("estimate", "--trace", TRACE, "--json-out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            res = json.loads(out.read_text())
            row = res["traces"][str(TRACE)]
            # stress-ng cpu hogs: the kernel's picks follow the replay almost always
            self.assertGreater(row["steps"], 100)
            self.assertGreater(row["first_pct"], 90)
            self.assertGreaterEqual(row["top3_pct"], row["first_pct"])
            self.assertEqual(res["overall"]["steps"], row["steps"])
            # Tolerating fewer than zero misses, no CPU ever trusts the replay: no ranks, no hits.
            r = model_cli("estimate", "--trace", TRACE, "--set", "eevdf_trust_max_misses=-1",
                          "--json-out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            row = json.loads(out.read_text())["traces"][str(TRACE)]
            self.assertEqual((row["first_pct"], row["trusted_pct"]), (0.0, 0.0))

    def test_the_overall_line_comes_from_counts_not_rounded_percentages(self):
        other = ROOT / "data/small/traces/stress_cpu-4cpu-rep1.parquet"
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "e.json"
            r = model_cli("estimate", "--trace", TRACE, other, "--json-out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            res = json.loads(out.read_text())
        rows, overall = res["traces"].values(), res["overall"]
        for key in ("steps", "first", "top3", "trusted"):
            self.assertEqual(overall[key], sum(row[key] for row in rows), key)
        self.assertEqual(overall["first_pct"], round(100 * overall["first"] / overall["steps"], 2))

    def test_bad_overrides_and_paths_get_one_line(self):
        for args, words in [(["--set", "no_such_key=1"], "not a key of the encoding spec"),
                            (["--set", "eevdf_passed_over_max=three"], "not a int"),
                            (["--set", "eevdf_passed_over_max"], "expected KEY=VALUE"),
                            (["--set", "version=6"], "not a setting")]:
            r = model_cli("estimate", "--trace", TRACE, *args)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(words, r.stderr)
            self.assertNotIn("Traceback", r.stderr)
        r = model_cli("estimate", "--trace", ROOT / "no/such.parquet")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such trace file", r.stderr)
        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "bad.parquet"
            bad.write_bytes(b"PAR1 not really")
            r = model_cli("estimate", "--trace", bad)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"{bad}: not a Parquet trace", r.stderr)


if __name__ == "__main__":
    unittest.main()
