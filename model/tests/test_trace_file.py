"""A trace written as CSV by `scx_oracle import` reads in Python exactly as the same import
written as Parquet: every row and field (nulls, empty and quoted strings, commas and quotes
in comms) and the metadata; a cut CSV is refused by name."""
import tempfile
import unittest
from pathlib import Path

from model.encoding import read_events, trace_meta
from model.errors import BadInput
from model.tests.test_rust_side import agent, run

TEXT = """\
            bash  1234 [001]  1000.000100: sched:sched_waking: comm=a, b pid=55 prio=120 target_cpu=001
            bash  1234 [001]  1000.000200: sched:sched_switch: prev_comm=bash prev_pid=1234 prev_prio=120 prev_state=S ==> next_comm=a, b next_pid=55 next_prio=120
            a, b    55 [001]  1000.000300: sched:sched_switch: prev_comm=a, b prev_pid=55 prev_prio=120 prev_state=R+ ==> next_comm=q"t next_pid=56 next_prio=100
             q"t    56 [000]  1000.000400: sched:sched_process_exit: comm=q"t pid=56 prio=100
"""


class CsvTraces(unittest.TestCase):
    def test_csv_reads_as_the_parquet_does(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "t.txt").write_text(TEXT)
            b = agent()
            for ext in ("csv", "parquet"):
                run(b, "import", "--format", "perf-sched-script", "--meta", "workload=w x ",
                    "-o", d / f"t.{ext}", d / "t.txt")
            csv, pq = list(read_events(d / "t.csv")), list(read_events(d / "t.parquet"))
            self.assertEqual(len(pq), 4)
            self.assertEqual(csv, pq)
            self.assertEqual([e["next_comm"] for e in pq[:3]], ["a, b", "a, b", 'q"t'])
            self.assertEqual(trace_meta(d / "t.csv"), trace_meta(d / "t.parquet"))
            self.assertEqual(trace_meta(d / "t.csv")["workload"], "w x ")   # kept as written
            # Cut before its metadata trailer: refused, naming the file.
            text = (d / "t.csv").read_text()
            (d / "cut.csv").write_text(text[:text.index("#")])
            with self.assertRaises(BadInput) as ctx:
                list(read_events(d / "cut.csv"))
            self.assertIn("cut.csv: no complete=true", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
