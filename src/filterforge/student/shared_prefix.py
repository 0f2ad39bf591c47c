"""Shared-prefix batching: the instruction prompt runs once per batch (training) or once per process
(inference) and the articles attend to its KV cache instead of recomputing it for every article."""

from __future__ import annotations

import copy
from typing import Any

import torch

from filterforge.errors import FilterforgeError


def supported(model: Any, strategy: Any) -> bool:
    return bool(getattr(strategy, "shares_prefix", False)) and model.is_decoder


def prompt_cache(model: Any, prefix_ids: torch.Tensor, grad: bool) -> Any:
    """KV cache of the prompt (batch 1). With ``grad`` the cache stays differentiable."""
    with torch.set_grad_enabled(grad):
        out = model.body(input_ids=prefix_ids, attention_mask=torch.ones_like(prefix_ids), use_cache=True)
    return out.past_key_values


def repeat_cache(cache: Any, batch_size: int, copy_first: bool) -> Any:
    """The cache repeated over the batch. Inference keeps one cache per process and repeats a copy
    (the article forward appends to the cache it is given)."""
    if copy_first:
        cache = copy.deepcopy(cache)
    if not hasattr(cache, "batch_repeat_interleave"):
        raise FilterforgeError(f"this transformers version's {type(cache).__name__} cannot be repeated over a batch; use --no-shared-prefix")
    cache.batch_repeat_interleave(batch_size)
    return cache


def forward_shared(model: Any, batch: Any, cache: Any = None) -> torch.Tensor:
    """Scores for a batch whose ``prefix_ids`` is the shared prompt. Without ``cache`` the prompt is run
    here with gradients (training); with one it is reused (inference)."""
    prefix = batch.prefix_ids
    size = batch.input_ids.shape[0]
    if cache is None:
        past = repeat_cache(prompt_cache(model, prefix, grad=torch.is_grad_enabled()), size, copy_first=False)
    else:
        past = repeat_cache(cache, size, copy_first=True)
    prefix_mask = torch.ones((size, prefix.shape[1]), dtype=batch.attention_mask.dtype, device=batch.attention_mask.device)
    return model(batch.input_ids, batch.attention_mask, past_key_values=past, prefix_mask=prefix_mask)
