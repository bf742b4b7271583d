"""eval.json -> report.md (tables per split and workload) and accuracy.svg (model vs baselines)."""
from pathlib import Path

from .baselines import BASELINES

SPLIT_TITLES = {"test_seen": "Held-out repetitions of seen workloads",
                "test_unseen": "Workloads held out of training entirely",
                "traces": "The given traces"}
SHOWN = ("model",) + BASELINES


def pct(x):
    return f"{100 * x:.1f}"


def margins(s):
    """One line: the model against the strongest baseline, step-weighted and workload mean."""
    b, bm = s["best_baseline"], s["best_baseline_workload_mean"]
    return (f"Step-weighted: model **{pct(s['overall']['model']['top1'])}%** top-1, "
            f"{pct(s['overall']['model']['top3'])}% top-3; strongest baseline `{b['name']}` "
            f"{pct(b['top1'])}% (**{b['margin_points']:+.1f} points**). Workload mean: model "
            f"**{pct(s['macro']['model']['top1'])}%**; strongest baseline `{bm['name']}` "
            f"{pct(bm['top1'])}% (**{bm['margin_points']:+.1f} points**).")


def write_report(result, out):
    out = Path(out)
    if "dataset" in result:
        source = (f"dataset `{result['dataset']}`; held-out workloads: "
                  f"{', '.join(result['holdout_workloads'])}")
    else:
        source = f"{len(result['traces'])} traces given with --trace"
    lines = [f"# Next-task prediction: `{result['model']}`", "",
             f"Encoding version {result['encoding_version']}; {source}.", "",
             f"Scoring: {result['scoring']}. Top-1 (top-3) in %. `recent_wakeup` is a hand rule on "
             "the model's own candidate features (a task woken onto this CPU and not preempted, "
             "most recently woken first; else the runnable candidate most recently seen on this CPU; else idle); the others "
             "see only which task ran when (see model/baselines.py).", ""]
    for name, s in result["splits"].items():
        lines += [f"## {SPLIT_TITLES.get(name, name)}", "", margins(s), "",
                  "| workload | steps | " + " | ".join(SHOWN) + " |",
                  "|---|---:|" + "---:|" * len(SHOWN)]
        rows = list(s["workloads"].items()) + [("**all (step-weighted)**", s["overall"]),
                                                ("**workload mean**", None)]
        for wl, d in rows:
            if d is None:
                cells = [f"{pct(s['macro'][k]['top1'])} ({pct(s['macro'][k]['top3'])})" for k in SHOWN]
                steps = ""
            else:
                cells = [f"{pct(d[k]['top1'])} ({pct(d[k]['top3'])})" for k in SHOWN]
                steps = str(d["model"]["steps"])
            lines.append(f"| {wl} | {steps} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["![accuracy by workload](accuracy.svg)", ""]
    (out / "report.md").write_text("\n".join(lines))
    plot(result, out / "accuracy.svg")


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    splits = list(result["splits"].items())
    fig, axes = plt.subplots(1, len(splits), figsize=(7 * len(splits), 5), squeeze=False)
    for ax, (name, s) in zip(axes[0], splits):
        wls = list(s["workloads"])
        series = [("model", "LSTM model")]
        for key in (s["best_baseline_workload_mean"]["name"], "recent_wakeup",
                    s["best_baseline"]["name"]):
            if key not in [k for k, _ in series]:
                series.append((key, f"baseline {key}"))
        width = 0.8 / len(series)
        for i, (key, label) in enumerate(series):
            ax.bar([x + i * width for x in range(len(wls))],
                   [100 * s["workloads"][w][key]["top1"] for w in wls], width, label=label)
        ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(wls))])
        ax.set_xticklabels(wls, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel("top-1 %")
        ax.set_title(SPLIT_TITLES.get(name, name), fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path)   # format from the suffix (.svg in reports)
    plt.close(fig)
