"""Shared-prefix attention: articles attend to ONE copy of the prompt's keys and values.

Repeating the prompt's KV cache over a batch (``shared_prefix.repeat_cache``) costs memory and, with a
mask, pushes SDPA off its fast kernels. Here each layer's attention is split in two:

- every article query attends to the un-repeated prompt keys/values in one non-causal call, with the
  batch and the query heads of each KV group folded into the query length (GQA without repeating KV);
- each article's queries attend causally to the article's own keys (right padding: a real token never
  sees a pad);

and the two partial results are merged by their log-sum-exp in fp32:
``L = logaddexp(L_p, L_s)``, ``O = exp(L_p - L) * O_p + exp(L_s - L) * O_s``.
Both calls use aten's fused attention kernels that return the log-sum-exp and have a backward, so the
same function trains and predicts. It plugs into transformers through ``AttentionInterface`` and is
switched on only for the article forward; the prompt itself runs with the model's own attention.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch

ATTENTION_NAME = "filterforge_shared_prefix"


@dataclass
class PromptKV:
    """The prompt's keys and values per layer, batch 1, positional encoding already applied."""

    layers: Sequence[tuple[torch.Tensor, torch.Tensor]]

    @property
    def length(self) -> int:
        return self.layers[0][0].shape[2]

    @classmethod
    def from_cache(cls, cache: Any) -> "PromptKV":
        if hasattr(cache, "layers"):
            return cls([(layer.keys, layer.values) for layer in cache.layers])
        return cls(list(zip(cache.key_cache, cache.value_cache)))


