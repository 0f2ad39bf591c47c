"""The graph of a shared-prompt (instruction) decoder student: articles in, the prompt's KV cache as inputs.

Inputs (the layout of Optimum's decoder-with-past exports, batch 1 for the cache):

- ``input_ids`` int64 [batch, sequence]: the article part only (what follows the prompt), right-padded;
- ``attention_mask`` int64 [batch, past + sequence]: ones over the prompt, then the article's mask;
- ``past_key_values.{i}.key`` / ``.value`` float32 [1, kv_heads, past, head_dim]: the prompt's cache,
  positional encoding applied, expanded to the batch inside the graph (one bound copy serves every
  batch size).

Output ``scores`` [batch, n_dims], raw. Position ids start after the prompt (from the mask, as torch's
cached path computes them); pooling reads the article's own mask, exactly as ``StudentModel`` does with
a cached prompt. No ``present`` outputs: the cache is never extended. The cache itself is computed once
by torch at export and stored beside the graph (``export.decoder_export``, ``runtime.prompt_cache``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filterforge.export.decoder_attention import export_attention
from filterforge.runtime.prompt_cache import input_names


def prompt_graph_module(student: Any) -> Any:
    """(input_ids, attention_mask, *past keys/values) -> scores, with the body's attention switched by the caller."""
    import torch

    class PromptCacheGraph(torch.nn.Module):
        def __init__(self, student: Any):
            super().__init__()
            self.student = student
            self.config = student.body.config

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, *past: torch.Tensor) -> torch.Tensor:
            article_mask = attention_mask[:, -input_ids.shape[1]:]
            positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, -input_ids.shape[1]:]
            prompt_kv = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
            hidden = self.student.body(input_ids=input_ids, attention_mask=article_mask, position_ids=positions,
                                       use_cache=False, prompt_kv=prompt_kv).last_hidden_state
            return self.student.head(self.student.pooling(hidden, article_mask))

    return PromptCacheGraph(student).eval()


def export_prompt_graph(student: Any, path: Path, opset: int, cache: list[Any], attention: str) -> dict[str, Any]:
    """torch.onnx (TorchScript) export of the prompt-cache graph; ``attention``: "fused" or "plain"."""
    import warnings

    import torch

    module = prompt_graph_module(student)
    layers = len(cache) // 2
    # Trace with two articles of different lengths (right padding) and a short stand-in prompt: every
    # axis except the cache's batch stays dynamic, so the real prompt's length is not baked in.
    past = tuple(torch.from_numpy(t[:, :, :3]).clone() for t in cache)
    ids = torch.full((2, 8), 5, dtype=torch.long)
    mask = torch.ones((2, 3 + 8), dtype=torch.long)
    mask[1, 3 + 5:] = 0
    names = input_names(layers)
    axes: dict[str, dict[int, str]] = {"input_ids": {0: "batch_size", 1: "sequence_length"},
                                       "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
                                       "scores": {0: "batch_size"}}
    axes.update({name: {2: "past_sequence_length"} for name in names})
    with warnings.catch_warnings(), export_attention(student, attention) as implementation, torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about constants: the parity check is the real test
        torch.onnx.export(module, (ids, mask, *past), str(path), input_names=["input_ids", "attention_mask", *names],
                          output_names=["scores"], opset_version=opset, do_constant_folding=True, dynamo=False,
                          dynamic_axes=axes)
    if attention == "fused":  # one GroupQueryAttention of batch 1 per row (see decoder_attention.scan_rows)
        import onnx

        from filterforge.export.decoder_attention import scan_rows
        from filterforge.export.graph import consolidate_graph, save_graph

        consolidate_graph(path)
        model = onnx.load(str(path))
        scan_rows(model)
        save_graph(model, path)
    return {"opset": opset, "exporter": "torch.onnx", "traced_attention": implementation,
            "exporter_detail": "torch.onnx.export(dynamo=False) of a wrapper that takes the prompt's KV cache as inputs"}
