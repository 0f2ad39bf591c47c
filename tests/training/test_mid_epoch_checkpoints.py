"""--save-every-steps and --save-every-minutes checkpoint within an epoch, at optimizer-step boundaries."""

from __future__ import annotations

import json
import re

from conftest import invoke, tiny_train_args
from filterforge.training.checkpoint import STATE_FILE
from filterforge.training.config import defaults

# 128 train articles at batch 8: 16 batches an epoch.


def checkpoint_lines(output: str) -> list[tuple[int, int]]:
    """(step, batch in epoch) of each mid-epoch checkpoint the run reported."""
    return [(int(step), int(batch)) for step, batch in
            re.findall(r"checkpoint at step (\d+) \(epoch \d+, batch (\d+)/16\)", output)]


def test_every_n_steps_at_accumulation_boundaries(runner, demo_splits, tiny_encoder, tmp_path):
    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--threads", "1",
                           "--grad-accum", "2", "--save-every-steps", "3")
    args.remove("--quiet")
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    # 8 optimizer steps of 2 batches; step 8 ends the epoch, which checkpoints anyway
    assert checkpoint_lines(result.output) == [(3, 6), (6, 12)]
    progress = json.loads((out / "checkpoint" / STATE_FILE).read_text())["progress"]
    assert (progress["epoch"], progress["batch_in_epoch"], progress["global_step"]) == (1, 0, 8)


def test_every_m_minutes(runner, demo_splits, tiny_encoder, tmp_path):
    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--threads", "1",
                           "--save-every-minutes", "1e-9", "--max-steps", "4")
    args.remove("--quiet")
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    assert checkpoint_lines(result.output) == [(1, 1), (2, 2), (3, 3)]  # step 4 stops the run, which checkpoints


def test_defaults_are_no_step_interval_and_ten_minutes(runner, demo_splits, tiny_encoder, tmp_path):
    assert (defaults()["save_every_steps"], defaults()["save_every_minutes"]) == (None, 10.0)
    args = tiny_train_args(demo_splits, tiny_encoder, tmp_path / "run", "distillation", "--threads", "1",
                           "--max-steps", "3")
    args.remove("--quiet")
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    assert checkpoint_lines(result.output) == []
    help_text = invoke(runner, ["train", "--help"]).output
    assert "--save-every-steps" in help_text and "--save-every-minutes" in help_text and "10.0" in help_text
