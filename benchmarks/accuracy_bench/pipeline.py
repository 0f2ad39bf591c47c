"""filterforge's run-level calls, one small function each: fit a baseline run (``filterforge baseline``),
build an ensemble run (``filterforge ensemble``), open a run's history, and score any run through
``Scorer.load`` (``load_predictor`` picks the runtime), as ``evaluate`` and ``score`` do."""

from __future__ import annotations

import gc
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

DEVICE = "cpu"
PREDICT_BATCH_SIZE = 16
TIMED_SPLIT = "test"


@dataclass
class Scored:
    predictions: np.ndarray
    ms_per_article: float
    tokens: dict[str, Any]  # filterforge's budget statistics of these inputs
    truncated: np.ndarray  # which rows the input cut


def fit_baseline_run(filter_id: str, method: str, data_dir: Path, run_dir: Path, model: str, seed: int) -> dict[str, Any]:
    """``filterforge baseline FILTER --method METHOD``; returns the run's training metadata."""
    from filterforge.baselines.runs import BaselineSettings, fit_baseline
    from filterforge.training.config import defaults

    strategy = defaults()["strategy"] if method == "embedding-probe" else None
    return fit_baseline(BaselineSettings(filter_id, str(data_dir), str(run_dir), method, model, strategy, seed,
                                         overwrite=True))


def build_ensemble_run(member_dirs: Sequence[Path], data_dir: Path, output_dir: Path, threads: int,
                       method: str = "stack") -> dict[str, Any]:
    """``filterforge ensemble RUN RUN ... --data-dir DATA``: fitted on DATA's calibration.jsonl."""
    from filterforge.ensembles.runs import EnsembleSettings, build_ensemble

    return build_ensemble(EnsembleSettings([str(d) for d in member_dirs], str(output_dir), method, str(data_dir),
                                           DEVICE, threads, PREDICT_BATCH_SIZE, overwrite=True))


def score_run(run_dir: Path, rows_by_split: dict[str, Sequence[dict]], threads: int) -> dict[str, Scored]:
    """Each split's scores from the run as users get them (runtime chosen by load_predictor, the run's
    calibration applied by the Scorer); ms per article is timed on the test split, tokenisation included."""
    from filterforge.encoding.strategies import budget_statistics
    from filterforge.runs.run import Run
    from filterforge.runtime.scorer import Scorer

    scorer = Scorer.load(Run.open(run_dir), runtime="auto", device=DEVICE, threads=threads,
                         batch_size=PREDICT_BATCH_SIZE)
    out = {}
    first = next((rows for rows in rows_by_split.values() if rows), None)
    if first:
        scorer.predictor.warm_up(scorer.encode(first[:1]))  # one-time costs (first forward, caches) are not timed
    for name, rows in rows_by_split.items():
        if not rows:
            continue
        started = time.perf_counter()
        encoded = scorer.encode(rows)
        pred = scorer.score_encoded(encoded)
        ms = (time.perf_counter() - started) / len(rows) * 1000
        out[name] = Scored(np.asarray(pred, dtype=np.float64), ms, budget_statistics(encoded, scorer.predictor.prompt_tokens),
                           np.asarray([e.truncated for e in encoded]))
    del scorer
    gc.collect()
    return out


def run_history(run_dir: Path) -> list[dict[str, Any]]:
    from filterforge.runs.run import Run

    return Run.open(run_dir).history()


def drop_resume_state(run_dir: Path) -> None:
    """The resume checkpoint (1.6 GB for SmolLM2) is not needed once the student is scored."""
    from filterforge.runs.layout import CHECKPOINT_DIR

    shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)


def trained_tokenizer(run_dir: Path):
    from filterforge.runs.run import Run
    from filterforge.student.sources import load_tokenizer

    return load_tokenizer(Run.open(run_dir).model_dir)
