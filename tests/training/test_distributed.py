"""`torchrun --nproc-per-node 2 -m filterforge train` on CPU (gloo): two ranks take the steps of one process
with the same global batch, a resumed run ends with the weights of an uninterrupted one, and a rank that
fails or stalls stops the run in bounded time with a one-line error."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from conftest import assert_one_line_error, invoke
from filterforge.errors import FilterforgeError
from filterforge.plugins.manager import pm, register_plugin
from filterforge.training.distributed import World, rank_share, world_from_env

LAUNCH_TIMEOUT_S = 300
FAILURE_BOUND_S = 120

# Test-only heads and strategy, installed for the launched processes as an entry-point plugin.
PLUGIN = '''
import os

from filterforge.errors import FilterforgeError
from filterforge.plugins.builtins.strategies import Instruction
from filterforge.plugins.hookspecs import hookimpl
from filterforge.student.heads import RegressionHead


class NoDropoutHead(RegressionHead):
    name = "regression-no-dropout"
    description = "The regression head without dropout, so that ranks and a single process compute alike."

    def __init__(self, hidden_size, num_outputs, dropout=0.0):
        super().__init__(hidden_size, num_outputs, 0.0)


class FailsOnRankOne(RegressionHead):
    name = "fails-on-rank-1"
    description = "Raises in rank 1's third training forward pass."
    calls = 0

    def forward(self, pooled):
        if self.training and os.environ.get("RANK") == "1":
            FailsOnRankOne.calls += 1
            if FailsOnRankOne.calls == 3:
                raise FilterforgeError("injected failure on rank 1")
        return super().forward(pooled)


class _ShortPrompt:
    """A filter spec whose prompt is its first 40 words: shared-prefix batching without a 4,000-token prompt."""

    def __init__(self, spec):
        self._spec = spec

    def __getattr__(self, name):
        return getattr(self._spec, name)

    def prompt(self):
        return " ".join(self._spec.prompt().split()[:40])


class ShortInstruction(Instruction):
    name = "short-instruction"
    description = "The instruction strategy with a short prompt."

    def template(self):
        spec, self.filter_spec = self.filter_spec, _ShortPrompt(self.filter_spec)
        try:
            return super().template()
        finally:
            self.filter_spec = spec


@hookimpl
def register_heads(register):
    register(NoDropoutHead)
    register(FailsOnRankOne)


@hookimpl
def register_strategies(register):
    register(ShortInstruction)
'''

# Runs several `filterforge` commands one after the other in each launched process, in one process group.
ONE_AFTER_THE_OTHER = """
import json, sys
import torch.distributed as dist
from filterforge.cli import build_cli
dist.init_process_group("gloo")
for args in json.loads(sys.argv[1]):
    build_cli().main(args, prog_name="filterforge", standalone_mode=False)
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """A folder that, on PYTHONPATH, installs PLUGIN as the entry point `ffddp`."""
    root = tmp_path_factory.mktemp("ddp-site")
    (root / "ff_ddp_test_plugin.py").write_text(PLUGIN)
    dist_info = root / "ff_ddp_test_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ff-ddp-test-plugin\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text("[filterforge]\nffddp = ff_ddp_test_plugin\n")
    return root


@pytest.fixture
def launch_env(plugin_site) -> dict[str, str]:
    env = {**os.environ, "FILTERFORGE_LOAD_PLUGINS": "ffddp"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_site), env.get("PYTHONPATH")]))
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


