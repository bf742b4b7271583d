"""Write the bundled model's figures into the READMEs from its eval.json files, so the numbers a
reader sees are the ones `scripts/train-default-model` just measured (never typed by hand).

Each figure block sits between `<!-- numbers:NAME -->` and `<!-- /numbers:NAME -->`; the text
between the markers is replaced, the rest of the file is left as it is. A README without a
block's markers is an error (the block would silently stop being updated).

Usage: python -m model.readme_numbers [--root DIR]
"""
import argparse
import json
import re
from pathlib import Path

from model.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "model/artifacts/eval.json"
HOST_NATIVE = "data/host/eval-native/eval.json"
HOST_PERF = "data/host/eval-perf/eval.json"
SPLITS = (("test_seen", "held-out repetitions of seen workloads"),
          ("test_unseen", "workloads never trained on"))


def pct(x):
    return f"{100 * x:.1f}"


def load(root, rel):
    path = root / rel
    if not path.exists():
        raise BadInput(f"{path}: missing (run scripts/train-default-model)")
    return json.loads(path.read_text())


def best(split, key):
    b = split[key]
    return b["name"], b["top1"], b["margin_points"]


def bundled_table(ev):
    rows = ["| split | steps | model | strongest baseline | margin | workload mean: model | strongest | margin |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, label in SPLITS:
        s = ev["splits"][key]
        m = s["overall"]["model"]
        name, b1, margin = best(s, "best_baseline")
        wname, w1, wmargin = best(s, "best_baseline_workload_mean")
        rows.append(f"| {label} | {m['steps']:,} | **{pct(m['top1'])}%** ({pct(m['top3'])}%) | "
                    f"`{name}` {pct(b1)}% | {margin:+.1f} | **{pct(s['macro']['model']['top1'])}%** | "
                    f"`{wname}` {pct(w1)}% | {wmargin:+.1f} |")
    rows += ["", "| workload | split | steps | model top-1 (top-3) | `recent_wakeup` | margin |",
             "|---|---|---:|---:|---:|---:|"]
    for key, label in SPLITS:
        for wl, r in sorted(ev["splits"][key]["workloads"].items()):
            m, rw = r["model"], r["recent_wakeup"]
            rows.append(f"| {wl} | {key.replace('test_', '')} | {m['steps']:,} | {pct(m['top1'])} "
                        f"({pct(m['top3'])}) | {pct(rw['top1'])} | {100 * (m['top1'] - rw['top1']):+.1f} |")
    return "\n".join(rows)


def host_workloads(ev):
    return ev["splits"]["traces"]["workloads"]


def host_table(native, perf):
    cols = ("recent_wakeup", "markov_2", "last_task")
    rows = ["| workload | steps | model | " + " | ".join(f"`{c}`" for c in cols) + " | model, perf import |",
            "|---|---:|---:|" + "---:|" * len(cols) + "---:|"]
    nw, pw = host_workloads(native), host_workloads(perf)
    for wl in sorted(nw):
        r = nw[wl]
        scores = [r["model"]["top1"]] + [r[c]["top1"] for c in cols]
        cells = [f"**{pct(x)}**" if x == max(scores) else pct(x) for x in scores]
        imported = pct(pw[wl]["model"]["top1"]) if wl in pw else "—"
        rows.append(f"| {wl} | {r['model']['steps']:,} | " + " | ".join(cells) + f" | {imported} |")
    for label, key in (("all, step-weighted", "overall"), ("workload mean", "macro")):
        n, p = native["splits"]["traces"][key], perf["splits"]["traces"][key]
        steps = f"{n['model']['steps']:,}" if "steps" in n["model"] else ""
        rows.append(f"| {label} | {steps} | **{pct(n['model']['top1'])}** | "
                    + " | ".join(pct(n[c]["top1"]) for c in cols) + f" | {pct(p['model']['top1'])} |")
    s, ps = native["splits"]["traces"], perf["splits"]["traces"]
    wname, _, wmargin = best(s, "best_baseline_workload_mean")
    name, _, margin = best(s, "best_baseline")
    _, _, pwmargin = best(ps, "best_baseline_workload_mean")
    _, _, pmargin = best(ps, "best_baseline")
    gap = 100 * (ps["macro"]["model"]["top1"] - s["macro"]["model"]["top1"])
    rows += ["", f"Margin over the strongest baseline: {wmargin:+.1f} points in workload mean (`{wname}`), "
             f"{margin:+.1f} step-weighted (`{name}`), on the native traces; {pwmargin:+.1f} / {pmargin:+.1f} "
             f"on the perf imports. Perf imports vs native, workload mean: {gap:+.1f} points."]
    return "\n".join(rows)


def front_door(ev, native):
    seen, unseen = ev["splits"]["test_seen"], ev["splits"]["test_unseen"]
    host = native["splits"]["traces"]
    hname, h1, hmargin = best(host, "best_baseline_workload_mean")
    return (f"On the dataset's test runs the bundled model scores {pct(seen['overall']['model']['top1'])}% / "
            f"{pct(unseen['overall']['model']['top1'])}% top-1 (seen / unseen workloads, step-weighted) against "
            f"{pct(seen['best_baseline']['top1'])}% / {pct(unseen['best_baseline']['top1'])}% for the strongest "
            f"baseline (`{seen['best_baseline']['name']}`); on the real-machine set `data/host/`, never trained on, "
            f"{pct(host['macro']['model']['top1'])}% in workload mean against {pct(h1)}% (`{hname}`, "
            f"{hmargin:+.1f} points).")


def replace_block(text, name, body, path):
    pat = re.compile(rf"(<!-- numbers:{name} -->\n)(?:.*?\n)?(<!-- /numbers:{name} -->)", re.S)
    if not pat.search(text):
        raise BadInput(f"{path}: no <!-- numbers:{name} --> ... <!-- /numbers:{name} --> block")
    return pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text, count=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args(argv)
    root = args.root
    ev, native, perf = load(root, BUNDLED), load(root, HOST_NATIVE), load(root, HOST_PERF)
    blocks = {"README.md": {"front-door": front_door(ev, native)},
              "model/README.md": {"bundled-model": bundled_table(ev)},
              "data/host/README.md": {"host-table": host_table(native, perf)}}
    for rel, named in blocks.items():
        path = root / rel
        text = path.read_text()
        for name, body in named.items():
            text = replace_block(text, name, body, path)
        path.write_text(text)
        print(f"readme_numbers: {rel}: {', '.join(named)}")


if __name__ == "__main__":
    try:
        main()
    except BadInput as e:
        raise SystemExit(f"readme_numbers: {e}")
