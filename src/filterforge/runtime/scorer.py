"""`Scorer`: a predictor, the run's calibration and the filter's tier rules. Every command that scores
articles (evaluate, score, compare, bench) goes through it, so calibration is applied in one place."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from filterforge.encoding.strategies import EncodedInput
from filterforge.runtime.base import Predictor, Progress


class Scorer:
    def __init__(self, predictor: Predictor, calibration: Any = None):
        self.predictor, self.calibration = predictor, calibration
        self.spec = predictor.spec

    @classmethod
    def load(cls, run: Any, calibrate: bool = True, **predictor_options: Any) -> "Scorer":
        """The run's predictor (see ``load_predictor``) with the calibration saved beside its weights."""
        from filterforge.runtime.loader import load_predictor

        predictor = load_predictor(run, **predictor_options)
        return cls(predictor, run.calibration(predictor.source_dir) if calibrate else None)

    def calibrated(self, raw: Any) -> np.ndarray:
        """Scores after calibration (when the run has one), within each dimension's scale."""
        scores = self.calibration.apply(raw) if self.calibration is not None else np.asarray(raw, dtype=np.float32)
        low, high = np.asarray([dim.scale for dim in self.spec.dimensions], dtype=np.float32).T
        return np.clip(scores, low, high).astype(np.float32)

    def encode(self, articles: Sequence[dict]) -> list[EncodedInput]:
        return self.predictor.encode(articles)

    def score_encoded(self, encoded: Sequence[EncodedInput], progress: Progress | None = None) -> np.ndarray:
        return self.calibrated(self.predictor.predict_encoded(encoded, progress))

    def score(self, articles: Sequence[dict]) -> np.ndarray:
        return self.score_encoded(self.encode(articles))

    def tiers(self, scores: Any) -> list[str | None]:
        return [self.spec.tier(row) for row in np.asarray(scores).tolist()]

    def result(self, values: Sequence[float]) -> dict[str, Any]:
        """What `score` writes for one article: scores by dimension, weighted average, the overall score
        (the weighted average after the filter's caps; only for a filter with weights), tier."""
        values = [float(v) for v in values]
        names = self.spec.dimension_names
        by_name = dict(zip(names, values))
        row: dict[str, Any] = {"scores": {n: round(v, 4) for n, v in zip(names, values)},
                               "weighted_average": round(self.spec.weighted_average(values), 4)}
        if self.spec.has_overall:
            row["overall"] = round(self.spec.overall(by_name), 4)
        row["tier"] = self.spec.tier(by_name)
        return row

    def describe(self) -> str:
        return f"{self.predictor.describe()}; calibration {'applied' if self.calibration is not None else 'none'}"
