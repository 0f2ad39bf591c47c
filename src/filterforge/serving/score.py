"""`score`: prefilter hook -> model -> calibration -> tier rules, one JSON line per article.

Resumable: the ids already in the output are skipped and new rows are appended, each line flushed as it
is written; a partial last line left by a killed run is dropped first. Input rows that are not valid
articles are reported as ``file:line: reason`` and counted, never fatal.

One writer per output: ``<output>.lock`` is held (flock) for the whole run, so a second `score` on the same
file is refused instead of duplicating rows. ``<output>.meta.json`` records which filter, model, calibration
and shard wrote the output (`serving/writer_record.py`); resuming it with another one is refused.

Engines: "local" scores in this process; "ray" (`serving/ray_engine.py`, the optional ray extra) sends
the same rows to a Ray Data actor pool of the same `Scorer`. Either way this module reads, checks,
deduplicates, resumes, shards and prefilters the input and writes every row, in input order.

Shards (``--shard I/N``) split the input for plain schedulers: an article belongs to shard
``sha256(id) mod N``, so shards are disjoint, cover every id, and do not depend on the input's order.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any, Callable, ContextManager, Iterator, NamedTuple

from filterforge.errors import FilterforgeError
from filterforge.serving.writer_record import check_writer, writer_path_for, writer_record

logger = logging.getLogger(__name__)
CHUNK_BATCHES = 4  # local scoring scores (and writes) chunks of this many batches
ENGINES = ("local", "ray")


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


# -- shards ---------------------------------------------------------------------------------------

class Shard(NamedTuple):
    """Shard ``index`` of ``count``: the articles whose id hashes to it."""

    index: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> "Shard":
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
        if not match or not int(match[1]) < int(match[2]):
            raise FilterforgeError(f"--shard expects I/N with 0 <= I < N (e.g. 0/4 for the first of four), got '{spec}'")
        return cls(int(match[1]), int(match[2]))

    def holds(self, article_id: str) -> bool:
        digest = hashlib.sha256(article_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    @property
    def reports_invalid_rows(self) -> bool:
        """Rows without a usable id belong to no shard: the first shard reports them, once for all."""
        return self.index == 0

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


# -- one writer per output ----------------------------------------------------------------------

def lock_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.name + ".lock")


@contextmanager
def exclusive_output_lock(output_path: Path) -> Iterator[None]:
    """Hold ``<output>.lock`` while the body runs; another holder is refused at once (never waited for).

    The kernel drops a flock when its process dies, so a lock file left by a killed run blocks nothing.
    """
    lock_path = lock_path_for(output_path)
    with _acquire_lock(lock_path, output_path):
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)  # while still locked, so no other process holds the file removed


def _acquire_lock(lock_path: Path, output_path: Path) -> IO[str]:
    while True:
        try:
            handle = open(lock_path, "a+", encoding="utf-8")
        except OSError as exc:
            raise FilterforgeError(f"cannot create the lock file {lock_path}: {exc.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _recorded_pid(handle)
            handle.close()
            raise FilterforgeError(f"{output_path}: another filterforge score is writing it"
                                   f"{f' (pid {holder})' if holder else ''}; wait for it or choose another --output") from None
        except OSError as exc:
            handle.close()
            raise FilterforgeError(f"cannot lock {lock_path}: {exc.strerror}") from None
        if _is_still_at(handle, lock_path):
            _record_pid(handle)
            return handle
        handle.close()  # the previous holder removed this file between our open and flock: lock the new one


def _is_still_at(handle: IO[str], path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def _record_pid(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()


def _recorded_pid(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip()


# -- scoring ------------------------------------------------------------------------------------

class LocalEngine:
    """Scores in this process with the `Scorer`, a few batches at a time."""

    def __init__(self, scorer: Any, batch_size: int):
        self.scorer = scorer
        self.window = batch_size * CHUNK_BATCHES
        self.model_seconds = 0.0

    def describe(self) -> str:
        return self.scorer.describe()

    def results(self, articles: list[dict]) -> Iterator[dict[str, Any]]:
        """``Scorer.result`` of each article, in order."""
        started = time.perf_counter()
        scores = self.scorer.score(articles) if articles else []
        self.model_seconds += time.perf_counter() - started
        return iter([self.scorer.result(values) for values in scores])


def open_engine(name: str, run: Any, options: dict[str, Any], workers: int | None) -> ContextManager[Any]:
    """The engine that scores: this process, or a Ray actor pool (imported only here: ray is an optional extra)."""
    if name not in ENGINES:
        raise FilterforgeError(f"unknown engine '{name}' (known: {', '.join(ENGINES)})")
    if name == "ray":
        from filterforge.serving.ray_engine import RayEngine

        return RayEngine(run, options, workers)
    if workers is not None:
        raise FilterforgeError("--workers sets the number of Ray actors: add --engine ray (local scoring uses --threads)")
    from filterforge.runtime.scorer import Scorer

    return nullcontext(LocalEngine(Scorer.load(run, **options), options["batch_size"]))


class OutputWriter:
    """Appends rows to the output in input order, each line flushed as it is written."""

    def __init__(self, spec: Any, handle: IO[str], advance: Callable[[], Any]):
        self.spec, self.handle, self.advance = spec, handle, advance
        self.counts = {"scored": 0, "prefiltered": 0}
        self.tiers: dict[str, int] = {}

    def write_window(self, window: list[tuple[dict, str | None]], results: Iterator[dict[str, Any]]) -> None:
        """``window``: rows with the prefilter's verdict; ``results``: those of the rows that passed, in order."""
        for row, reason in window:
            self.write(row, reason, next(results) if reason is None else None)

    def write(self, row: dict, reason: str | None, result: dict[str, Any] | None) -> None:
        out: dict[str, Any] = {"id": row["id"], "filter": self.spec.id}
        if reason is None:
            out.update(result)
            self.counts["scored"] += 1
            self.tiers[str(out["tier"])] = self.tiers.get(str(out["tier"]), 0) + 1
        else:
            out.update(scores=None, weighted_average=None)
            if self.spec.has_overall:  # the same keys, in the same order, as a scored row
                out["overall"] = None
            out["tier"] = None
            self.counts["prefiltered"] += 1
        out["prefilter"] = {"passed": reason is None, "reason": reason}
        self.handle.write(json.dumps(out, ensure_ascii=False) + "\n")
        self.handle.flush()
        self.advance()


