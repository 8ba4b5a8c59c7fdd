"""Distributed data parallel through ``torchrun``: the process group from its environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``), gloo on CPU and NCCL on CUDA, rank-0-only side effects, and the mean of
logged values over ranks. A single process (no ``WORLD_SIZE`` or 1) needs none of it."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from facerestore.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str) -> DistInfo:
    """Join the process group torchrun set up (if any) with the backend for ``device``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device == "cuda" else "gloo"
        if device == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
    return info


def resolve_device(name: str, info: DistInfo) -> torch.device:
    """``cpu``, ``cuda`` (``cuda:LOCAL_RANK`` under torchrun) or ``mps``; :class:`ConfigError` if unavailable."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available")
        return torch.device("cuda", info.local_rank)
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("--device mps: MPS is not available")
        return torch.device("mps")
    raise ConfigError(f"--device must be cpu, cuda or mps, got {name!r}")


def mean_over_ranks(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Element-wise mean of ``values`` over all ranks (itself in a single process)."""
    if not info.enabled:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / info.world_size


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
