"""Batch planning and padding, shared by training and every runtime.

Inputs are grouped by length and padded to a multiple of 8 (64 on GPU), right-padded unless asked
otherwise. Training shuffles through mega-batches of 50 batches; inference goes longest first and caps
a batch's padded tokens, so that a 4,000-token instruction input runs alone instead of 16 at a time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from filterforge.encoding.strategies import EncodedInput

MAX_BATCH_TOKENS = 8192


def pad_multiple(device: str) -> int:
    return 64 if str(device).startswith("cuda") else 8


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def training_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: mega-batches of 50 batches are sorted by length, then the
    batches are shuffled."""
    indices = list(range(len(lengths)))
    rng.shuffle(indices)
    mega = batch_size * 50
    batches = []
    for start in range(0, len(indices), mega):
        chunk = sorted(indices[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def inference_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = MAX_BATCH_TOKENS) -> list[list[int]]:
    """Longest first; a batch holds at most ``batch_size`` inputs and ``max_tokens`` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        fits = batch_size if not max_tokens else max(1, min(batch_size, max_tokens // max(lengths[order[start]], 1)))
        batches.append(order[start : start + fits])
        start += fits
    return batches


def pad(seqs: Sequence[Sequence[int]], pad_id: int, multiple: int = 8, side: str = "right") -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` [batch, width] as int64 arrays, width a multiple of ``multiple``."""
    width = round_up(max(len(s) for s in seqs), multiple)
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for row, seq in enumerate(seqs):
        where = slice(width - len(seq), width) if side == "left" else slice(0, len(seq))
        ids[row, where] = seq
        mask[row, where] = 1
    return ids, mask


@dataclass
class Batch:
    input_ids: Any
    attention_mask: Any
    labels: Any
    indices: list[int]
    prefix_ids: Any = None  # [1, prefix_len] when the batch shares a cached prompt

    @property
    def size(self) -> int:
        return len(self.indices)

    def real_tokens(self) -> int:
        prefix = self.prefix_ids.shape[1] * self.size if self.prefix_ids is not None else 0
        return int(self.attention_mask.sum().item()) + prefix

    def to(self, device: str) -> "Batch":
        move = lambda t: t.to(device) if t is not None else None  # noqa: E731
        return Batch(move(self.input_ids), move(self.attention_mask), move(self.labels), self.indices, move(self.prefix_ids))


def collate(encoded: Sequence[EncodedInput], indices: Sequence[int], labels: Sequence[Sequence[float]] | None,
            pad_id: int, multiple: int = 8, shared_prefix: bool = False, padding_side: str = "right") -> Batch:
    """A torch batch. With ``shared_prefix`` the common prompt is cut off and returned once as ``prefix_ids``."""
    import torch

    items = [encoded[i] for i in indices]
    prefix_ids = None
    if shared_prefix:
        cut = items[0].prefix_length
        prefix_ids = torch.tensor([items[0].input_ids[:cut]], dtype=torch.long)
        seqs = [item.input_ids[cut:] for item in items]
    else:
        seqs = [item.input_ids for item in items]
    ids, mask = pad(seqs, pad_id, multiple, padding_side)
    label_tensor = torch.tensor([labels[i] for i in indices], dtype=torch.float32) if labels is not None else None
    return Batch(torch.from_numpy(ids), torch.from_numpy(mask), label_tensor, list(indices), prefix_ids)


def pad_token_id(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id, 0):
        if candidate is not None:
            return int(candidate)
    return 0
