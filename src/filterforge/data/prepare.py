"""`filterforge prepare`: validate oracle-scored batches, deduplicate, split by score level."""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import random
import re
import shutil
import statistics
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError
from filterforge.data.labels import InvalidRow, check_text_fields, extract_labels, row_ident
from filterforge.data.splits import CALIBRATION_SPLIT, default_data_dir, report_file, split_file
from filterforge.filters.spec import FilterSpec, resolve_filter
from filterforge.io import ensure_empty_dir, is_finite_number, iter_jsonl, sha256_of_files, to_json

logger = logging.getLogger(__name__)
LISTED_CONFLICTS = 10  # conflicting duplicate ids named in the warning; the rest are counted


def normalized_text(row: dict) -> str:
    text = f"{row.get('title') or ''} {row.get('content') or ''}".lower()
    return re.sub(r"\s+", " ", text).strip()


def expand_inputs(patterns: Sequence[str]) -> list[Path]:
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
        paths.extend(Path(m) for m in matches if Path(m).is_file())
    if not paths:
        raise FilterforgeError(f"no input file matched {', '.join(repr(p) for p in patterns)}")
    return list(dict.fromkeys(paths))



def checked_labels(row: dict, spec: FilterSpec, where: str) -> list[float]:
    """The row's oracle scores, or InvalidRow: it needs an id, string text fields with some text, and
    ``{"score": n}`` within scale for every dimension."""
    if row.get("id") in (None, ""):
        raise InvalidRow("missing_id", f"{where}: row has no 'id'")
    check_text_fields(row, where)
    if not normalized_text(row):
        raise InvalidRow("empty_text", f"{row_ident(row, where)}: title and content are both empty")
    return extract_labels(row, spec, where)


def prepared_row(row: dict, ident: str, labels: list[float], spec: FilterSpec) -> dict:
    out = {
        "id": ident,
        "title": row.get("title") or "",
        "content": row.get("content") or "",
        "labels": labels,
        "dimension_names": spec.dimension_names,
    }
    for extra in ("source", "language", "synthetic"):
        if extra in row:
            out[extra] = row[extra]
    return out


class Deduplicator:
    """First wins, by id then by normalized text; remembers ids repeated with other text or labels."""

    def __init__(self) -> None:
        self.kept_by_id: dict[str, tuple[str, list[float]]] = {}
        self.kept_texts: set[str] = set()
        self.counts: Counter = Counter()
        self.conflicting_ids: dict[str, None] = {}

    def is_duplicate(self, ident: str, text: str, labels: list[float]) -> bool:
        if ident in self.kept_by_id:
            self.counts["by_id"] += 1
            if self.kept_by_id[ident] != (text, labels):
                self.conflicting_ids.setdefault(ident)
            return True
        if text in self.kept_texts:
            self.counts["by_text"] += 1
            return True
        self.kept_by_id[ident] = (text, labels)
        self.kept_texts.add(text)
        return False


def warn_about_conflicts(conflicting_ids: Sequence[str]) -> None:
    if not conflicting_ids:
        return
    listed = ", ".join(conflicting_ids[:LISTED_CONFLICTS])
    more = len(conflicting_ids) - LISTED_CONFLICTS
    logger.warning(f"warning: {len(conflicting_ids)} ids repeat with other text or labels than their first row, "
                   f"which is kept: {listed}{f' and {more} more' if more > 0 else ''}")


def read_rows(paths: Sequence[Path], spec: FilterSpec, drop_invalid: bool) -> tuple[list[dict], dict[str, Any]]:
    kept: list[dict] = []
    dropped: Counter = Counter()
    dedup = Deduplicator()
    rows_read = 0
    for path in paths:
        for lineno, row in iter_jsonl(path):
            rows_read += 1
            try:
                labels = checked_labels(row, spec, f"{path}:{lineno}")
            except InvalidRow as exc:
                if not drop_invalid:
                    raise FilterforgeError(f"{exc} (use --drop-invalid to drop such rows)") from None
                dropped[exc.reason] += 1
                continue
            ident = str(row["id"])
            if not dedup.is_duplicate(ident, normalized_text(row), labels):
                kept.append(prepared_row(row, ident, labels, spec))
    conflicting = list(dedup.conflicting_ids)
    warn_about_conflicts(conflicting)
    stats = {
        "rows_read": rows_read,
        "rows_kept": len(kept),
        "dropped": dict(sorted(dropped.items())),
        "duplicates": {"by_id": dedup.counts["by_id"], "by_text": dedup.counts["by_text"]},
        "conflicting_duplicate_ids": len(conflicting),
    }
    return kept, stats


