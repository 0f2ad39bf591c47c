"""`filterforge score`: prefilter hook -> model -> calibration -> tier rules, one JSON line per article.

Resumable: the ids already in the output are skipped and new rows are appended, each line flushed as it
is written; a partial last line left by a killed run is dropped first. Input rows that are not valid
articles are reported as ``file:line: reason`` and counted, never fatal.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import click

from filterforge.errors import FilterforgeError

RUNTIME_CHOICES = ("auto", "onnx", "torch")
CHUNK_BATCHES = 4  # rows are scored (and written) in chunks of this many batches


@dataclass
class Loaded:
    predictor: Any
    directory: Path  # the model or export folder: filter.yaml, calibration.json
    runtime: str
    description: str


# -- where the model is -------------------------------------------------------------------------

def resolve_target(text: str) -> Path:
    """A run/model/export folder as given, else a filter id: its deployed model in filters/<name>/v<N>/model/."""
    path = Path(text)
    if path.is_dir():
        return path
    from filterforge.filters.spec import resolve_filter

    try:
        spec = resolve_filter(text)
    except FilterforgeError as exc:
        raise FilterforgeError(f"'{text}' is neither a folder nor a known filter ({exc.message})") from None
    model = spec.path / "model"
    if not model.is_dir():
        raise FilterforgeError(f"filter {spec.id} has no deployed model in {model}; deploy a run first "
                               "(filterforge deploy RUN_DIR) or score with a RUN_DIR")
    return model


def _torch_dir(path: Path) -> Path | None:
    for candidate in (path / "model", path):
        if (candidate / "filterforge.json").exists() and (candidate / "model.safetensors").exists():
            return candidate
    return None


def load_model(path: Path, runtime: str, batch_size: int, threads: int | None, device: str,
               cuda_graphs: bool = False) -> Loaded:
    from filterforge.runtime.onnx_predictor import onnx_dirs, read_info

    torch_dir = _torch_dir(path)
    exports = onnx_dirs(path) or (onnx_dirs(path / "model") if (path / "model").is_dir() else [])
    if runtime == "auto":
        # The ONNX graph reads the full prompt with every article; torch caches it once, so an
        # instruction student stays on torch unless ONNX is asked for.
        prompt_in_graph = bool(exports) and read_info(exports[0]).get("prompt_in_input", False)
        runtime = "onnx" if exports and not (prompt_in_graph and torch_dir) and not cuda_graphs else "torch"
    if cuda_graphs and runtime != "torch":
        raise FilterforgeError("--cuda-graphs is a torch runtime path; drop --runtime onnx")
    if runtime == "onnx":
        if not exports:
            raise FilterforgeError(f"--runtime onnx: {path} holds no ONNX export; create one with: filterforge export {path}")
        from filterforge.runtime.onnx_predictor import OnnxPredictor

        predictor = OnnxPredictor.from_dir(exports[0], batch_size=batch_size, threads=threads)
        precision = (predictor.info.get("quantization") or {}).get("mode", "none")
        return Loaded(predictor, exports[0], "onnx",
                      f"onnx {'fp32' if precision == 'none' else precision} ({predictor.provider}) from {exports[0]}")
    if torch_dir is None:
        raise FilterforgeError(f"{path} holds no torch model (model/model.safetensors); use --runtime onnx or a RUN_DIR")
    import torch

    from filterforge.runtime.torch_predictor import TorchPredictor

    if threads:
        torch.set_num_threads(threads)
    predictor = TorchPredictor.from_dir(torch_dir, device=device, batch_size=batch_size, cuda_graphs=cuda_graphs)
    return Loaded(predictor, torch_dir, "torch", f"torch on {predictor.device} ({predictor.path_used}) from {torch_dir}")


def load_calibration_for(directory: Path) -> Any:
    """The model's calibration, or None when it has none (or when calibration support is not installed)."""
    try:
        from filterforge.evaluation.calibrate import load_calibration
    except ModuleNotFoundError as exc:
        if exc.name == "filterforge.evaluation.calibrate":
            return None
        raise
    return load_calibration(directory)