@pytest.fixture
def plugin_in_this_process(plugin_site):
    """PLUGIN registered in the test process too, for the single-process reference runs."""
    spec = importlib.util.spec_from_file_location("ff_ddp_test_plugin", plugin_site / "ff_ddp_test_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    register_plugin(module, "ffddp")
    try:
        yield
    finally:
        pm.unregister(name="ffddp")


def torchrun(target: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Two ranks on this machine (a free rendezvous port: tests may run side by side)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *target]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        output, errors = process.communicate(timeout=LAUNCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.terminate()  # torchrun stops its workers (each in its own session) on SIGTERM
        output, errors = process.communicate(timeout=60)
        raise AssertionError(f"torchrun still ran after {LAUNCH_TIMEOUT_S} s: {errors[-3000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, output, errors)


def train_args(data_dir: Path, model_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "investment-risk/v2", "--data-dir", str(data_dir), "--model", str(model_dir),
            "--output-dir", str(out), "--learning-rate", "1e-3", "--quiet", *extra]


def succeeded(completed: subprocess.CompletedProcess) -> bool:
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return True


def weights(run: Path) -> dict:
    return {**load_file(str(run / "model" / "model.safetensors")), **load_file(str(run / "model" / "head.safetensors"))}


def metadata(run: Path) -> dict:
    return json.loads((run / "training_metadata.json").read_text())


def history(run: Path) -> list[dict]:
    return json.loads((run / "training_history.json").read_text())


# -- the same steps as one process ------------------------------------------------------------

# 35 articles in global batches of 16 make batches of 16, 16 and 3: the ranks take 8 and 8 articles,
# then 2 and 1, whose losses must weigh 2/3 and 1/3. Two batches per optimizer step (DDP's no_sync on
# the first), two epochs: 4 optimizer steps, 2 validations.
SAME_STEPS = ("--strategy", "short-instruction", "--head", "regression-no-dropout", "--max-length", "256",
              "--max-train-examples", "35", "--grad-accum", "2", "--epochs", "2", "--seed", "5")


def test_two_ranks_take_the_steps_of_one_process_with_the_same_global_batch(
        runner, demo_splits, tiny_decoder, launch_env, plugin_in_this_process, tmp_path):
    # The tiny Llama has no dropout; its head is the no-dropout one: ranks and one process compute alike.
    two, one = tmp_path / "two-ranks", tmp_path / "one-process"
    assert succeeded(torchrun(["-m", "filterforge", *train_args(demo_splits, tiny_decoder, two, *SAME_STEPS,
                                                                 "--batch-size", "8")], launch_env))
    single = invoke(runner, train_args(demo_splits, tiny_decoder, one, *SAME_STEPS, "--batch-size", "16",
                                       "--threads", "1"))
    assert single.exit_code == 0, single.output

    a, b = weights(two), weights(one)
    assert a.keys() == b.keys()
    for name in a:
        difference = (a[name] - b[name]).abs().max().item()
        assert difference <= 1e-5, (name, difference)
    for ranks, process in zip(history(two), history(one)):
        assert ranks["train_loss"] == pytest.approx(process["train_loss"], abs=1e-5)
        assert ranks["val_mae"] == pytest.approx(process["val_mae"], abs=1e-5)
    meta_two, meta_one = metadata(two), metadata(one)
    assert meta_two["shared_prefix"] is True and meta_two["global_steps"] == meta_one["global_steps"] == 4
    assert (meta_two["world_size"], meta_two["batch_size_per_rank"], meta_two["global_batch_size"]) == (2, 8, 16)
    assert (meta_one["world_size"], meta_one["batch_size_per_rank"], meta_one["global_batch_size"]) == (1, 16, 16)
    assert meta_two["distributed_backend"] == "gloo" and meta_one["distributed_backend"] is None


# -- resume -----------------------------------------------------------------------------------

# BERT's dropout and LoRA's are on, so each rank's RNG state must come back from the checkpoint. 65
# articles in global batches of 16 (the last one article: one rank trains on nothing), two per optimizer
# step: 3 steps an epoch; the interrupted run stops in the middle of its first epoch. A checkpoint at
# every step exercises the clock-based decision, which rank 0 makes for all ranks.
RESUMED = ("--strategy", "distillation", "--max-length", "192", "--batch-size", "8", "--grad-accum", "2",
           "--max-train-examples", "65", "--epochs", "2", "--seed", "11", "--lora", "--lora-r", "4",
           "--save-every-minutes", "1e-9")


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(runner, demo_splits, tiny_encoder, launch_env,
                                                                   tmp_path):
    resumed, uninterrupted = tmp_path / "resumed", tmp_path / "uninterrupted"
    driver = tmp_path / "one_after_the_other.py"
    driver.write_text(ONE_AFTER_THE_OTHER)
    first_part = train_args(demo_splits, tiny_encoder, resumed, *RESUMED, "--max-steps", "1")
    reference = train_args(demo_splits, tiny_encoder, uninterrupted, *RESUMED)
    assert succeeded(torchrun([str(driver), json.dumps([first_part, reference])], launch_env))
    assert metadata(resumed)["global_steps"] == 1

    rest = train_args(demo_splits, tiny_encoder, resumed, *RESUMED, "--resume")
    assert succeeded(torchrun(["-m", "filterforge", *rest], launch_env))

    a, b = weights(uninterrupted), weights(resumed)
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name
    assert history(resumed) == history(uninterrupted)
    meta = metadata(resumed)
    assert (meta["global_steps"], meta["epochs_completed"], meta["world_size"], meta["training_mode"]) == (6, 2, 2, "lora")
    # the world size is part of the step: one process may not continue two ranks' checkpoint
    assert_one_line_error(invoke(runner, rest), "world size (torchrun processes) 2 -> 1")


# -- failures ---------------------------------------------------------------------------------

def test_a_failing_rank_stops_the_run_in_bounded_time_with_its_error(demo_splits, tiny_encoder, launch_env, tmp_path):
    out = tmp_path / "run"
    args = train_args(demo_splits, tiny_encoder, out, "--head", "fails-on-rank-1", "--batch-size", "8",
                      "--max-length", "192", "--epochs", "3")
    started = time.monotonic()
    completed = torchrun(["-m", "filterforge", *args], launch_env)
    elapsed = time.monotonic() - started

    assert completed.returncode != 0
    assert elapsed < FAILURE_BOUND_S
    output = completed.stdout + completed.stderr
    assert "Error: injected failure on rank 1" in output.splitlines()
    assert "filterforge/training" not in output, "a traceback from the trainer instead of one line"
    assert not (out / "model").exists()


# Rank 1 joins the process group, then never reaches the all-reduce rank 0 waits in.
STALLED_RANK = """
import sys, time
from filterforge.errors import FilterforgeError
from filterforge.training import distributed

world = distributed.world_from_env()
try:
    with distributed.process_group(world, "cpu", timeout_minutes=0.05):
        if world.rank == 1:
            time.sleep(60)
        distributed.sum_over_ranks([1.0], world, "cpu")
except FilterforgeError as exc:
    print(exc)
    sys.exit(1)
"""


def test_a_stalled_rank_makes_the_others_fail_after_the_timeout_with_one_line(launch_env):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launcher = {**launch_env, "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    ranks = [subprocess.Popen([sys.executable, "-c", STALLED_RANK], env={**launcher, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    try:
        started = time.monotonic()
        output, errors = ranks[0].communicate(timeout=FAILURE_BOUND_S)
        elapsed = time.monotonic() - started
    finally:
        for process in ranks:
            process.kill()
            process.wait()

    assert ranks[0].returncode == 1 and elapsed < FAILURE_BOUND_S, errors
    assert output.startswith("rank 0 of 2 lost the other training processes (") and output.count("\n") == 1
    assert "Timed out" in output


# -- the parts --------------------------------------------------------------------------------

@pytest.mark.parametrize("world_size", [1, 2, 3, 8])
@pytest.mark.parametrize("articles", [1, 2, 7, 16, 33])
def test_rank_shares_split_a_global_batch_into_contiguous_disjoint_parts(world_size, articles):
    batch = list(range(100, 100 + articles))
    shares = [rank_share(batch, World(world_size, rank, rank, world_size)) for rank in range(world_size)]
    real = [indices for indices, weight in shares if weight > 0]
    assert [i for indices in real for i in indices] == batch
    assert sum(weight for _, weight in shares) == pytest.approx(1.0)
    assert all(weight == len(indices) / articles for indices, weight in shares if weight > 0)
    assert max(map(len, real)) - min(map(len, real)) <= 1
    # a rank without articles still runs a step, on one article that does not count
    assert all(indices == batch[:1] for indices, weight in shares if weight == 0)
    assert sum(weight == 0 for _, weight in shares) == max(0, world_size - articles)


def test_no_launcher_is_a_single_process():
    assert world_from_env({}) == World() and not World().distributed
    assert world_from_env({"WORLD_SIZE": "1", "RANK": "0"}) == World()
    assert world_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}) == World(4, 3, 1, 2)


@pytest.mark.parametrize("env, fragment", [
    ({"WORLD_SIZE": "2", "LOCAL_RANK": "0"}, "WORLD_SIZE=2 but RANK is not set"),
    ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not a whole number"),
    ({"WORLD_SIZE": "2", "RANK": "2", "LOCAL_RANK": "0"}, "RANK=2 / LOCAL_RANK=0 do not fit WORLD_SIZE=2"),
])
def test_a_half_set_launcher_environment_is_one_line_naming_torchrun(env, fragment):
    with pytest.raises(FilterforgeError) as error:
        world_from_env(env)
    message = str(error.value)
    assert fragment in message and "torchrun" in message and "\n" not in message
