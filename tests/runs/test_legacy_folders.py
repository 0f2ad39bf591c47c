"""Runs and exports written before the restructuring still load and score identically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import invoke

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def legacy_run(tmp_path) -> Path:
    return shutil.copytree(FIXTURES / "run-0.1.0", tmp_path / "run")


def scores(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines())}


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_run_written_by_0_1_0_scores_as_it_did(runner, legacy_run, tmp_path, runtime):
    out = tmp_path / f"scores-{runtime}.jsonl"
    result = invoke(runner, ["score", legacy_run, "--input", FIXTURES / "test.jsonl", "--output", out,
                             "--runtime", runtime])
    assert result.exit_code == 0, result.output
    assert "calibration applied" in result.output
    now, then = scores(out), scores(FIXTURES / f"scores-{runtime}.jsonl")
    assert now.keys() == then.keys()
    for key, row in now.items():
        assert row["tier"] == then[key]["tier"] and row["prefilter"] == then[key]["prefilter"]
        for name, value in row["scores"].items():
            assert value == pytest.approx(then[key]["scores"][name], abs=2e-4)


def test_the_export_folder_of_0_1_0_scores_on_its_own(runner, legacy_run, tmp_path):
    out = tmp_path / "scores.jsonl"
    result = invoke(runner, ["score", legacy_run / "onnx", "--input", FIXTURES / "test.jsonl", "--output", out])
    assert result.exit_code == 0, result.output
    assert "onnx" in result.output
    assert scores(out).keys() == scores(FIXTURES / "scores-onnx.jsonl").keys()


def test_a_run_written_by_0_1_0_evaluates(runner, legacy_run, tmp_path):
    result = invoke(runner, ["evaluate", legacy_run, "--test-data", FIXTURES / "test.jsonl"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads((legacy_run / "evaluation.json").read_text())
    assert evaluation["calibrated"] and evaluation["n"] == 6
