"""Training on several processes started by torchrun, with DistributedDataParallel: the process group,
each rank's share of the work, the gathering of what every rank must agree on, and rank 0's privileges.

A run is distributed when torchrun's ``WORLD_SIZE`` is above 1; otherwise nothing here communicates and
the trainer computes exactly what it did before distributed training existed. Each rank builds the same seeded,
length-grouped batch order with the global batch size (``--batch-size`` x world size) and trains on its
contiguous share of every global batch. Its mean loss is scaled by ``world size x share / global batch``,
so DDP's average of the ranks' gradients is the gradient of the global batch's mean loss: the same step
a single process takes with the same global batch, also when the shares are unequal.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from filterforge.errors import FilterforgeError
from filterforge.student import shared_prefix as sp

TRAINING_LOGGER = "filterforge.training"
LAUNCH_HINT = "start distributed training with: torchrun --nproc-per-node N -m filterforge train ..."


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (a single process: the defaults)."""

    size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """Rank 0 alone writes the run folder: checkpoints, history, metadata, plots, the model."""
        return self.rank == 0


def world_from_env(environ: Mapping[str, str] | None = None) -> World:
    """The world torchrun describes in ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE``."""
    env = os.environ if environ is None else environ
    size = _env_int(env, "WORLD_SIZE", 1)
    if size < 1:
        raise FilterforgeError(f"WORLD_SIZE={size} must be >= 1; {LAUNCH_HINT}")
    if size == 1:
        return World()
    rank, local_rank = _env_int(env, "RANK", None), _env_int(env, "LOCAL_RANK", None)
    local_size = _env_int(env, "LOCAL_WORLD_SIZE", 1)
    if rank is None or local_rank is None:
        missing = "RANK" if rank is None else "LOCAL_RANK"
        raise FilterforgeError(f"WORLD_SIZE={size} but {missing} is not set; {LAUNCH_HINT}")
    if not 0 <= rank < size or local_rank < 0:
        raise FilterforgeError(f"RANK={rank} / LOCAL_RANK={local_rank} do not fit WORLD_SIZE={size}; {LAUNCH_HINT}")
    return World(size, rank, local_rank, max(local_size, 1))


def _env_int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise FilterforgeError(f"{name}={raw!r} is not a whole number; {LAUNCH_HINT}") from None


def rank_device(device: str, world: World) -> str:
    """``cuda:LOCAL_RANK`` (made the current device) for a distributed run on GPUs, else ``device``."""
    if not (world.distributed and device.startswith("cuda")):
        return device
    visible = torch.cuda.device_count()
    if world.local_rank >= visible:
        raise FilterforgeError(f"LOCAL_RANK {world.local_rank} has no GPU ({visible} visible): start at most "
                               f"{visible} processes per node (--nproc-per-node)")
    torch.cuda.set_device(world.local_rank)
    return f"cuda:{world.local_rank}"


def backend(device: str) -> str:
    return "nccl" if device.startswith("cuda") else "gloo"


@contextmanager
def process_group(world: World, device: str, timeout_minutes: float) -> Iterator[None]:
    """Join the other ranks for the block (NCCL on GPUs, gloo on CPU); nothing for a single process.

    ``timeout_minutes`` bounds every collective: a rank that stalls makes the others fail, not hang. A
    group the caller started (several trainings in one launch) is used and left running: creating the
    default group again in the same processes races with the previous group's rendezvous."""
    if not world.distributed:
        yield
        return
    owned = not dist.is_initialized()
    if owned:
        _start(world, backend(device), timeout_minutes)
    elif dist.get_backend() != backend(device) or dist.get_world_size() != world.size:
        raise FilterforgeError(f"the running process group ({dist.get_backend()}, {dist.get_world_size()} ranks) does not "
                               f"fit this training ({backend(device)}, {world.size} ranks)")
    try:
        with _quiet_unless_main(world), collective_failures(world):
            yield
    finally:
        if owned:
            dist.destroy_process_group()


def _start(world: World, chosen: str, timeout_minutes: float) -> None:
    try:
        dist.init_process_group(chosen, timeout=timedelta(minutes=timeout_minutes))
    except (RuntimeError, ValueError) as exc:
        raise FilterforgeError(f"rank {world.rank} could not join the {world.size} training processes "
                               f"({chosen}: {_first_sentence(exc)}); {LAUNCH_HINT}") from None


@contextmanager
def _quiet_unless_main(world: World) -> Iterator[None]:
    """Rank 0 logs the run; the others would repeat each line."""
    logger = logging.getLogger(TRAINING_LOGGER)
    level = logger.level
    if not world.main:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def collective_failures(world: World) -> Iterator[None]:
    """A collective that failed (a rank died or stalled past the timeout) as one line naming this rank."""
    try:
        yield
    except RuntimeError as exc:
        if not (world.distributed and _is_collective_failure(exc)):
            raise
        raise FilterforgeError(f"rank {world.rank} of {world.size} lost the other training processes "
                               f"({_first_sentence(exc)}); the first rank to fail logged the cause") from None


