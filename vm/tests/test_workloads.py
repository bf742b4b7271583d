"""The dataset workloads' own failure detection, run on the host with stub tools:
python3 -m unittest discover -s vm/tests"""
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

WORKLOADS = Path(__file__).resolve().parent.parent / "scenarios" / "workloads.sh"


def stub(dir_, name, body):
    p = Path(dir_) / name
    p.write_text(f"#!/bin/sh\n{body}\n")
    p.chmod(0o755)


class RequestResponseTest(unittest.TestCase):
    """request_response must fail the collection when the HTTP pair did not work."""

    def run_workload(self, httpd, wget):
        with tempfile.TemporaryDirectory() as d:
            stub(d, "httpd", httpd)
            stub(d, "wget", wget)
            stub(d, "usleep", "sleep 0.01")
            env = dict(os.environ, PATH=f"{d}:{os.environ['PATH']}", STATE=d)
            script = f'. "{WORKLOADS}"; NPROC=1; run_suite_workload request_response 1 1; ' \
                     'rc=$?; if suite_ok "$rc"; then echo ok; else echo "failed $rc"; fi'
            r = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
            return r.stdout.strip(), r.stderr

    def test_server_that_never_came_up_fails(self):
        out, err = self.run_workload("exit 1", "exit 1")
        self.assertEqual(out, "failed 1", err)
        self.assertIn("never answered", err)

    def test_request_failing_mid_period_fails(self):
        # The first 5 requests succeed, then the server stops answering.
        out, err = self.run_workload(
            "exec sleep 30", 'n=$(cat "$STATE/n" 2>/dev/null || echo 0); echo $((n + 1)) >"$STATE/n"; '
                        '[ "$n" -lt 5 ]')
        self.assertEqual(out, "failed 1", err)
        self.assertIn("a request failed", err)

    def test_answered_until_the_period_ends_is_ok(self):
        out, err = self.run_workload("exec sleep 30", "sleep 0.01")
        self.assertEqual(out, "ok", err)


if __name__ == "__main__":
    unittest.main()
