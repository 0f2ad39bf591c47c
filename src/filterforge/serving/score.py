"""`score`: prefilter hook -> model -> calibration -> tier rules, one JSON line per article.

Resumable: the ids already in the output are skipped and new rows are appended, each line flushed as it
is written; a partial last line left by a killed run is dropped first. Input rows that are not valid
articles are reported as ``file:line: reason`` and counted, never fatal.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from filterforge.errors import FilterforgeError

logger = logging.getLogger(__name__)
CHUNK_BATCHES = 4  # rows are scored (and written) in chunks of this many batches


# -- input and output ---------------------------------------------------------------------------

def read_articles(path: Path, report: Callable[[str], None]) -> Iterator[tuple[int, dict]]:
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

class OutputWriter:
    """Scores chunks of rows with the `Scorer` and appends them to the output in input order."""

    def __init__(self, scorer: Any, handle: Any):
        self.scorer, self.spec, self.handle = scorer, scorer.spec, handle
        self.counts = {"scored": 0, "prefiltered": 0}
        self.tiers: dict[str, int] = {}
        self.model_seconds = 0.0

    def write_chunk(self, chunk: list[tuple[dict, str | None]]) -> None:
        passed = [row for row, reason in chunk if reason is None]
        started = time.perf_counter()
        scores = iter(self.scorer.score(passed)) if passed else iter(())
        self.model_seconds += time.perf_counter() - started
        for row, reason in chunk:
            out: dict[str, Any] = {"id": row["id"], "filter": self.spec.id}
            if reason is None:
                out.update(self.scorer.result(next(scores)))
                self.counts["scored"] += 1
                self.tiers[str(out["tier"])] = self.tiers.get(str(out["tier"]), 0) + 1
            else:
                out.update(scores=None, weighted_average=None, tier=None)
                self.counts["prefiltered"] += 1
            out["prefilter"] = {"passed": reason is None, "reason": reason}
            self.handle.write(json.dumps(out, ensure_ascii=False) + "\n")
            self.handle.flush()


def _warn_missing_calibration(scorer: Any) -> None:
    predictor = scorer.predictor
    source = getattr(predictor, "info", {}).get("source_model_dir")
    if predictor.runtime == "onnx" and scorer.calibration is None and source:
        from filterforge.runs.calibration import Calibration

        if Calibration.load(source) is not None:
            logger.info(f"  warning: {source} has a calibration.json this export lacks; re-export to apply it")


def score_file(target: str, input_path: Path, output_path: Path, runtime: str = "auto", batch_size: int = 16,
               threads: int | None = None, device: str = "auto", cuda_graphs: bool = False) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from filterforge.plugins.manager import load_plugins, pm
    from filterforge.runs.run import Run
    from filterforge.runtime.scorer import Scorer

    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise FilterforgeError(f"--output {output_path} is the input file; choose another path")
    scorer = Scorer.load(Run.open(target), runtime=runtime, batch_size=batch_size, threads=threads, device=device,
                         cuda_graphs=cuda_graphs)
    spec = scorer.spec
    load_plugins()
    done, dropped = resume_ids(output_path)
    logger.info(f"score {spec.id} with {scorer.describe()}")
    _warn_missing_calibration(scorer)
    if done or dropped:
        logger.info(f"  resuming {output_path}: {len(done)} ids already scored are skipped"
                    + (f"; dropped a partial last line ({dropped} bytes) left by an interrupted run" if dropped else ""))
    invalid: list[str] = []
    skipped = duplicates = 0
    seen_here: dict[str, int] = {}
    started = time.time()
    output_path.parent.mkdir(parents=True, exist_ok=True)
    chunk_size = batch_size * CHUNK_BATCHES
    with open(output_path, "a", encoding="utf-8") as handle, \
            tqdm(total=count_lines(input_path), desc="score", unit="article", disable=None, leave=False) as bar:
        writer = OutputWriter(scorer, handle)

        def report(message: str, advance: bool = True) -> None:
            invalid.append(message)
            logger.error(message)
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
                writer.write_chunk(chunk)
                chunk = []
        if chunk:
            writer.write_chunk(chunk)
    counts = {**writer.counts, "skipped_already_scored": skipped, "invalid": len(invalid) - duplicates,
              "duplicates": duplicates}
    return {"counts": counts, "tiers": writer.tiers, "invalid": invalid, "runtime": scorer.predictor.runtime,
            "seconds": time.time() - started, "model_seconds": writer.model_seconds, "output": str(output_path)}
