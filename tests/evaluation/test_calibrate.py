"""`filterforge calibrate` (isotonic maps stored as JSON) and `filterforge deploy` (into a filter folder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, invoke
from test_evaluate import EDGE_CASES, assert_one_line_error, train_tiny

FILTER_DIR = REPO / "filters" / "investment-risk" / "v2"
DIMS = ["macro_risk_severity", "credit_market_stress", "market_sentiment_extremes", "valuation_risk",
        "policy_regulatory_risk", "systemic_risk", "evidence_quality", "actionability"]


# -- Calibration: the interface export/score rely on ------------------------------------------

def distorted(n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 11, size=(n, 3)).astype(float)
    pred = 2.0 + 0.3 * gold + rng.normal(0, 0.3, size=gold.shape)  # squashed towards the middle, monotone
    return pred, gold


def test_isotonic_calibration_fixes_a_monotone_distortion():
    from filterforge.runs.calibration import Calibration

    pred, gold = distorted()
    calibration = Calibration.fit(pred, gold, ["a", "b", "c"])
    test_pred, test_gold = distorted(seed=1)
    before = np.abs(test_pred - test_gold).mean()
    after = np.abs(calibration.apply(test_pred) - test_gold).mean()
    assert after < before / 2
    out = calibration.apply(np.array([[-50.0, 0.0, 99.0]]))
    assert ((out >= 0) & (out <= 10)).all()


def test_calibration_matches_sklearn_and_round_trips_through_plain_json(tmp_path):
    from sklearn.isotonic import IsotonicRegression

    from filterforge.runs.calibration import Calibration
    from filterforge.runs.run import Run

    pred, gold = distorted()
    calibration = Calibration.fit(pred, gold, ["a", "b", "c"])
    probe = np.linspace(-1, 12, 57)[:, None].repeat(3, axis=1)
    reference = IsotonicRegression(y_min=0, y_max=10, out_of_bounds="clip").fit(pred[:, 1], gold[:, 1]).predict(probe[:, 1])
    assert np.allclose(calibration.apply(probe)[:, 1], reference, atol=1e-5)

    text = json.dumps(calibration.to_json())  # plain JSON, nothing pickled
    restored = Calibration.from_json(json.loads(text))
    assert np.array_equal(restored.apply(probe), calibration.apply(probe))

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "filterforge.json").write_text("{}")
    assert Calibration.load(model_dir) is None
    calibration.save(model_dir)
    assert sorted(p.name for p in model_dir.iterdir()) == ["calibration.json", "filterforge.json"]
    assert np.array_equal(Calibration.load(Run.open(tmp_path).weights_dir).apply(probe), calibration.apply(probe))  # run dir resolves too


def test_corrupt_calibration_file_is_one_line(tmp_path):
    from filterforge.errors import FilterforgeError
    from filterforge.runs.calibration import Calibration

    (tmp_path / "filterforge.json").write_text("{}")
    (tmp_path / "calibration.json").write_text(json.dumps({"format": "filterforge-isotonic-v1", "dimension_names": ["a"],
                                                           "maps": {"a": {"x": [2, 1], "y": [0, 1]}}}))
    with pytest.raises(FilterforgeError, match="invalid calibration"):
        Calibration.load(tmp_path)


# -- calibrate and deploy on a tiny run -----------------------------------------------------

@pytest.fixture(scope="module")
def calibrated_setup(tmp_path_factory, demo_jsonl, tiny_encoder):
    """Splits with a calibration share, a tiny distillation run, evaluated with edge cases."""
    from click.testing import CliRunner

    base = tmp_path_factory.mktemp("calibrate")
    runner = CliRunner()
    splits = base / "splits"
    result = invoke(runner, ["prepare", "investment-risk/v2", "--input", demo_jsonl, "--output-dir", splits,
                             "--calibration-ratio", "0.2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    run = train_tiny(runner, splits, tiny_encoder, base / "run", "distillation")
    return {"splits": splits, "run": run}


@pytest.fixture
def filters_root(tmp_path) -> Path:
    """A filters folder with copies of investment-risk/v2 and sustainability/v1 (no model deployed)."""
    root = tmp_path / "filters"
    shutil.copytree(FILTER_DIR, root / "investment-risk" / "v2", ignore=shutil.ignore_patterns("model", ".*"))
    shutil.copytree(REPO / "filters" / "sustainability" / "v1", root / "sustainability" / "v1")
    return root


def test_calibrate_then_evaluate_applies_it(runner, calibrated_setup):
    run, splits = calibrated_setup["run"], calibrated_setup["splits"]
    result = invoke(runner, ["calibrate", run])
    assert result.exit_code == 0, result.output
    assert "mean predictor" in result.output and "article tokens kept" in result.output
    stored = json.loads((run / "model" / "calibration.json").read_text())
    assert stored["dimension_names"] == DIMS and all(isinstance(stored["maps"][d]["x"], list) for d in DIMS)
    report = json.loads((run / "calibration_report.json").read_text())
    n_cal = sum(1 for line in (splits / "calibration.jsonl").read_text().splitlines() if line.strip())
    assert report["calibration_split"]["before"]["n"] == n_cal
    test = report["test"]
    assert test["before"]["n"] == test["after"]["n"] > 0
    assert test["before"]["mean_predictor_mae"] == test["after"]["mean_predictor_mae"] > 0
    # isotonic maps never do worse than the raw predictions on the split they were fitted on
    cal = report["calibration_split"]
    assert cal["after"]["mae"] <= cal["before"]["mae"] + 1e-6
    for key in ("git_commit", "package_versions", "seed", "data_hash"):
        assert key in report

    result = invoke(runner, ["evaluate", run, "--test-data", splits / "test.jsonl", "--edge-cases", EDGE_CASES])
    assert result.exit_code == 0, result.output
    assert "calibrated" in result.output.splitlines()[0]
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["calibrated"] is True
    assert evaluation["metrics"]["mae"] == pytest.approx(test["after"]["mae"], abs=1e-4)
    assert evaluation["metrics_uncalibrated"]["mae"] == pytest.approx(test["before"]["mae"], abs=1e-4)

    result = invoke(runner, ["evaluate", run, "--test-data", splits / "test.jsonl", "--no-calibration",
                             "--output-dir", run / "raw-eval"])
    assert json.loads((run / "raw-eval" / "evaluation.json").read_text())["calibrated"] is False


def test_calibrate_without_calibration_split_says_how_to_make_one(runner, calibrated_setup, demo_splits):
    run = calibrated_setup["run"]
    before = (run / "model" / "calibration.json").read_bytes() if (run / "model" / "calibration.json").exists() else None
    result = invoke(runner, ["calibrate", run, "--data-dir", demo_splits])
    assert_one_line_error(result, str(demo_splits / "calibration.jsonl"), "--calibration-ratio")
    after = (run / "model" / "calibration.json").read_bytes() if (run / "model" / "calibration.json").exists() else None
    assert before == after


def test_deploy_then_load_back_with_evaluate(runner, calibrated_setup, filters_root, tmp_path):
    run, splits = calibrated_setup["run"], calibrated_setup["splits"]
    if not (run / "evaluation.json").exists():
        assert invoke(runner, ["evaluate", run, "--test-data", splits / "test.jsonl", "--edge-cases", EDGE_CASES]).exit_code == 0
    result = invoke(runner, ["deploy", run, "--filters-root", filters_root])
    assert result.exit_code == 0, result.output
    target = filters_root / "investment-risk" / "v2" / "model"
    for name in ("model.safetensors", "head.safetensors", "filterforge.json", "tokenizer.json", "training_metadata.json",
                 "README.md", "evaluation.json"):
        assert (target / name).is_file(), name
    package = sorted(p.name for p in FILTER_DIR.iterdir() if p.name != "model" and not p.name.startswith("."))
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(package + ["model"])  # nothing else left behind
    card = (target / "README.md").read_text()
    meta = json.loads((run / "training_metadata.json").read_text())
    for fragment in ("Base model", "Strategy: `distillation`", meta["data_hash"], "Test MAE", "mean predictor",
                     "## Edge cases", "## Limits", "## Intended use", f"{meta['train_examples']} training"):
        assert fragment in card, fragment

    out = tmp_path / "deployed-eval"
    result = invoke(runner, ["evaluate", target, "--test-data", splits / "test.jsonl", "--output-dir", out])
    assert result.exit_code == 0, result.output
    deployed = json.loads((out / "evaluation.json").read_text())
    original = json.loads((run / "evaluation.json").read_text())
    assert deployed["calibrated"] == original["calibrated"]
    assert deployed["metrics"]["mae"] == pytest.approx(original["metrics"]["mae"], abs=1e-5)
    assert deployed["metrics"]["mean_predictor_mae"] == pytest.approx(original["metrics"]["mean_predictor_mae"])

    again = invoke(runner, ["deploy", run, "--filters-root", filters_root])
    assert_one_line_error(again, "already exists", "--overwrite")
    result = invoke(runner, ["deploy", run, "--filters-root", filters_root, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]


def test_deploy_follows_filterforge_filters_path(runner, calibrated_setup, filters_root, monkeypatch):
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(filters_root))
    repo_model = FILTER_DIR / "model"  # may hold a model the README demo deployed; it must stay untouched
    before = {p: p.stat().st_mtime_ns for p in repo_model.rglob("*")} if repo_model.exists() else None
    result = invoke(runner, ["deploy", calibrated_setup["run"], "--filter", "investment-risk/v2"])
    assert result.exit_code == 0, result.output
    assert (filters_root / "investment-risk" / "v2" / "model" / "README.md").is_file()
    after = {p: p.stat().st_mtime_ns for p in repo_model.rglob("*")} if repo_model.exists() else None
    assert after == before


def _refused(result, filters_root: Path, *fragments: str) -> None:
    assert_one_line_error(result, "refusing to deploy", *fragments)
    assert not list(filters_root.glob("*/v*/model")) and not list(filters_root.glob("*/v*/.model*"))


def test_deploy_refuses_another_filter(runner, calibrated_setup, filters_root):
    result = invoke(runner, ["deploy", calibrated_setup["run"], "--filters-root", filters_root, "--filter", "sustainability/v1"])
    _refused(result, filters_root, "investment-risk/v2", "sustainability/v1")


def test_deploy_refuses_another_version(runner, calibrated_setup, filters_root):
    shutil.copytree(filters_root / "investment-risk" / "v2", filters_root / "investment-risk" / "v3")
    spec = yaml.safe_load((filters_root / "investment-risk" / "v3" / "filter.yaml").read_text())
    spec["version"] = 3
    (filters_root / "investment-risk" / "v3" / "filter.yaml").write_text(yaml.safe_dump(spec))
    result = invoke(runner, ["deploy", calibrated_setup["run"], "--filters-root", filters_root, "--filter", "investment-risk/v3"])
    _refused(result, filters_root, "version 3")


def test_deploy_refuses_other_dimensions(runner, calibrated_setup, filters_root):
    path = filters_root / "investment-risk" / "v2" / "filter.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["dimensions"][0]["name"] = "macro_risk"
    for tier in spec["tiers"]:
        tier.pop("when", None)
        tier["default"] = True
    path.write_text(yaml.safe_dump(spec))
    result = invoke(runner, ["deploy", calibrated_setup["run"], "--filters-root", filters_root])
    _refused(result, filters_root, "dimensions", "macro_risk")


def test_deploy_run_without_model(runner, filters_root, tmp_path):
    empty = tmp_path / "run"
    empty.mkdir()
    result = invoke(runner, ["deploy", empty, "--filters-root", filters_root])
    assert_one_line_error(result, "no filterforge model")
