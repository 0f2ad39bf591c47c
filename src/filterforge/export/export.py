"""`filterforge export`: the whole student (body + pooling + head) as one ONNX graph, validated.

The graph has inputs ``input_ids``/``attention_mask`` [batch, sequence] and one output ``scores``
[batch, n_dims]: raw scores, before the clamp to 0-10 and the calibration (both applied after the
graph, as for torch). The export is written into a temp folder beside the output and renamed only
when every check passed: ONNX Runtime must agree with torch on real articles of several lengths
(``--atol``), and a quantized graph must not raise the test MAE by more than ``--max-mae-increase``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import click

from filterforge.errors import FilterforgeError

DEFAULT_OPSET = 18
QUANTIZATIONS = ("none", "int8", "fp16")
COPIED_FILES = ("filter.yaml", "prompt.md", "config.json", "head_config.json", "pooling_config.json", "calibration.json")
FULL_PROMPT_NOTE = (
    "The graph reads prompt + article for every article: the instruction prompt's KV cache is not a graph "
    "input, so each article pays for the whole prompt (the torch shared-prefix path computes it once per "
    "process). Expect ONNX to be slower than torch for instruction students with long prompts."
)


# -- the graph ----------------------------------------------------------------------------------

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
    """Trace decoders with eager attention: exported SDPA adds an IsNaN/Where pass over every layer's
    [seq x seq] scores, which made ONNX Runtime ~14 % slower at 512 tokens (SmolLM2). Torch keeps its own."""
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


def export_graph(student: Any, path: Path, opset: int, exporter: str) -> dict[str, Any]:
    """Optimum first; torch.onnx only when Optimum cannot export (or when asked). Returns what was used."""
    import warnings

    with warnings.catch_warnings(), _eager_attention(student) as attention:
        warnings.simplefilter("ignore")  # tracer warnings about constants: the parity check is the real test
        return {**_export_graph(student, path, opset, exporter), "traced_attention": attention}


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
# skip + LayerNorm, bias + GELU. MiniLM, 2 threads: about as fast as torch at 512 tokens instead of ~5 %
# slower, and its int8 graph ~10 % faster at 256-512 tokens.
FUSABLE_ENCODERS = {"bert", "roberta", "xlm-roberta", "camembert", "electra"}


def fuse_encoder_graph(source: Path, target: Path, model_config: Any) -> dict[str, int] | None:
    """The fused graph's operator counts, or None when this model type is not fused."""
    import logging

    if getattr(model_config, "model_type", "") not in FUSABLE_ENCODERS:
        return None
    from onnxruntime.transformers.optimizer import optimize_model

    quiet = logging.getLogger("onnxruntime.transformers")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        fused = optimize_model(str(source), model_type="bert", num_heads=model_config.num_attention_heads,
                               hidden_size=model_config.hidden_size, opt_level=0)
    finally:
        quiet.setLevel(level)
    counts = {name: count for name, count in fused.get_fused_operator_statistics().items() if count}
    if not counts.get("Attention"):
        return None  # the pattern did not match: keep the plain graph
    fused.save_model_to_file(str(target))
    return counts


# -- checks -------------------------------------------------------------------------------------

