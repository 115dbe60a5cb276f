"""Data-parallel training across processes (torchrun; gloo on CPU, nccl on GPU).

Every rank draws the same global batch (one seed, one sampler: so hybrid's mono/cross coin and a mono
batch's language agree on every rank) and encodes its own contiguous slice of it. The embeddings of
all ranks are gathered with gradients kept, so each query still meets every passage of the global
batch as an in-batch negative. Each loss term is a local sum scaled by world / global count:
DistributedDataParallel averages the gradients over the ranks, and the average of those terms is
exactly the single-process mean over the global batch. One process (no torchrun) is world size 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from engine.errors import EngineError


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def spans(self, count: int) -> list[tuple[int, int]]:
        """The [start, stop) slice of `count` global items that each rank encodes, in rank order."""
        return [(count * rank // self.world, count * (rank + 1) // self.world) for rank in range(self.world)]

    def span(self, count: int) -> tuple[int, int]:
        return self.spans(count)[self.rank]

    def gather(self, rows: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        """Every rank's rows (rank r holds sizes[r] of them), in rank order, with gradients kept: the
        gradient a rank's rows receive is summed over every rank that used them."""
        if self.world == 1:
            return rows
        from torch.distributed.nn.functional import all_gather

        padded = torch.cat([rows, rows.new_zeros(max(sizes) - len(rows), *rows.shape[1:])])
        return torch.cat([part[:size] for part, size in zip(all_gather(padded), sizes)])

    def mean(self, value: float) -> float:
        """The mean of a per-rank float over the ranks (for logging the global loss)."""
        if self.world == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(total)
        return float(total.item()) / self.world

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's value of `flag` on every rank (early stopping is decided there)."""
        if self.world == 1:
            return flag
        value = torch.tensor([int(flag)])
        dist.broadcast(value, src=0)
        return bool(value.item())

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


ONE_PROCESS = Ranks()


def join_process_group(cuda: bool) -> Ranks:
    """Ranks from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK), joining its process group;
    world size 1 when not started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return ONE_PROCESS
    ranks = Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(ranks.local_rank)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return ranks


def check_batch(batch_size: int, ranks: Ranks) -> None:
    if batch_size < ranks.world:
        raise EngineError(f"batch size {batch_size} is smaller than the {ranks.world} ranks: each needs a query")


def leave_process_group(ranks: Ranks) -> None:
    if ranks.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
