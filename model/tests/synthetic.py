"""Hand-made event streams for tests: a periodic schedule on CPUs where every task stays runnable."""


def periodic_events(pattern, repeats, cpu=0, first_pid=100, start_ns=1_000_000, gap_ns=50_000):
    """`pattern` lists task letters (or '-' for idle) run in turn on `cpu`; each task is woken
    once at the start and is preempted (state R) at every switch, so only the order tells."""
    pids = {name: (0 if name == "-" else first_pid + i) for i, name in enumerate(sorted(set(pattern)))}
    ts = start_ns
    events = []
    for name, pid in sorted(pids.items()):
        if pid:
            events.append(dict(ts_ns=ts, cpu=cpu, event="wakeup", next_pid=pid, next_tgid=pid,
                               next_comm=f"task{name}", next_prio=120, target_cpu=cpu))
            ts += 1000
    prev = 0
    for _ in range(repeats):
        for name in pattern:
            nxt = pids[name]
            if nxt == prev:
                continue
            ts += gap_ns
            events.append(dict(ts_ns=ts, cpu=cpu, event="switch", prev_pid=prev, prev_tgid=prev,
                               prev_comm="swapper/0" if prev == 0 else f"p{prev}", prev_prio=120,
                               prev_state="R+" if prev else "R", next_pid=nxt, next_tgid=nxt,
                               next_comm="swapper/0" if nxt == 0 else f"p{nxt}", next_prio=120,
                               nr_running=len(pids)))
            prev = nxt
    return events


def write_trace(path, events):
    """Events (dicts with schema column names) -> a schema-v1 Parquet trace the readers accept."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from model.encoding import COLUMNS
    table = pa.table({c: [e.get(c) for e in events] for c in COLUMNS})
    pq.write_table(table.replace_schema_metadata({"schema_version": "1"}), path)


def write_dataset(root, patterns, reps=4, repeats=200, cpus=2, longer_per_rep=17):
    """A tiny dataset directory (manifest.json + traces/): one workload per `patterns` entry
    (name -> task letters), `reps` repetitions, each on `cpus` CPUs with its own pids; each
    repetition `longer_per_rep` periods longer than the one before (0: all the same length)."""
    import hashlib
    import json
    from pathlib import Path
    root = Path(root)
    (root / "traces").mkdir(parents=True, exist_ok=True)
    files = []
    for w, (name, pattern) in enumerate(sorted(patterns.items())):
        for rep in range(1, reps + 1):
            events = []
            for cpu in range(cpus):
                first = 1000 * (1 + w) + 100 * rep + 10 * cpu * len(pattern)
                events += periodic_events(pattern, repeats + longer_per_rep * rep, cpu=cpu, first_pid=first)
            events.sort(key=lambda e: e["ts_ns"])
            rel = f"traces/{name}-rep{rep}.parquet"
            write_trace(root / rel, events)
            files.append(dict(file=rel, workload=name, repetition=rep, vcpus=cpus,
                              sha256=hashlib.sha256((root / rel).read_bytes()).hexdigest()))
    (root / "manifest.json").write_text(json.dumps({"files": files}, indent=1))
    return root


def train_cli(dataset, out, args, launcher=(), env=None):
    """`python [launcher] -m model train --dataset D --out O args...` (launcher: e.g. torchrun's
    module and its flags) -> (train.json, stdout); a failure raises with both outputs."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, *launcher, "-m", "model", "train", "--dataset", dataset, "--out", out, *args]
    r = subprocess.run([str(c) for c in cmd], cwd=root, capture_output=True, text=True,
                       timeout=300, env=env)
    if r.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed:\n{r.stdout}\n{r.stderr}")
    return json.loads((Path(out) / "train.json").read_text()), r.stdout
