"""The student (body + pooling + head) as one ONNX graph: Optimum's exporter with a custom config, or
torch.onnx when Optimum cannot; ONNX Runtime's transformer fusions for encoders, fused attention nodes
for decoders (``export.decoder_attention``).

The graph has inputs ``input_ids``/``attention_mask`` [batch, sequence] and one output ``scores``
[batch, n_dims]: raw scores, before the clamp to each dimension's scale and the calibration (both
applied after the graph, as for torch). A shared-prompt decoder's graph also takes the prompt's KV
cache (``export.prompt_graph``).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from filterforge.errors import FilterforgeError

DEFAULT_OPSET = 18


def graph_module(student: Any) -> Any:
    """The student as a module with exactly the graph's signature: (input_ids, attention_mask) -> scores."""
    import torch

    class ScoresGraph(torch.nn.Module):
        def __init__(self, student: Any):
            super().__init__()
            self.student = student
            self.config = student.body.config  # the exporters read the transformer's config from here

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.student(input_ids, attention_mask)

    return ScoresGraph(student).eval()


def _optimum_config(model_config: Any) -> Any:
    from optimum.exporters.onnx.config import TextEncoderOnnxConfig
    from optimum.utils import NormalizedTextConfig

    class StudentOnnxConfig(TextEncoderOnnxConfig):
        """Optimum's text-encoder export with our output: `scores` [batch, n_dims] instead of logits."""

        NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
        DEFAULT_ONNX_OPSET = DEFAULT_OPSET

        @property
        def inputs(self) -> dict[str, dict[int, str]]:
            axes = {0: "batch_size", 1: "sequence_length"}
            return {"input_ids": dict(axes), "attention_mask": dict(axes)}

        @property
        def outputs(self) -> dict[str, dict[int, str]]:
            return {"scores": {0: "batch_size"}}

    return StudentOnnxConfig(model_config, task="feature-extraction")


def export_with_optimum(student: Any, path: Path, opset: int) -> None:
    from optimum.exporters.onnx.convert import export_pytorch

    module = graph_module(student)
    export_pytorch(module, _optimum_config(module.config), opset, path)


@contextmanager
def _vmap_free_masks() -> Iterator[None]:
    """transformers builds decoder masks with vmap, which the TorchScript exporter cannot trace
    (`unordered_map::at`); swap in Optimum's vectorized masks for the duration of the export."""
    try:
        from optimum.exporters.onnx.model_patcher import eager_mask_without_vmap, sdpa_mask_without_vmap
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask, sdpa_mask
    except ImportError:
        yield
        return
    ALL_MASK_ATTENTION_FUNCTIONS.register("sdpa", sdpa_mask_without_vmap)
    ALL_MASK_ATTENTION_FUNCTIONS.register("eager", eager_mask_without_vmap)
    try:
        yield
    finally:
        ALL_MASK_ATTENTION_FUNCTIONS.register("sdpa", sdpa_mask)
        ALL_MASK_ATTENTION_FUNCTIONS.register("eager", eager_mask)


def export_with_torch(student: Any, path: Path, opset: int) -> None:
    import torch

    module = graph_module(student)
    # Trace with padding in one row so the mask path is in the graph; axes stay dynamic.
    ids = torch.full((2, 16), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 11:] = 0
    axes = {0: "batch_size", 1: "sequence_length"}
    with _vmap_free_masks(), torch.no_grad():
        torch.onnx.export(module, (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["scores"], opset_version=opset, do_constant_folding=True, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "scores": {0: "batch_size"}})


@contextmanager
def _eager_attention(student: Any) -> Iterator[str]:
    """Trace decoders with eager attention (the fallback when fused attention is not supported or fails
    parity): exported SDPA adds an IsNaN/Where pass over every layer's [seq x seq] scores, which made
    ONNX Runtime ~14 % slower at 512 tokens (SmolLM2) than eager. Torch keeps its own attention."""
    body = student.body
    original = getattr(body.config, "_attn_implementation", None)
    if not student.is_decoder or original in (None, "eager") or not hasattr(body, "set_attn_implementation"):
        yield str(original)
        return
    try:
        body.set_attn_implementation("eager")
    except Exception:  # an architecture without eager attention: export what it has
        yield str(original)
        return
    try:
        yield "eager"
    finally:
        body.set_attn_implementation(original)


def decoder_attentions(student: Any) -> list[str]:
    """The attentions to try for a decoder, best first: "fused" (one GroupQueryAttention node per layer:
    no [seq x seq] mask, softmax or repeated KV heads in the graph), then "eager"."""
    from filterforge.export.decoder_attention import supports

    return (["fused"] if supports(student) else []) + ["eager"]


@contextmanager
def _attention(student: Any, attention: str) -> Iterator[str]:
    if attention in ("fused", "plain") and student.is_decoder:
        from filterforge.export.decoder_attention import export_attention

        with export_attention(student, attention) as name:
            yield name
        return
    with _eager_attention(student) as name:
        yield name


