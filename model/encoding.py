"""The PID-agnostic encoding of a trace into per-CPU decision steps.

One step per `switch` event: the CPU's candidate set (slot 0 = its idle task, then the tasks
waiting in that CPU's run queue, longest off a CPU first, then the other tasks recently seen
there, runnable elsewhere first, most recent first), one feature
row per candidate, one row of step features, and the target slot (the task that actually ran
next, -1 if it was not a candidate). Names and constants come from encoding_spec.json, which export.py embeds in the ONNX
model; oracle/src/encoding.rs implements the same algorithm and the round-trip test
(model/tests/test_rust_side.py) keeps the two equal.
"""
import bisect
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .eevdf import Eevdf, View
from .errors import BadInput
from .trace_file import TYPES, decoded, read_meta, read_table

SPEC_PATH = Path(__file__).resolve().parent / "encoding_spec.json"
IDLE = 0


def load_spec(path=SPEC_PATH):
    return json.loads(Path(path).read_text())


def step_width(spec):
    # every step feature is one column except the one-hot, which is `candidates` wide
    return len(spec["step_features"]) - 1 + spec["candidates"]


def candidate_width(spec):
    return len(spec["candidate_features"])


RUNNING, RUNNABLE, SLEEPING = 1, 2, 3


@dataclass
class Task:
    state: int = 0          # 0 unknown
    cpu: int = -1           # where it runs (state RUNNING)
    woken_ts: int = -1      # when it last became runnable
    woken_cpu: int = -1     # where it was woken/preempted/migrated to
    queued_ts: int = -1     # when it entered woken_cpu's run queue
    last_out_ts: int = -1   # when it last left a CPU
    last_cpu: int = -1
    last_in_ts: int = -1    # when it last got a CPU
    last_run_ns: int = 0    # length of its last stint on a CPU
    runtime_ns: int = 0     # total time on CPUs since first seen
    preempted: bool = False  # runnable because it was switched out still runnable
    waker: int = -1         # the task running where its last wakeup fired (0 = idle)
    waker_cpu: int = -1
    prio: int = 120
    tgid: int = -1
    kthread: bool = False


@dataclass
class Cpu:
    recent: list = field(default_factory=list)   # pids, most recent first, no idle
    queued: set = field(default_factory=set)      # runnable tasks waiting here (woken_cpu)
    picks: list = field(default_factory=list)    # pids chosen at the last switches, newest first
    last_switch_ts: int = -1
    last_pick_slot: int = -1
    idle_out_ts: int = -1
    idle_in_ts: int = -1   # when this CPU last picked its idle task
    current: int = -1      # the task running here (-1 before the first switch)
    estimate_misses: int = 0   # bit i: the i-th latest task picked here was not eligible in the estimate


@dataclass
class Step:
    ts: int
    cpu: int
    step: np.ndarray        # [step_width] float32
    cands: np.ndarray       # [candidates, candidate_width] float32
    cand_pids: list         # pid per slot (slot 0 = idle = 0), None for empty
    prev_pid: int
    next_pid: int
    target: int


