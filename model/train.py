"""`python -m model train`: the LSTM over candidate sets, cross-entropy on the slot that ran,
AdamW, early stopping on runs held out for validation. Seeded; CPU unless a GPU is present.
Under torchrun it trains with DistributedDataParallel, each process on its shard of the runs
(model/distributed.py)."""
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .atomic import replacing
from .checkpoint import save_checkpoint
from .data import encode_runs, holdout_from, load_manifest, split_runs
from .distributed import Dist
from .encoding import candidate_width, load_spec, step_width
from .net import OracleNet


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Windows:
    """Training windows over sequences: each step is scored in exactly one window; a window that
    does not start a sequence first replays `burn_in` earlier steps to warm the LSTM state."""

    def __init__(self, seqs, chunk, burn_in, focus=0.0, spec=None):
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
        self.focus = focus
        self.weights = None
        if focus:
            self.weights, self.choice_share = self.focus_weights(spec)

    def focus_weights(self, spec):
        """-> (sampling probability per window, expected share of steps with a real choice among
        those drawn, before and after) for `focus` F: (1 - F) spread evenly over the windows, F in
        proportion to each window's scored steps with a real choice (two or more runnable
        candidates). Most steps of the pipe and switch storms have one runnable task and are
        learnt in the first epochs; the weight moves those passes to hackbench- and desktop-like
        steps, where the order among many waiting tasks is what is learnt."""
        col = spec["step_features"].index("runnable_candidates")
        choice = self.steps[:, col] * (spec["candidates"] - 1) >= 1.5   # stored as count / 31
        cum = np.cumsum(np.concatenate([[0], choice]))
        hard = np.array([cum[end] - cum[scored] for _, scored, end in self.windows], np.float64)
        scored = np.array([end - scored for _, scored, end in self.windows], np.float64)
        even = np.full(len(self.windows), 1.0 / len(self.windows))
        w = even if hard.sum() == 0 else (1 - self.focus) * even + self.focus * hard / hard.sum()
        share = lambda p: float(p @ hard / (p @ scored))
        return w, (share(even), share(w))

    def n_batches(self, batch):
        return (len(self.windows) + batch - 1) // batch

    def batches(self, batch, rng, n_batches):
        """`n_batches` batches in a fresh random order; past `n_batches(batch)` (a process whose
        shard is smaller than another's, which must take as many steps) the order wraps around
        into another permutation. With a focus, windows are drawn by their weights instead (with
        replacement: as many draws as an epoch has windows)."""
        if self.weights is not None:
            order = rng.choice(len(self.windows), size=n_batches * batch, p=self.weights)
        else:
            order = rng.permutation(len(self.windows))
        while len(order) < (n_batches - 1) * batch + 1:
            order = np.concatenate([order, rng.permutation(len(self.windows))])
        for i in range(n_batches):
            yield self.gather([self.windows[j] for j in order[i * batch:(i + 1) * batch]])

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


def evaluate_sequences(net, seqs, device, dist=None):
    """Stateful pass over whole sequences (as the agent runs): mean loss over the steps whose
    next task is a candidate, top-1 over every step (a next task outside the set is a miss).
    Distributed: each process passes its own sequences and the sums are added over processes."""
    net.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total = hits = n = scorable = 0
    with torch.no_grad():
        for s in seqs:
            scores, _ = net(torch.from_numpy(s.steps)[None].to(device),
                            torch.from_numpy(s.cands)[None].to(device))
            tgt = torch.from_numpy(s.target).to(device)
            ok = tgt >= 0
            total += loss_fn(scores[0][ok], tgt[ok]).item()
            hits += (scores[0].argmax(-1) == tgt).sum().item()
            n += len(tgt)
            scorable += int(ok.sum().item())
    if dist is not None:
        total, hits, n, scorable = dist.sum([total, hits, n, scorable])
    return total / max(scorable, 1), hits / max(n, 1)


def init_main(args):
    spec = load_spec()
    seed_everything(args.seed)
    net = OracleNet(step_width(spec), candidate_width(spec), args.hidden, args.layers)
    save_checkpoint(args.out, net, spec, {"trained": False, "seed": args.seed})
    print(f"init: untrained checkpoint -> {args.out}")


