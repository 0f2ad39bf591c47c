"""`score`: prefilter hook -> model -> calibration -> tier rules, one JSON line per article.

Resumable: the ids already in the output are skipped and new rows are appended, each line flushed as it
is written; a partial last line left by a killed run is dropped first. Input rows that are not valid
articles are reported as ``file:line: reason`` and counted, never fatal.

One writer per output: ``<output>.lock`` is held (flock) for the whole run, so a second `score` on the same
file is refused instead of duplicating rows. ``<output>.meta.json`` records which filter, model and
calibration wrote the output; resuming it with another one is refused, since the rows would mix.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from filterforge.errors import FilterforgeError
from filterforge.io import read_json, write_json
from filterforge.runs import layout
from filterforge.version import __version__

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


# -- which filter, model and calibration wrote an output ----------------------------------------

WEIGHT_SUFFIXES = (".safetensors", ".onnx", ".onnx_data", ".data", ".bin", ".pt", ".pth", ".gguf")
SAMPLE_BYTES = 1 << 20
SAMPLES = 10


def writer_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.name + ".meta.json")


def sampled_digest(path: Path) -> str:
    """sha256 of a file's size and of ten 1 MiB blocks spread from its start to its end (the whole file
    when smaller): cheap for a 500 MB weights file. Blocks between the ends matter: frozen embeddings lead
    a safetensors file and an unused pooler can end it, so a retrain may leave both ends unchanged."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        if size <= SAMPLES * SAMPLE_BYTES:
            digest.update(handle.read())
            return digest.hexdigest()
        for index in range(SAMPLES):
            handle.seek((size - SAMPLE_BYTES) * index // (SAMPLES - 1))
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def model_fingerprint(folder: Path) -> str:
    """The weights files and ``filterforge.json`` of a model or export folder; records written beside
    them later (evaluation, bench, calibration) leave it unchanged."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name == layout.MODEL_INFO))
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}:{sampled_digest(path)}\n".encode())
    return digest.hexdigest()


def calibration_fingerprint(calibration: Any) -> str | None:
    if calibration is None:
        return None
    return hashlib.sha256(json.dumps(calibration.to_json(), sort_keys=True).encode()).hexdigest()


def writer_record(scorer: Any) -> dict[str, Any]:
    predictor = scorer.predictor
    return {"filter": scorer.spec.id,
            "model": {"path": str(Path(predictor.source_dir).resolve()), "fingerprint": model_fingerprint(predictor.source_dir)},
            "calibration": calibration_fingerprint(scorer.calibration),
            "runtime": predictor.runtime, "filterforge_version": __version__}


def check_writer(output_path: Path, current: dict[str, Any]) -> bool:
    """Record the writer of a new output; refuse to resume one another filter, model or calibration wrote.
    False when the output has no record (written before records were kept)."""
    record_path = writer_path_for(output_path)
    if not output_path.exists() or output_path.stat().st_size == 0:
        write_json(record_path, current)
        return True
    if not record_path.exists():
        return False
    recorded = read_json(record_path)
    if not isinstance(recorded, dict):
        raise FilterforgeError(f"{record_path}: expected a JSON object recording who wrote {output_path.name}; "
                               "score into another --output")
    differences = writer_differences(recorded, current)
    if differences:
        names = " and ".join(differences)
        raise FilterforgeError(f"{output_path} was written with another {names} ({'; '.join(differences.values())}); "
                               "score into another --output")
    return True


def writer_differences(recorded: dict[str, Any], current: dict[str, Any]) -> dict[str, str]:
    """What differs between the recorded writer and this run, by name (filter, model, calibration)."""
    differences = {}
    if recorded.get("filter") != current["filter"]:
        differences["filter"] = f"filter {recorded.get('filter')}, now {current['filter']}"
    old_model = recorded.get("model") if isinstance(recorded.get("model"), dict) else {}
    if old_model.get("fingerprint") != current["model"]["fingerprint"]:
        differences["model"] = _model_difference(old_model.get("path"), recorded.get("runtime"), current)
    if recorded.get("calibration") != current["calibration"]:
        differences["calibration"] = _calibration_difference(recorded.get("calibration"), current["calibration"])
    return differences


def _model_difference(old_path: str | None, old_runtime: str | None, current: dict[str, Any]) -> str:
    new_path, new_runtime = current["model"]["path"], current["runtime"]
    if old_path == new_path:
        return f"model {new_path}, whose weights changed since"
    return f"model {old_path or 'unknown'} on {old_runtime or 'an unknown runtime'}, now {new_path} on {new_runtime}"


def _calibration_difference(old: str | None, new: str | None) -> str:
    if old and new:
        return f"calibration sha256 {old[:12]}, now {new[:12]}"
    return f"calibration {'applied' if old else 'none'}, now {'applied' if new else 'none'}"


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
    from filterforge.plugins.manager import load_plugins
    from filterforge.runs.run import Run
    from filterforge.runtime.scorer import Scorer

    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise FilterforgeError(f"--output {output_path} is the input file; choose another path")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_output_lock(output_path):
        scorer = Scorer.load(Run.open(target), runtime=runtime, batch_size=batch_size, threads=threads, device=device,
                             cuda_graphs=cuda_graphs)
        load_plugins()
        writer_known = check_writer(output_path, writer_record(scorer))
        done, dropped = resume_ids(output_path)
        logger.info(f"score {scorer.spec.id} with {scorer.describe()}")
        _warn_missing_calibration(scorer)
        if not writer_known:
            logger.warning(f"  warning: {output_path} has no {writer_path_for(output_path).name}, so its writer is "
                           "unknown; resuming it without checking its filter, model and calibration")
        if done or dropped:
            logger.info(f"  resuming {output_path}: {len(done)} ids already scored are skipped"
                        + (f"; dropped a partial last line ({dropped} bytes) left by an interrupted run" if dropped else ""))
        started = time.time()
        result = _score_new_rows(scorer, input_path, output_path, done, batch_size)
    return {**result, "runtime": scorer.predictor.runtime, "seconds": time.time() - started, "output": str(output_path)}


def _score_new_rows(scorer: Any, input_path: Path, output_path: Path, done: set[str], batch_size: int) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from filterforge.plugins.manager import pm

    invalid: list[str] = []
    skipped = duplicates = 0
    seen_here: dict[str, int] = {}
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
            chunk.append((row, pm.hook.prefilter_article(article=row, filter_spec=scorer.spec)))
            if sum(reason is None for _, reason in chunk) >= chunk_size:
                writer.write_chunk(chunk)
                chunk = []
        if chunk:
            writer.write_chunk(chunk)
    counts = {**writer.counts, "skipped_already_scored": skipped, "invalid": len(invalid) - duplicates,
              "duplicates": duplicates}
    return {"counts": counts, "tiers": writer.tiers, "invalid": invalid, "model_seconds": writer.model_seconds}
