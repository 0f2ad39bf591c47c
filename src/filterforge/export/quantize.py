"""Quantized graphs: dynamic int8 for weight MatMuls (and fused attention), or fp16."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

QUANTIZATIONS = ("none", "int8", "fp16")


def quantize_graph(source: Path, target: Path, mode: str, keep_fp32: Sequence[str] = ()) -> dict[str, Any]:
    """int8: dynamic quantization of the transformer's weight MatMuls (QInt8, per channel); the embeddings
    (Gather), the regression head and nodes whose names contain a `keep_fp32` pattern stay fp32.
    fp16: every weight and activation in fp16, inputs/outputs unchanged."""
    import logging

    import onnx

    model = onnx.load(str(source))
    if mode == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        kept = [node.name for node in model.graph.node
                if "/head/" in node.name or any(pattern in node.name for pattern in keep_fp32)]
        kept += [f"{name}_MatMul" for name in kept]  # the quantizer splits a Gemm into <name>_MatMul + Add
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint that does not apply here
        fused_attention = any(node.op_type == "Attention" for node in model.graph.node)
        try:
            quantize_dynamic(str(source), str(target), op_types_to_quantize=["MatMul", "Attention"], per_channel=True,
                             weight_type=QuantType.QInt8, nodes_to_exclude=kept,
                             extra_options={"MatMulConstBOnly": True,
                                            # fused contrib ops carry no type the quantizer can infer
                                            **({"DefaultTensorType": onnx.TensorProto.FLOAT} if fused_attention else {})})
        finally:
            root.setLevel(level)
        return {"mode": "int8", "method": "onnxruntime dynamic quantization (weight MatMuls and fused attention, "
                                          "QInt8 per channel, uint8 activations)",
                "kept_fp32": ["embeddings (Gather)", "regression head", *(f"nodes matching '{p}'" for p in keep_fp32)],
                "keep_fp32_patterns": list(keep_fp32), "excluded_nodes": len(kept) // 2}
    from onnxruntime.transformers.float16 import convert_float_to_float16

    converted = convert_float_to_float16(model, keep_io_types=True)
    onnx.save(converted, str(target))
    return {"mode": "fp16", "method": "onnxruntime.transformers.float16 (inputs/outputs kept in their types)"}


