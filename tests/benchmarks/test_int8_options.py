"""benchmarks/int8_options.py on a tiny trained encoder: static calibration reads the run's val articles
(and says so in one line when they are missing), and one --quick run writes every table."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from conftest import REPO, train_tiny_run

BENCHMARKS = REPO / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import int8_options  # noqa: E402


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, demo_splits, tiny_encoder):
    return train_tiny_run(tmp_path_factory.mktemp("int8") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "32")


def test_static_calibration_reads_the_runs_val_articles(tiny_run, demo_splits):
    subject = int8_options.run_subject(tiny_run, None, threads=1)
    rows, source = int8_options.calibration_rows(subject, 5, None)
    val_ids = [json.loads(line)["id"] for line in (demo_splits / "val.jsonl").read_text().splitlines() if line.strip()]
    assert [row["id"] for row in rows] == val_ids[:5]
    assert str(demo_splits / "val.jsonl") in source
    inputs = int8_options.encode(subject, rows)
    assert len(inputs) == 5 and all(len(ids) <= subject.max_length for ids in inputs)


def test_static_calibration_without_val_articles_is_one_clear_line(tiny_run, demo_splits, tmp_path):
    from filterforge.errors import FilterforgeError

    subject = int8_options.run_subject(tiny_run, None, threads=1)
    splits = tmp_path / "splits"
    shutil.copytree(demo_splits, splits)
    (splits / "val.jsonl").unlink()
    with pytest.raises(FilterforgeError) as error:
        int8_options.calibration_rows(subject, 5, splits / "val.jsonl")
    message = str(error.value)
    assert "\n" not in message and "val articles" in message and str(splits / "val.jsonl") in message


def test_quick_run_times_and_scores_every_option(tiny_run, demo_splits, tmp_path, monkeypatch):
    output = tmp_path / "int8_options.json"
    monkeypatch.setattr(sys, "argv", ["int8_options.py", "--run", str(tiny_run), "--data", str(demo_splits / "test.jsonl"),
                                      "--quick", "--rounds", "4", "--warmup", "1", "--threads", "1", "--output", str(output)])
    int8_options.main()
    report = json.loads(output.read_text())
    model = report["models"][0]
    names = {row["name"]: row for row in model["options"]}
    default = names[int8_options.DEFAULT_NAME]
    assert default["vs_torch_128"] > 0 and default["max_abs_diff"] < 0.5
    assert "test_mae" in default and "mae_change" in default and model["accuracy"]["torch_fp32_mae"] > 0
    val_rows = sum(1 for line in (demo_splits / "val.jsonl").read_text().splitlines() if line.strip())
    assert names["int8 static QDQ before fusion"]["calibration_articles"] == min(16, val_rows)  # --quick: 16 at most
    assert names["bf16 (ORT CPU)"]["error"]  # no bf16 MatMul on ORT's CPU provider (or a note to add one)
    assert model["best_int8"] in names and model["session_options"]
    assert {row["length"] for row in model["session_options"]} == {128}
    assert "default_int8_at_least_2.5x_at_128_256" in model["targets"]
