"""`export`: the whole student as one ONNX graph, checked against torch, optionally quantized.

The export is staged in a temp folder beside the output and renamed into place only when every check
passed (fp32 parity, then the quantization MAE gate); a failed or terminated export removes its temp
folder. One killed outright (SIGKILL, a crash) cannot, so the folder's name carries the export's pid
(``.<output>.<pid>.<random>.tmp``) and the next export of the same output removes it once that process
is gone.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from filterforge.errors import FilterforgeError
from filterforge.export.decoder_export import prepare_prompt_cache, uses_prompt_cache
from filterforge.export.graph import DEFAULT_OPSET
from filterforge.runs import layout

logger = logging.getLogger(__name__)
# Model-folder files an export carries beside the graph (the tokenizer is saved separately).
COPIED_FILES = ("filter.yaml", "prompt.md", "config.json", "head_config.json", "pooling_config.json", layout.CALIBRATION)
FULL_PROMPT_NOTE = (
    "The graph reads prompt + article for every article (exported with --no-prompt-cache, or not a decoder): "
    "the prompt's KV cache is not a graph input, so each article pays for the whole prompt, while the torch "
    "shared-prefix path computes it once per process. Expect ONNX to be slower than torch for such students "
    "with long prompts."
)
PROMPT_CACHE_NOTE = (
    "The graph reads the article tokens only; the prompt's KV cache (prompt_cache.safetensors, computed "
    "once by torch at export, checked against the hash of the prompt tokens at load) is bound to its "
    "past_key_values inputs once per process, as the torch runtime reuses its cached prompt."
)


@dataclass
class ExportSettings:
    output: Path | None = None
    quantize: str = "none"
    opset: int = DEFAULT_OPSET
    exporter: str = "auto"
    atol: float = 1e-3
    max_mae_increase: float = 0.05
    parity_articles: int = 4
    data_dir: Path | None = None
    threads: int | None = None
    overwrite: bool = False
    perturbation: float = 0.0  # added to ONNX outputs before the parity check (shows the failure path)
    keep_fp32: Sequence[str] = field(default_factory=tuple)
    prompt_cache: bool = True  # shared-prompt decoders: the prompt's KV cache as graph inputs
    attention: str = "auto"  # decoders: "fused" (GroupQueryAttention), "eager", or auto (fused, else eager)


@dataclass
class ExportJob:
    """What one export works on: the run, its torch student, the rows that check the graph, the staging folder."""

    run: Any
    settings: ExportSettings
    output: Path
    predictor: Any
    split: str
    rows: list[dict]
    encoded: list[Any]
    staging: Path
    torch_cache: Any = None  # shared-prompt decoders: the prompt's cache (torch) and as graph inputs (numpy)
    onnx_cache: dict[str, Any] | None = None
    cache_record: dict[str, Any] | None = None

    @property
    def student(self) -> Any:
        return self.predictor.model

    @property
    def info(self) -> dict[str, Any]:
        return self.student.info

    def onnx_predictor(self, graph: Path) -> Any:
        from filterforge.runtime.onnx_predictor import OnnxPredictor, create_session

        return OnnxPredictor(create_session(graph, self.settings.threads), self.predictor.tokenizer,
                             self.predictor.strategy, self.predictor.max_length, self.info, self.staging,
                             prompt_cache=self.onnx_cache)


def default_output(run: Any, quantize: str) -> Path:
    return run.root / (layout.EXPORT_DIR_NAMES[0] if quantize == "none" else f"{layout.EXPORT_DIR_NAMES[0]}-{quantize}")


def check_rows(data_dir: Path, spec: Any) -> tuple[str, list[dict]]:
    from filterforge.data.splits import first_split

    rows, path = first_split(data_dir, spec, ("test", "val"))
    if not rows:
        raise FilterforgeError(f"{data_dir} has no test.jsonl or val.jsonl with rows; export validates on real articles "
                               "(give the run's splits with --data-dir)")
    return path.stem, rows


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_staging(output: Path) -> None:
    """Remove the staging folders of ``output`` left by exports whose process is gone."""
    if not output.parent.is_dir():
        return
    pattern = re.compile(rf"\.{re.escape(output.name)}\.(\d+)\.[^.]+\.tmp")
    for folder in output.parent.iterdir():
        match = pattern.fullmatch(folder.name)
        if not match or folder.is_symlink() or not folder.is_dir():
            continue
        pid = int(match.group(1))
        if not _process_is_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            logger.info(f"removed {folder}: staging folder of an export whose process ({pid}) is gone")


def prepare_job(run_path: Path, settings: ExportSettings, staging_parent: Path | None = None) -> ExportJob:
    from filterforge.io import ensure_empty_dir
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor
    from filterforge.student.model import merge_lora

    if settings.keep_fp32 and settings.quantize != "int8":
        raise FilterforgeError("--keep-fp32 applies to --quantize int8 only")
    run = Run.open(run_path)
    if run.is_text_baseline:
        raise FilterforgeError(f"{run_path} is a text baseline (no network to export to ONNX); score it as it is")
    if not run.has_torch_model:
        raise FilterforgeError(f"{run_path} holds no torch model to export (expected {run.root / layout.MODEL_DIR})")
    output = Path(settings.output) if settings.output is not None else default_output(run, settings.quantize)
    if output.resolve() in (run.model_dir.resolve(), run.root.resolve()):
        raise FilterforgeError(f"--output {output} would overwrite the run; choose a new folder")
    remove_stale_staging(output)
    ensure_empty_dir(output, settings.overwrite, "--output")
    split, rows = check_rows(run.data_dir(settings.data_dir), run.filter_spec())
    predictor = load_predictor(run, runtime="torch", device="cpu", threads=settings.threads)
    merge_lora(predictor.model)
    predictor.model.float().eval()
    encoded = predictor.encode(rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.{os.getpid()}.", suffix=".tmp", dir=output.parent))
    job = ExportJob(run, settings, output, predictor, split, rows, encoded, staging)
    if uses_prompt_cache(predictor.model, predictor.strategy, settings.prompt_cache):
        try:
            job.torch_cache, job.onnx_cache, job.cache_record = prepare_prompt_cache(predictor.model, predictor.strategy, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return job


def export_fp32(job: ExportJob) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The fp32 graph (fused when the fusion keeps parity), its export record and its parity check."""
    from filterforge.export.checks import check_parity, pick_parity_inputs
    from filterforge.export.decoder_export import export_decoder
    from filterforge.export.graph import export_graph, fuse_encoder_graph

    s = job.settings
    graph = job.staging / (layout.ONNX_GRAPH if s.quantize == "none" else "model-fp32.onnx")
    picks = pick_parity_inputs(job.predictor.strategy, job.rows, job.encoded, s.parity_articles, job.predictor.max_length)

    def parity_of(path: Path) -> dict[str, Any]:
        return {**check_parity(job.student, job.onnx_predictor(path), picks, s.atol, s.perturbation, job.torch_cache),
                "split": job.split}

    if job.student.is_decoder:
        record, parity = export_decoder(job, graph, parity_of, job.onnx_cache, s.attention)
        record["fused"] = False
        return graph, record, _checked(job, record, parity)
    record = export_graph(job.student, graph, s.opset, s.exporter)
    fused = job.staging / "model-fused.onnx"
    fusions = fuse_encoder_graph(graph, fused, job.student.config)
    parity = None
    if fusions is not None:
        parity = parity_of(fused)
        if parity["passed"]:
            os.replace(fused, graph)
            record["graph_optimization"] = {"onnxruntime.transformers fusions": fusions}
        else:  # a fusion that changes the numbers is not used; the plain graph is checked below
            record["graph_optimization"] = {"rejected_fusions_max_abs_diff": parity["max_abs_diff"]}
            fused.unlink()
            parity = None
    record["fused"] = parity is not None
    return graph, record, _checked(job, record, parity or parity_of(graph))


