"""python -m model {train,eval,export,encode,estimate,init} — see model/README.md."""
import argparse
import sys
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train the next-task LSTM on a dataset directory")
    t.add_argument("--dataset", type=Path, required=True, help="directory with manifest.json")
    t.add_argument("--out", type=Path, required=True, help="run directory (model.pt, train.json)")
    t.add_argument("--holdout-workloads", default=None,
                   help="comma-separated workloads kept out of training entirely (default: the split's)")
    t.add_argument("--epochs", type=int, default=12, help="epoch budget (the learning rate decays over it)")
    t.add_argument("--patience", type=int, default=4, help="early stopping: epochs without a better validation loss")
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument("--layers", type=int, default=1, choices=[1, 2])
    t.add_argument("--pool", type=int, default=16, help="candidate-set summary width (0: none)")
    t.add_argument("--chunk", type=int, default=128, help="steps per training window")
    t.add_argument("--burn-in", type=int, default=16, help="first steps of a window warm the state, no loss")
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--focus", type=float, default=0.0,
                   help="share of the windows drawn by their steps with a real choice (two or more "
                        "runnable candidates) rather than evenly; 0: every window once per epoch")
    t.add_argument("--untrusted", default="alternate", choices=["alternate", "copies"],
                   help="every other training run is encoded with the EEVDF estimate never trusted: "
                        "instead of its trusted encoding (alternate) or as well (copies)")
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores)")
    t.add_argument("--device", default="auto", help="auto (a GPU if present), cpu, cuda")

    e = sub.add_parser("eval", help="top-1/top-3 of a model and the baselines on a dataset's test "
                                    "splits, or on any traces")
    e.add_argument("--dataset", type=Path, default=None, help="directory with manifest.json: "
                   "score its test splits")
    e.add_argument("--trace", type=Path, nargs="+", default=None,
                   help="trace files or directories of *.parquet: score all their steps, per CPU")
    e.add_argument("--model", type=Path, required=True, help="model.pt checkpoint or exported .onnx")
    e.add_argument("--out", type=Path, default=None, help="directory for eval.json, report.md, "
                   "accuracy.svg (needed with --dataset)")
    e.add_argument("--json-out", type=Path, default=None, help="with --trace: the result JSON only")
    e.add_argument("--holdout-workloads", default=None)

    x = sub.add_parser("export", help="checkpoint -> ONNX one-step graph with the encoding in its metadata")
    x.add_argument("--checkpoint", type=Path, required=True)
    x.add_argument("--out", type=Path, required=True)
    x.add_argument("--window-out", type=Path, default=None, help="also export the full-window graph here")
    x.add_argument("--parity-trace", type=Path, default=None,
                   help="check PyTorch vs onnxruntime on this trace's longest CPU sequence")
    x.add_argument("--parity-steps", type=int, default=2000)
    x.add_argument("--traced", action="store_true",
                   help="trace the one-step graph with torch.onnx.export instead of writing the lean graph")

    n = sub.add_parser("encode", help="dump a trace's encoded steps as JSON lines (round-trip tests)")
    n.add_argument("--trace", type=Path, required=True)
    n.add_argument("--out", type=Path, required=True)

    m = sub.add_parser("estimate", help="the EEVDF estimate alone as a rule: how often its first "
                                        "choice is the kernel's pick, per trace")
    m.add_argument("--trace", type=Path, nargs="+", required=True,
                   help="trace files or directories of *.parquet")
    m.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a numeric encoding spec key for this run (repeatable)")
    m.add_argument("--json-out", type=Path, default=None)

    u = sub.add_parser("init", help="write an untrained checkpoint (tests, interface work)")
    u.add_argument("--out", type=Path, required=True)
    u.add_argument("--hidden", type=int, default=64)
    u.add_argument("--layers", type=int, default=1, choices=[1, 2])
    u.add_argument("--seed", type=int, default=1)

    args = ap.parse_args(argv)
    from .errors import ModelError
    try:
        run(args)
    # ModelError is ours; ValueError/OSError come from the trace reader and the file system
    except (ModelError, ValueError, OSError) as e:   # bad input: say what and where, no traceback
        print(f"python -m model {args.cmd}: error: {e}", file=sys.stderr)
        return 1


def run(args):
    if args.cmd == "train":
        from . import train
        train.main(args)
    elif args.cmd == "eval":
        from . import evaluate
        evaluate.main(args)
    elif args.cmd == "export":
        from . import export
        export.main(args)
    elif args.cmd == "encode":
        from . import dump
        dump.main(args)
    elif args.cmd == "estimate":
        from . import estimate_check
        estimate_check.main(args)
    elif args.cmd == "init":
        from . import train
        train.init_main(args)


if __name__ == "__main__":
    sys.exit(main())
