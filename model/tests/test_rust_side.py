"""The Rust side against the Python side: `scx_oracle encode` writes what `python -m model encode`
writes, `scx_oracle eval` scores every step like PyTorch and onnxruntime do (untrained model,
state carried per CPU), and the agent refuses models it cannot encode for.

Run from the repository root: .venv/bin/python -m unittest discover -s model/tests -t .
Builds target/release/scx_oracle with cargo when cargo is on PATH (a no-op when up to date);
SCX_ORACLE_BIN=FILE uses that binary instead.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

from model.encoding import load_spec

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "data/small/traces"
ENCODE_TRACES = [TRACES / "stress_cpu-2cpu-rep1.parquet",       # few tasks, CPU bound
                 TRACES / "desktop_idle-2cpu-rep4.parquet",      # more waiting than slots, kthreads
                 TRACES / "stress_fork-2cpu-rep1.parquet",       # exits leave the candidates
                 TRACES / "hackbench_socket-2cpu-rep1.parquet",  # the kernel's charge, slice, RT
                 # a perf import from another kernel: no CPU time in any record (the estimate's
                 # clocks are the timestamps)
                 ROOT / "data/host/perf/python_tests.parquet"]
PARITY_TRACE = TRACES / "request_response-2cpu-rep1.parquet"
FEATURE_TOL = 1e-6
SCORE_TOL = 1e-5


def agent():
    if os.environ.get("SCX_ORACLE_BIN"):
        return Path(os.environ["SCX_ORACLE_BIN"])
    if shutil.which("cargo"):
        subprocess.run(["cargo", "build", "--release", "-p", "scx_oracle"], cwd=ROOT, check=True)
    binary = ROOT / "target/release/scx_oracle"
    if not binary.exists():
        raise RuntimeError(f"{binary} missing and cargo not on PATH: build it first")
    return binary


def run(*args, check=True, env=None):
    return subprocess.run([str(a) for a in args], cwd=ROOT, capture_output=True, text=True,
                          check=check, env=env)


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def stable_rank(scores, target):
    """Position of target when slots are sorted by score descending, ties to the lower slot."""
    order = sorted(range(len(scores)), key=lambda j: -scores[j])   # sorted() is stable
    return order.index(target)


class RustSide(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = agent()
        cls.tmp = tempfile.TemporaryDirectory()
        d = Path(cls.tmp.name)
        cls.ckpt, cls.onnx = d / "untrained.pt", d / "untrained.onnx"
        run(sys.executable, "-m", "model", "init", "--out", cls.ckpt, "--seed", "7")
        run(sys.executable, "-m", "model", "export", "--checkpoint", cls.ckpt, "--out", cls.onnx)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return Path(self.tmp.name) / name

    def assert_same_steps(self, py, rs, what):
        self.assertEqual(len(rs), len(py), f"{what}: step count")
        for i, (p, r) in enumerate(zip(py, rs)):
            for key in ("ts", "cpu", "target", "cand_pids"):
                self.assertEqual(r[key], p[key], f"{what}: step {i} {key}")
            for key in ("step", "cands"):
                diff = np.abs(np.asarray(r[key]) - np.asarray(p[key])).max()
                self.assertLessEqual(diff, FEATURE_TOL, f"{what}: step {i} {key} differs by {diff}")

    def test_encode_round_trip(self):
        for trace in ENCODE_TRACES:
            name = f"{trace.parent.name}-{trace.name}"
            py, rs = self.path(f"{name}.py.jsonl"), self.path(f"{name}.rs.jsonl")
            run(sys.executable, "-m", "model", "encode", "--trace", trace, "--out", py)
            run(self.bin, "encode", "--trace", trace, "--out", rs)
            py_steps = jsonl(py)
            self.assertGreater(len(py_steps), 100, name)
            self.assert_same_steps(py_steps, jsonl(rs), name)
        # the constants can come from a model's metadata instead of the compiled-in spec
        trace = ENCODE_TRACES[0]
        via_model = self.path("via_model.jsonl")
        run(self.bin, "encode", "--trace", trace, "--out", via_model, "--model", self.onnx)
        rs = self.path(f"{trace.parent.name}-{trace.name}.rs.jsonl")
        self.assert_same_steps(jsonl(rs), jsonl(via_model), "--model")

    def test_stale_tasks_leave_alike(self):
        """A real trace with tasks woken and never seen again (as where events were lost or
        recordings joined): both encoders take them out of the run queue at the same step."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        src = pq.read_table(TRACES / "desktop_idle-2cpu-rep4.parquet")   # 3.1 s, idles
        rows = src.to_pylist()
        t0 = min(r["ts_ns"] for r in rows)
        stale = {4000001: (t0 + 1000, 0), 4000002: (t0 + 1000, 1), 4000003: (t0 + 800_000_000, 0)}
        for pid, (ts, cpu) in stale.items():
            rows.append(dict({k: None for k in src.column_names}, ts_ns=ts, cpu=cpu, event="wakeup",
                             next_pid=pid, next_tgid=pid, next_comm="gone", next_prio=120,
                             target_cpu=cpu))
        trace = self.path("stale.parquet")
        pq.write_table(pa.Table.from_pylist(rows, schema=src.schema), trace)
        py, rs = self.path("stale.py.jsonl"), self.path("stale.rs.jsonl")
        run(sys.executable, "-m", "model", "encode", "--trace", trace, "--out", py)
        run(self.bin, "encode", "--trace", trace, "--out", rs)
        py_steps = jsonl(py)
        self.assert_same_steps(py_steps, jsonl(rs), "stale")
        spec = load_spec()
        runnable = spec["candidate_features"].index("runnable")
        for pid, (ts, cpu) in stale.items():
            waits = [s["ts"] for s in py_steps if s["cpu"] == cpu and pid in s["cand_pids"]
                     and s["cands"][s["cand_pids"].index(pid)][runnable] == 1.0]
            self.assertTrue(waits, pid)
            waited = max(waits) - ts
            # over stale_after_idle_ns (the CPU idles often), and gone well before the end
            self.assertGreater(waited, spec["stale_after_idle_ns"], pid)
            self.assertLess(waited, spec["stale_after_ns"], pid)

    def test_scores_match_pytorch_and_onnxruntime(self):
        import onnxruntime as ort
        import torch

        from model.checkpoint import load_checkpoint
        from model.encoding import encode_trace

        scores_out, json_out = self.path("scores.jsonl"), self.path("eval.json")
        out = run(self.bin, "eval", "--model", self.onnx, "--trace", PARITY_TRACE,
                  "--scores-out", scores_out, "--json-out", json_out).stdout
        report = json.loads(out)
        self.assertEqual(report, json.loads(json_out.read_text()))
        rust = {}
        for line in jsonl(scores_out):
            rust.setdefault(line["cpu"], []).append(line)

        net, spec, _ = load_checkpoint(self.ckpt)
        sess = ort.InferenceSession(str(self.onnx), providers=["CPUExecutionProvider"])
        layers, hidden = net.config["layers"], net.config["hidden"]
        by_cpu = encode_trace(PARITY_TRACE, spec)
        self.assertEqual(sorted(rust), sorted(by_cpu))
        worst_torch = worst_ort = 0.0
        steps = misses = top1 = top3 = 0
        for cpu, seq in by_cpu.items():
            st = np.stack([s.step for s in seq])
            ca = np.stack([s.cands for s in seq])
            with torch.no_grad():
                ref = net(torch.from_numpy(st)[None], torch.from_numpy(ca)[None])[0][0].numpy()
            h = np.zeros((layers, 1, hidden), np.float32)
            c = np.zeros_like(h)
            self.assertEqual([r["ts"] for r in rust[cpu]], [s.ts for s in seq], f"CPU {cpu}")
            for t, (s, r) in enumerate(zip(seq, rust[cpu])):
                got = np.asarray(r["scores"], np.float32)
                present = ca[t, :, 0] > 0
                scores, h, c = sess.run(["scores", "h_out", "c_out"],
                                        {"step": st[t:t + 1], "cands": ca[t:t + 1], "h": h, "c": c})
                worst_torch = max(worst_torch, float(np.abs(got[present] - ref[t][present]).max()))
                worst_ort = max(worst_ort, float(np.abs(got[present] - scores[0][present]).max()))
                self.assertTrue(np.all(got[~present] == -1e9), f"CPU {cpu} step {t}: absent slots")
                steps += 1
                if s.target < 0:
                    misses += 1
                    continue
                rank = stable_rank(list(got), s.target)
                top1, top3 = top1 + (rank == 0), top3 + (rank < 3)
        self.assertLessEqual(worst_torch, SCORE_TOL, "Rust vs PyTorch")
        self.assertLessEqual(worst_ort, SCORE_TOL, "Rust vs onnxruntime (Python)")
        # the report counts what the scores say, with the documented ranking rules
        (t,) = report["traces"]
        self.assertEqual(report["encoding_version"], load_spec()["version"])
        self.assertEqual(t["workload"], "request_response")
        self.assertEqual((t["steps"], t["misses"]), (steps, misses))
        self.assertAlmostEqual(t["top1"], top1 / steps, places=12)
        self.assertAlmostEqual(t["top3"], top3 / steps, places=12)
        self.assertEqual(report["overall"]["steps"], steps)
        self.assertEqual(report["inference_us"]["count"], steps)
        self.assertGreater(report["inference_us"]["p50"], 0)

    def refused(self, model, *expected):
        r = run(self.bin, "eval", "--model", model, "--trace", ENCODE_TRACES[0], check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertNotIn("panicked", r.stderr)
        for text in (str(model), *expected):
            self.assertIn(text, r.stderr)
        return r.stderr

    def edited(self, name, edit):
        import onnx
        m = onnx.load(str(self.onnx))
        edit(m)
        out = self.path(name)
        onnx.save(m, str(out))
        return out

    def test_refuses_models_it_cannot_encode_for(self):
        def meta(m, key, value):
            for p in m.metadata_props:
                if p.key == key:
                    p.value = value(p.value)

        v999 = self.edited("v999.onnx", lambda m: meta(m, "scx_oracle.encoding_version", lambda _: "999"))
        err = self.refused(v999, "encoding version 999", f"encoding version {load_spec()['version']}", "re-export")

        def rename_feature(spec):
            s = json.loads(spec)
            s["candidate_features"][-1] = "not_a_feature"
            return json.dumps(s)
        other = self.edited("features.onnx", lambda m: meta(m, "scx_oracle.encoding", rename_feature))
        self.refused(other, "candidate_features differ", "not_a_feature")

        bare = self.edited("bare.onnx", lambda m: m.metadata_props.__delitem__(slice(None)))
        self.refused(bare, "not an scx_oracle model")

        corrupt = self.path("corrupt.onnx")
        corrupt.write_bytes(np.random.default_rng(1).bytes(4096))
        self.refused(corrupt, "cannot load as an ONNX model")
        self.assertTrue(err.startswith("scx_oracle: error:"), err)

    def test_missing_runtime_library_is_explained(self):
        env = dict(os.environ, ORT_DYLIB_PATH="/nonexistent/libonnxruntime.so")
        r = run(self.bin, "eval", "--model", self.onnx, "--trace", ENCODE_TRACES[0],
                check=False, env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ORT_DYLIB_PATH=/nonexistent/libonnxruntime.so", r.stderr)


if __name__ == "__main__":
    unittest.main()