# -- input and output ---------------------------------------------------------------------------

def read_articles(path: Path, report: Any) -> Iterator[tuple[int, dict]]:
    """Valid article rows with their line numbers; every other line is reported and skipped."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            reason = None
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                row, reason = None, f"malformed JSON ({exc.msg})"
            if reason is None:
                reason = invalid_reason(row)
            if reason is not None:
                report(f"{path}:{lineno}: {reason}")
                continue
            yield lineno, row


def invalid_reason(row: Any) -> str | None:
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    article_id = row.get("id")
    if article_id is None or isinstance(article_id, bool) or not isinstance(article_id, (str, int)) or not str(article_id).strip():
        return "no id (need a non-empty string or integer 'id')"
    for key in ("title", "content"):
        if row.get(key) is not None and not isinstance(row[key], str):
            return f"'{key}' must be a string, got {type(row[key]).__name__}"
    if not (row.get("title") or "").strip() and not (row.get("content") or "").strip():
        return "no text (title and content are empty or missing)"
    return None


def resume_ids(path: Path) -> tuple[set[str], int]:
    """Ids already in the output; a partial last line (from a kill) is cut off. Returns (ids, bytes dropped)."""
    if not path.exists():
        return set(), 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    dropped = len(data) - end
    ids: set[str] = set()
    for lineno, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            ids.add(str(json.loads(line)["id"]))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
            raise FilterforgeError(f"{path}:{lineno}: not a score row; refusing to append to it (choose another --output)") from None
    if dropped:
        with open(path, "r+b") as handle:
            handle.truncate(end)
    return ids, dropped


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


# -- scoring ------------------------------------------------------------------------------------

class Scorer:
    """Scores chunks of rows and appends them to the output in input order."""

    def __init__(self, loaded: Loaded, spec: Any, calibration: Any, handle: Any):
        self.loaded, self.spec, self.calibration, self.handle = loaded, spec, calibration, handle
        self.counts = {"scored": 0, "prefiltered": 0}
        self.tiers: dict[str, int] = {}
        self.model_seconds = 0.0

    def scores_for(self, articles: list[dict]) -> Any:
        import numpy as np

        predictor = self.loaded.predictor
        started = time.perf_counter()
        scores = predictor.predict_encoded(predictor.encode(articles))
        if self.calibration is not None:
            scores = self.calibration.apply(scores)
        self.model_seconds += time.perf_counter() - started
        return np.clip(scores, 0.0, 10.0)

    def write_chunk(self, chunk: list[tuple[dict, str | None]]) -> None:
        passed = [row for row, reason in chunk if reason is None]
        scores = iter(self.scores_for(passed)) if passed else iter(())
        names = self.spec.dimension_names
        for row, reason in chunk:
            out: dict[str, Any] = {"id": row["id"], "filter": self.spec.id}
            if reason is None:
                values = [float(v) for v in next(scores)]
                tier = self.spec.tier(dict(zip(names, values)))
                out.update(scores={n: round(v, 4) for n, v in zip(names, values)},
                           weighted_average=round(self.spec.weighted_average(values), 4), tier=tier)
                self.counts["scored"] += 1
                self.tiers[str(tier)] = self.tiers.get(str(tier), 0) + 1
            else:
                out.update(scores=None, weighted_average=None, tier=None)
                self.counts["prefiltered"] += 1
            out["prefilter"] = {"passed": reason is None, "reason": reason}
            self.handle.write(json.dumps(out, ensure_ascii=False) + "\n")
            self.handle.flush()


def score_file(target: str, input_path: Path, output_path: Path, runtime: str, batch_size: int,
               threads: int | None, device: str, echo: Any = click.echo, cuda_graphs: bool = False) -> dict[str, Any]:
    from filterforge.filters.spec import load_filter
    from filterforge.plugins.manager import load_plugins, pm

    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise FilterforgeError(f"--output {output_path} is the input file; choose another path")
    loaded = load_model(resolve_target(target), runtime, batch_size, threads, device, cuda_graphs)
    spec = load_filter(loaded.directory)
    calibration = load_calibration_for(loaded.directory)
    load_plugins()
    done, dropped = resume_ids(output_path)
    echo(f"score {spec.id} with {loaded.description}; calibration {'applied' if calibration else 'none'}")
    if loaded.runtime == "onnx" and calibration is None:
        source = loaded.predictor.info.get("source_model_dir")
        if source and (Path(source) / "calibration.json").is_file():
            echo(f"  warning: {source} has a calibration.json this export lacks; re-export to apply it")
    if done or dropped:
        echo(f"  resuming {output_path}: {len(done)} ids already scored are skipped"
             + (f"; dropped a partial last line ({dropped} bytes) left by an interrupted run" if dropped else ""))
    invalid: list[str] = []
    skipped = duplicates = 0
    seen_here: dict[str, int] = {}
    started = time.time()
    output_path.parent.mkdir(parents=True, exist_ok=True)
    chunk_size = batch_size * CHUNK_BATCHES
    from tqdm.auto import tqdm

    with open(output_path, "a", encoding="utf-8") as handle, \
            tqdm(total=count_lines(input_path), desc="score", unit="article", disable=None, leave=False) as bar:
        scorer = Scorer(loaded, spec, calibration, handle)

        def report(message: str, advance: bool = True) -> None:
            invalid.append(message)
            bar.write(message, file=sys.stderr)
            if advance:
                bar.update(1)

        chunk: list[tuple[dict, str | None]] = []
        for lineno, row in read_articles(input_path, report):
            bar.update(1)
            key = str(row["id"])
            if key in done:
                skipped += 1
                continue
            if key in seen_here:
                duplicates += 1
                report(f"{input_path}:{lineno}: duplicate id '{key}' (first at line {seen_here[key]}); skipped", advance=False)
                continue
            seen_here[key] = lineno
            chunk.append((row, pm.hook.prefilter_article(article=row, filter_spec=spec)))
            if sum(reason is None for _, reason in chunk) >= chunk_size:
                scorer.write_chunk(chunk)
                chunk = []
        if chunk:
            scorer.write_chunk(chunk)
    seconds = time.time() - started
    counts = {**scorer.counts, "skipped_already_scored": skipped, "invalid": len(invalid) - duplicates,
              "duplicates": duplicates}
    per_article = 1000 * scorer.model_seconds / counts["scored"] if counts["scored"] else 0.0
    echo(f"scored {counts['scored']}, prefiltered {counts['prefiltered']}, skipped {skipped} already in the output, "
         f"{counts['invalid']} invalid rows{f', {duplicates} duplicate ids' if duplicates else ''}; "
         f"{per_article:.1f} ms/article in the model, {seconds:.1f} s in all -> {output_path}")
    if scorer.tiers:
        echo("  tiers: " + ", ".join(f"{name} {n}" for name, n in sorted(scorer.tiers.items())))
    return {"counts": counts, "tiers": scorer.tiers, "invalid": invalid, "runtime": loaded.runtime}


@click.command(name="score")
@click.argument("target", metavar="FILTER|RUN_DIR")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Articles as JSON lines with id, title, content.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Score rows (JSON lines); an existing file is resumed: its ids are skipped.")
@click.option("--runtime", type=click.Choice(RUNTIME_CHOICES), default="auto", show_default=True,
              help="auto: ONNX when an export exists, except for instruction students (torch caches their prompt).")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch / ONNX Runtime.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Device for the torch runtime.")
@click.option("--cuda-graphs", is_flag=True,
              help="GPU, decoder students: score one article at a time (batch 1) in bf16, replaying a CUDA graph "
                   "captured per bucketed length (lowest latency per article; --batch-size does not apply).")
def command(target: str, input_path: Path, output_path: Path, runtime: str, batch_size: int, threads: int | None,
            device: str, cuda_graphs: bool) -> None:
    """Score articles with a deployed FILTER or a RUN_DIR: scores, weighted average, tier, prefilter verdict."""
    score_file(target, input_path, output_path, runtime, batch_size, threads, device, cuda_graphs=cuda_graphs)
