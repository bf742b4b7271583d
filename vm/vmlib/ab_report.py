"""report.md and the SVG box plots of an A/B comparison (scripts/ab), from vmlib.ab's summary."""
from .ab import METRICS, PEER, WEIGHT_RATIO

LABELS = {"eevdf": "EEVDF", "rustland": "scx_rustland"}


def _num(v):
    if v is None:
        return "-"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def _cell(cell, better):
    if not cell or cell["median"] is None:
        return "-"
    s = _num(cell["median"])
    if better == "weight":
        s += f" ({cell['off_weight_pct']:+.0f}% vs weight)"
    elif "ratio" in cell:
        lo, hi = cell["ratio_spread"]
        s += f" **×{cell['ratio']:.2f}** [{lo:.2f}–{hi:.2f}]"
    elif cell["n"] > 1:
        lo, hi = cell["spread"]
        s += f" [{_num(lo)}–{_num(hi)}]"
    return s


def markdown(meta, summary, charge, goals, configs, problems, plots):
    cols = [LABELS.get(c, c) for c in configs]
    out = ["# A/B comparison", "",
           f"Command: `{meta['command']}`  ", f"Rounds: {meta['rounds']}, vCPUs: "
           f"{', '.join(map(str, meta['vcpus']))}, quick: {meta['quick']}, kernel: "
           f"{meta.get('kernel') or '?'}, accel: {meta.get('accel') or '?'}, started {meta['started']}, "
           f"boots done: {meta.get('boots_done', '?')}.",
           "",
           "Each cell: the median over rounds, then **×ratio** to EEVDF (the per-round ratio to "
           "EEVDF's run of the same round, median) and [min–max] of those ratios. Time and "
           "latency: lower is better; bogo-ops/s and requests/s: higher is better. Fairness: "
           f"CPU-time ratio of a nice-0 to a nice-5 hog on one CPU; the weight ratio is "
           f"{WEIGHT_RATIO:.2f}. Under QEMU TCG (no KVM) absolute times are distorted several-fold "
           "and shift with host load: read the ratios, not the absolute numbers.", ""]
    for peer_note in meta.get("notes", []):
        out += [f"> {peer_note}", ""]
    for n, table in summary.items():
        out += [f"## {n} vCPUs", "", "| workload | metric | " + " | ".join(cols) + " |",
                "| --- | --- | " + " | ".join("---" for _ in cols) + " |"]
        for workload, metric, _, better in METRICS:
            row = table[f"{workload}/{metric}"]
            out.append(f"| {workload} | {metric} | "
                       + " | ".join(_cell(row.get(c), better) for c in configs) + " |")
        agent_cols = [c for c in configs if c in charge.get(n, {})]
        if agent_cols:
            out += ["", "Who was in charge (median per boot):", "",
                    "| config | userspace_decisions | model_decisions | fallbacks |",
                    "| --- | --- | --- | --- |"]
            for c in agent_cols:
                ch = charge[n][c]
                out.append(f"| {c} | " + " | ".join(_num(ch[k]) for k in
                           ("userspace_decisions", "model_decisions", "fallbacks")) + " |")
        if n in plots:
            out += ["", f"![boxes, {n} vCPUs]({plots[n]})"]
        out.append("")
    out += ["## Goals (issue 11)", "", "| vCPUs | config | goal | measured | met |",
            "| --- | --- | --- | --- | --- |"]
    for g in goals:
        met = {True: "yes", False: "**no**", None: "n/a"}[g["met"]]
        v = g["value"]
        shown = "-" if v is None else (f"{v:+.1f}%" if "fairness" in g["goal"] else
                                       f"×{v:.2f}" if "EEVDF" in g["goal"] else f"{_num(v)} us")
        out.append(f"| {g['vcpus']} | {g['config']} | {g['goal']} | {shown} | {met} |")
    if problems:
        out += ["", "## Boots left out", ""]
        out += [f"- {p['vcpus']} vCPUs, round {p['round']}, {p['config']}: {p['problem']}"
                for p in problems]
    return "\n".join(out) + "\n"


def plot(summary_runs, configs, vcpus, path):
    """One SVG per vCPU count: a panel per workload metric, a box per config."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, (len(METRICS) + 1) // 2, figsize=(4 * ((len(METRICS) + 1) // 2), 7))
    for ax, (workload, metric, _, better) in zip(axes.flat, METRICS):
        data = [[r["value"] for r in summary_runs if r["vcpus"] == vcpus and r["config"] == c
                 and r["workload"] == workload and r["metric"] == metric
                 and r["value"] is not None] for c in configs]
        ax.boxplot([d or [float("nan")] for d in data], tick_labels=[LABELS.get(c, c) for c in configs])
        if better == "weight":
            ax.axhline(WEIGHT_RATIO, linestyle="--", linewidth=1, color="grey")
        ax.set_title(f"{workload} {metric}" + (" (lower better)" if better == "lower" else
                     " (higher better)" if better == "higher" else " (dashed: weights)"),
                     fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    fig.suptitle(f"A/B, {vcpus} vCPUs (QEMU TCG: compare columns, not absolute values)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


__all__ = ["markdown", "plot", "PEER"]