def _checked(job: ExportJob, record: dict[str, Any], parity: dict[str, Any]) -> dict[str, Any]:
    """Log the parity check; refuse the export when it failed."""
    s = job.settings
    attention = f", {record['traced_attention']} attention" if job.student.is_decoder else ""
    logger.info(f"  parity on {parity['articles']} {job.split} inputs ({', '.join(map(str, parity['input_lengths']))} tokens; "
                f"batch {' and '.join(map(str, parity['batch_sizes']))}): max |ONNX - torch| {parity['max_abs_diff']:.2e} "
                f"(--atol {s.atol:g}) via {record['exporter']}{' + ORT fusions' if record['fused'] else ''}{attention}")
    if not parity["passed"]:
        raise FilterforgeError(
            f"parity check failed: ONNX Runtime and torch differ by {parity['max_abs_diff']:.3g} > --atol {s.atol:g} "
            f"on {job.split} articles of {parity['input_lengths'][0]}-{parity['input_lengths'][-1]} tokens; "
            f"nothing written to {job.output}"
        )
    return parity


def quantize_checked(job: ExportJob, fp32_graph: Path) -> dict[str, Any]:
    """Quantize, then refuse the graph when the split's MAE rises above --max-mae-increase."""
    from filterforge.export.checks import quantization_gate
    from filterforge.export.graph import remove_graph
    from filterforge.export.quantize import quantize_graph

    s = job.settings
    if s.quantize == "none":
        return {"mode": "none"}
    quantization = quantize_graph(fp32_graph, job.staging / layout.ONNX_GRAPH, s.quantize, s.keep_fp32)
    remove_graph(fp32_graph)
    quantized = job.onnx_predictor(job.staging / layout.ONNX_GRAPH)
    gate = quantization_gate(job.predictor, quantized, s.quantize, job.encoded, job.rows, job.run.filter_spec(),
                             job.run.metadata(required=False), job.split, s.max_mae_increase)
    quantization["gate"] = gate
    if not gate["passed"]:
        hint = ("; decoders lose int8 accuracy mostly in the MLP down projections (activation outliers): "
                "try --keep-fp32 down_proj") if job.student.is_decoder and s.quantize == "int8" and not s.keep_fp32 else ""
        raise FilterforgeError(
            f"{s.quantize} refused: {job.split} MAE rises by {gate['mae_increase']:+.4f} "
            f"({gate['mae_before']:.4f} -> {gate['mae_after']:.4f}) > --max-mae-increase {s.max_mae_increase:g}; "
            f"nothing written to {job.output}{hint}"
        )
    return quantization


