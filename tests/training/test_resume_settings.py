"""A checkpoint records the settings an exact resume depends on; `--resume` with other settings is refused
in one line naming each change, and a checkpoint written before settings were recorded resumes as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import assert_one_line_error, invoke, tiny_train_args
from filterforge.training.checkpoint import STATE_FILE, settings_changes

ORIGINAL = ("--epochs", "3", "--seed", "3", "--threads", "1")


def train_args(data_dir: Path, model_dir: Path, out: Path, *extra: str) -> list[str]:
    return tiny_train_args(data_dir, model_dir, out, "distillation", *ORIGINAL, *extra)


def with_value(args: list[str], flag: str, value: str) -> list[str]:
    """``args`` with every ``flag`` set to ``value`` (added when absent)."""
    positions = [i for i, arg in enumerate(args) if arg == flag]
    if not positions:
        return [*args, flag, value]
    return [value if i - 1 in positions else arg for i, arg in enumerate(args)]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    """A batch-8, 3-epoch run stopped by --max-steps 3 in its first epoch, on its own copy of the data."""
    base = tmp_path_factory.mktemp("resume-settings")
    data = base / "data"
    shutil.copytree(demo_splits, data)
    out = base / "run"
    result = invoke(CliRunner(), train_args(data, tiny_encoder, out, "--max-steps", "3"))
    assert result.exit_code == 0, result.output
    return out


def data_of(run: Path) -> Path:
    return run.parent / "data"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ((("--batch-size", "16"), ("--epochs", "2")), ("--batch-size 8 -> 16", "--epochs 3 -> 2")),
        ((("--learning-rate", "0.002"),), ("--learning-rate 0.001 -> 0.002",)),
        ((("--seed", "4"), ("--grad-accum", "2")), ("--seed 3 -> 4", "--grad-accum 1 -> 2")),
        ((("--max-length", "160"), ("--loss", "huber")), ("--max-length 192 -> 160", "--loss mse -> huber")),
        ((("--max-train-examples", "64"),), ("--max-train-examples None -> 64",)),
        ((("--pooling", "cls"),), ("--pooling mean -> cls",)),
    ],
)
def test_resume_with_other_settings_is_refused_and_changes_nothing(runner, stopped_run, tiny_encoder, changes, expected):
    before = snapshot(stopped_run)
    args = train_args(data_of(stopped_run), tiny_encoder, stopped_run, "--resume")
    for flag, value in changes:
        args = with_value(args, flag, value)
    line = assert_one_line_error(invoke(runner, args), "--resume", "trained with other settings", *expected)
    assert "--overwrite" in line
    assert snapshot(stopped_run) == before


def test_resume_on_changed_data_is_refused(runner, stopped_run, tiny_encoder):
    report = data_of(stopped_run) / "prepare_report.json"
    original = report.read_text()
    try:
        report.write_text(json.dumps({**json.loads(original), "data_hash": "0" * 64}))
        result = invoke(runner, train_args(data_of(stopped_run), tiny_encoder, stopped_run, "--resume"))
        assert_one_line_error(result, "data hash", "-> 000000000000")
    finally:
        report.write_text(original)


def test_training_again_into_the_run_suggests_resume_and_overwrite(runner, stopped_run, tiny_encoder):
    before = snapshot(stopped_run)
    result = invoke(runner, train_args(data_of(stopped_run), tiny_encoder, stopped_run))
    assert_one_line_error(result, str(stopped_run), "--resume", "--overwrite")
    assert snapshot(stopped_run) == before


def test_a_changed_max_steps_resumes(runner, stopped_run, tiny_encoder, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(stopped_run, run)
    result = invoke(runner, train_args(data_of(stopped_run), tiny_encoder, run, "--resume", "--max-steps", "5"))
    assert result.exit_code == 0, result.output
    meta = json.loads((run / "training_metadata.json").read_text())
    assert meta["global_steps"] == 5 and meta["stopped_by"] == "max_steps" and meta["batch_size"] == 8


def test_a_checkpoint_without_recorded_settings_resumes_as_before(runner, stopped_run, tiny_encoder, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(stopped_run, run)
    state_file = run / "checkpoint" / STATE_FILE
    state = json.loads(state_file.read_text())
    del state["settings"]
    state["progress"].pop("epoch_losses")
    state_file.write_text(json.dumps(state))
    result = invoke(runner, with_value(train_args(data_of(stopped_run), tiny_encoder, run, "--resume", "--max-steps", "4"),
                                       "--learning-rate", "0.002"))
    assert result.exit_code == 0, result.output
    assert json.loads((run / "training_metadata.json").read_text())["global_steps"] == 4


def test_settings_changes_names_each_difference_the_way_the_command_line_spells_it():
    recorded = {"batch_size": 4, "epochs": 3, "strategy_options": {"a": 1}, "lora_alpha": None, "data_hash": "a" * 64,
                "warmup_ratio": None}
    current = {"batch_size": 16, "epochs": 3, "strategy_options": {"a": 2}, "lora_alpha": 8, "data_hash": "b" * 64,
               "warmup_ratio": None, "added_later": 1}
    assert settings_changes(recorded, current) == [
        "--batch-size 4 -> 16", '--strategy-option {"a": 1} -> {"a": 2}', "lora_alpha None -> 8",
        "data hash aaaaaaaaaaaa -> bbbbbbbbbbbb",
    ]
    assert settings_changes(recorded, dict(recorded)) == []


def test_recorded_settings_that_are_not_an_object_are_a_corrupted_checkpoint(runner, stopped_run, tiny_encoder, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(stopped_run, run)
    state_file = run / "checkpoint" / STATE_FILE
    state_file.write_text(json.dumps({**json.loads(state_file.read_text()), "settings": [1, 2]}))
    result = invoke(runner, train_args(data_of(stopped_run), tiny_encoder, run, "--resume"))
    assert_one_line_error(result, str(run / "checkpoint"), "corrupted")
