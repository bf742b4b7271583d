"""Judge the `faults` scenario: its result, faults.json, gets `cases` (one entry per fault
case: name, passed, observed, failures), `passed` and `harness_errors` (scripts/vm-run).

The guest records facts named CASE.KEY (vm/scenarios/faults.sh) and per-case files in the
results directory (CASE.agent.json, CASE.out, ...); every case listed in CASES must be judged
from them, so a case that did not run fails ("never skipped"). One case, no_sched_ext, runs on
the host: a kernel without sched_ext is exactly what the host has.
"""
import json
import re
import subprocess
from pathlib import Path

# The host's sched_ext directory: no_sched_ext runs only where it is absent (tests point it elsewhere).
SCHED_EXT_DIR = Path("/sys/kernel/sched_ext")
# kill9 must hand the CPUs back to the fair class within this (s), measured in the guest.
KILL_FALLBACK_S = 1.0

CASES = ["kill9", "sigstop", "ring_saturation", "hotplug", "bad_model_corrupt",
         "bad_model_truncated", "bad_model_wrong_shape", "no_onnxruntime", "no_sched_ext",
         "bad_flags_policy", "bad_flags_unknown", "bad_flags_range", "tracer_killed"]


def case_facts(facts, case):
    """{KEY: value} of the facts named CASE.KEY."""
    pre = case + "."
    return {k[len(pre):]: v for k, v in facts.items() if k.startswith(pre)}


def _read(res, name):
    f = Path(res) / name if res else None
    return f.read_text(errors="replace") if f and f.is_file() else None


def _summary(res, case):
    text = _read(res, f"{case}.agent.json")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


class Check:
    """Collects a case's failed expectations."""

    def __init__(self):
        self.failures = []

    def expect(self, ok, what):
        if not ok:
            self.failures.append(what)
        return ok


def error_lines(text):
    """Lines that state an error: the agent's `scx_oracle: error: ...` or clap's `error: ...`."""
    return [l.strip() for l in (text or "").splitlines()
            if re.match(r"^(scx_oracle: )?error:", l.strip())]


def _eq(chk, f, key, want):
    chk.expect(f.get(key) == want, f"{key} = {f.get(key)!r}, want {want!r}")


KILL_MARK = "scx-faults: kill9: SIGKILL"
DMESG_TS = re.compile(r"^\[\s*(\d+\.\d+)\]")
# A tracefs line: "  COMM-PID  [CPU] FLAGS  SECONDS: EVENT: ...".
TRACE_LINE = re.compile(r"^\s*(.+)-(\d+)\s+\[\d+\]\s+\S+\s+(\d+\.\d+):\s+([\w:]+):")


def kernel_fallback_s(dmesg_text):
    """Seconds on the kernel's clock from the kill mark faults.sh writes to /dev/kmsg to the
    next `sched_ext: BPF scheduler "..." disabled` line; None if either line is missing. The
    kernel prints that line at the end of its disable, after the tasks are back in the fair
    class and a few more RCU grace periods: an upper bound on the fallback."""
    mark = None
    for line in (dmesg_text or "").splitlines():
        m = DMESG_TS.match(line)
        if not m:
            continue
        if KILL_MARK in line:
            mark = float(m.group(1))
        elif mark is not None and "sched_ext: BPF scheduler" in line and "disabled" in line:
            return round(float(m.group(1)) - mark, 3)
    return None


def class_switch_s(trace_text):
    """From the kill9 trace instance (the kill mark, then a back_to_fair kprobe hit on
    switched_to_fair per task): (first, last) seconds after the mark at which the disable moved
    a task back to the fair class, and how many it moved; None if the mark or the moves are
    missing. Only the thread that made most of the moves counts (the kernel's disable loop, not a
    task leaving a priority boost later)."""
    mark, hits = None, {}
    for line in (trace_text or "").splitlines():
        m = TRACE_LINE.match(line)
        if not m:
            continue
        ts, event = float(m.group(3)), m.group(4)
        if event == "tracing_mark_write" and KILL_MARK in line:
            mark = ts
        elif event == "back_to_fair" and mark is not None:
            hits.setdefault(m.group(2), []).append(ts)
    if not hits:
        return None
    moves = max(hits.values(), key=len)
    return round(moves[0] - mark, 3), round(moves[-1] - mark, 3), len(moves)


