"""`evaluate` reports tier accuracy and the confusion matrix only for a filter with several tiers, tiers on
the overall score included; a filter with one tier gets no word about tiers (its accuracy is always 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import copy_run, invoke, train_tiny_run

OVERALL_TIERS = {
    "overall": {"caps": [{"name": "evidence_gatekeeper", "when": "evidence_quality < 4", "max": 1.0}]},
    "tiers": [{"name": "HIGH", "when": "overall >= 3"}, {"name": "MID", "when": "overall >= 1.5"},
              {"name": "LOW", "default": True}],
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("evaluate-tiers") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "16", "--threads", "1")


def with_tiers(trained: Path, folder: Path, sections: dict) -> Path:
    """A copy of the run whose filter (the copy in its model folder) has the given sections instead of its own."""
    from filterforge.runs.run import Run

    run = copy_run(trained, folder)
    filter_yaml = Run.open(run).weights_dir / "filter.yaml"
    raw = yaml.safe_load(filter_yaml.read_text())
    raw.update(sections)
    filter_yaml.write_text(yaml.safe_dump(raw, sort_keys=False))
    return run


def evaluate(runner, run: Path, test_data: Path, out: Path) -> tuple[str, dict, list[dict]]:
    result = invoke(runner, ["evaluate", run, "--test-data", test_data, "--output-dir", out, "--threads", "1"])
    assert result.exit_code == 0, result.output
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    return result.output, json.loads((out / "evaluation.json").read_text()), predictions


def test_several_tiers_print_accuracy_and_confusion_matrix(runner, trained, demo_splits, tmp_path):
    output, evaluation, predictions = evaluate(runner, trained, demo_splits / "test.jsonl", tmp_path / "eval")
    tiers = evaluation["tiers"]
    assert tiers["labels"] == ["RED", "YELLOW", "GREEN", "NOISE", "BLUE"]
    assert f"tier accuracy {tiers['accuracy']:.3f}" in output
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if "oracle \\ predicted" in line)
    for offset, (label, counts) in enumerate(zip(tiers["labels"], tiers["confusion_matrix"]), start=1):
        assert lines[header + offset].split() == [label, *map(str, counts)]
    assert sum(map(sum, tiers["confusion_matrix"])) == len(predictions)


def test_a_single_tier_says_nothing_about_tiers(runner, trained, demo_splits, tmp_path):
    run = with_tiers(trained, tmp_path, {"tiers": [{"name": "ALL", "default": True}]})
    output, evaluation, predictions = evaluate(runner, run, demo_splits / "test.jsonl", tmp_path / "eval")
    assert "tier" not in output.replace(str(tmp_path), "").lower()  # the test's own folder name says single_tier
    assert evaluation["tiers"] is None
    assert {p["oracle_tier"] for p in predictions} == {p["predicted_tier"] for p in predictions} == {"ALL"}


def test_tiers_on_the_capped_overall_score(runner, trained, demo_splits, tmp_path):
    from filterforge.runs.run import Run

    run = with_tiers(trained, tmp_path, OVERALL_TIERS)
    output, evaluation, predictions = evaluate(runner, run, demo_splits / "test.jsonl", tmp_path / "eval")
    spec = Run.open(run).filter_spec()
    weights = dict(zip(spec.dimension_names, spec.weights))
    for prediction in predictions:
        oracle = prediction["oracle"]
        overall = sum(weights[n] * v for n, v in oracle.items()) / sum(weights.values())
        if oracle["evidence_quality"] < 4:
            overall = min(overall, 1.0)
        expected = "HIGH" if overall >= 3 - 1e-9 else "MID" if overall >= 1.5 - 1e-9 else "LOW"
        assert prediction["oracle_tier"] == expected, oracle
    tiers = evaluation["tiers"]
    assert tiers["labels"] == ["HIGH", "MID", "LOW"]
    assert len({p["oracle_tier"] for p in predictions}) > 1  # the demo data reaches more than one tier
    agree = sum(p["oracle_tier"] == p["predicted_tier"] for p in predictions)
    assert tiers["accuracy"] == pytest.approx(agree / len(predictions), abs=1e-4)
    assert f"tier accuracy {tiers['accuracy']:.3f}" in output
