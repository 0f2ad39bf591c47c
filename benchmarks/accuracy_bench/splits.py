"""The one split every method is scored on, made and read with filterforge's own data functions.

Every call into filterforge's data internals (prepare, load_split, label extraction) lives here.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import DatasetConfig, Profile

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class Splits:
    config: DatasetConfig
    spec: Any
    data_dir: Path
    data_hash: str
    train: list[dict]
    val: list[dict]
    test: list[dict]
    prepare_report: dict

    def labels(self, split: str) -> np.ndarray:
        return np.asarray([row["labels"] for row in getattr(self, split)], dtype=np.float64)

    @property
    def train_means(self) -> np.ndarray:
        return self.labels("train").mean(0)


def prepare_dataset(config: DatasetConfig, datasets_root: Path, work_dir: Path, profile: Profile) -> Splits:
    from filterforge.data.prepare import prepare
    from filterforge.data.splits import load_split
    from filterforge.filters.spec import resolve_filter

    data_dir = work_dir / config.name / "data"
    report = prepare(config.filter_id, [str(datasets_root / config.name / "scored.jsonl")], str(data_dir),
                     ratios=dict(config.ratios), seed=profile.seed, overwrite=True)
    spec = resolve_filter(config.filter_id)
    rows = {name: load_split(data_dir / f"{name}.jsonl", spec) for name in SPLIT_NAMES}
    if not profile.is_benchmark:
        rows = apply_caps(rows, profile.caps, data_dir)
    return Splits(config, spec, data_dir, report["data_hash"], rows["train"], rows["val"], rows["test"], report)


def apply_caps(rows: dict[str, list[dict]], caps: dict[str, int | None], data_dir: Path) -> dict[str, list[dict]]:
    """Development caps, written back so that students train on the same rows as the baselines."""
    from filterforge.io import write_jsonl

    for name, cap in caps.items():
        if cap and len(rows[name]) > cap:
            rows[name] = rows[name][:cap]
            write_jsonl(data_dir / f"{name}.jsonl", rows[name])
    return rows


def student_data_dir(splits: Splits, limit: int) -> Path:
    """train.jsonl + the first `limit` val rows: what students train and pick checkpoints on."""
    from filterforge.io import write_jsonl

    target = splits.data_dir.parent / "student-data"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(splits.data_dir / "train.jsonl", target / "train.jsonl")
    write_jsonl(target / "val.jsonl", splits.val[:limit])
    return target


def texts(rows: Sequence[dict]) -> list[str]:
    from filterforge.encoding.strategies import article_text

    return [article_text(row) for row in rows]


def oracle_scores(path: Path, spec: Any) -> list[tuple[str, list[float]]]:
    """(article id, scores in the filter's dimension order) for each valid row, in file order."""
    from filterforge.data.prepare import InvalidRow, extract_labels
    from filterforge.io import iter_jsonl

    scored = []
    for lineno, row in iter_jsonl(path):
        try:
            scored.append((str(row.get("id")), extract_labels(row, spec, f"{path.name}:{lineno}")))
        except InvalidRow:
            continue
    return scored
