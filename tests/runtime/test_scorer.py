"""The Predictor contract and the Scorer: clamping to each dimension's scale happens once, in the base
predictor; calibration once, in the scorer; tiers come from the filter's rules."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml

from conftest import REPO
from filterforge.encoding.strategies import EncodedInput
from filterforge.runtime.base import Predictor
from filterforge.runtime.scorer import Scorer


class FixedPredictor(Predictor):
    """Returns the raw scores it was given, one row per input."""

    runtime = "fixed"

    def __init__(self, spec, raw):
        super().__init__(tokenizer=None, strategy=SimpleNamespace(filter_spec=spec), max_length=8, source_dir=Path("."))
        self.raw = np.asarray(raw, dtype=np.float32)

    def predict_raw_encoded(self, encoded, progress=None):
        return self.raw[: len(encoded)]


def inputs(n: int) -> list[EncodedInput]:
    return [EncodedInput([1, 2, 3], 0, 3, 3) for _ in range(n)]


def spec_with_scales(tmp_path: Path, scales: list[list[float]]):
    from filterforge.filters.spec import load_filter

    package = tmp_path / "filter"
    shutil.copytree(REPO / "filters" / "investment-risk" / "v2", package, ignore=shutil.ignore_patterns("model"))
    raw = yaml.safe_load((package / "filter.yaml").read_text())
    for dimension, scale in zip(raw["dimensions"], scales):
        dimension["scale"] = scale
    (package / "filter.yaml").write_text(yaml.safe_dump(raw))
    return load_filter(package)


def test_predictions_are_clamped_to_each_dimensions_scale(tmp_path):
    spec = spec_with_scales(tmp_path, [[1, 5]] + [[0, 10]] * 7)
    predictor = FixedPredictor(spec, [[9.0] + [-3.0] * 7, [0.0] + [12.0] * 7])
    scores = predictor.predict_encoded(inputs(2))
    assert scores[0].tolist() == [5.0] + [0.0] * 7
    assert scores[1].tolist() == [1.0] + [10.0] * 7
    assert predictor.predict_raw_encoded(inputs(2))[0, 0] == 9.0  # raw stays raw


def test_the_scorer_calibrates_then_gives_weighted_average_and_tier(tmp_path):
    from filterforge.filters.spec import resolve_filter
    from filterforge.runs.calibration import Calibration

    spec = resolve_filter("investment-risk/v2")
    names = spec.dimension_names
    calibration = Calibration(names, [([0.0, 10.0], [10.0, 0.0])] * len(names))  # a decreasing map: visible
    predictor = FixedPredictor(spec, [[2.0] * 8])
    plain, calibrated = Scorer(predictor), Scorer(predictor, calibration)
    assert plain.score_encoded(inputs(1)).tolist() == [[2.0] * 8]
    assert calibrated.score_encoded(inputs(1)).tolist() == [[8.0] * 8]
    result = calibrated.result([8.0] * 8)
    assert result["scores"] == dict.fromkeys(names, 8.0)
    assert result["weighted_average"] == round(spec.weighted_average([8.0] * 8), 4)
    assert result["tier"] == spec.tier([8.0] * 8) == calibrated.tiers([[8.0] * 8])[0]


def test_a_row_carries_the_capped_overall_score_next_to_the_tier():
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("sustainability/v1")
    scorer = Scorer(FixedPredictor(spec, [[0.0] * 8]))
    capped = scorer.result([9, 4, 9, 9, 9, 9, 9, 9])  # technical_credibility below 5 caps the overall at 4.0
    assert list(capped) == ["scores", "weighted_average", "overall", "tier"]
    assert capped["weighted_average"] == 8.0 and capped["overall"] == 4.0 and capped["tier"] == "monitoring"
    assert scorer.result([8.0] * 8)["overall"] == 8.0 and scorer.result([8.0] * 8)["tier"] == "breakthrough"


def test_a_filter_without_weights_writes_no_overall(tmp_path):
    from filterforge.filters.spec import load_filter

    package = tmp_path / "unweighted" / "v1"
    package.mkdir(parents=True)
    (package / "filter.yaml").write_text("name: unweighted\nversion: 1\ndimensions:\n  - {name: a}\n  - {name: b}\n")
    spec = load_filter(package)
    row = Scorer(FixedPredictor(spec, [[0.0, 0.0]])).result([2.0, 4.0])
    assert list(row) == ["scores", "weighted_average", "tier"] and row["weighted_average"] == 3.0
