"""Length-grouped batches with dynamic padding (to a multiple of 8, or 64 on GPU)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch

from filterforge.encoding.strategies import EncodedInput


def pad_multiple(device: str) -> int:
    return 64 if str(device).startswith("cuda") else 8


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor | None
    indices: list[int]
    prefix_ids: torch.Tensor | None = None  # [1, prefix_len] when the batch shares a cached prompt

    @property
    def size(self) -> int:
        return len(self.indices)

    def real_tokens(self) -> int:
        prefix = self.prefix_ids.shape[1] * self.size if self.prefix_ids is not None else 0
        return int(self.attention_mask.sum().item()) + prefix

    def to(self, device: str) -> "Batch":
        move = lambda t: t.to(device) if t is not None else None  # noqa: E731
        return Batch(move(self.input_ids), move(self.attention_mask), move(self.labels), self.indices, move(self.prefix_ids))


def length_grouped_order(lengths: Sequence[int], batch_size: int, rng: random.Random | None) -> list[list[int]]:
    """Batches of similar length. Shuffled (training) via mega-batches of 50 batches; else sorted."""
    indices = list(range(len(lengths)))
    if rng is None:
        indices.sort(key=lambda i: -lengths[i])
        return [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    rng.shuffle(indices)
    mega = batch_size * 50
    batches = []
    for start in range(0, len(indices), mega):
        chunk = sorted(indices[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def collate(
    encoded: Sequence[EncodedInput],
    indices: Sequence[int],
    labels: Sequence[Sequence[float]] | None,
    pad_id: int,
    multiple: int = 8,
    shared_prefix: bool = False,
    padding_side: str = "right",
) -> Batch:
    """Pad a batch. With ``shared_prefix`` the common prompt is cut off and returned once as ``prefix_ids``."""
    items = [encoded[i] for i in indices]
    prefix_ids = None
    if shared_prefix:
        cut = items[0].prefix_length
        prefix_ids = torch.tensor([items[0].input_ids[:cut]], dtype=torch.long)
        seqs = [item.input_ids[cut:] for item in items]
    else:
        seqs = [item.input_ids for item in items]
    width = round_up(max(len(s) for s in seqs), multiple)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        if padding_side == "left":
            ids[row, width - len(seq) :] = torch.tensor(seq)
            mask[row, width - len(seq) :] = 1
        else:
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
    label_tensor = torch.tensor([labels[i] for i in indices], dtype=torch.float32) if labels is not None else None
    return Batch(ids, mask, label_tensor, list(indices), prefix_ids)
