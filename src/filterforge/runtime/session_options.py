"""ONNX Runtime session settings for exported students (what `benchmarks/int8_options.py` measured).

Every session filterforge opens (export checks, `score`, `bench`, `evaluate`) is built here, so a
setting that wins on CPU is set once. Kept: every graph optimisation (`ORT_ENABLE_ALL`), spinning
worker threads (ONNX Runtime's default), one inter-op thread. Changed: on the CPU execution provider
ONNX Runtime must not fuse Add + LayerNormalization into `SkipLayerNormalization`: its CPU kernel
(fp32) normalises value by value (a division per element, not vectorised) and took ~240 us on a
[128, 384] MiniLM activation where Add + LayerNormalization took ~40 us; with 12 of them per MiniLM
pass, an int8 MiniLM call took ~25 % less time without the fusion (128-256 tokens, preliminary). Encoders are exported without it
(`export.graph.fuse_encoder_graph`); graphs exported before that still carry the fused op and run
as they did.
"""

from __future__ import annotations

from typing import Any

CPU = "CPUExecutionProvider"
# ONNX Runtime graph transformers not run on CPU sessions (names as ORT registers them).
CPU_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)
LEVELS = ("disabled", "basic", "extended", "all")


def session_options(threads: int | None = None, level: str = "all", spinning: bool | None = None) -> Any:
    """An `onnxruntime.SessionOptions`: graph optimisation `level`, `threads` intra-op threads (ORT's
    default when None) and one inter-op thread, intra-op spinning on/off (ORT's default when None)."""
    import onnxruntime as ort

    levels = {"disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    options = ort.SessionOptions()
    options.graph_optimization_level = levels[level]
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if spinning is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    return options


def session_arguments(provider: str) -> dict[str, Any]:
    """Keyword arguments for `onnxruntime.InferenceSession` beyond the options (the CPU-only exclusions)."""
    return {"disabled_optimizers": list(CPU_DISABLED_OPTIMIZERS)} if provider == CPU else {}