def fit(train_seqs, val_seqs, spec, args, device=torch.device("cpu"), windows=None, dist=None):
    """Train on `train_seqs`, early-stop on `val_seqs`; -> (best net on CPU, history, best val loss).
    With `dist` active, the sequences are this process's shard and `args.batch` the global batch."""
    t0 = time.time()
    dist = dist or Dist("cpu")
    windows = windows or Windows(train_seqs, args.chunk, args.burn_in, args.focus, spec)
    net = OracleNet(step_width(spec), candidate_width(spec), args.hidden, args.layers,
                    pool=args.pool).to(device)
    model = dist.wrap(net)   # DDP averages the gradients over processes
    batch = dist.local_batch(args.batch)
    n_batches = dist.max(windows.n_batches(batch))   # every process takes as many steps
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    # cosine decay to 5% of the peak rate over the epoch budget: the late, small steps are
    # where the last points of accuracy come from
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(e / args.epochs, 1.0))))
    rng = (np.random.default_rng([args.seed, dist.rank]) if dist.active
           else np.random.default_rng(args.seed))
    best, best_state, stale, history = float("inf"), None, 0, []
    for epoch in range(1, args.epochs + 1):
        net.train()
        running = 0.0
        bar = tqdm(windows.batches(batch, rng, n_batches), total=n_batches, desc=f"epoch {epoch}",
                   leave=False, mininterval=1.0, disable=None if dist.main else True)
        for i, (steps, cands, target) in enumerate(bar, 1):
            scores, _ = model(steps.to(device), cands.to(device))
            loss = loss_fn(scores.reshape(-1, scores.shape[-1]), target.to(device).reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / i:.4f}")
        sched.step()
        val_loss, val_top1 = evaluate_sequences(net, val_seqs, device, dist)
        train_loss = dist.sum([running / n_batches])[0] / dist.world
        history.append(dict(epoch=epoch, train_loss=train_loss, val_loss=val_loss,
                            val_top1=val_top1, elapsed_s=round(time.time() - t0, 1)))
        if dist.main:
            print(f"epoch {epoch:2d}: train loss {train_loss:.4f}  val loss {val_loss:.4f}  "
                  f"val top-1 {100 * val_top1:.2f}%  ({time.time() - t0:.0f} s)", flush=True)
        if val_loss < best - 1e-4:
            best, stale = val_loss, 0
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= args.patience:   # the same decision on every process (same sums)
                if dist.main:
                        print(f"train: early stop, no better validation loss for {args.patience} epochs")
                break
    net = net.cpu()
    net.load_state_dict(best_state)
    return net, history, best


def main(args):
    dist = Dist(args.device)
    try:
        train_main(args, dist)
    finally:
        dist.close()


def train_main(args, dist):
    t0 = time.time()
    device = dist.device
    threads = args.threads
    if not threads and dist.active and device.type == "cpu":   # share the cores of this machine
        threads = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", dist.world)))
    if threads:
        torch.set_num_threads(threads)
    seed_everything(args.seed)
    spec = load_spec()
    holdout = holdout_from(args.holdout_workloads)
    split = split_runs(load_manifest(args.dataset), holdout)
    train_rows, val_rows = dist.shard(split["train"], "training"), dist.shard(split["val"], "validation")
    say = print if dist.main else (lambda *a, **k: None)
    say(f"train: {len(split['train'])} training runs, {len(split['val'])} validation runs, "
        f"held-out workloads: {', '.join(holdout) or 'none'}; device {device}"
        + (f"; {dist.world} processes ({dist.backend}), each on its shard of the runs"
           if dist.active else ""), flush=True)
    # Every other training run is encoded with the EEVDF estimate never trusted (as on machines
    # whose task groups it cannot follow: Encoder.trusted), so the model learns both cases; the
    # manifest's order pairs the repetitions of each workload and vCPU count.
    # --untrusted copies: those runs are also encoded trusted, so every run teaches the trusted
    # case (the one the test runs and most machines are in) and the untrusted examples stay.
    untrusted = {f["file"] for f in split["train"][1::2]}
    trusted_rows = [r for r in train_rows if args.untrusted == "copies" or r["file"] not in untrusted]
    train_seqs = (encode_runs(args.dataset, trusted_rows, spec)
                  + encode_runs(args.dataset, [r for r in train_rows if r["file"] in untrusted], spec,
                                estimate=False))
    val_seqs = encode_runs(args.dataset, val_rows, spec)
    windows = Windows(train_seqs, args.chunk, args.burn_in, args.focus, spec)
    train_steps = int(dist.sum([len(windows.target)])[0])
    say(f"train: {train_steps} training steps in {int(dist.sum([len(windows.windows)])[0])} windows, "
        f"{int(dist.sum([sum(len(s.target) for s in val_seqs)])[0])} validation steps "
        f"(encoded in {time.time() - t0:.1f} s)", flush=True)
    if args.focus:
        say(f"train: focus {args.focus}: steps with a real choice {100 * windows.choice_share[0]:.1f}% "
            f"of the training steps, {100 * windows.choice_share[1]:.1f}% of those drawn"
            + (" (this process's shard)" if dist.active else ""), flush=True)

    net, history, best = fit(train_seqs, val_seqs, spec, args, device, windows, dist)
    if not dist.main:
        return
    args.out.mkdir(parents=True, exist_ok=True)
    info = dict(trained=True, seed=args.seed, dataset=str(args.dataset), holdout=list(holdout),
                train_runs=[f["file"] for f in split["train"]],
                estimate_untrusted_runs=sorted(untrusted), untrusted=args.untrusted,
                val_runs=[f["file"] for f in split["val"]],
                best_val_loss=best, epochs_run=len(history), hidden=args.hidden, layers=args.layers,
                pool=args.pool, focus=args.focus, chunk=args.chunk, burn_in=args.burn_in, batch=args.batch, lr=args.lr,
                weight_decay=args.weight_decay, train_steps=train_steps,
                wall_s=round(time.time() - t0, 1), device=str(device),
                threads=torch.get_num_threads(), processes=dist.world,
                backend=dist.backend if dist.active else None)
    save_checkpoint(args.out / "model.pt", net, spec, info)
    with replacing(args.out / "train.json") as tmp:
        tmp.write_text(json.dumps(dict(info, history=history), indent=2) + "\n")
    print(f"train: best validation loss {best:.4f}; wrote {args.out / 'model.pt'} "
          f"in {time.time() - t0:.0f} s")
