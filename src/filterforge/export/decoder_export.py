"""Decoder students in the export job: the attention their graph is traced with, tried best first until
one passes parity, and for shared-prompt students the prompt's KV cache the graph takes as inputs.

A shared-prompt (instruction) decoder is exported as the prompt-cache graph (``export.prompt_graph``):
the prompt's cache is computed once here by torch, stored beside the graph with the hash of its prompt
tokens, and the parity check compares the graph with torch's cached path (what the torch runtime runs).
Other decoders keep the one-graph layout of every student, with fused attention where supported.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from filterforge.errors import FilterforgeError

logger = logging.getLogger("filterforge.export.export")
ATTENTIONS = ("auto", "fused", "eager")


def uses_prompt_cache(student: Any, strategy: Any, wanted: bool) -> bool:
    """The prompt-cache graph: a decoder whose strategy shares its prompt (unless switched off)."""
    return bool(wanted and student.is_decoder and getattr(strategy, "shares_prefix", False))


def prepare_prompt_cache(student: Any, strategy: Any, folder: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Run the prompt once and store its cache in ``folder``; returns (torch cache for the parity reference,
    graph input name -> array for ONNX Runtime, the record of the stored cache)."""
    import torch

    from filterforge.runs import layout
    from filterforge.runtime.prompt_cache import input_names, save_prompt_cache
    from filterforge.student.prefix_attention import PromptKV
    from filterforge.student.shared_prefix import prompt_cache

    prompt_ids = list(strategy.frame()[0])
    with torch.inference_mode():
        cache = prompt_cache(student, torch.tensor([prompt_ids], dtype=torch.long), grad=False)
    tensors = [t.float().contiguous().numpy() for layer in PromptKV.from_cache(cache).layers for t in layer]
    record = save_prompt_cache(folder / layout.PROMPT_CACHE, tensors, prompt_ids)
    return cache, dict(zip(input_names(len(tensors) // 2), tensors)), record


def attention_attempts(student: Any, attention: str, cached: bool) -> list[str]:
    """What to trace the decoder's attention with, in order. The prompt-cache graph's fallback is the same
    attention in plain ops ("plain"); the full-sequence graph's is transformers' eager attention."""
    from filterforge.export.graph import decoder_attentions

    if attention not in ATTENTIONS:
        raise FilterforgeError(f"unknown attention '{attention}' (known: {', '.join(ATTENTIONS)})")
    attempts = decoder_attentions(student) if attention == "auto" else [attention]
    if cached:  # the prompt-cache graph's eager attention is the plain-op one (grouped heads folded, no repeated KV)
        attempts = ["plain" if kind == "eager" else kind for kind in attempts]
    return attempts


def export_decoder(job: Any, graph: Path, parity_of: Callable[[Path], dict[str, Any]],
                   onnx_cache: dict[str, Any] | None, attention: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Export with each attention in turn; the first whose graph passes parity is kept (the last one is
    returned even when it fails, for the caller's parity error). Returns (record, parity)."""
    from filterforge.export.graph import consolidate_graph, export_graph, remove_graph
    from filterforge.export.prompt_graph import export_prompt_graph

    s = job.settings
    attempts = attention_attempts(job.student, attention, onnx_cache is not None)
    rejected: dict[str, str] = {}
    record: dict[str, Any] = {}
    parity: dict[str, Any] = {}
    storage = None
    for number, kind in enumerate(attempts, 1):
        last = number == len(attempts)
        try:
            if onnx_cache is not None:
                record = export_prompt_graph(job.student, graph, s.opset, list(onnx_cache.values()), kind)
            else:
                record = export_graph(job.student, graph, s.opset, s.exporter, kind)
            storage = consolidate_graph(graph)
            parity = parity_of(graph)
        except Exception as exc:  # an exporter or ONNX Runtime that cannot handle this attention: try the next
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            if last:
                if isinstance(exc, FilterforgeError):
                    raise
                raise FilterforgeError(f"the decoder's graph ({kind} attention) failed: {reason}") from None
            rejected[kind] = reason
            remove_graph(graph)
            continue
        if parity["passed"] or last:
            break
        rejected[kind] = f"parity: max |ONNX - torch| {parity['max_abs_diff']:.3g}"
        remove_graph(graph)
    if storage:
        record["graph_storage"] = storage
    if rejected:
        record["rejected_attention"] = rejected
        logger.info(f"  attention tried and not kept: {'; '.join(f'{k}: {v}' for k, v in rejected.items())}")
    return record, parity