def _is_collective_failure(exc: RuntimeError) -> bool:
    return isinstance(exc, dist.DistError) or "gloo" in str(exc)


def _first_sentence(exc: BaseException) -> str:
    """The gist of a torch.distributed message, without gloo's ``[source.cc:123]`` prefix."""
    lines = str(exc).strip().splitlines()
    text = re.sub(r"^\[[^\]]*\]\s*", "", lines[0]) if lines else ""
    return (text.split(". ")[0] or type(exc).__name__)[:200]


class TrainingForward(torch.nn.Module):
    """The student's training forward pass as one module, the one DDP wraps: its forward must run the
    whole step, and the shared-prefix path reaches the student's body and head through helper functions."""

    def __init__(self, model: torch.nn.Module, shared_prefix: bool):
        super().__init__()
        self.model, self.shared_prefix = model, shared_prefix

    def forward(self, batch: Any) -> torch.Tensor:
        if self.shared_prefix:
            return sp.forward_shared(self.model, batch)
        return self.model(batch.input_ids, batch.attention_mask)


def wrap(module: Any, world: World, device: str) -> Any:
    """``module`` in DistributedDataParallel, which broadcasts rank 0's weights and all-reduces gradients."""
    if not world.distributed:
        return module
    devices = [world.local_rank] if device.startswith("cuda") else None
    # Some parameters get no gradient (BERT's pooler: the student pools the hidden states itself).
    return DistributedDataParallel(module, device_ids=devices, find_unused_parameters=True)


def gradient_sync(module: Any, world: World, syncing: bool) -> Any:
    """On gradient-accumulation steps DDP's ``no_sync``: gradients add up locally and are all-reduced
    once, in the backward pass of the optimizer step."""
    return module.no_sync() if world.distributed and not syncing else nullcontext()


def rank_share(global_batch: Sequence[int], world: World) -> tuple[list[int], float]:
    """This rank's contiguous part of a global batch and the fraction of the global batch it holds.

    A rank left without articles (a last batch smaller than the world) takes the first one with weight
    0: it still runs forward and backward, which every DDP step needs from every rank."""
    base, extra = divmod(len(global_batch), world.size)
    start = world.rank * base + min(world.rank, extra)
    size = base + (world.rank < extra)
    if size == 0:
        return [global_batch[0]], 0.0
    return list(global_batch[start : start + size]), size / len(global_batch)


def validation_share(count: int, world: World) -> list[int]:
    """The validation rows this rank predicts (every ``size``-th, so lengths are spread evenly)."""
    return list(range(world.rank, count, world.size))


def gather_validation(rows: np.ndarray, count: int, world: World, device: str) -> np.ndarray:
    """Every rank's :func:`validation_share` rows put back in order: the same array on every rank."""
    if not world.distributed:
        return rows
    values = torch.from_numpy(np.ascontiguousarray(rows)).to(device)
    padded = values.new_zeros((-(-count // world.size), *rows.shape[1:]))  # all_gather wants equal shapes
    padded[: len(rows)] = values
    parts = all_gather(padded)
    gathered = np.empty((count, *rows.shape[1:]), dtype=rows.dtype)
    for rank, part in enumerate(parts):
        gathered[rank::world.size] = part[: len(range(rank, count, world.size))].cpu().numpy()
    return gathered


def gather_by_rank(tensors: dict[str, Any], world: World, device: str) -> dict[str, Any]:
    """Every rank's ``tensors`` (same names and shapes on every rank) as ``<name>.rank<r>`` on CPU;
    empty for a single process."""
    if not world.distributed:
        return {}
    gathered = {}
    for name in sorted(tensors):
        for rank, part in enumerate(all_gather(tensors[name].to(device))):
            gathered[f"{name}.rank{rank}"] = part.cpu()
    return gathered


def all_gather(tensor: Any) -> list[Any]:
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return parts


def sum_over_ranks(values: Sequence[float], world: World, device: str) -> list[float]:
    if not world.distributed:
        return list(values)
    total = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return total.tolist()


def decided_by_rank0(decision: bool, world: World, device: str) -> bool:
    """Rank 0's ``decision``, on every rank (for decisions that depend on each process's clock)."""
    if not world.distributed:
        return decision
    flag = torch.tensor([int(decision)], device=device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def cores_per_rank(cores: int, world: World) -> int:
    """A share of this node's cores for each of its ranks (at least one)."""
    return max(1, cores // world.local_size)
