"""A dataset directory (manifest.json + traces/) -> splits by run -> encoded per-CPU sequences.

Splits never cut a run: for each workload not held out, its last repetition is the test run
("seen" workloads, held-out repetitions), the one before it validates (early stopping), the rest
train. Held-out workloads are used only for the "unseen" test. Encoded traces are cached under
.cache/model/ keyed by the trace's sha256, the encoding spec and the encoder's source (a change
to the estimate's rules that keeps the spec must not reuse the old encodings), compressed (data/small's training
encodings: 8.8 GB raw, 0.54 GB compressed) and kept to CACHE_MAX_BYTES by dropping the least
recently used, so entries left by older encodings or re-recorded traces do not fill the disk.
"""
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import replacing
from .encoding import encode_trace
from .errors import BadInput

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "model"
# Room for a few encodings of a dataset the size of data/small (~540 MB each, compressed).
CACHE_MAX_BYTES = int(os.environ.get("SCX_ORACLE_MODEL_CACHE_MB", "2048")) * 2**20
# Chosen before any model was trained: one wakeup-chain workload, one lock workload and one
# client/server workload, each with a training-set relative (hackbench_pipe, stress_pipe, ...).
DEFAULT_HOLDOUT = ("hackbench_socket", "stress_futex", "request_response")


def holdout_from(arg):
    """`--holdout-workloads a,b` -> ("a", "b"); not given -> the default set; "" -> none."""
    return tuple(w for w in arg.split(",") if w) if arg is not None else DEFAULT_HOLDOUT


@dataclass
class Sequence:
    """One CPU of one run, every switch on it in time order."""
    file: str
    workload: str
    rep: int
    vcpus: int
    cpu: int
    steps: np.ndarray      # [N, step_width] float32
    cands: np.ndarray      # [N, K, cand_width] float32
    target: np.ndarray     # [N] int64, -1 = next task not a candidate
    cand_pids: np.ndarray  # [N, K] int64, -1 = empty slot, 0 = idle
    prev: np.ndarray       # [N] int64
    next: np.ndarray       # [N] int64


def load_manifest(dataset):
    path = Path(dataset) / "manifest.json"
    if not path.exists():
        raise BadInput(f"{dataset}: no manifest.json (make one with scripts/collect-dataset)")
    return json.loads(path.read_text())["files"]


def split_runs(files, holdout=DEFAULT_HOLDOUT):
    """-> {"train": [...], "val": [...], "test_seen": [...], "test_unseen": [...]} manifest rows."""
    holdout = set(holdout)
    known = {f["workload"] for f in files}
    unknown = holdout - known
    if unknown:
        raise BadInput(f"holdout workloads not in the dataset: {', '.join(sorted(unknown))}")
    out = {"train": [], "val": [], "test_seen": [], "test_unseen": []}
    for f in files:
        if f["workload"] in holdout:
            out["test_unseen"].append(f)
            continue
        reps = sorted({g["repetition"] for g in files if g["workload"] == f["workload"]})
        if len(reps) < 3:
            raise BadInput(f"workload {f['workload']}: {len(reps)} repetitions; a split by run "
                             "needs at least 3 (train, validation, test)")
        r = f["repetition"]
        out["test_seen" if r == reps[-1] else "val" if r == reps[-2] else "train"].append(f)
    return out


# What the encoded steps are a function of, besides the trace and the spec.
ENCODER_SOURCES = ("encoding.py", "eevdf.py", "trace_file.py")


def spec_hash(spec):
    """The cache key of an encoding: the spec and the source of the code that applies it."""
    h = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
    for name in ENCODER_SOURCES:
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


def _encode_file(args):
    path, spec, estimate = args
    return sequences_from_steps(encode_trace(path, spec, estimate))


def sequences_from_steps(by_cpu):
    """{cpu: [Step]} -> list of dicts of arrays, one per CPU (Sequence fields but the run's)."""
    seqs = []
    for cpu, steps in sorted(by_cpu.items()):
        seqs.append(dict(
            cpu=cpu,
            steps=np.stack([s.step for s in steps]),
            cands=np.stack([s.cands for s in steps]),
            target=np.array([s.target for s in steps], np.int64),
            cand_pids=np.array([[-1 if p is None else p for p in s.cand_pids] for s in steps], np.int64),
            prev=np.array([s.prev_pid for s in steps], np.int64),
            next=np.array([s.next_pid for s in steps], np.int64)))
    return seqs


def encode_runs(dataset, rows, spec, workers=2, estimate=True):
    """Encoded sequences for manifest rows, from the cache where possible (estimate=False: the
    EEVDF estimate never trusted, see Encoder.trusted)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tag = spec_hash(spec) + ("" if estimate else "-untrusted")
    todo, cached = [], {}
    for row in rows:
        cache = CACHE / f"{row.get('sha256', Path(row['file']).stem)}-{tag}.npz"
        if cache.exists():
            cached[row["file"]] = _load_cache(cache)
            os.utime(cache)   # recently used: the last to be pruned
        else:
            todo.append((row, cache))
    if todo:
        jobs = [(Path(dataset) / row["file"], spec, estimate) for row, _ in todo]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (row, cache), seqs in zip(todo, pool.map(_encode_file, jobs)):
                _save_cache(cache, seqs)
                cached[row["file"]] = seqs
        prune_cache(CACHE, CACHE_MAX_BYTES)
    out = []
    for row in rows:
        for s in cached[row["file"]]:
            out.append(Sequence(file=row["file"], workload=row["workload"], rep=row["repetition"],
                                vcpus=row["vcpus"], **s))
    return out


def _save_cache(path, seqs):
    arrays = {}
    for i, s in enumerate(seqs):
        for k, v in s.items():
            arrays[f"{i}.{k}"] = np.asarray(v)
    with replacing(path, ".partial.npz") as tmp:   # np.savez adds .npz to other names
        np.savez_compressed(tmp, **arrays)


def prune_cache(directory, max_bytes):
    """Deletes the least recently used entries until the rest fit in max_bytes. The newest entry
    always stays, even alone over the limit (it is what the caller is about to use)."""
    entries = []
    for path in Path(directory).glob("*.npz"):
        if path.name.endswith(".partial.npz"):   # being written by another process
            continue
        try:
            st = path.stat()
        except FileNotFoundError:   # another process pruned it first
            continue
        entries.append((st.st_mtime, st.st_size, path))
    entries.sort(reverse=True)
    total = 0
    for i, (_, size, path) in enumerate(entries):
        total += size
        if total > max_bytes and i > 0:
            path.unlink(missing_ok=True)


def _load_cache(path):
    z = np.load(path)
    seqs = {}
    for key in z.files:
        i, k = key.split(".", 1)
        seqs.setdefault(int(i), {})[k] = z[key]
    return [dict(seqs[i], cpu=int(seqs[i]["cpu"])) for i in sorted(seqs)]