def attention_with_lse(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, causal: bool,
                       scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output [B, H, L, D] and its log-sum-exp [B, H, L] (fp32). Both are differentiable: aten's
    fused kernels treat their log-sum-exp as a constant, so with gradients the backward is our own."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value)):
        return AttentionWithLSE.apply(query, key, value, causal, scale)
    return fused_attention_with_lse(query, key, value, causal, scale)


def fused_attention_with_lse(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, causal: bool,
                             scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Through a fused kernel where one exists for the device and dtype, else in plain math."""
    if query.device.type == "cpu":
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
            query, key, value, 0.0, causal, scale=scale)
        return out, lse.float()
    if query.device.type == "cuda" and query.dtype in (torch.float16, torch.bfloat16):
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention(query, key, value, 0.0, causal, False, scale=scale)[:2]
        return out, lse.float()
    if query.device.type == "cuda":
        out, lse = torch.ops.aten._scaled_dot_product_efficient_attention(query, key, value, None, True, 0.0, causal,
                                                                          scale=scale)[:2]
        return out, lse[..., : query.shape[2]].float()
    return math_attention_with_lse(query, key, value, causal, scale)


BACKWARD_CHUNK_ELEMENTS = 1 << 24  # scores recomputed per chunk of query rows: 64 MiB in fp32


class AttentionWithLSE(torch.autograd.Function):
    """Fused forward; the backward recomputes the probabilities in chunks of query rows and includes the
    log-sum-exp's own gradient (dL/dS = P): ``dS = P * (dP - (rowsum(dO * O) - dL))``."""

    @staticmethod
    def forward(ctx, query, key, value, causal, scale):
        out, lse = fused_attention_with_lse(query, key, value, causal, scale)
        ctx.save_for_backward(query, key, value, out, lse)
        ctx.causal, ctx.scale = causal, scale
        return out, lse

    @staticmethod
    def backward(ctx, d_out, d_lse):
        query, key, value, out, lse = ctx.saved_tensors
        d_out = torch.zeros_like(out) if d_out is None else d_out
        d_lse = torch.zeros_like(lse) if d_lse is None else d_lse
        q, k, v, d_o = query.float(), key.float(), value.float(), d_out.float()
        delta = (d_o * out.float()).sum(-1) - d_lse.float()
        d_q, d_k, d_v = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        rows_per_chunk = max(1, BACKWARD_CHUNK_ELEMENTS // max(1, k.shape[0] * k.shape[1] * k.shape[2]))
        for start in range(0, q.shape[2], rows_per_chunk):
            rows = slice(start, start + rows_per_chunk)
            scores = (q[:, :, rows] @ k.transpose(-1, -2)) * ctx.scale
            if ctx.causal:
                scores = scores.masked_fill(_future(start, scores.shape[-2], k.shape[2], scores.device), float("-inf"))
            probs = torch.exp(scores - lse[:, :, rows, None].float())
            d_v += probs.transpose(-1, -2) @ d_o[:, :, rows]
            d_scores = probs * ((d_o[:, :, rows] @ v.transpose(-1, -2)) - delta[:, :, rows, None])
            d_q[:, :, rows] = (d_scores @ k) * ctx.scale
            d_k += (d_scores.transpose(-1, -2) @ q[:, :, rows]) * ctx.scale
        return d_q.to(query.dtype), d_k.to(key.dtype), d_v.to(value.dtype), None, None


def _future(first_row: int, rows: int, keys: int, device: torch.device) -> torch.Tensor:
    """Causal mask for query rows first_row.. of a square (queries == keys) attention: True = masked."""
    row = torch.arange(first_row, first_row + rows, device=device)[:, None]
    return torch.arange(keys, device=device)[None, :] > row


def math_attention_with_lse(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, causal: bool,
                            scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    scores = (query.float() @ key.float().transpose(-1, -2)) * scale
    if causal:
        length, keys = scores.shape[-2:]
        future = torch.ones(length, keys, dtype=torch.bool, device=scores.device).triu(keys - length + 1)
        scores = scores.masked_fill(future, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    return (torch.softmax(scores, dim=-1) @ value.float()).to(query.dtype), lse


def fold_groups(query: torch.Tensor, kv_heads: int) -> torch.Tensor:
    """[B, Hq, L, D] -> [1, Hkv, B * G * L, D]: the batch and each KV group's query heads become query rows."""
    batch, heads, length, dim = query.shape
    groups = heads // kv_heads
    return query.reshape(batch, kv_heads, groups, length, dim).permute(1, 0, 2, 3, 4).reshape(1, kv_heads, -1, dim)


def unfold_groups(folded: torch.Tensor, batch: int, heads: int, length: int) -> torch.Tensor:
    """The inverse of :func:`fold_groups` for outputs [1, Hkv, B*G*L, D] or log-sum-exps [1, Hkv, B*G*L]."""
    kv_heads = folded.shape[1]
    tail = folded.shape[3:]
    grouped = folded.reshape(kv_heads, batch, heads // kv_heads, length, *tail)
    return grouped.permute(1, 0, 2, 3, *range(4, 4 + len(tail))).reshape(batch, heads, length, *tail)


def repeat_kv(states: torch.Tensor, groups: int) -> torch.Tensor:
    return states if groups == 1 else states.repeat_interleave(groups, dim=1)


def merge(out_prompt: torch.Tensor, lse_prompt: torch.Tensor, out_self: torch.Tensor,
          lse_self: torch.Tensor) -> torch.Tensor:
    total = torch.logaddexp(lse_prompt, lse_self)
    weight_prompt = torch.exp(lse_prompt - total).unsqueeze(-1)
    weight_self = torch.exp(lse_self - total).unsqueeze(-1)
    return weight_prompt * out_prompt.float() + weight_self * out_self.float()


def shared_prefix_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                            attention_mask: Any, scaling: float | None = None, dropout: float = 0.0,
                            prompt_kv: PromptKV | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' attention-function signature; ``prompt_kv`` arrives through the model's kwargs."""
    if prompt_kv is None:
        raise ValueError(f"{ATTENTION_NAME} attention needs prompt_kv (use forward_with_prompt)")
    batch, heads, length, dim = query.shape
    scale = scaling if scaling is not None else dim ** -0.5
    prompt_keys, prompt_values = prompt_kv.layers[module.layer_idx]
    kv_heads = prompt_keys.shape[1]
    out_p, lse_p = attention_with_lse(fold_groups(query, kv_heads), prompt_keys.to(query.dtype),
                                      prompt_values.to(query.dtype), causal=False, scale=scale)
    out_p, lse_p = unfold_groups(out_p, batch, heads, length), unfold_groups(lse_p, batch, heads, length)
    groups = heads // key.shape[1]
    out_s, lse_s = attention_with_lse(query, repeat_kv(key, groups), repeat_kv(value, groups), causal=True, scale=scale)
    out = merge(out_p, lse_p, out_s, lse_s).to(query.dtype)
    return out.transpose(1, 2).contiguous(), None


def no_mask(*args: Any, **kwargs: Any) -> None:
    """The attention function masks causally itself; right padding needs nothing more."""
    return None


_registered: set[str] = set()


def register_self_masking(name: str, function: Any) -> None:
    """Register, once per process, an attention function that masks causally itself under ``name``, with
    no mask builder for it (transformers' attention and mask interfaces)."""
    if name in _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(name, function)
    AttentionMaskInterface.register(name, no_mask)
    _registered.add(name)


def register() -> None:
    register_self_masking(ATTENTION_NAME, shared_prefix_attention)


@contextmanager
def attention_implementation(body: Any, name: str) -> Iterator[None]:
    """Switch every layer of ``body`` to attention ``name`` for the duration (the config is shared)."""
    config = body.config
    previous = config._attn_implementation
    config._attn_implementation = name
    try:
        yield
    finally:
        config._attn_implementation = previous


def prompt_kv(model: Any, prefix_ids: torch.Tensor, grad: bool) -> PromptKV:
    """Run the prompt once (batch 1) with the model's own attention; differentiable with ``grad``."""
    current = model.body.config._attn_implementation
    own = "sdpa" if current == ATTENTION_NAME else current  # a body a graphed scorer already switched
    with torch.set_grad_enabled(grad), attention_implementation(model.body, own):
        out = model.body(input_ids=prefix_ids, attention_mask=torch.ones_like(prefix_ids), use_cache=True)
    return PromptKV.from_cache(out.past_key_values)


def forward_with_prompt(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                        prompt: PromptKV) -> torch.Tensor:
    """Scores for right-padded article ids attending to ``prompt``; positions continue after the prompt."""
    register()
    with attention_implementation(model.body, ATTENTION_NAME):
        return article_forward(model, input_ids, attention_mask, prompt)


def article_forward(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, prompt: PromptKV) -> torch.Tensor:
    """The article forward itself, for a body already switched to this attention (e.g. one that is
    compiled or captured as a graph and must not switch on every call)."""
    positions = prompt.length + (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    hidden = model.body(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions,
                        use_cache=False, prompt_kv=prompt).last_hidden_state
    head_dtype = next(model.head.parameters()).dtype
    return model.head(model.pooling(hidden.to(head_dtype), attention_mask))