def stage_extras(job: ExportJob) -> None:
    job.predictor.tokenizer.save_pretrained(str(job.staging))
    for name in COPIED_FILES:
        if (job.run.model_dir / name).exists():
            shutil.copy2(job.run.model_dir / name, job.staging / name)


def export_record(job: ExportJob, graph_record: dict[str, Any], parity: dict[str, Any],
                  quantization: dict[str, Any], started: float) -> dict[str, Any]:
    from filterforge.data.splits import data_hash
    from filterforge.encoding.strategies import budget_statistics
    from filterforge.provenance import provenance

    info, strategy = job.info, job.predictor.strategy
    metadata = job.run.metadata(required=False)
    data_dir = job.run.data_dir(job.settings.data_dir)
    record = {
        **info,
        "format": layout.ONNX_FORMAT,
        "graph": layout.ONNX_GRAPH,
        "inputs": {"input_ids": "int64 [batch, sequence]", "attention_mask": "int64 [batch, sequence]"},
        "outputs": {"scores": f"float32 [batch, {len(info['dimension_names'])}], raw: clamp to each dimension's "
                              "scale (then calibration.json, if any) after the graph"},
        **{k: v for k, v in graph_record.items() if k != "fused"},
        "quantization": quantization,
        "parity": parity,
        "input_path": "prompt-cache" if job.onnx_cache is not None else "full-sequence",
        "prompt_in_input": bool(strategy.shares_prefix) and job.onnx_cache is None,
        "prompt_tokens": strategy.fixed_tokens,
        "calibration": (job.staging / layout.CALIBRATION).exists(),
        "source_model_dir": str(job.run.model_dir.resolve()),
        "source_run_dir": str(job.run.root.resolve()),
        "data_dir": str(data_dir),
        "data_hash": metadata.get("data_hash") or data_hash(data_dir),
        "seed": metadata.get("seed"),
        "train_label_means": metadata.get("train_label_means"),
        "validation_token_budget": budget_statistics(job.encoded, strategy.fixed_tokens),
        "export_seconds": round(time.time() - started, 2),
        **provenance(),
    }
    if job.onnx_cache is not None:
        record["inputs"] = {"input_ids": "int64 [batch, sequence]: the article tokens after the prompt, right-padded",
                            "attention_mask": "int64 [batch, past + sequence]: ones over the prompt, then the article's mask",
                            "past_key_values.{i}.key/value": "float32 [1, kv_heads, past, head_dim]: the prompt's cache"}
        record["prompt_cache"] = job.cache_record
        record["input_path_note"] = PROMPT_CACHE_NOTE
    elif record["prompt_in_input"]:
        record["input_path_note"] = FULL_PROMPT_NOTE
    return record


def export_run(run_path: Path, settings: ExportSettings) -> dict[str, Any]:
    """Export, check and publish; returns the export's ``filterforge.json`` record (an ensemble: each
    neural member's export, see `export.ensemble`)."""
    from filterforge.io import write_json
    from filterforge.runs.run import Run

    if Run.open(run_path).is_ensemble:
        from filterforge.export.ensemble import export_ensemble

        return export_ensemble(Run.open(run_path), settings, export_run)
    started = time.time()
    job = prepare_job(run_path, settings)
    s = settings
    logger.info(f"export {job.run.model_dir} -> {job.output} (strategy {job.info['strategy']}, "
                f"{len(job.info['dimension_names'])} scores, {s.exporter} exporter, opset {s.opset}, quantize {s.quantize})")
    try:
        graph, graph_record, parity = export_fp32(job)
        quantization = quantize_checked(job, graph)
        stage_extras(job)
        record = export_record(job, graph_record, parity, quantization, started)
        write_json(job.staging / layout.MODEL_INFO, record)
        publish(job.staging, job.output)
    finally:
        shutil.rmtree(job.staging, ignore_errors=True)
    size_mb = (job.output / layout.ONNX_GRAPH).stat().st_size / 2**20
    logger.info(f"wrote {job.output} ({layout.ONNX_GRAPH} {size_mb:.1f} MB, {record['exporter']}, {s.quantize}) "
                f"in {time.time() - started:.1f} s")
    if record["prompt_in_input"]:
        logger.info(f"  note: the graph reads the {record['prompt_tokens']}-token prompt with every article "
                    "(no shared-prefix cache in ONNX)")
    elif record["input_path"] == "prompt-cache":
        logger.info(f"  the graph reads article tokens only; the {record['prompt_cache']['prompt_tokens']}-token "
                    f"prompt's KV cache ({record['prompt_cache']['megabytes']} MB) is stored beside it")
    return record


@contextmanager
def terminate_as_exit() -> Iterator[None]:
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


def publish(staging: Path, output: Path) -> None:
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
