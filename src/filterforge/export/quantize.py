"""Quantized graphs: dynamic int8 for weight MatMuls (and fused attention), or fp16."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

QUANTIZATIONS = ("none", "int8", "fp16")
# How --quantize int8 quantizes, picked by benchmarks/int8_options.py on an AVX512-VNNI/AMX CPU (MiniLM, batch 1,
# 2 threads): dynamic quantization beat static (QDQ and QOperator, calibrated on the run's val articles) on
# speed and on accuracy; per channel is as fast as per tensor and closer to fp32; reduce_range (7-bit weights,
# for CPUs without VNNI) is not needed here; quantizing the graph after ONNX Runtime's transformer fusions
# (fused attention -> QAttention) was at least as fast as before them. ORT's CPU EP has no bf16 MatMul kernel.
INT8_METHOD = {"quantization": "dynamic", "format": "QOperator", "weight_type": "int8", "activation_type": "uint8",
               "per_channel": True, "reduce_range": False, "calibration": None,
               "chosen_by": "benchmarks/int8_options.py (results/int8_options.json)"}


def quantize_graph(source: Path, target: Path, mode: str, keep_fp32: Sequence[str] = ()) -> dict[str, Any]:
    """int8: dynamic quantization of the transformer's weight MatMuls (QInt8, per channel); the embeddings
    (Gather), the regression head and nodes whose names contain a `keep_fp32` pattern stay fp32.
    fp16: every weight and activation in fp16, inputs/outputs unchanged."""
    import logging

    import onnx

    from filterforge.export.graph import consolidate_graph, external_data_name, save_graph

    model = onnx.load(str(source))
    large = (source.parent / external_data_name(source)).exists()  # a > 2 GB graph keeps its weights beside it
    if mode == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        kept = [node.name for node in model.graph.node
                if "/head/" in node.name or any(pattern in node.name for pattern in keep_fp32)]
        kept += [f"{name}_MatMul" for name in kept]  # the quantizer splits a Gemm into <name>_MatMul + Add
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint that does not apply here
        fused_attention = any(node.op_type in ("Attention", "GroupQueryAttention") for node in model.graph.node)
        try:
            quantize_dynamic(str(source), str(target), op_types_to_quantize=["MatMul", "Attention"],
                             per_channel=INT8_METHOD["per_channel"], reduce_range=INT8_METHOD["reduce_range"],
                             weight_type=QuantType.QInt8, nodes_to_exclude=kept, use_external_data_format=large,
                             extra_options={"MatMulConstBOnly": True,
                                            # fused contrib ops carry no type the quantizer can infer
                                            **({"DefaultTensorType": onnx.TensorProto.FLOAT} if fused_attention else {})})
        finally:
            root.setLevel(level)
        consolidate_graph(target)
        return {"mode": "int8", "method": "onnxruntime dynamic quantization (weight MatMuls and fused attention, "
                                          "QInt8 per channel, uint8 activations)",
                **INT8_METHOD, "quantized_after_attention_fusion": fused_attention,
                "kept_fp32": ["embeddings (Gather)", "regression head", *(f"nodes matching '{p}'" for p in keep_fp32)],
                "keep_fp32_patterns": list(keep_fp32), "excluded_nodes": len(kept) // 2}
    from onnxruntime.transformers.float16 import convert_float_to_float16

    converted = convert_float_to_float16(model, keep_io_types=True)
    save_graph(converted, target)
    return {"mode": "fp16", "method": "onnxruntime.transformers.float16 (inputs/outputs kept in their types)"}