def pick_parity_inputs(strategy: Any, rows: Sequence[dict], encoded: Sequence[Any], count: int, max_length: int) -> list[Any]:
    """`count` real articles spread over the range of input lengths (shortest and longest included).
    When truncation made them all equally long, one is added again cut to half its article tokens, so
    that the padded batch really mixes lengths."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    if len(order) <= count:
        picks = order
    elif count > 1:
        picks = list(dict.fromkeys(order[round(k * (len(order) - 1) / (count - 1))] for k in range(count)))
    else:
        picks = [order[-1]]
    inputs = [encoded[i] for i in picks]
    if len({len(e.input_ids) for e in inputs}) < 2 and inputs[-1].article_tokens > 1:
        shorter = strategy.fixed_tokens + inputs[-1].article_tokens // 2
        inputs.append(strategy.encode(rows[picks[-1]], min(shorter, max_length)))
    return inputs


def torch_raw_scores(student: Any, inputs: Sequence[Any], pad_id: int) -> Any:
    import numpy as np
    import torch

    from filterforge.runtime.onnx_predictor import pad_batch

    ids, mask = pad_batch([e.input_ids for e in inputs], pad_id)
    with torch.inference_mode():
        return student(torch.from_numpy(ids), torch.from_numpy(mask)).float().numpy().astype(np.float32)


def check_parity(student: Any, predictor: Any, inputs: Sequence[Any], atol: float, perturbation: float = 0.0) -> dict[str, Any]:
    """Raw scores of ONNX Runtime vs torch, one article at a time and together as one padded batch."""
    import numpy as np

    from filterforge.runtime.torch_predictor import pad_token_id
    from filterforge.runtime.onnx_predictor import MAX_BATCH_TOKENS, pad_batch

    pad_id = pad_token_id(predictor.tokenizer)
    worst = 0.0
    # One padded batch (at least two inputs, so padding is checked; long inputs keep it to two).
    longest = max(len(e.input_ids) for e in inputs)
    batch = list(inputs)[: max(2, MAX_BATCH_TOKENS // longest)]
    groups = [[e] for e in inputs] + ([batch] if len(batch) > 1 else [])
    for group in groups:
        reference = torch_raw_scores(student, group, pad_id)
        ids, mask = pad_batch([e.input_ids for e in group], pad_id)
        onnx = predictor.run_batch(ids, mask) + perturbation
        worst = max(worst, float(np.abs(onnx - reference).max()))
    lengths = sorted(len(e.input_ids) for e in inputs)
    return {"max_abs_diff": worst, "atol": atol, "articles": len(inputs), "input_lengths": lengths,
            "batch_sizes": sorted({len(g) for g in groups}), "passed": worst <= atol}


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


# -- the command --------------------------------------------------------------------------------

def default_output(run_dir: Path, quantize: str) -> Path:
    return run_dir / ("onnx" if quantize == "none" else f"onnx-{quantize}")


def _split_rows(data_dir: Path, spec: Any) -> tuple[str, list[dict]]:
    from filterforge.data.splits import load_split

    for split in ("test", "val"):
        rows = load_split(data_dir / f"{split}.jsonl", spec, required=False)
        if rows:
            return split, rows
    raise FilterforgeError(f"{data_dir} has no test.jsonl or val.jsonl with rows; export validates on real articles "
                           "(give the run's splits with --data-dir)")


def _run_metadata(run_dir: Path) -> dict[str, Any]:
    from filterforge.io import read_json

    path = run_dir / "training_metadata.json"
    return read_json(path) if path.exists() else {}


def _data_dir(metadata: dict[str, Any], given: Path | None, run_dir: Path) -> Path:
    if given is not None:
        return given
    recorded = metadata.get("data_dir")
    if not recorded:
        raise FilterforgeError(f"{run_dir}/training_metadata.json names no data_dir; give the run's splits with --data-dir")
    path = Path(recorded)
    if not path.is_dir():
        raise FilterforgeError(f"the run's data dir {path} (from {run_dir}/training_metadata.json) is not here; "
                               "give the run's splits with --data-dir")
    return path


def _mae_line(label: str, metrics: dict[str, Any], tokens_kept: float) -> str:
    return (f"{label} MAE {metrics['mae']:.4f} (mean predictor {metrics['mean_predictor_mae']:.4f}; n={metrics['n']}, "
            f"article tokens kept mean {tokens_kept:.1f})")


def _stage_extras(model_dir: Path, staging: Path, tokenizer: Any) -> None:
    tokenizer.save_pretrained(str(staging))
    for name in COPIED_FILES:
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, staging / name)


def export_run(run_path: Path, output: Path | None, quantize: str, opset: int, exporter: str, atol: float,
               max_mae_increase: float, parity_articles: int, data_dir: Path | None, threads: int | None,
               overwrite: bool, perturbation: float = 0.0, keep_fp32: Sequence[str] = (),
               echo: Any = click.echo) -> dict[str, Any]:
    import torch

    from filterforge.data.splits import data_hash
    from filterforge.filters.spec import load_filter
    from filterforge.runtime.torch_predictor import TorchPredictor, resolve_model_dir
    from filterforge.io import ensure_empty_dir, write_json
    from filterforge.student.model import merge_lora
    from filterforge.runtime.onnx_predictor import GRAPH_FILE, ONNX_FORMAT, OnnxPredictor, create_session
    from filterforge.provenance import provenance
    from filterforge.encoding.strategies import budget_statistics

    started = time.time()
    if keep_fp32 and quantize != "int8":
        raise FilterforgeError("--keep-fp32 applies to --quantize int8 only")
    if threads:
        torch.set_num_threads(threads)
    model_dir = resolve_model_dir(run_path)
    run_dir = model_dir.parent if model_dir.name == "model" else model_dir
    output = Path(output) if output is not None else default_output(run_dir, quantize)
    if output.resolve() in (model_dir.resolve(), run_dir.resolve()):
        raise FilterforgeError(f"--output {output} would overwrite the run; choose a new folder")
    ensure_empty_dir(output, overwrite, "--output")
    metadata = _run_metadata(run_dir)
    spec = load_filter(model_dir)
    data_dir = _data_dir(metadata, data_dir, run_dir)
    split, rows = _split_rows(data_dir, spec)

    torch_predictor = TorchPredictor.from_dir(model_dir, device="cpu")
    merge_lora(torch_predictor.model)
    student = torch_predictor.model.float().eval()
    tokenizer, strategy, info = torch_predictor.tokenizer, torch_predictor.strategy, dict(student.info)
    encoded = [strategy.encode(row, int(info["max_length"])) for row in rows]
    prompt_tokens = strategy.fixed_tokens
    echo(f"export {model_dir} -> {output} (strategy {info['strategy']}, {len(info['dimension_names'])} scores, "
         f"{exporter} exporter, opset {opset}, quantize {quantize})")

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    try:
        fp32_graph = staging / (GRAPH_FILE if quantize == "none" else "model-fp32.onnx")
        export_record = export_graph(student, fp32_graph, opset, exporter)
        picks = pick_parity_inputs(strategy, rows, encoded, parity_articles, int(info["max_length"]))

        def parity_of(graph: Path) -> tuple[Any, dict[str, Any]]:
            predictor = OnnxPredictor(create_session(graph, threads, "CPUExecutionProvider"), tokenizer, strategy,
                                      int(info["max_length"]), info, staging)
            return predictor, {**check_parity(student, predictor, picks, atol, perturbation), "split": split}

        fused_graph = staging / "model-fused.onnx"
        fusions = fuse_encoder_graph(fp32_graph, fused_graph, student.config)
        if fusions is not None:
            fp32, parity = parity_of(fused_graph)
            if parity["passed"]:
                os.replace(fused_graph, fp32_graph)
                export_record["graph_optimization"] = {"onnxruntime.transformers fusions": fusions}
            else:  # a fusion that changes the numbers is not used; the plain graph is checked below
                export_record["graph_optimization"] = {"rejected_fusions_max_abs_diff": parity["max_abs_diff"]}
                fused_graph.unlink()
                fusions = None
        if fusions is None:
            fp32, parity = parity_of(fp32_graph)
        echo(f"  parity on {parity['articles']} {split} inputs ({', '.join(map(str, parity['input_lengths']))} tokens; "
             f"batch {' and '.join(map(str, parity['batch_sizes']))}): max |ONNX - torch| {parity['max_abs_diff']:.2e} "
             f"(--atol {atol:g}) via {export_record['exporter']}{' + ORT fusions' if fusions else ''}")
        if not parity["passed"]:
            raise FilterforgeError(
                f"parity check failed: ONNX Runtime and torch differ by {parity['max_abs_diff']:.3g} > --atol {atol:g} "
                f"on {split} articles of {parity['input_lengths'][0]}-{parity['input_lengths'][-1]} tokens; nothing written to {output}"
            )
        del fp32  # its session's memory arena can hold gigabytes after long inputs
        quantization: dict[str, Any] = {"mode": "none"}
        if quantize != "none":
            quantization = quantize_graph(fp32_graph, staging / GRAPH_FILE, quantize, keep_fp32)
            fp32_graph.unlink()
            quantized = OnnxPredictor(create_session(staging / GRAPH_FILE, threads, "CPUExecutionProvider"), tokenizer,
                                      strategy, int(info["max_length"]), info, staging)
            gate = quantization_gate(torch_predictor, quantized, quantize, encoded, rows, spec, metadata, split,
                                     max_mae_increase, echo)
            quantization["gate"] = gate
            if not gate["passed"]:
                hint = ("; decoders lose int8 accuracy mostly in the MLP down projections (activation outliers): "
                        "try --keep-fp32 down_proj") if student.is_decoder and quantize == "int8" and not keep_fp32 else ""
                raise FilterforgeError(
                    f"{quantize} refused: {split} MAE rises by {gate['mae_increase']:+.4f} "
                    f"({gate['mae_before']:.4f} -> {gate['mae_after']:.4f}) > --max-mae-increase {max_mae_increase:g}; "
                    f"nothing written to {output}{hint}"
                )
        _stage_extras(model_dir, staging, tokenizer)
        budget = budget_statistics(encoded, prompt_tokens)
        record = {
            **info,
            "format": ONNX_FORMAT,
            "graph": GRAPH_FILE,
            "inputs": {"input_ids": "int64 [batch, sequence]", "attention_mask": "int64 [batch, sequence]"},
            "outputs": {"scores": f"float32 [batch, {len(info['dimension_names'])}], raw: clamp to 0-10 (then calibration.json, if any) after the graph"},
            **export_record,
            "quantization": quantization,
            "parity": parity,
            "input_path": "full-sequence",
            "prompt_in_input": bool(getattr(strategy, "shares_prefix", False)),
            "prompt_tokens": prompt_tokens,
            "calibration": (staging / "calibration.json").exists(),
            "source_model_dir": str(model_dir.resolve()),
            "source_run_dir": str(run_dir.resolve()),
            "data_dir": str(data_dir),
            "data_hash": metadata.get("data_hash") or data_hash(data_dir),
            "seed": metadata.get("seed"),
            "train_label_means": metadata.get("train_label_means"),
            "validation_token_budget": budget,
            "export_seconds": round(time.time() - started, 2),
            **provenance(),
        }
        if record["prompt_in_input"]:
            record["input_path_note"] = FULL_PROMPT_NOTE
        write_json(staging / "filterforge.json", record)
        _publish(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size_mb = (output / GRAPH_FILE).stat().st_size / 2**20
    echo(f"wrote {output} ({GRAPH_FILE} {size_mb:.1f} MB, {record['exporter']}, {quantize}) in {time.time() - started:.1f} s")
    if record["prompt_in_input"]:
        echo(f"  note: the graph reads the {prompt_tokens}-token prompt with every article (no shared-prefix cache in ONNX)")
    return record


def quantization_gate(torch_predictor: Any, quantized: Any, mode: str, encoded: Sequence[Any], rows: Sequence[dict], spec: Any,
                      metadata: dict[str, Any], split: str, max_mae_increase: float, echo: Any) -> dict[str, Any]:
    """MAE of the torch student and of the quantized graph on the same split; refuse a rise above the limit."""
    import numpy as np

    from filterforge.evaluation.metrics import regression_metrics

    gold = np.asarray([row["labels"] for row in rows], dtype=np.float64)
    means = metadata.get("train_label_means") or gold.mean(0).tolist()
    from tqdm.auto import tqdm

    with tqdm(total=2 * len(encoded), desc=f"{mode} gate on {split}", unit="article", disable=None, leave=False) as bar:
        before = regression_metrics(torch_predictor.predict_encoded(encoded, progress=bar.update), gold,
                                    spec.dimension_names, means)
        after = regression_metrics(quantized.predict_encoded(encoded, progress=bar.update), gold,
                                   spec.dimension_names, means)
    tokens = float(np.mean([e.article_tokens for e in encoded]))
    echo("  " + _mae_line(f"{split} before (torch fp32)", before, tokens))
    echo("  " + _mae_line(f"{split} after  (ONNX {mode})", after, tokens))
    increase = after["mae"] - before["mae"]
    gate = {"split": split, "n": before["n"], "mae_before": before["mae"], "mae_after": after["mae"],
            "mae_increase": increase, "max_mae_increase": max_mae_increase,
            "mean_predictor_mae": before["mean_predictor_mae"], "article_tokens_kept_mean": round(tokens, 2),
            "per_dimension_mae_before": before["per_dimension_mae"], "per_dimension_mae_after": after["per_dimension_mae"],
            "passed": increase <= max_mae_increase}
    if not metadata.get("train_label_means"):
        gate["mean_predictor_note"] = "no training_metadata.json: the mean predictor uses this split's own means"
    echo(f"  MAE increase {increase:+.4f} (limit {max_mae_increase:g}): {'accepted' if gate['passed'] else 'REFUSED'}")
    return gate


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (a `kill`, a job scheduler) ends the export through `finally`, so its temp folder goes too."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _publish(staging: Path, output: Path) -> None:
    """Rename the finished export into place; an old export (with --overwrite) is removed only afterwards."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp/mkstemp create private files; an export is meant to be shared
    for path in staging.iterdir():
        os.chmod(path, 0o666 & ~umask)
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        os.replace(output, old)
    os.replace(staging, output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@click.command(name="export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Export folder [default: RUN_DIR/onnx, RUN_DIR/onnx-int8, RUN_DIR/onnx-fp16].")
@click.option("--quantize", type=click.Choice(QUANTIZATIONS), default="none", show_default=True,
              help="int8: ONNX Runtime dynamic quantization; fp16: half-precision graph. Both pass the MAE gate.")
@click.option("--opset", type=click.IntRange(min=17), default=DEFAULT_OPSET, show_default=True)
@click.option("--exporter", type=click.Choice(["auto", "optimum", "torch"]), default="auto", show_default=True,
              help="auto: Optimum's exporter, torch.onnx only if Optimum fails.")
@click.option("--atol", type=click.FloatRange(min=0), default=1e-3, show_default=True,
              help="Largest |ONNX - torch| allowed on the fp32 graph's raw scores.")
@click.option("--max-mae-increase", type=float, default=0.05, show_default=True,
              help="Refuse a quantized graph whose test MAE is higher than torch's by more than this.")
@click.option("--keep-fp32", default="", metavar="PATTERNS",
              help="int8: also keep nodes whose names contain one of these comma-separated parts in fp32 "
                   "(e.g. down_proj: the MLP down projections, where decoders lose int8 accuracy).")
@click.option("--parity-articles", type=click.IntRange(min=1), default=4, show_default=True,
              help="Real articles (spread over input lengths) checked one by one and as one padded batch.")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The run's splits [default: the data_dir in RUN_DIR/training_metadata.json].")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch and ONNX Runtime.")
@click.option("--overwrite", is_flag=True, help="Replace an existing export folder (only once the new one passed).")
@click.option("--parity-perturbation", type=float, default=0.0, hidden=True,
              help="Add this to ONNX outputs before the parity check (shows the failure path).")
def command(run_dir: Path, output: Path | None, quantize: str, opset: int, exporter: str, atol: float,
            max_mae_increase: float, keep_fp32: str, parity_articles: int, data_dir: Path | None,
            threads: int | None, overwrite: bool, parity_perturbation: float) -> None:
    """Export RUN_DIR's student to ONNX (one graph, raw scores), check it against torch, optionally quantize."""
    patterns = [part.strip() for part in keep_fp32.split(",") if part.strip()]
    with _terminate_as_exit():
        export_run(run_dir, output, quantize, opset, exporter, atol, max_mae_increase, parity_articles, data_dir,
                   threads, overwrite, perturbation=parity_perturbation, keep_fp32=patterns)
