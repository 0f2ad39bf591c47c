"""Decoder attention for ONNX export: one fused ONNX Runtime ``GroupQueryAttention`` node per layer
(``com.microsoft`` domain: causal, grouped KV heads without repeating them, no [seq x seq] mask or
softmax tensors in the graph), or the same computation in plain ONNX ops.

Both plug into transformers through ``AttentionInterface`` for the duration of an export (the body's
config is switched, as ``student.prefix_attention`` does for torch) and both take an optional prompt
KV cache (``prompt_kv``: per layer a key and a value [1, kv_heads, prompt, head_dim], positional
encoding applied) that every article of the batch attends to in full. The cache input keeps batch 1,
so one bound copy serves every batch size: the plain attention expands it inside the graph, the fused
one runs a Scan over the batch's rows that each read it (see ``scan_rows``).

Masking contract: inputs are right-padded. Attention is causal only, so a real token never sees a pad
(pads come after it); pad positions compute garbage that pooling never reads. Left padding is not
supported by these graphs (the runtime always pads right).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

FUSED = "filterforge_onnx_gqa"  # com.microsoft::GroupQueryAttention
PLAIN = "filterforge_onnx_plain"  # MatMul / Softmax, grouped heads folded into the query rows
KINDS = {"fused": FUSED, "plain": PLAIN}
# Decoder families whose attention layers call transformers' attention functions with exactly
# (query, key, value) after rotary embeddings and nothing the two functions here would ignore.
SUPPORTED_MODEL_TYPES = {"llama", "qwen2", "qwen3", "mistral"}
FUSED_OP = "GroupQueryAttention"
CAUSAL_CHUNKS = 4
# ONNX Runtime's CPU GroupQueryAttention takes a past cache only for one sequence at a time ("batch_size must
# be 1 when sequence_length > 1 and past context is given"): with a prompt cache the export emits this
# placeholder, which `scan_rows` turns into a Scan over the batch's rows, each one GroupQueryAttention of
# batch 1 reading the one (un-expanded) prompt cache.
ROW_DOMAIN, ROW_OP = "filterforge.export", "PromptGroupQueryAttention"
_op_class: Any = None


def supports(student: Any) -> bool:
    """A decoder whose layers can take these attention functions (no sliding window, no soft-capping)."""
    config = student.body.config
    if not student.is_decoder or getattr(config, "model_type", "") not in SUPPORTED_MODEL_TYPES:
        return False
    if not getattr(student.body, "_supports_attention_backend", False):
        return False
    sliding = getattr(config, "use_sliding_window", False) or (
        getattr(config, "model_type", "") == "mistral" and getattr(config, "sliding_window", None))
    return not sliding and not getattr(config, "attn_logit_softcapping", None)


def _gqa_op() -> Any:
    """torch.autograd.Function whose ONNX symbolic is one GroupQueryAttention node (built on first use,
    so that importing this module does not import torch)."""
    global _op_class
    if _op_class is not None:
        return _op_class
    import torch

    class GroupQueryAttentionOp(torch.autograd.Function):
        """q [B, S, H*D], k/v [B, S, KV*D], past k/v [B or 1, KV, P, D] -> [B, S, H*D]; causal with the
        past in front. ``forward`` computes the same in torch (what the tracer runs); ``per_row`` emits
        the placeholder that `scan_rows` turns into one batch-1 node per row."""

        @staticmethod
        def forward(ctx: Any, query: Any, key: Any, value: Any, past_key: Any, past_value: Any,
                    heads: int, kv_heads: int, scale: float, per_row: bool) -> Any:
            batch, length, _ = query.shape
            dim = query.shape[-1] // heads
            past_key, past_value = past_key.expand(batch, -1, -1, -1), past_value.expand(batch, -1, -1, -1)
            q = query.view(batch, length, heads, dim).transpose(1, 2)
            k = torch.cat([past_key, key.view(batch, length, kv_heads, dim).transpose(1, 2)], 2)
            v = torch.cat([past_value, value.view(batch, length, kv_heads, dim).transpose(1, 2)], 2)
            groups = heads // kv_heads
            k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
            allowed = torch.ones(length, k.shape[2], dtype=torch.bool, device=q.device).tril(past_key.shape[2])
            out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=scale)
            return out.transpose(1, 2).reshape(batch, length, heads * dim)

        @staticmethod
        def symbolic(g: Any, query: Any, key: Any, value: Any, past_key: Any, past_value: Any,
                     heads: int, kv_heads: int, scale: float, per_row: bool) -> Any:
            def const(value: Any, dtype: Any = torch.int64) -> Any:
                return g.op("Constant", value_t=torch.tensor(value, dtype=dtype))

            shape = g.op("Shape", query)
            batch = g.op("Gather", shape, const([0]), axis_i=0)
            length = g.op("Gather", shape, const(1), axis_i=0)
            past = g.op("Gather", g.op("Shape", past_key), const(2), axis_i=0)
            total = g.op("Cast", g.op("Add", length, past), to_i=6)  # int32 scalar: past + current
            # Every row counts as full length: right padding needs no per-row lengths (see module doc).
            seqlens_k = g.op("Expand", g.op("Sub", total, const(1, torch.int32)), const([1]) if per_row else batch)
            if per_row:
                out = g.op(f"{ROW_DOMAIN}::{ROW_OP}", query, key, value, past_key, past_value, seqlens_k, total,
                           num_heads_i=heads, kv_num_heads_i=kv_heads, scale_f=scale)
            else:
                out = g.op(f"com.microsoft::{FUSED_OP}", query, key, value, past_key, past_value, seqlens_k, total,
                           num_heads_i=heads, kv_num_heads_i=kv_heads, scale_f=scale, outputs=3)[0]
            out.setType(query.type())  # [B, S, H*D] like the query: the exporter cannot infer a contrib op's type
            return out

    _op_class = GroupQueryAttentionOp
    return _op_class


def _prompt_past(module: Any, key: Any, prompt_kv: Any, expand: bool = True) -> tuple[Any, Any]:
    """The layer's prompt keys/values (expanded to the batch unless ``expand`` is false), or empty
    [B, KV, 0, D] without a prompt."""
    if prompt_kv is None:
        empty = key[:, :, :0]
        return empty, empty
    past_key, past_value = prompt_kv[module.layer_idx]
    if not expand:
        return past_key, past_value
    batch = key.shape[0]
    return past_key.expand(batch, -1, -1, -1), past_value.expand(batch, -1, -1, -1)


def _check_layer(kwargs: dict[str, Any], dropout: float) -> None:
    unsupported = [k for k in ("sliding_window", "softcap", "s_aux") if kwargs.get(k) is not None]
    if unsupported or dropout:
        raise ValueError(f"ONNX export attention does not support {', '.join(unsupported) or 'dropout'}")


def fused_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, scaling: float | None = None,
                    dropout: float = 0.0, prompt_kv: Any = None, **kwargs: Any) -> tuple[Any, None]:
    """transformers' attention-function signature: query [B, H, S, D], key/value [B, KV, S, D]."""
    _check_layer(kwargs, dropout)
    heads, kv_heads = int(module.config.num_attention_heads), int(module.config.num_key_value_heads)
    dim = query.shape[-1]
    past_key, past_value = _prompt_past(module, key, prompt_kv, expand=False)
    scale = float(scaling if scaling is not None else dim ** -0.5)
    out = _gqa_op().apply(query.transpose(1, 2).flatten(2), key.transpose(1, 2).flatten(2),
                          value.transpose(1, 2).flatten(2), past_key, past_value, heads, kv_heads, scale,
                          prompt_kv is not None)
    return out.unflatten(2, (heads, dim)), None