def judge_kill9(f, res, doc, chk):
    _eq(chk, f, "agent_alive_before_kill", True)
    _eq(chk, f, "state_before_kill", "enabled")
    _eq(chk, f, "state_after", "disabled")
    disabled_line = kernel_fallback_s(_read(res, "dmesg.txt"))
    moved = class_switch_s(_read(res, "kill9.trace.txt"))
    if moved:
        first, d, tasks = moved
        by = "switched_to_fair"
    else:
        first, d, tasks = None, disabled_line, None
        by = "disabled_line"
        chk.expect(f.get("class_probe") != "switched_to_fair",
                   "the switched_to_fair probe was set but the trace has no kill mark or no move")
    chk.expect(d is not None and d <= KILL_FALLBACK_S,
               f"fair class back after {d} s on the kernel's clock ({by}; limit {KILL_FALLBACK_S} s)")
    for w in ("stress", "hackbench", "loop"):
        _eq(chk, f, f"{w}_exit_code", 0)
    # disable_s: when the scenario's shell, itself a task waiting to be scheduled again, saw the
    # state file say disabled (the kernel sets it last).
    return {"fallback_s": d, "fallback_measured_by": by, "first_task_back_s": first,
            "tasks_moved": tasks, "disabled_line_s": disabled_line,
            **{k: f.get(k) for k in ("disable_s", "state_after", "agent_exit_code", "stress_exit_code",
                                     "hackbench_exit_code", "loop_exit_code")}}


def _exit(s):
    return {k: (s or {}).get(k) for k in ("ejected", "exit_kind", "exit_reason", "exit_message")}


def judge_sigstop(f, res, doc, chk):
    s = _summary(res, "sigstop")
    _eq(chk, f, "stopped", True)
    _eq(chk, f, "state_while_running", "enabled")
    _eq(chk, f, "state_after_stop", "disabled")
    _eq(chk, f, "after_workload_exit_code", 0)
    _eq(chk, f, "stress_exit_code", 0)
    _eq(chk, f, "agent_exit_code", 2)
    chk.expect(s is not None, "the agent wrote no summary after SIGCONT")
    chk.expect(bool((s or {}).get("ejected")), "summary does not say ejected")
    chk.expect(bool((s or {}).get("exit_reason")), "no exit reason reported")
    log = _read(res, "sigstop.agent.log") or ""
    told = [l for l in log.splitlines() if (s or {}).get("exit_reason") and s["exit_reason"] in l]
    chk.expect(bool(told), "the agent's log does not state the exit reason")
    return {"eject_s": f.get("eject_s"), "agent_exit_code": f.get("agent_exit_code"),
            "after_workload_s": f.get("after_workload_s"), **_exit(s),
            "reported": told[0] if told else None}


def judge_ring_saturation(f, res, doc, chk):
    s = _summary(res, "ring_saturation")
    m = (s or {}).get("metrics") or {}
    _eq(chk, f, "stress_exit_code", 0)
    _eq(chk, f, "state_after_storm", "enabled")
    _eq(chk, f, "agent_alive_after_storm", True)
    _eq(chk, f, "agent_exit_code", 0)
    chk.expect(s is not None, "the agent wrote no summary")
    chk.expect((m.get("congested") or 0) > 0, f"congested = {m.get('congested')}: the ring never filled")
    chk.expect(s is None or not s.get("ejected"), "ejected during the storm")
    return {"congested": m.get("congested"), "queued": m.get("queued"),
            "userspace_decisions": m.get("userspace_decisions"),
            "enqueue_to_dispatch_max_us": m.get("enqueue_to_dispatch_max_us"), **_exit(s)}


def judge_hotplug(f, res, doc, chk):
    s = _summary(res, "hotplug")
    _eq(chk, f, "offline_rc", 0)
    _eq(chk, f, "online_after_offline", 0)
    _eq(chk, f, "online_rc", 0)
    _eq(chk, f, "online_after_online", 1)
    _eq(chk, f, "stress_exit_code", 0)
    _eq(chk, f, "state_after", "disabled")
    chk.expect(f.get("nproc_after") == doc.get("vcpus"), f"nproc after = {f.get('nproc_after')}")
    chk.expect(not doc.get("kernel_panic"), "kernel panic")
    stalls = [l for l in doc.get("dmesg_errors") or [] if "hotplug" in l.lower() or "hung" in l.lower()]
    chk.expect(not stalls, f"kernel complained: {stalls}")
    handled = f.get("agent_alive_after") is True and f.get("state_after_offline") == "enabled"
    if handled:
        _eq(chk, f, "agent_exit_code", 0)
    else:
        # Not handled: the kernel must have unloaded us with a named reason, and the agent said so.
        _eq(chk, f, "state_after_offline", "disabled")
        chk.expect(f.get("agent_exit_code") not in (None, "running"), "agent still running")
        chk.expect(s is not None and bool(s.get("exit_reason") or s.get("exit_message")),
                   "no exit reason reported")
    return {"outcome": "handled" if handled else "exited", "cpu": f.get("cpu"),
            "state_after_offline": f.get("state_after_offline"),
            "agent_exit_code": f.get("agent_exit_code"), **_exit(s)}


