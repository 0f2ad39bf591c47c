"""Shared-prefix batching: the instruction prompt runs once per batch (training) or once per process
(inference), and the articles attend to its keys and values instead of recomputing them per article.

Two ways to attend: ``prefix_attention`` (one un-repeated copy of the prompt's KV; right-padded
batches of models that take transformers' attention functions) and, otherwise, the prompt's KV cache
repeated over the batch.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from filterforge.errors import FilterforgeError
from filterforge.student import prefix_attention as pa


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


def is_right_padded(attention_mask: torch.Tensor) -> bool:
    return bool((attention_mask[:, 1:] <= attention_mask[:, :-1]).all())


def uses_prefix_attention(model: Any, attention_mask: torch.Tensor) -> bool:
    """Models whose attention layers dispatch through transformers' attention functions, right padding."""
    return bool(getattr(model.body, "_supports_attention_backend", False)) and is_right_padded(attention_mask)


def forward_shared(model: Any, batch: Any, cache: Any = None, prefix_attention: bool = True) -> torch.Tensor:
    """Scores for a batch whose ``prefix_ids`` is the shared prompt. Without ``cache`` the prompt is run
    here with gradients (training); with one it is reused (inference). ``prefix_attention=False`` forces
    the repeated cache (what benchmarks compare against)."""
    prefix = batch.prefix_ids
    if cache is None:
        cache = prompt_cache(model, prefix, grad=torch.is_grad_enabled())
        fresh = True
    else:
        fresh = False
    if prefix_attention and uses_prefix_attention(model, batch.attention_mask):
        return pa.forward_with_prompt(model, batch.input_ids, batch.attention_mask, pa.PromptKV.from_cache(cache))
    size = batch.input_ids.shape[0]
    past = repeat_cache(cache, size, copy_first=not fresh)
    prefix_mask = torch.ones((size, prefix.shape[1]), dtype=batch.attention_mask.dtype, device=batch.attention_mask.device)
    return model(batch.input_ids, batch.attention_mask, past_key_values=past, prefix_mask=prefix_mask)