class InputScan:
    """The input rows this run writes, in input order, with the prefilter's verdict; counts the rest: invalid
    rows (reported as ``file:line: reason``), duplicate ids, ids already in the output, other shards' ids."""

    def __init__(self, input_path: Path, spec: Any, done: set[str], shard: Shard | None, advance: Callable[[], Any]):
        self.input_path, self.spec, self.done, self.shard, self.advance = input_path, spec, done, shard, advance
        self.invalid: list[str] = []
        self.counts = {"skipped_already_scored": 0, "duplicates": 0, "other_shards": 0}

    def rows(self) -> Iterator[tuple[dict, str | None]]:
        from filterforge.plugins.manager import pm

        first_line: dict[str, int] = {}
        for lineno, row in read_articles(self.input_path, self.report_invalid):
            key = str(row["id"])
            if self.shard is not None and not self.shard.holds(key):
                self.skip("other_shards")
            elif key in self.done:
                self.skip("skipped_already_scored")
            elif key in first_line:
                self.skip("duplicates")
                self.report(f"{self.input_path}:{lineno}: duplicate id '{key}' (first at line {first_line[key]}); skipped")
            else:
                first_line[key] = lineno
                yield row, pm.hook.prefilter_article(article=row, filter_spec=self.spec)

    def skip(self, count: str) -> None:
        self.counts[count] += 1
        self.advance()

    def report_invalid(self, message: str) -> None:
        self.advance()
        if self.shard is None or self.shard.reports_invalid_rows:
            self.report(message)

    def report(self, message: str) -> None:
        self.invalid.append(message)
        logger.error(message)


def windows(rows: Iterator[tuple[dict, str | None]], size: int) -> Iterator[list[tuple[dict, str | None]]]:
    """Consecutive rows holding ``size`` articles to score each; rows the prefilter rejected ride along."""
    window: list[tuple[dict, str | None]] = []
    to_score = 0
    for row, reason in rows:
        window.append((row, reason))
        to_score += reason is None
        if to_score >= size:
            yield window
            window, to_score = [], 0
    if window:
        yield window


def _warn_missing_calibration(scorer: Any) -> None:
    predictor = scorer.predictor
    source = getattr(predictor, "info", {}).get("source_model_dir")
    if predictor.runtime == "onnx" and scorer.calibration is None and source:
        from filterforge.runs.calibration import Calibration

        if Calibration.load(source) is not None:
            logger.info(f"  warning: {source} has a calibration.json this export lacks; re-export to apply it")


def score_file(target: str, input_path: Path, output_path: Path, runtime: str = "auto", batch_size: int = 16,
               threads: int | None = None, device: str = "auto", cuda_graphs: bool = False, engine: str = "local",
               workers: int | None = None, shard: Shard | None = None) -> dict[str, Any]:
    from filterforge.plugins.manager import load_plugins
    from filterforge.runs.run import Run

    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise FilterforgeError(f"--output {output_path} is the input file; choose another path")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    options = {"runtime": runtime, "batch_size": batch_size, "threads": threads, "device": device, "cuda_graphs": cuda_graphs}
    with exclusive_output_lock(output_path), open_engine(engine, Run.open(target), options, workers) as scoring:
        scorer = scoring.scorer
        load_plugins()
        writer_known = check_writer(output_path, writer_record(scorer, shard))
        done, dropped = resume_ids(output_path)
        logger.info(f"score {scorer.spec.id} with {scoring.describe()}" + (f"; shard {shard}" if shard else ""))
        _warn_missing_calibration(scorer)
        if not writer_known:
            logger.warning(f"  warning: {output_path} has no {writer_path_for(output_path).name}, so its writer is "
                           "unknown; resuming it without checking its filter, model and calibration")
        if done or dropped:
            logger.info(f"  resuming {output_path}: {len(done)} ids already scored are skipped"
                        + (f"; dropped a partial last line ({dropped} bytes) left by an interrupted run" if dropped else ""))
        started = time.time()
        result = _score_new_rows(scoring, input_path, output_path, done, shard)
    return {**result, "runtime": scorer.predictor.runtime, "seconds": time.time() - started, "output": str(output_path)}


def _score_new_rows(scoring: Any, input_path: Path, output_path: Path, done: set[str], shard: Shard | None) -> dict[str, Any]:
    from tqdm.auto import tqdm

    with open(output_path, "a", encoding="utf-8") as handle, \
            tqdm(total=count_lines(input_path), desc="score", unit="article", disable=None, leave=False) as bar:
        writer = OutputWriter(scoring.scorer.spec, handle, bar.update)
        scan = InputScan(input_path, scoring.scorer.spec, done, shard, bar.update)
        for window in windows(scan.rows(), scoring.window):
            writer.write_window(window, scoring.results([row for row, reason in window if reason is None]))
    duplicates = scan.counts["duplicates"]
    counts = {**writer.counts, **scan.counts, "invalid": len(scan.invalid) - duplicates}
    return {"counts": counts, "tiers": writer.tiers, "invalid": scan.invalid, "model_seconds": scoring.model_seconds}