class Encoder:
    """Feed events in stable ts order; `event` returns a Step for each switch."""

    def __init__(self, spec, estimate=True):
        self.spec = spec
        self.k = spec["candidates"]
        self.recent_cap = spec["recent_per_cpu"]
        self.hist = spec["pick_history"]
        self.log_norm = math.log1p(spec["log_time_norm_us"])
        self.nr_cap = spec["nr_running_cap"]
        self.prefixes = tuple(spec["kthread_comm_prefixes"])
        self.ci = {n: i for i, n in enumerate(spec["candidate_features"])}
        # the one-hot is last, so every other step column sits at its list index
        self.si = {n: i for i, n in enumerate(spec["step_features"])}
        assert spec["step_features"][-1] == "last_pick_slot_onehot"
        self.clip = spec["eevdf_clip_slices"]
        self.eevdf = Eevdf(spec)
        # estimate=False: never trusted (training's second regime, see model/train.py)
        self.estimate = estimate
        self.trust_mask = (1 << spec["eevdf_trust_window"]) - 1
        self.trust_max_misses = spec["eevdf_trust_max_misses"]
        self.stale_after_idle = spec["stale_after_idle_ns"]
        self.stale_after = spec["stale_after_ns"]
        self.view = None
        self.tasks = {}
        self.cpus = {}

    def tlog(self, now, then):
        if then < 0:
            return 1.0
        dt_us = max(now - then, 0) / 1000.0
        return min(math.log1p(dt_us) / self.log_norm, 1.0)

    def task(self, pid):
        t = self.tasks.get(pid)
        if t is None:
            t = self.tasks[pid] = Task()
        return t

    def cpu(self, c):
        s = self.cpus.get(c)
        if s is None:
            s = self.cpus[c] = Cpu()
        return s

    def touch(self, c, pid):
        if pid == IDLE:
            return
        recent = self.cpu(c).recent
        if pid in recent:
            recent.remove(pid)
        recent.insert(0, pid)
        del recent[self.recent_cap:]

    def make_runnable(self, pid, t, c, now):
        """t (task pid) now waits on CPU c: it moves to c's run queue."""
        self.unqueue(pid, t)
        t.state, t.woken_cpu, t.queued_ts = RUNNABLE, c, now
        self.cpu(c).queued.add(pid)

    def unqueue(self, pid, t):
        """t leaves its run queue (it runs, sleeps or is gone)."""
        if t.state == RUNNABLE and t.woken_cpu >= 0:
            self.cpu(t.woken_cpu).queued.discard(pid)

    def forget(self, pid):
        """A task that has exited: out of every list, so it never takes a candidate slot."""
        t = self.tasks.pop(pid, None)
        if t is not None:
            self.unqueue(pid, t)
        for s in self.cpus.values():
            if pid in s.recent:
                s.recent.remove(pid)

    def learn(self, pid, prio, tgid, comm):
        t = self.task(pid)
        if prio is not None:
            t.prio = prio
            self.eevdf.set_prio(pid, prio)
        if tgid is not None:
            t.tgid = tgid
        if comm is not None:
            t.kthread = comm.startswith(self.prefixes)
        return t

    def event(self, ev):
        kind = ev["event"]
        if kind == "switch":
            return self.switch(ev)
        pid = ev.get("next_pid")
        if kind in ("wakeup", "wakeup_new") and pid is not None and pid != IDLE:
            t = self.learn(pid, ev.get("next_prio"), ev.get("next_tgid"), ev.get("next_comm"))
            target = ev.get("target_cpu")
            target = ev["cpu"] if target is None else target
            if t.state != RUNNING:
                self.eevdf.wakeup(pid, target, ev["ts_ns"], kind == "wakeup_new",
                                  ev.get("prev_pid"), ev.get("prev_runtime_ns"))
                self.make_runnable(pid, t, target, ev["ts_ns"])
                t.woken_ts = ev["ts_ns"]
                t.preempted = False
                waker_cpu = self.cpus.get(ev["cpu"])
                t.waker = waker_cpu.current if waker_cpu else -1
                t.waker_cpu = ev["cpu"]
            self.touch(target, pid)
        elif kind == "migrate" and pid is not None and pid != IDLE:
            t = self.task(pid)
            dest = ev.get("target_cpu")
            if dest is not None:
                self.eevdf.migrate(pid, dest, ev["ts_ns"])
                if t.state == RUNNABLE:
                    self.make_runnable(pid, t, dest, ev["ts_ns"])
                self.touch(dest, pid)
        # An exit event is not the end: the task still runs its exit path (it can be preempted or
        # block there); it is forgotten at its last switch-out, in state X or Z.
        return None

    def switch(self, ev):
        """A switch: the step the model sees (stages 1-3, all before the pick), its target, then
        stage 4 applies the switch. oracle/src/encoding.rs has the same stages."""
        now, c = ev["ts_ns"], ev["cpu"]
        prev, nxt = ev.get("prev_pid"), ev.get("next_pid")
        if prev is None or nxt is None:
            return None
        prev_tgid = ev.get("prev_tgid")
        if prev_tgid is None and prev != IDLE and prev in self.tasks:
            prev_tgid = self.tasks[prev].tgid
        first = (ev.get("prev_state") or "")[:1]
        runtime = ev.get("prev_runtime_ns")
        cand_pids, cands, step = self.decision_step(c, now, prev, prev_tgid, first, ev.get("nr_running"),
                                                    runtime)
        target = cand_pids.index(nxt) if nxt in cand_pids else -1
        self.score_estimate(c, nxt)
        self.apply_switch(ev, prev, nxt, first, target, runtime)
        return Step(now, c, step, cands, cand_pids, prev, nxt, target)

    def trusted(self, s):
        """Whether this CPU's picks have agreed with the estimate lately: at most
        eevdf_trust_max_misses of the last eevdf_trust_window tasks picked here were not eligible
        in it. Where tasks are grouped (cgroups, autogroup) a flat estimate is wrong, and an
        untrusted estimate is left out of the step (features blank, order unused)."""
        return self.estimate and bin(s.estimate_misses).count("1") <= self.trust_max_misses

    def score_estimate(self, c, nxt):
        """After a step: was the task picked (not idle) eligible in the estimate's view?"""
        if nxt == IDLE:
            return
        s = self.cpu(c)
        s.estimate_misses = ((s.estimate_misses << 1) | (not self.view.eligible(nxt))) & self.trust_mask

    def decision_step(self, c, now, prev, prev_tgid, first, nr_running, runtime=None):
        """Stages 1-3: candidates, their rows, the step row."""
        s = self.cpu(c)
        self.view = self.eevdf.view(c, now, prev, first, runtime)
        trusted = self.trusted(s)
        view = self.view if trusted else View(self.view.avg, {})
        cand_pids = self.order_candidates(s, view)
        cands, counts = self.candidate_rows(s, c, now, cand_pids, prev, prev_tgid, view)
        step = self.step_row(s, now, prev, first, nr_running, counts)
        step[self.si['eevdf_trusted']] = 1.0 if trusted else 0.0
        return cand_pids, cands, step

    def order_candidates(self, s, view):
        """Stage 1: slot 0 is idle; then the tasks waiting in this CPU's run queue (nearly every
        pick is one), in the estimated EEVDF order (model/eevdf.py), then longest off a CPU first
        (never ran first), so that when more wait than there are slots the ones the fair class
        serves next are kept; then the rest of the recent list, runnable elsewhere first, in
        recency order; None fills the empty slots."""
        k = self.k
        tasks = self.tasks
        rank, miss = view.rank, len(view.rank)
        waiting = sorted(s.queued, key=lambda p: (rank.get(p, miss), tasks[p].last_out_ts,
                                                  tasks[p].woken_ts, p))[:k - 1]
        rest = [p for p in s.recent if p not in s.queued]
        rest.sort(key=lambda p: tasks[p].state != RUNNABLE)
        chosen = (waiting + rest)[:k - 1]
        return [IDLE] + chosen + [None] * (k - 1 - len(chosen))

    def candidate_rows(self, s, c, now, cand_pids, prev, prev_tgid, view):
        """Stage 2: one feature row per candidate slot; returns them and the (runnable, woken
        here) counts."""
        k, ci = self.k, self.ci
        rank = {pid: i for i, pid in enumerate(s.recent)}
        cands = np.zeros((k, len(self.spec["candidate_features"])), dtype=np.float32)
        runnable = woken_here = 0
        live = [self.tasks.get(p) or Task() for p in cand_pids[1:] if p is not None]   # slot i + 1
        runnable_rt = [t.runtime_ns for t in live if t.state == RUNNABLE]
        mean_rt = sum(runnable_rt) / len(runnable_rt) if runnable_rt else 0.0
        woken_ts = sorted(t.woken_ts for t in live if t.state == RUNNABLE and t.woken_cpu == c)
        for slot, pid in enumerate(cand_pids):
            if pid is None:
                continue
            row = cands[slot]
            row[ci['present']] = 1.0
            picks = s.picks
            for j in range(2, 6):                          # picked_2_ago .. picked_5_ago
                row[ci[f'picked_{j}_ago']] = 1.0 if len(picks) >= j and picks[j - 1] == pid else 0.0
            if pid == IDLE:
                row[ci['is_idle']] = 1.0
                row[ci['since_ran']] = self.tlog(now, s.idle_out_ts)
                continue
            t = live[slot - 1]
            row[ci['is_prev']] = 1.0 if pid == prev else 0.0
            row[ci['recency_rank']] = rank[pid] / (self.recent_cap - 1) if pid in rank else 1.0
            is_runnable = t.state == RUNNABLE
            row[ci['runnable']] = 1.0 if is_runnable else 0.0
            row[ci['running_elsewhere']] = 1.0 if t.state == RUNNING and t.cpu != c else 0.0
            here = is_runnable and t.woken_cpu == c
            row[ci['woken_here']] = 1.0 if here else 0.0
            row[ci['since_woken']] = self.tlog(now, t.woken_ts) if is_runnable else 0.0
            row[ci['since_ran']] = self.tlog(now, t.last_out_ts)
            row[ci['last_cpu_here']] = 1.0 if t.last_cpu == c else 0.0
            row[ci['prio']] = max(-1.0, min(1.0, (t.prio - self.spec["prio_base"]) / self.spec["prio_scale"]))
            row[ci['same_tgid_as_prev']] = 1.0 if pid != prev and prev_tgid is not None and prev_tgid >= 0 and t.tgid == prev_tgid else 0.0
            row[ci['kthread']] = 1.0 if t.kthread else 0.0
            row[ci['preempted']] = 1.0 if is_runnable and t.preempted else 0.0
            row[ci['woken_by_prev']] = 1.0 if (is_runnable and not t.preempted and t.waker == prev
                                               and t.waker_cpu == c) else 0.0
            if here:   # woken after this one: entries with a later wake time
                later = len(woken_ts) - bisect.bisect_right(woken_ts, t.woken_ts)
                row[ci['wake_order']] = later / (k - 1)
            row[ci['last_run']] = self.tlog(t.last_run_ns, 0) if t.last_in_ts >= 0 else 0.0
            d = t.runtime_ns - mean_rt
            row[ci['runtime_rel']] = math.copysign(self.tlog(abs(d), 0), d) if d else 0.0
            q = view.queued.get(pid)
            if q is not None:   # queued on this CPU, as EEVDF would see it
                vslice = float(self.eevdf.vslice(q))
                row[ci['eevdf_eligible']] = 1.0 if view.eligible(pid) else 0.0
                row[ci['eevdf_lag']] = self.clipped((view.avg - q.v) / vslice)
                row[ci['eevdf_deadline']] = self.clipped((q.dl - view.avg) / vslice)
                row[ci['eevdf_delayed']] = 1.0 if q.delayed else 0.0
            r = view.rank.get(pid)
            row[ci['eevdf_rank']] = min(r / (k - 1), 1.0) if r is not None else 1.0
            runnable += is_runnable
            woken_here += here
        return cands, (runnable, woken_here)

    def clipped(self, x):
        return max(-self.clip, min(self.clip, x)) / self.clip

    def step_row(self, s, now, prev, first, nr_running, counts):
        """Stage 3: the step row (what the CPU's previous task did, timing, counts, last pick)."""
        k, si = self.k, self.si
        runnable, woken_here = counts
        step = np.zeros(step_width(self.spec), dtype=np.float32)
        step[si['prev_idle']] = 1.0 if prev == IDLE else 0.0
        state_col = {"R": "prev_state_runnable", "S": "prev_state_sleep", "D": "prev_state_block"}
        step[si[state_col.get(first, "prev_state_other")]] = 1.0
        step[si['since_last_switch']] = self.tlog(now, s.last_switch_ts)
        nr = nr_running
        step[si['nr_running']] = min(nr, self.nr_cap) / self.nr_cap if nr is not None else 0.0
        step[si['runnable_candidates']] = runnable / (k - 1)
        step[si['woken_here_candidates']] = woken_here / (k - 1)
        if 0 <= s.last_pick_slot < k:
            step[si['last_pick_slot_onehot'] + s.last_pick_slot] = 1.0
        return step

    def apply_switch(self, ev, prev, nxt, first, target, runtime=None):
        """Stage 4: apply the switch to the task and CPU state."""
        now, c = ev["ts_ns"], ev["cpu"]
        s = self.cpu(c)
        dead = prev != IDLE and first in ("X", "Z")
        if prev == IDLE:
            s.idle_out_ts = now
        elif dead:   # its last switch-out: gone, not a sleeper
            self.forget(prev)
        else:
            t = self.learn(prev, ev.get("prev_prio"), ev.get("prev_tgid"), ev.get("prev_comm"))
            self.unqueue(prev, t)   # it was running; a trace that missed its switch-in aside
            t.last_out_ts, t.last_cpu = now, c
            if t.last_in_ts >= 0:
                t.last_run_ns = max(now - t.last_in_ts, 0)
                t.runtime_ns += t.last_run_ns
            if first == "R":
                self.make_runnable(prev, t, c, now)
                t.woken_ts = now
                t.preempted, t.waker, t.waker_cpu = True, -1, -1
            else:
                t.state = SLEEPING
        if nxt != IDLE:
            t = self.learn(nxt, ev.get("next_prio"), ev.get("next_tgid"), ev.get("next_comm"))
            self.unqueue(nxt, t)
            t.state, t.cpu, t.last_in_ts = RUNNING, c, now
        self.eevdf.switch(c, now, prev, first, nxt, runtime, ev.get("nr_running"))
        if not dead:
            self.touch(c, prev)
        self.touch(c, nxt)
        s.picks.insert(0, nxt)
        del s.picks[self.hist:]
        s.last_switch_ts = now
        s.last_pick_slot = target
        s.current = nxt
        if nxt == IDLE:
            s.idle_in_ts = now
        self.expire_stale(c, now)

    def expire_stale(self, c, now):
        """Takes out of c's run queue (state unknown, out of the estimate's queue too) a task
        that has waited there longer than stale_after_idle_ns while c picked idle since it came,
        or longer than stale_after_ns in all. Without it, a task whose later events the trace
        lacks (events lost, recordings joined, a cut) would stay a candidate for good, and the
        estimate would rank it first, since its deadline never moves. The kernel picks idle
        only when nothing waits there, and nothing in the recorded suite waits over 1.5 s."""
        s = self.cpu(c)
        tasks = self.tasks
        stale = sorted(p for p in s.queued
                       if now - tasks[p].queued_ts > self.stale_after
                       or (now - tasks[p].queued_ts > self.stale_after_idle
                           and s.idle_in_ts > tasks[p].queued_ts))
        for p in stale:
            t = tasks[p]
            self.unqueue(p, t)
            t.state = 0
            self.eevdf.expire(p)


