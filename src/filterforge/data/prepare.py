"""`filterforge prepare`: validate oracle-scored batches, deduplicate, split by score level."""

from __future__ import annotations

import glob
import hashlib
import json
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
from filterforge.data.labels import InvalidRow, extract_labels
from filterforge.data.splits import CALIBRATION_SPLIT, default_data_dir, report_file, split_file
from filterforge.filters.spec import FilterSpec, resolve_filter
from filterforge.io import ensure_empty_dir, is_finite_number, iter_jsonl, sha256_of_files, to_json

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


def read_rows(paths: Sequence[Path], spec: FilterSpec, drop_invalid: bool) -> tuple[list[dict], dict[str, Any]]:
    kept: list[dict] = []
    dropped: Counter = Counter()
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    duplicates = Counter()
    rows_read = 0
    for path in paths:
        for lineno, row in iter_jsonl(path):
            rows_read += 1
            where = f"{path}:{lineno}"
            if not (str(row.get("title") or "").strip() or str(row.get("content") or "").strip()):
                dropped["empty_text"] += 1
                continue
            if row.get("id") in (None, ""):
                if not drop_invalid:
                    raise FilterforgeError(f"{where}: row has no 'id'")
                dropped["missing_id"] += 1
                continue
            try:
                labels = extract_labels(row, spec, where)
            except InvalidRow as exc:
                if not drop_invalid:
                    raise FilterforgeError(f"{exc} (use --drop-invalid to drop such rows)") from None
                dropped[exc.reason] += 1
                continue
            ident = str(row["id"])
            text = normalized_text(row)
            if ident in seen_ids:
                duplicates["by_id"] += 1
                continue
            if text in seen_texts:
                duplicates["by_text"] += 1
                continue
            seen_ids.add(ident)
            seen_texts.add(text)
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
            kept.append(out)
    stats = {
        "rows_read": rows_read,
        "rows_kept": len(kept),
        "dropped": dict(sorted(dropped.items())),
        "duplicates": {"by_id": duplicates["by_id"], "by_text": duplicates["by_text"]},
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
    if any(value < 0 for value in ratios.values()) or abs(sum(ratios.values()) - 1.0) > 1e-6:
        raise FilterforgeError(f"split ratios must be >= 0 and sum to 1 (got {ratios})")
    target = Path(output_dir) if output_dir else default_data_dir(spec)
    ensure_empty_dir(target, overwrite)
    paths = expand_inputs(inputs)
    rows, stats = read_rows(paths, spec, drop_invalid)
    if not rows:
        raise FilterforgeError(f"no valid rows in {', '.join(map(str, paths))} (dropped: {stats['dropped']})")
    splits = split_rows(rows, ratios, seed, spec)
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