def export_graph(student: Any, path: Path, opset: int, exporter: str, attention: str = "eager") -> dict[str, Any]:
    """Optimum first; torch.onnx only when Optimum cannot export (or when asked). ``attention`` (decoders):
    "fused" or "eager" (see `decoder_attentions`). Returns what was used."""
    import warnings

    with warnings.catch_warnings(), _attention(student, attention) as traced:
        warnings.simplefilter("ignore")  # tracer warnings about constants: the parity check is the real test
        return {**_export_graph(student, path, opset, exporter), "traced_attention": traced}


def _export_graph(student: Any, path: Path, opset: int, exporter: str) -> dict[str, Any]:
    record: dict[str, Any] = {"opset": opset}
    if exporter in ("auto", "optimum"):
        try:
            export_with_optimum(student, path, opset)
            return {**record, "exporter": "optimum", "exporter_detail": "optimum.exporters.onnx.export_pytorch with a custom OnnxConfig (output scores)"}
        except Exception as exc:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            if exporter == "optimum":
                raise FilterforgeError(f"Optimum could not export the student ({reason}); try --exporter torch") from None
            record["optimum_failure"] = reason
    try:
        export_with_torch(student, path, opset)
    except Exception as exc:
        raise FilterforgeError(f"torch.onnx could not export the student: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    return {**record, "exporter": "torch.onnx", "exporter_detail": "torch.onnx.export(dynamo=False) with vmap-free masks"}


# Encoders ONNX Runtime's transformer optimizer fuses as "bert": attention, embeddings + LayerNorm,
# bias + GELU (skip + LayerNorm only on request). MiniLM, 2 threads: about as fast as torch at 512 tokens instead of ~5 %
# slower, and its int8 graph ~10 % faster at 256-512 tokens.
FUSABLE_ENCODERS = {"bert", "roberta", "xlm-roberta", "camembert", "electra"}


def fuse_encoder_graph(source: Path, target: Path, model_config: Any, skip_layer_norm: bool = False) -> dict[str, int] | None:
    """The fused graph's operator counts, or None when this model type is not fused. Residual Add +
    LayerNormalization stay two nodes unless `skip_layer_norm`: ORT's CPU SkipLayerNormalization kernel is
    several times slower than the pair (see `runtime.session_options`, `benchmarks/int8_options.py`)."""
    import logging

    if getattr(model_config, "model_type", "") not in FUSABLE_ENCODERS:
        return None
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = skip_layer_norm
    quiet = logging.getLogger("onnxruntime.transformers")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        fused = optimize_model(str(source), model_type="bert", num_heads=model_config.num_attention_heads,
                               hidden_size=model_config.hidden_size, opt_level=0, optimization_options=options)
    finally:
        quiet.setLevel(level)
    counts = {name: count for name, count in fused.get_fused_operator_statistics().items() if count}
    if not counts.get("Attention"):
        return None  # the pattern did not match: keep the plain graph
    fused.save_model_to_file(str(target))
    return counts




# protobuf cannot serialize a graph over 2 GB: larger weights go to one file beside the graph.
EXTERNAL_DATA_BYTES = 1_800_000_000


def external_data_name(graph: Path) -> str:
    return f"{graph.name}.data"


def _external_files(model: Any) -> set[str]:
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    return {entry.value for tensor in _get_all_tensors(model) if uses_external_data(tensor)
            for entry in tensor.external_data if entry.key == "location"}


def save_graph(model: Any, path: Path, threshold: int = EXTERNAL_DATA_BYTES) -> dict[str, Any] | None:
    """Save ``model`` (weights loaded) as one file, or with its weights in ``<name>.data`` when they would
    pass ``threshold`` bytes. Returns the external-data record, or None."""
    import onnx
    from onnx.external_data_helper import _get_all_tensors

    weights = sum(len(t.raw_data) or 4 * max(len(t.float_data), len(t.int64_data)) for t in _get_all_tensors(model))
    if weights <= threshold:
        onnx.save_model(model, str(path))
        return None
    data = path.parent / external_data_name(path)
    data.unlink(missing_ok=True)
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data.name, size_threshold=1024)
    return {"external_data": data.name, "weights_megabytes": round(weights / 2**20, 1)}


def consolidate_graph(path: Path, threshold: int = EXTERNAL_DATA_BYTES) -> dict[str, Any] | None:
    """An exported graph whose exporter spread its weights over files beside it (as torch.onnx does for
    > 2 GB models) rewritten with them in one ``<name>.data`` file; a graph below ``threshold`` untouched."""
    import onnx

    shallow = onnx.load(str(path), load_external_data=False)
    spread = _external_files(shallow)
    if not spread and path.stat().st_size <= threshold:
        return None
    model = onnx.load(str(path))
    record = save_graph(model, path, threshold)
    for name in spread - {external_data_name(path)}:
        (path.parent / name).unlink(missing_ok=True)
    return record


def remove_graph(path: Path) -> None:
    """A graph and its external data file, if any."""
    path.unlink(missing_ok=True)
    (path.parent / external_data_name(path)).unlink(missing_ok=True)