OPTIONAL_COLUMNS = ["prev_runtime_ns"]   # newer than the others: older files read it as null
COLUMNS = [c for c in TYPES if c not in OPTIONAL_COLUMNS]   # the schema's columns, in order


def read_events(path):
    """Rows of a schema-v1 trace (.parquet or .csv) in stable ts_ns order. Raises BadInput
    naming the file and the problem."""
    table = read_table(path)
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise BadInput(f"{path}: not a schema-v1 trace: no column(s) {', '.join(missing)}")
    meta = decoded(table.schema.metadata)
    if meta.get("schema_version") != "1":
        raise BadInput(f"{path}: trace schema_version {meta.get('schema_version')!r}, expected '1'")
    n = table.num_rows
    names = COLUMNS + [c for c in OPTIONAL_COLUMNS if c in table.column_names]
    cols = {name: table.column(name).to_pylist() for name in names}
    for name in OPTIONAL_COLUMNS:
        cols.setdefault(name, [None] * n)
    order = sorted(range(n), key=lambda i: cols["ts_ns"][i])   # sorted() is stable
    if n and cols["ts_ns"][order[-1]] > 2**63 - 1:   # oracle/src/events.rs says the same
        raise BadInput(f"{path}: timestamp {cols['ts_ns'][order[-1]]} ns is past 2^63 - 1 ns "
                       "(about 292 years): the encoders count time in signed 64-bit nanoseconds; "
                       "is ts_ns in nanoseconds since boot?")
    for i in order:
        yield {name: cols[name][i] for name in cols}


