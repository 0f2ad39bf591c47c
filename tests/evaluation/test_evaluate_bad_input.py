"""`evaluate` refuses test data that breaks the label rules with one line (file:line, id, dimension)
before it scores anything, so no predictions or plots are left without an evaluation.json."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from conftest import assert_one_line_error, invoke

FIXTURES = Path(__file__).resolve().parents[1] / "runs" / "fixtures"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return shutil.copytree(FIXTURES / "run-0.1.0", tmp_path / "run")


def fixture_rows() -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "test.jsonl").read_text().splitlines() if line.strip()]


def oracle_row(row: dict, valuation_risk) -> dict:
    analysis = {name: {"score": value} for name, value in zip(row["dimension_names"], row["labels"])}
    analysis["valuation_risk"] = valuation_risk
    return {"id": row["id"], "title": row["title"], "content": row["content"], "investment-risk_analysis": analysis}


def with_label(row: dict, value) -> dict:
    labels = list(row["labels"])
    labels[3] = value
    return {**row, "labels": labels}


BAD_SECOND_ROWS = [
    pytest.param(lambda r: {**r, "content": 12345}, ("'content' must be a string", "int"), id="int-content"),
    pytest.param(lambda r: {**r, "title": ["a", "b"]}, ("'title' must be a string", "list"), id="list-title"),
    pytest.param(lambda r: with_label(r, "7"), ("dimension 'valuation_risk'", "not a finite number"), id="string-label"),
    pytest.param(lambda r: with_label(r, math.nan), ("dimension 'valuation_risk'", "not a finite number"), id="nan-label"),
    pytest.param(lambda r: with_label(r, 99), ("dimension 'valuation_risk'", "99 is outside 0-10"), id="label-99"),
    pytest.param(lambda r: oracle_row(r, 7), ("dimension 'valuation_risk'", '{"score": <number>}'), id="bare-number"),
    pytest.param(lambda r: oracle_row(r, {"score": "7"}), ("dimension 'valuation_risk'", "'7'"), id="string-score"),
]


@pytest.mark.parametrize("spoil, fragments", BAD_SECOND_ROWS)
def test_bad_test_row_is_one_line_and_writes_nothing(runner, run_dir, tmp_path, spoil, fragments):
    rows = fixture_rows()
    rows[1] = spoil(rows[1])
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    before = sorted(p.name for p in run_dir.iterdir())
    result = invoke(runner, ["evaluate", run_dir, "--test-data", data])
    assert_one_line_error(result, f"{data}:2", f"id='{rows[1]['id']}'", *fragments)
    assert sorted(p.name for p in run_dir.iterdir()) == before


def test_test_data_that_is_not_utf8_is_one_line(runner, run_dir, tmp_path):
    data = tmp_path / "test.jsonl"
    data.write_bytes((FIXTURES / "test.jsonl").read_bytes() + b'{"id": "caf\xe9"}\n')
    before = sorted(p.name for p in run_dir.iterdir())
    result = invoke(runner, ["evaluate", run_dir, "--test-data", data])
    assert_one_line_error(result, f"{data}:7: not UTF-8")
    assert sorted(p.name for p in run_dir.iterdir()) == before
