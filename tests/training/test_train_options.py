"""`train` refuses impossible numbers before it creates anything, in one line naming the option and the
allowed range; the library (`TrainConfig.validate`, called by the Trainer) refuses them too."""

from __future__ import annotations

import json

import pytest

from conftest import assert_one_line_error, invoke, tiny_train_args
from filterforge.errors import FilterforgeError
from filterforge.training.config import TrainConfig
from filterforge.training.trainer import Trainer


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--batch-size", "0", "--batch-size must be a whole number >= 1 (got 0)"),
        ("--batch-size", "-4", "--batch-size must be a whole number >= 1 (got -4)"),
        ("--grad-accum", "0", "--grad-accum must be a whole number >= 1 (got 0)"),
        ("--learning-rate", "-1e-3", "--learning-rate must be a number > 0 (got -0.001)"),
        ("--learning-rate", "nan", "--learning-rate must be a number > 0 (got nan)"),
        ("--head-learning-rate", "inf", "--head-learning-rate must be a number > 0 (got inf)"),
        ("--epochs", "0", "--epochs must be a whole number >= 1 (got 0)"),
        ("--max-train-examples", "0", "--max-train-examples must be a whole number >= 1 (got 0)"),
        ("--max-steps", "0", "--max-steps must be a whole number >= 1 (got 0)"),
        ("--warmup-ratio", "1.5", "--warmup-ratio must be a number >= 0 and <= 1 (got 1.5)"),
        ("--warmup-steps", "-1", "--warmup-steps must be a whole number >= 0 (got -1)"),
        ("--seed", "-1", "--seed must be a whole number >= 0 and <= 4294967295 (got -1)"),
        ("--early-stopping-patience", "-1", "--early-stopping-patience must be a whole number >= 0 (0 turns early stopping off) (got -1)"),
        ("--max-length", "0", "--max-length must be a whole number >= 1 (got 0)"),
        ("--lora-r", "0", "--lora-r must be a whole number >= 1 (got 0)"),
        ("--save-every-steps", "0", "--save-every-steps must be a whole number >= 1 (got 0)"),
        ("--save-every-minutes", "-1", "--save-every-minutes must be a number >= 0"),
    ],
)
def test_impossible_number_is_refused_before_anything_is_written(runner, demo_splits, tiny_encoder, tmp_path,
                                                                  flag, value, expected):
    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_encoder, out, "distillation")
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    assert_one_line_error(invoke(runner, args), expected)
    assert not out.exists()


def test_several_problems_are_named_on_one_line(runner, demo_splits, tiny_encoder, tmp_path):
    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--grad-accum", "0", "--epochs", "0")
    args[args.index("--batch-size") + 1] = "-4"
    assert_one_line_error(invoke(runner, args), "--epochs must be", "--batch-size must be", "--grad-accum must be")
    assert not out.exists()


def test_warmup_steps_and_ratio_together_are_refused(runner, demo_splits, tiny_encoder, tmp_path):
    args = tiny_train_args(demo_splits, tiny_encoder, tmp_path / "run", "distillation",
                           "--warmup-steps", "2", "--warmup-ratio", "0.1")
    assert_one_line_error(invoke(runner, args), "give --warmup-steps or --warmup-ratio, not both")


@pytest.mark.parametrize(
    "setting, value, expected",
    [
        ("batch_size", 0, "--batch-size must be a whole number >= 1 (got 0)"),
        ("batch_size", 2.5, "--batch-size must be a whole number >= 1 (got 2.5)"),
        ("epochs", True, "--epochs must be a whole number >= 1 (got True)"),
        ("weight_decay", -0.1, "weight_decay must be a number >= 0 (got -0.1)"),
        ("lora_dropout", 1.5, "lora_dropout must be a number >= 0 and <= 1 (got 1.5)"),
        ("threads", 0, "--threads must be a whole number >= 1 (got 0)"),
        ("precision", "fp8", "--precision must be one of auto, fp32, bf16, fp16 (got 'fp8')"),
    ],
)
def test_the_library_refuses_too(tmp_path, demo_splits, tiny_encoder, setting, value, expected):
    out = tmp_path / "run"
    config = TrainConfig("investment-risk/v2", data_dir=str(demo_splits), model=str(tiny_encoder),
                         output_dir=str(out), **{setting: value})
    with pytest.raises(FilterforgeError) as excinfo:
        Trainer(config).run()
    assert str(excinfo.value) == expected
    assert not out.exists()


def test_defaults_are_valid():
    TrainConfig("investment-risk/v2").validate()


def test_a_run_refused_during_training_leaves_no_empty_output_folder(runner, demo_splits, tiny_encoder, tmp_path):
    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--threads", "1",
                           "--head-learning-rate", "1e30", "--learning-rate", "1e30")
    assert_one_line_error(invoke(runner, args), "training loss became")
    assert not out.exists()


def test_threads_default_to_the_cores_the_process_may_use_and_are_recorded(runner, demo_splits, tiny_encoder,
                                                                           tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    default = tmp_path / "default"
    assert invoke(runner, tiny_train_args(demo_splits, tiny_encoder, default, "distillation",
                                          "--max-steps", "2")).exit_code == 0
    meta = json.loads((default / "training_metadata.json").read_text())
    assert (meta["threads"], meta["threads_source"]) == (1, "affinity")

    given = tmp_path / "given"
    assert invoke(runner, tiny_train_args(demo_splits, tiny_encoder, given, "distillation", "--max-steps", "2",
                                          "--threads", "1")).exit_code == 0
    meta = json.loads((given / "training_metadata.json").read_text())
    assert (meta["threads"], meta["threads_source"]) == (1, "given")
