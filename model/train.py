"""`python -m model train`: the LSTM over candidate sets, cross-entropy on the slot that ran,
AdamW, early stopping on runs held out for validation. Seeded; CPU unless a GPU is present."""
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .checkpoint import save_checkpoint
from .data import encode_runs, holdout_from, load_manifest, split_runs
from .encoding import candidate_width, load_spec, step_width
from .net import OracleNet


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Windows:
    """Training windows over sequences: each step is scored in exactly one window; a window that
    does not start a sequence first replays `burn_in` earlier steps to warm the LSTM state."""

    def __init__(self, seqs, chunk, burn_in):
        self.steps = np.concatenate([s.steps for s in seqs])
        self.cands = np.concatenate([s.cands for s in seqs])
        self.target = np.concatenate([s.target for s in seqs])
        self.chunk = chunk
        self.windows = []   # (start, scored_from, end) as flat indices
        base = 0
        for s in seqs:
            n = len(s.target)
            for first in range(0, n, chunk - burn_in):
                start = max(first - burn_in, 0) if first else 0
                end = min(start + chunk, n)
                self.windows.append((base + start, base + first, base + end))
                if end == n:
                    break
            base += n

    def batches(self, batch, rng):
        order = rng.permutation(len(self.windows))
        for i in range(0, len(order), batch):
            yield self.gather([self.windows[j] for j in order[i:i + batch]])

    def gather(self, wins):
        T = self.chunk
        B = len(wins)
        steps = np.zeros((B, T) + self.steps.shape[1:], np.float32)
        cands = np.zeros((B, T) + self.cands.shape[1:], np.float32)
        target = np.full((B, T), -1, np.int64)
        for b, (start, scored, end) in enumerate(wins):
            n = end - start
            steps[b, :n] = self.steps[start:end]
            cands[b, :n] = self.cands[start:end]
            target[b, scored - start:n] = self.target[scored:end]
        return torch.from_numpy(steps), torch.from_numpy(cands), torch.from_numpy(target)


def evaluate_sequences(net, seqs, device):
    """Stateful pass over whole sequences (as the agent runs): mean loss, top-1 on scorable steps."""
    net.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total = hits = n = 0
    with torch.no_grad():
        for s in seqs:
            scores, _ = net(torch.from_numpy(s.steps)[None].to(device),
                            torch.from_numpy(s.cands)[None].to(device))
            tgt = torch.from_numpy(s.target).to(device)
            ok = tgt >= 0
            total += loss_fn(scores[0][ok], tgt[ok]).item()
            hits += (scores[0].argmax(-1) == tgt).sum().item()
            n += len(tgt)
    return total / max(int(sum((s.target >= 0).sum() for s in seqs)), 1), hits / max(n, 1)


def init_main(args):
    spec = load_spec()
    seed_everything(args.seed)
    net = OracleNet(step_width(spec), candidate_width(spec), args.hidden, args.layers)
    save_checkpoint(args.out, net, spec, {"trained": False, "seed": args.seed})
    print(f"init: untrained checkpoint -> {args.out}")


def fit(train_seqs, val_seqs, spec, args, device=torch.device("cpu"), windows=None):
    """Train on `train_seqs`, early-stop on `val_seqs`; -> (best net on CPU, history, best val loss)."""
    t0 = time.time()
    windows = windows or Windows(train_seqs, args.chunk, args.burn_in)
    net = OracleNet(step_width(spec), candidate_width(spec), args.hidden, args.layers,
                    pool=args.pool).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    # cosine decay to 5% of the peak rate over the epoch budget: the late, small steps are
    # where the last points of accuracy come from
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(e / args.epochs, 1.0))))
    rng = np.random.default_rng(args.seed)
    best, best_state, stale, history = float("inf"), None, 0, []
    for epoch in range(1, args.epochs + 1):
        net.train()
        n_batches = (len(windows.windows) + args.batch - 1) // args.batch
        running = 0.0
        bar = tqdm(windows.batches(args.batch, rng), total=n_batches, desc=f"epoch {epoch}",
                   leave=False, mininterval=1.0, disable=None)  # a bar on a terminal only
        for i, (steps, cands, target) in enumerate(bar, 1):
            scores, _ = net(steps.to(device), cands.to(device))
            loss = loss_fn(scores.reshape(-1, scores.shape[-1]), target.to(device).reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / i:.4f}")
        sched.step()
        val_loss, val_top1 = evaluate_sequences(net, val_seqs, device)
        history.append(dict(epoch=epoch, train_loss=running / n_batches, val_loss=val_loss,
                            val_top1=val_top1, elapsed_s=round(time.time() - t0, 1)))
        print(f"epoch {epoch:2d}: train loss {running / n_batches:.4f}  val loss {val_loss:.4f}  "
              f"val top-1 {100 * val_top1:.2f}%  ({time.time() - t0:.0f} s)", flush=True)
        if val_loss < best - 1e-4:
            best, stale = val_loss, 0
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= args.patience:
                print(f"train: early stop, no better validation loss for {args.patience} epochs")
                break
    net = net.cpu()
    net.load_state_dict(best_state)
    return net, history, best


def main(args):
    t0 = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    device = pick_device(args.device)
    spec = load_spec()
    holdout = holdout_from(args.holdout_workloads)
    split = split_runs(load_manifest(args.dataset), holdout)
    print(f"train: {len(split['train'])} training runs, {len(split['val'])} validation runs, "
          f"held-out workloads: {', '.join(holdout) or 'none'}; device {device}", flush=True)
    train_seqs = encode_runs(args.dataset, split["train"], spec)
    val_seqs = encode_runs(args.dataset, split["val"], spec)
    windows = Windows(train_seqs, args.chunk, args.burn_in)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"train: {len(windows.target)} training steps in {len(windows.windows)} windows, "
          f"{sum(len(s.target) for s in val_seqs)} validation steps "
          f"(encoded in {time.time() - t0:.1f} s)", flush=True)

    net, history, best = fit(train_seqs, val_seqs, spec, args, device, windows)
    info = dict(trained=True, seed=args.seed, dataset=str(args.dataset), holdout=list(holdout),
                train_runs=[f["file"] for f in split["train"]],
                val_runs=[f["file"] for f in split["val"]],
                best_val_loss=best, epochs_run=len(history), hidden=args.hidden, layers=args.layers,
                pool=args.pool, chunk=args.chunk, burn_in=args.burn_in, batch=args.batch, lr=args.lr,
                weight_decay=args.weight_decay, train_steps=int(len(windows.target)),
                wall_s=round(time.time() - t0, 1), device=str(device),
                threads=torch.get_num_threads())
    save_checkpoint(args.out / "model.pt", net, spec, info)
    (args.out / "train.json").write_text(json.dumps(dict(info, history=history), indent=2) + "\n")
    print(f"train: best validation loss {best:.4f}; wrote {args.out / 'model.pt'} "
          f"in {time.time() - t0:.0f} s")
