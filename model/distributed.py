"""Training on several processes (and machines) with PyTorch DistributedDataParallel.

`torchrun --nproc_per_node N -m model train ...` starts N copies; torchrun's environment
(RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) says which one this is. Each rank reads
its own shard of the runs (run i goes to rank i mod N), trains on its windows with
`--batch / N` per step (so `--batch` stays the global batch), and DDP averages the gradients.
Validation sums are added over ranks, so every rank sees the same validation metrics and makes
the same early-stopping decision. Backend: NCCL on a GPU, gloo on CPU. Without torchrun
(WORLD_SIZE unset or 1) everything here is a no-op and training is exactly the one-process run.
"""
import os
from datetime import timedelta

import torch

from .errors import BadInput


class Dist:
    def __init__(self, device_name="auto"):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.active = self.world > 1
        gpu = torch.cuda.is_available() and device_name in ("auto", "cuda")
        if device_name not in ("auto", "cpu", "cuda"):
            raise BadInput(f"--device {device_name}: expected auto, cpu or cuda")
        if device_name == "cuda" and not torch.cuda.is_available():
            raise BadInput("--device cuda: no CUDA device visible to torch")
        self.device = torch.device(f"cuda:{self.local_rank}" if gpu and self.active
                                   else "cuda" if gpu else "cpu")
        self.backend = "nccl" if self.device.type == "cuda" else "gloo"
        if self.active:
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            torch.distributed.init_process_group(self.backend, timeout=timedelta(minutes=30))

    @property
    def main(self):
        """The rank that prints and writes files."""
        return self.rank == 0

    def shard(self, rows, what):
        """This rank's share of `rows` (manifest rows), every rank's share non-empty."""
        if not self.active:
            return rows
        if len(rows) < self.world:
            raise BadInput(f"{len(rows)} {what} runs for {self.world} processes: each process "
                           "needs at least one (use fewer processes or a larger dataset)")
        return rows[self.rank::self.world]

    def local_batch(self, batch):
        if batch % self.world:
            raise BadInput(f"--batch {batch} is the global batch: it must divide evenly over "
                           f"{self.world} processes")
        return batch // self.world

    def sum(self, values):
        """Element-wise sum over ranks of a list of numbers."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def max(self, value):
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return int(t.item())

    def wrap(self, net):
        """The module the training step calls: DDP around `net` when distributed."""
        if not self.active:
            return net
        from torch.nn.parallel import DistributedDataParallel as DDP
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DDP(net, device_ids=ids)

    def close(self):
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