def plain_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, scaling: float | None = None,
                    dropout: float = 0.0, prompt_kv: Any = None, **kwargs: Any) -> tuple[Any, None]:
    """The same attention in MatMul/Softmax. Each KV head's query heads are folded into its query rows, so
    neither the prompt's KV nor the article's is repeated per query head; the query rows are cut into
    ``CAUSAL_CHUNKS`` parts that each read only the keys they may see (the causal upper triangle is
    mostly never computed: 10/16 of the [S x S] work with four parts)."""
    import torch

    _check_layer(kwargs, dropout)
    heads, kv_heads = int(module.config.num_attention_heads), int(module.config.num_key_value_heads)
    groups = heads // kv_heads
    batch, length, dim = query.shape[0], query.shape[2], query.shape[3]
    past_key, past_value = _prompt_past(module, key, prompt_kv)
    past = past_key.shape[2]
    keys, values = torch.cat([past_key, key], 2), torch.cat([past_value, value], 2)
    scale = float(scaling if scaling is not None else dim ** -0.5)
    outputs = []
    for part in range(CAUSAL_CHUNKS):  # sizes follow the traced length: the graph stays dynamic
        low, high = length * part // CAUSAL_CHUNKS, length * (part + 1) // CAUSAL_CHUNKS
        # [B, H, rows, D] -> [B, KV, G*rows, D]; explicit sizes keep the traced lengths dynamic
        folded = query[:, :, low:high].reshape(batch, kv_heads, groups * (high - low), dim)
        scores = torch.matmul(folded, keys[:, :, : past + high].transpose(-1, -2)) * scale
        position = torch.arange(low, high, device=query.device).repeat(groups)  # each folded row's position
        future = torch.arange(past + high, device=query.device)[None, :] > position[:, None] + past
        scores = scores.masked_fill(future, torch.finfo(scores.dtype).min)
        out = torch.matmul(torch.softmax(scores, dim=-1), values[:, :, : past + high])  # [B, KV, G*rows, D]
        outputs.append(out.reshape(batch, heads, high - low, dim))
    return torch.cat(outputs, 2).transpose(1, 2), None