def score_level(labels: Sequence[float], spec: FilterSpec) -> int:
    """Stratum: the weighted average in 2-point bands (0-2, 2-4, ... 8-10)."""
    return min(int(spec.weighted_average(labels) // 2), 4)


def split_rows(rows: list[dict], ratios: dict[str, float], seed: int, spec: FilterSpec) -> dict[str, list[dict]]:
    """Stratified split: in every score band, rows are shuffled and dealt out by cumulative ratio."""
    rng = random.Random(seed)
    strata: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        strata[score_level(row["labels"], spec)].append(row)
    names = [name for name in ratios if ratios[name] > 0]
    bounds, total = [], 0.0
    for name in names:
        total += ratios[name]
        bounds.append(total)
    splits: dict[str, list[dict]] = {name: [] for name in ratios}
    for level in sorted(strata):
        members = strata[level]
        rng.shuffle(members)
        for index, row in enumerate(members):
            position = (index + 0.5) / len(members) * total
            target = next(name for name, bound in zip(names, bounds) if position < bound or bound == bounds[-1])
            splits[target].append(row)
    for members in splits.values():
        rng.shuffle(members)
    return splits


def warn_about_empty_splits(splits: dict[str, list[dict]], ratios: dict[str, float]) -> None:
    """One line for each split that was given a share of the rows but got none (too few rows)."""
    kept = sum(len(members) for members in splits.values())
    for name, members in splits.items():
        if not members and ratios.get(name, 0) > 0:
            logger.warning(f"warning: the '{name}' split is empty (ratio {ratios[name]:g} of {kept} kept rows); "
                           f"add rows or raise --{name}-ratio")


def describe(rows: list[dict], spec: FilterSpec) -> dict[str, Any]:
    columns = list(zip(*(row["labels"] for row in rows))) if rows else [[] for _ in spec.dimensions]
    return {
        "rows": len(rows),
        "dimensions": {
            dim.name: {
                "mean": round(statistics.fmean(col), 4) if col else None,
                "std": round(statistics.pstdev(col), 4) if col else None,
            }
            for dim, col in zip(spec.dimensions, columns)
        },
    }


def content_hash(splits: dict[str, list[dict]]) -> str:
    """The data hash recorded in prepare_report.json: split, id, normalized text and labels of every row."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        for row in splits[name]:
            digest.update(f"{name}\t{row['id']}\t{normalized_text(row)}\t{row['labels']}\n".encode())
    return digest.hexdigest()


def check_ratios(ratios: dict[str, float]) -> None:
    """Finite, >= 0 and summing to 1 (NaN passes every ``<`` test, so finiteness is checked first)."""
    invalid = {name: value for name, value in ratios.items() if not (is_finite_number(value) and value >= 0)}
    if invalid or abs(sum(ratios.values()) - 1.0) > 1e-6:
        shown = ", ".join(f"{name} {value}" for name, value in (invalid or ratios).items())
        raise FilterforgeError(f"split ratios must be finite numbers >= 0 that sum to 1 (got {shown})")


def prepare(
    filter_id: str,
    inputs: Sequence[str],
    output_dir: str | None = None,
    ratios: dict[str, float] | None = None,
    seed: int = 42,
    drop_invalid: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    spec = resolve_filter(filter_id)
    ratios = ratios or {"train": 0.8, "val": 0.1, "test": 0.1}
    check_ratios(ratios)
    target = Path(output_dir) if output_dir else default_data_dir(spec)
    ensure_empty_dir(target, overwrite)
    paths = expand_inputs(inputs)
    rows, stats = read_rows(paths, spec, drop_invalid)
    if not rows:
        raise FilterforgeError(f"no valid rows in {', '.join(map(str, paths))} (dropped: {stats['dropped']})")
    splits = split_rows(rows, ratios, seed, spec)
    warn_about_empty_splits(splits, ratios)
    report = {
        "filter": spec.id,
        "dimension_names": spec.dimension_names,
        "inputs": [str(p) for p in paths],
        "inputs_sha256": sha256_of_files(paths),
        "seed": seed,
        "ratios": ratios,
        **stats,
        "splits": {name: describe(members, spec) for name, members in splits.items()},
        "data_hash": content_hash(splits),
    }
    _write_atomically(target, splits, report)
    return report


def _write_atomically(target: Path, splits: dict[str, list[dict]], report: dict) -> None:
    """Stage every file in a temp folder, then move them in: a failure leaves nothing half-written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, members in splits.items():
            with open(split_file(staging, name), "w", encoding="utf-8") as handle:
                for row in members:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        report_file(staging).write_text(to_json(report) + "\n", encoding="utf-8")
        if not target.exists():
            os.replace(staging, target)
            return
        split_file(target, CALIBRATION_SPLIT).unlink(missing_ok=True)
        for file in staging.iterdir():
            os.replace(file, target / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