def judge_refusal(case, must_name=None):
    """A refused start: non-zero exit, one error line (naming must_name), never attached."""
    def judge(f, res, doc, chk):
        out = _read(res, f"{case}.out")
        lines = error_lines(out)
        chk.expect(out is not None, "no output captured")
        chk.expect(f.get("exit_code") not in (None, 0), f"exit code {f.get('exit_code')!r}")
        chk.expect(len(lines) == 1, f"{len(lines)} error lines: {out!r}")
        if must_name:
            chk.expect(bool(lines) and must_name in lines[0], f"error does not name {must_name}")
        _eq(chk, f, "attaches", 0)
        _eq(chk, f, "state_after", "disabled")
        chk.expect(str(f.get("states_seen", "")).split() == ["disabled"],
                   f"sched_ext states seen: {f.get('states_seen')!r}")
        return {"exit_code": f.get("exit_code"), "error": lines[0] if lines else None,
                "output_lines": len((out or "").strip().splitlines()),
                "states_seen": f.get("states_seen"), **({k: f[k] for k in f if k == "step_width_patched"})}
    return judge


def judge_tracer_killed(f, res, doc, chk):
    _eq(chk, f, "final_exists", False)
    _eq(chk, f, "partial_exists", True)
    chk.expect((f.get("partial_bytes") or 0) > 0, "the .partial file is empty")
    chk.expect(f.get("stats_partial_exit_code") not in (None, 0), "stats read the .partial file as whole")
    chk.expect(f.get("stats_final_exit_code") not in (None, 0), "stats read a file that is not there")
    _eq(chk, f, "trace_int_exit_code", 0)
    _eq(chk, f, "stats_whole_exit_code", 0)
    partial = error_lines(_read(res, "tracer_killed.stats_partial.out"))
    chk.expect(len(partial) == 1, f"stats on the .partial file: {len(partial)} error lines")
    return {"partial_bytes": f.get("partial_bytes"), "final_exists": f.get("final_exists"),
            "stats_on_partial": partial[0] if partial else None,
            "stats_on_missing": (error_lines(_read(res, "tracer_killed.stats_final.out")) or [None])[0],
            "sigint_file_readable": f.get("stats_whole_exit_code") == 0}


def judge_no_sched_ext(agent):
    """Runs on the host, which has no sched_ext: the agent must say so in one line, exit 1."""
    def judge(f, res, doc, chk):
        if SCHED_EXT_DIR.exists():
            chk.expect(False, "this host has sched_ext: the case needs a kernel without it")
            return {}
        try:
            p = subprocess.run([str(agent), "run", "--policy", "fifo", "--duration", "1"],
                               capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            chk.expect(False, f"cannot run {agent}: {e}")
            return {}
        out = p.stderr + p.stdout
        lines = error_lines(out)
        chk.expect(p.returncode not in (0, None), f"exit code {p.returncode}")
        chk.expect(len(out.strip().splitlines()) == 1 and len(lines) == 1, f"output: {out!r}")
        chk.expect("sched_ext" in out, "the error does not name sched_ext")
        return {"where": "host", "exit_code": p.returncode, "error": lines[0] if lines else out.strip()}
    return judge


def judges(agent):
    j = {"kill9": judge_kill9, "sigstop": judge_sigstop, "ring_saturation": judge_ring_saturation,
         "hotplug": judge_hotplug, "tracer_killed": judge_tracer_killed,
         "bad_model_corrupt": judge_refusal("bad_model_corrupt", "corrupt.onnx"),
         "bad_model_truncated": judge_refusal("bad_model_truncated", "truncated.onnx"),
         "bad_model_wrong_shape": judge_refusal("bad_model_wrong_shape", "wrong_shape.onnx"),
         "no_onnxruntime": judge_refusal("no_onnxruntime", "onnxruntime"),
         "bad_flags_policy": judge_refusal("bad_flags_policy", "--policy"),
         "bad_flags_unknown": judge_refusal("bad_flags_unknown", "--no-such-flag"),
         "bad_flags_range": judge_refusal("bad_flags_range", "--slice-us"),
         "no_sched_ext": judge_no_sched_ext(agent)}
    assert sorted(j) == sorted(CASES)
    return j


def build(doc, agent):
    """The faults report from the scenario's result doc (its facts and results_dir)."""
    facts = doc.get("facts") or {}
    res = doc.get("results_dir")
    entries = []
    for case, judge in ((c, judges(agent)[c]) for c in CASES):
        f = case_facts(facts, case)
        chk = Check()
        if case != "no_sched_ext" and not f:
            chk.expect(False, "the case did not run (no facts from the guest)")
            observed = {}
        else:
            if "error" in f:
                chk.expect(False, str(f["error"]))
            observed = judge(f, res, doc, chk)
        entries.append({"name": case, "passed": not chk.failures, "observed": observed,
                        "failures": chk.failures})
    harness = [e for e in (doc.get("error"),) if e]
    if doc.get("timed_out") or doc.get("scenario_timed_out"):
        harness.append("the VM or the scenario timed out")
    return {"harness_errors": harness, "passed": not harness and all(e["passed"] for e in entries),
            "cases": entries}


def verdict_line(report):
    bad = [e["name"] for e in report["cases"] if not e["passed"]]
    n = len(report["cases"])
    return f"{n - len(bad)}/{n} cases passed" + (f"; failed: {', '.join(bad)}" if bad else "")
