"""The one split every method is scored on, made and read with filterforge's own data functions.

Val is cut in two: its first ``n_select`` articles pick the students' checkpoints and the baselines'
alphas (``selection``); the rest (``fit``) fits the ensembles and ranks every candidate for the
recommendation. Every call into filterforge's data internals (prepare, load_split, label extraction)
lives here.
"""

from __future__ import annotations

import math
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
    n_select: int | None = None  # None: the whole val split selects (nothing is left to fit ensembles on)

    @property
    def selection(self) -> list[dict]:
        return self.val if self.n_select is None else self.val[: self.n_select]

    @property
    def fit(self) -> list[dict]:
        return [] if self.n_select is None else self.val[self.n_select :]

    def labels(self, split: str) -> np.ndarray:
        """Labels of ``train``, ``val``, ``test``, ``selection`` or ``fit`` as [n, dims]."""
        rows = getattr(self, split)
        return np.asarray([row["labels"] for row in rows], dtype=np.float64).reshape(len(rows), len(self.spec.dimensions))

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
    n_select = selection_size(len(rows["val"]), profile.student_val_limit, profile.fit_share)
    return Splits(config, spec, data_dir, report["data_hash"], rows["train"], rows["val"], rows["test"], report, n_select)


def selection_size(n_val: int, limit: int, fit_share: float) -> int:
    """The first ``limit`` val articles, but no more than leaves ``fit_share`` of val for the ensembles."""
    return max(1, min(limit, math.floor(n_val * (1 - fit_share))))


def apply_caps(rows: dict[str, list[dict]], caps: dict[str, int | None], data_dir: Path) -> dict[str, list[dict]]:
    """Development caps, written back so that students train on the same rows as the baselines."""
    from filterforge.io import write_jsonl

    for name, cap in caps.items():
        if cap and len(rows[name]) > cap:
            rows[name] = rows[name][:cap]
            write_jsonl(data_dir / f"{name}.jsonl", rows[name])
    return rows


def model_data_dir(splits: Splits) -> Path:
    """What every student and baseline trains on and every ensemble is fitted on: train.jsonl, val.jsonl
    (the selection articles: checkpoints, alphas) and calibration.jsonl (the fit articles, which filterforge's
    ensemble fits on). No test.jsonl: nothing that trains or fits here can read the test split."""
    from filterforge.io import write_jsonl

    target = splits.data_dir.parent / "model-data"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(splits.data_dir / "train.jsonl", target / "train.jsonl")
    write_jsonl(target / "val.jsonl", splits.selection)
    if splits.fit:
        write_jsonl(target / "calibration.jsonl", splits.fit)
    return target


def curve_data_dir(splits: Splits, model_data: Path, n_train: int) -> Path:
    """The model data with the first ``n_train`` train articles (the train-share learning curve)."""
    from filterforge.io import write_jsonl

    target = splits.data_dir.parent / f"curve-data-{n_train}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    write_jsonl(target / "train.jsonl", splits.train[:n_train])
    shutil.copy2(model_data / "val.jsonl", target / "val.jsonl")
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
