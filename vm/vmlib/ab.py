"""The A/B comparison (scripts/ab): its plan, the rows it keeps, and its summary.

One VM boot of the `ab` scenario runs every workload under one config; this module turns that
boot's JSON into rows (config, round, vcpus, workload, metric, value, and who was in charge),
and the rows into medians, paired ratios to EEVDF and their spread. No VM, no plotting here.
"""
import statistics

# The columns, in the order each round boots them (interleaved: A B C ... A B C ...).
CONFIGS = ["eevdf", "fifo", "vruntime", "oracle", "recent_wakeup", "rustland"]
AGENT_CONFIGS = ["fifo", "vruntime", "oracle", "recent_wakeup"]
PEER = "rustland"  # upstream scx_rustland, the userspace peer
# (workload, metric, scenario fact, better): "lower", "higher", or "weight" (fairness: the
# share ratio against the weight ratio).
METRICS = [
    ("hackbench_pipe", "time_s", "ab_hackbench_pipe_time_s", "lower"),
    ("hackbench_socket", "time_s", "ab_hackbench_socket_time_s", "lower"),
    ("wakeup", "p50_us", "ab_wakeup_p50_us", "lower"),
    ("wakeup", "p99_us", "ab_wakeup_p99_us", "lower"),
    ("stress_cpu", "bogo_ops_s", "ab_stress_cpu_bogo_ops_s", "higher"),
    ("stress_switch", "bogo_ops_s", "ab_stress_switch_bogo_ops_s", "higher"),
    ("request_response", "req_s", "ab_request_response_req_s", "higher"),
    ("request_response", "p50_us", "ab_request_response_p50_us", "lower"),
    ("request_response", "p99_us", "ab_request_response_p99_us", "lower"),
    ("fairness", "share_ratio", "ab_fairness_share_ratio", "weight"),
]
# Nice 0 against nice 5 in the kernel's sched_prio_to_weight table.
WEIGHT_RATIO = 1024 / 335
# The agent's metrics that say who was in charge (scx_oracle/src/stats.rs).
CHARGE = ["userspace_decisions", "model_decisions", "fallbacks"]


def plan(rounds, vcpus, configs):
    """Boots in order: per vCPU count, rounds of every config in turn."""
    return [(n, r, c) for n in vcpus for r in range(rounds) for c in configs]


def boot_problem(doc):
    """Why a boot's results cannot be trusted, or None."""
    if doc.get("error"):
        return doc["error"]
    if doc.get("timed_out") or doc.get("scenario_timed_out"):
        return "timed out"
    if doc.get("ejected"):
        detail = f" ({doc['exit_message']})" if doc.get("exit_message") else ""
        return f"scheduler ejected: {doc.get('exit_reason')}{detail}"
    config = (doc.get("facts") or {}).get("ab_config")
    if config != "eevdf" and doc.get("state_while_running") != "enabled":
        return f"scheduler never enabled (state {doc.get('state_while_running')})"
    if doc.get("workload_exit_code") != 0:
        return f"a workload failed (exit {doc.get('workload_exit_code')})"
    return None


def died_before_init(doc):
    """The guest kernel panicked before our init ran (boot_s is set when init starts): no
    scheduler was loaded yet, so it says nothing about one. Seen once in 60 TCG boots (an int3
    left on a jump-label patch site, in enqueue_task_fair, 1.3 s into boot), which scripts/vm-run
    now boots again for by itself (results.died_on_a_code_patch); this covers any other panic
    before init, and scripts/ab boots again once."""
    return bool(doc.get("kernel_panic")) and not doc.get("results_received") and doc.get("boot_s") is None


def rows(doc, config, rnd, vcpus):
    """One row per metric of one boot; a metric the boot did not produce has value None."""
    facts = doc.get("facts") or {}
    m = doc.get("metrics") or {}
    charge = {k: m.get(k) for k in CHARGE} if config in AGENT_CONFIGS else {}
    out = []
    for workload, metric, fact, _ in METRICS:
        out.append({"config": config, "round": rnd, "vcpus": vcpus, "workload": workload,
                    "metric": metric, "value": _number(facts.get(fact)), **charge})
    return out


def _number(v):
    """A fact as a float (facts like "1.000" arrive as text), None if it is not a number."""
    if isinstance(v, bool) or v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _spread(vals):
    return [min(vals), max(vals)] if vals else None


def summarize(runs, configs):
    """{vcpus: {"workload/metric": {config: cell}}}: a cell has median, spread [min, max], n,
    and (not for eevdf) the per-round ratio to EEVDF's same-round value: median and spread."""
    out = {}
    for n in sorted({r["vcpus"] for r in runs}):
        table = {}
        for workload, metric, _, better in METRICS:
            key = f"{workload}/{metric}"
            sel = [r for r in runs if r["vcpus"] == n and r["workload"] == workload
                   and r["metric"] == metric and r["value"] is not None]
            base = {r["round"]: r["value"] for r in sel if r["config"] == "eevdf"}
            row = {}
            for c in configs:
                vals = [r["value"] for r in sel if r["config"] == c]
                cell = {"n": len(vals), "median": statistics.median(vals) if vals else None,
                        "spread": _spread(vals)}
                if better == "weight" and vals:
                    cell["off_weight_pct"] = round(100 * (cell["median"] / WEIGHT_RATIO - 1), 1)
                ratios = [r["value"] / base[r["round"]] for r in sel
                          if r["config"] == c and base.get(r["round"])]
                if c != "eevdf" and ratios:
                    cell["ratio"] = round(statistics.median(ratios), 3)
                    cell["ratio_spread"] = [round(x, 3) for x in _spread(ratios)]
                row[c] = cell
            table[key] = row
        out[n] = table
    return out


def charge_summary(runs, configs):
    """{vcpus: {config: median of each CHARGE metric over its boots}} for the agent configs."""
    out = {}
    for n in sorted({r["vcpus"] for r in runs}):
        out[n] = {}
        for c in configs:
            if c not in AGENT_CONFIGS:
                continue
            boots = {r["round"]: r for r in runs if r["vcpus"] == n and r["config"] == c}
            out[n][c] = {k: _median_or_none([b.get(k) for b in boots.values()]) for k in CHARGE}
    return out


def _median_or_none(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def goals(summary, configs):
    """The issue's goals per vCPU count, each with the measured value and met True/False/None."""
    out = []
    for n, table in summary.items():
        agents = [c for c in configs if c in AGENT_CONFIGS]
        for c in agents:
            for wl in ("hackbench_pipe", "hackbench_socket"):
                r = table[f"{wl}/time_s"][c].get("ratio")
                out.append({"vcpus": n, "config": c, "goal": f"{wl} time <= 1.0x EEVDF",
                            "value": r, "met": None if r is None else r <= 1.0})
            p99 = table["wakeup/p99_us"]
            r = p99[c].get("ratio")
            out.append({"vcpus": n, "config": c, "goal": "wakeup p99 <= 1.5x EEVDF",
                        "value": r, "met": None if r is None else r <= 1.5})
            peer = p99.get(PEER, {}).get("median")
            mine = p99[c]["median"]
            out.append({"vcpus": n, "config": c, "goal": "wakeup p99 <= scx_rustland's",
                        "value": mine, "met": None if peer is None or mine is None else mine <= peer})
            off = table["fairness/share_ratio"][c].get("off_weight_pct")
            out.append({"vcpus": n, "config": c, "goal": "fairness within 10% of weight ratio",
                        "value": off, "met": None if off is None else abs(off) <= 10})
    return out