SLICE_META_KEY = "sched_base_slice_ns"
# Which scheduler ran (`--meta scheduler=...`; `scx_oracle run` writes its policy): "fair",
# or absent, is the kernel's fair class.
SCHEDULER_META_KEY, FAIR = "scheduler", "fair"


def trace_meta(path):
    """A trace's key-value metadata (str -> str); a Parquet file's from its footer alone."""
    return read_meta(path)


def spec_for_trace(spec, meta):
    """The spec for one trace: the EEVDF estimate's slice is the kernel's own base slice when
    the trace's metadata has it (sched_base_slice_ns, written by `scx_oracle trace` where
    debugfs is readable), else eevdf_slice_ns; and the kernel's run-queue count corrects the
    estimate (eevdf_kernel_count) unless the metadata's `scheduler` names another scheduler
    than the fair class (oracle/src/spec.rs: Spec::for_trace)."""
    out = dict(spec)
    s = str(meta.get(SLICE_META_KEY, "")).strip()
    if re.fullmatch(r"[+-]?[0-9]+", s):   # what Rust's str::parse::<i64> takes (int() also
        ns = int(s)                        # takes "1_400_000"); the encoders must agree
        if 0 < ns < 2**63:
            out["eevdf_slice_ns"] = ns
    if meta.get(SCHEDULER_META_KEY, FAIR) not in ("", FAIR):
        out["eevdf_kernel_count"] = 0
    return out


def encode_trace(path, spec, estimate=True):
    """All steps of one trace, grouped by CPU, each CPU's steps in time order."""
    return encode_events(read_events(path), spec_for_trace(spec, trace_meta(path)), estimate)


def encode_events(events, spec, estimate=True):
    enc = Encoder(spec, estimate)
    by_cpu = {}
    for ev in events:
        step = enc.event(ev)
        if step is not None:
            by_cpu.setdefault(step.cpu, []).append(step)
    return by_cpu
