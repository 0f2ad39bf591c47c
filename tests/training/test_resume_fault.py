"""A training process killed with SIGKILL mid-epoch resumes from its last step checkpoint: it redoes at
most one --save-every-steps interval and ends with weights bit-identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from safetensors.torch import load_file

from conftest import invoke, tiny_train_args
from filterforge.training.checkpoint import STATE_FILE

SAVE_EVERY = 2
# 128 train articles, batch 8, two batches per optimizer step: 8 steps an epoch, 24 in all. BERT's
# dropout is on, so the restored RNG state matters.
SETTINGS = ("--epochs", "3", "--seed", "5", "--grad-accum", "2", "--threads", "1", "--early-stopping-patience", "0",
            "--save-every-steps", str(SAVE_EVERY))
TIMEOUT_S = 120

# `python -m filterforge`, plus a log line each time an optimizer step starts, so the test knows how far
# the killed process got (a step counts as soon as it starts: the bound checked below is conservative).
COUNTING_MAIN = """
import runpy, sys
from torch.optim.optimizer import register_optimizer_step_pre_hook
steps = open(sys.argv.pop(1), "a", buffering=1)
def count(optimizer, args, kwargs):
    steps.write("step\\n")
register_optimizer_step_pre_hook(count)
sys.argv[0] = "filterforge"
runpy.run_module("filterforge", run_name="__main__", alter_sys=True)
"""


def read_progress(run: Path) -> dict | None:
    try:
        return json.loads((run / "checkpoint" / STATE_FILE).read_text())["progress"]
    except (OSError, ValueError):  # between the two renames of a checkpoint swap
        return None


def kill_at_first_mid_epoch_checkpoint_after_epoch_one(process: subprocess.Popen, run: Path) -> dict:
    """SIGKILL ``process`` as soon as a checkpoint from the middle of its second epoch appears; returns
    that checkpoint's progress."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        progress = read_progress(run)
        if progress and progress["epoch"] >= 1 and progress["batch_in_epoch"] > 0:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return progress
        if process.poll() is not None:
            raise AssertionError(f"training ended (rc {process.returncode}) before a mid-epoch checkpoint: "
                                 f"{process.stderr.read().decode()[-2000:]}")
        time.sleep(0.005)
    process.kill()
    raise AssertionError("no mid-epoch checkpoint appeared")


def weights(run: Path) -> dict:
    return {**load_file(str(run / "model" / "model.safetensors")), **load_file(str(run / "model" / "head.safetensors"))}


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(runner, demo_splits, tiny_encoder, tmp_path):
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    steps_log = tmp_path / "steps.log"
    args = tiny_train_args(demo_splits, tiny_encoder, killed, "distillation", *SETTINGS)
    process = subprocess.Popen([sys.executable, "-c", COUNTING_MAIN, str(steps_log), *map(str, args)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    seen = kill_at_first_mid_epoch_checkpoint_after_epoch_one(process, killed)

    assert process.returncode == -signal.SIGKILL
    saved = read_progress(killed)
    assert saved["global_step"] >= seen["global_step"], "the checkpoint on disk went back in time"
    started = steps_log.read_text().count("step\n")
    assert 0 <= started - saved["global_step"] <= SAVE_EVERY, (started, saved)
    assert not (killed / "model").exists() and not (killed / "training_metadata.json").exists()

    resumed = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, killed, "distillation", *SETTINGS, "--resume"))
    assert resumed.exit_code == 0, resumed.output
    uninterrupted = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, reference, "distillation", *SETTINGS))
    assert uninterrupted.exit_code == 0, uninterrupted.output

    a, b = weights(reference), weights(killed)
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name
    history = [json.loads((run / "training_history.json").read_text()) for run in (reference, killed)]
    assert history[0] == history[1]
    meta = json.loads((killed / "training_metadata.json").read_text())
    assert meta["global_steps"] == 24 and meta["epochs_completed"] == 3