def register() -> None:
    from filterforge.student.prefix_attention import register_self_masking

    register_self_masking(FUSED, fused_attention)  # causal inside the attention; right padding needs no mask
    register_self_masking(PLAIN, plain_attention)


@contextmanager
def export_attention(student: Any, kind: str) -> Iterator[str]:
    """Switch the body to the ``kind`` ("fused" or "plain") attention for the duration of an export;
    yields ``kind``, what the export records as its ``traced_attention``."""
    from filterforge.student.prefix_attention import attention_implementation

    register()
    with attention_implementation(student.body, KINDS[kind]):
        yield kind


def scan_rows(model: Any) -> int:
    """Replace each placeholder node (``ROW_OP``) of an exported graph by a Scan over the batch's rows whose
    body is one GroupQueryAttention of batch 1 (query/key/value rows unsqueezed; the prompt's past, its
    sequence lengths and total length read from the outer graph). Returns the nodes replaced."""
    import onnx
    from onnx import TensorProto, helper

    graph = model.graph
    nodes, replaced = [], 0
    for node in graph.node:
        if node.domain != ROW_DOMAIN:
            nodes.append(node)
            continue
        query, key, value, past_key, past_value, seqlens_k, total = node.input
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        tag = f"{node.name or node.output[0]}/row".replace(":", "_")
        rows = [f"{tag}/{part}" for part in ("query", "key", "value")]
        body_nodes = [helper.make_node("Constant", [], [f"{tag}/axes"],
                                       value=helper.make_tensor(f"{tag}/axes_value", TensorProto.INT64, [1], [0]))]
        body_nodes += [helper.make_node("Unsqueeze", [row, f"{tag}/axes"], [f"{row}_1"]) for row in rows]
        body_nodes.append(helper.make_node(FUSED_OP, [f"{row}_1" for row in rows] + [past_key, past_value, seqlens_k, total],
                                           [f"{tag}/out_1", f"{tag}/present_key", f"{tag}/present_value"],
                                           domain="com.microsoft", **attributes))
        body_nodes.append(helper.make_node("Squeeze", [f"{tag}/out_1", f"{tag}/axes"], [f"{tag}/out"]))
        body = helper.make_graph(body_nodes, f"{tag}/body",
                                 [helper.make_tensor_value_info(row, TensorProto.FLOAT, None) for row in rows],
                                 [helper.make_tensor_value_info(f"{tag}/out", TensorProto.FLOAT, None)])
        nodes.append(helper.make_node("Scan", [query, key, value], list(node.output), name=f"{tag}/scan",
                                      num_scan_inputs=3, body=body))
        replaced += 1
    del graph.node[:]
    graph.node.extend(nodes)
    imports = [o for o in model.opset_import if o.domain != ROW_DOMAIN]
    del model.opset_import[:]
    model.opset_import.extend(imports)
    if not any(o.domain == "com.microsoft" for o in imports):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    return replaced
