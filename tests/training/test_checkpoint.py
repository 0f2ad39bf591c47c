"""Behaviour of the resumable checkpoint: round trip, resume determinism, corruption handling, atomic swap."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from filterforge.errors import FilterforgeError
from filterforge.training.checkpoint import load_checkpoint, save_checkpoint

TOTAL_STEPS = 12


class Tiny(torch.nn.Module):
    """A frozen "base model" layer, then a small trainable MLP with dropout (dropout consumes torch RNG).

    The frozen layer is not checkpointed (it comes from the base model), so it is the same in every instance."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = torch.nn.Linear(4, 4)
        generator = torch.Generator().manual_seed(2024)
        with torch.no_grad():
            self.frozen.weight.copy_(torch.randn(4, 4, generator=generator))
            self.frozen.bias.copy_(torch.randn(4, generator=generator))
        self.frozen.requires_grad_(False)
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.3), torch.nn.Linear(8, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.frozen(x))


def make_parts(seed: int):
    torch.manual_seed(seed)
    model = Tiny()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-2, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=2, num_training_steps=TOTAL_STEPS)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    return model, optimizer, scheduler, scaler


def train(model, optimizer, scheduler, steps: int) -> None:
    """Each step draws its batch from torch RNG and a batch size from Python `random`."""
    model.train()
    for _ in range(steps):
        batch = random.randint(2, 5)
        x = torch.randn(batch, 4)
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()


def weights(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)


@pytest.fixture
def saved(tmp_path):
    """A checkpoint after 3 steps, plus the state of the uninterrupted run at that moment."""
    seed_all(1)
    model, optimizer, scheduler, scaler = make_parts(0)
    seed_all(1)
    train(model, optimizer, scheduler, 3)
    best = {name: t.clone() + 1 for name, t in weights(model).items() if "body" in name}
    directory = tmp_path / "run" / "checkpoint"
    save_checkpoint(directory, model, optimizer, scheduler, scaler, best, {"step": 3, "epoch": 0})
    return directory, (model, optimizer, scheduler, scaler), best


def test_round_trip_restores_weights_optimizer_scheduler_and_progress(saved):
    directory, (model, optimizer, scheduler, scaler), best = saved
    fresh_model, fresh_opt, fresh_sched, fresh_scaler = make_parts(seed=42)
    assert not torch.equal(fresh_model.body[0].weight, model.body[0].weight)

    progress, best_state = load_checkpoint(directory, fresh_model, fresh_opt, fresh_sched, fresh_scaler)

    assert progress == {"step": 3, "epoch": 0}
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert torch.equal(dict(fresh_model.named_parameters())[name], p), name
    assert fresh_sched.last_epoch == scheduler.last_epoch == 3
    assert fresh_sched.get_last_lr() == scheduler.get_last_lr()
    assert fresh_opt.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    original, restored = optimizer.state_dict()["state"], fresh_opt.state_dict()["state"]
    assert set(original) == set(restored) and original
    for index in original:
        for key, value in original[index].items():
            assert torch.equal(torch.as_tensor(restored[index][key]), torch.as_tensor(value)), (index, key)
    assert best_state is not None and set(best_state) == set(best)
    for name, tensor in best.items():
        assert torch.equal(best_state[name], tensor)


def test_frozen_parameters_are_not_required_in_checkpoint(saved):
    directory, _, _ = saved
    fresh_model, fresh_opt, fresh_sched, fresh_scaler = make_parts(seed=42)
    with torch.no_grad():
        fresh_model.frozen.weight.add_(1.0)  # frozen weights belong to the base model, not the checkpoint
    frozen_before = fresh_model.frozen.weight.detach().clone()
    load_checkpoint(directory, fresh_model, fresh_opt, fresh_sched, fresh_scaler)
    assert torch.equal(fresh_model.frozen.weight, frozen_before)


def test_resume_continues_bit_identically_to_an_uninterrupted_run(saved):
    directory, (model, optimizer, scheduler, _), _ = saved
    # the uninterrupted run goes on from where the checkpoint was taken
    train(model, optimizer, scheduler, 4)
    reference = weights(model)
    after_python = random.random()
    after_torch = torch.rand(1)

    # a fresh process: different init, different RNG state, then restore
    fresh_model, fresh_opt, fresh_sched, fresh_scaler = make_parts(seed=7)
    seed_all(999)
    load_checkpoint(directory, fresh_model, fresh_opt, fresh_sched, fresh_scaler)
    train(fresh_model, fresh_opt, fresh_sched, 4)

    resumed = weights(fresh_model)
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert torch.equal(resumed[name], reference[name]), name
    assert random.random() == after_python
    assert torch.equal(torch.rand(1), after_torch)
    assert fresh_sched.get_last_lr() == scheduler.get_last_lr()


def test_rng_states_are_restored(saved):
    directory, _, _ = saved
    expected_python = random.getstate()
    expected_torch = torch.get_rng_state()
    seed_all(12345)
    load_checkpoint(directory, *make_parts(seed=3))
    assert random.getstate() == expected_python
    assert torch.equal(torch.get_rng_state(), expected_torch)


def test_best_state_is_none_when_not_saved(tmp_path):
    model, optimizer, scheduler, scaler = make_parts(0)
    save_checkpoint(tmp_path / "ck", model, optimizer, scheduler, scaler, None, {"step": 0})
    progress, best = load_checkpoint(tmp_path / "ck", *make_parts(1))
    assert progress == {"step": 0}
    assert best is None


def test_save_leaves_no_temp_folders_and_replaces_existing_checkpoint(saved):
    directory, (model, optimizer, scheduler, scaler), _ = saved
    assert (directory / "best.safetensors").exists()
    train(model, optimizer, scheduler, 2)
    save_checkpoint(directory, model, optimizer, scheduler, scaler, None, {"step": 5})

    siblings = sorted(p.name for p in directory.parent.iterdir())
    assert siblings == [directory.name]
    assert not list(directory.parent.glob(".checkpoint-*"))
    # the old checkpoint is replaced as a whole: its best.safetensors does not linger
    assert not (directory / "best.safetensors").exists()
    fresh = make_parts(9)
    progress, best = load_checkpoint(directory, *fresh)
    assert progress == {"step": 5}
    assert best is None
    assert torch.equal(fresh[0].body[2].weight, model.body[2].weight)


def test_stale_old_folder_from_an_interrupted_save_does_not_block_the_next_save(saved):
    directory, (model, optimizer, scheduler, scaler), _ = saved
    stale = directory.with_name(directory.name + ".old")
    stale.mkdir()
    (stale / "trainable.safetensors").write_bytes(b"stale")
    save_checkpoint(directory, model, optimizer, scheduler, scaler, None, {"step": 4})
    progress, _ = load_checkpoint(directory, *make_parts(1))
    assert progress == {"step": 4}


# -- errors ------------------------------------------------------------------------------------

def assert_one_line_error(excinfo, directory: Path, *fragments: str) -> None:
    message = excinfo.value.message
    assert "\n" not in message
    assert str(directory) in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_checkpoint_is_a_filterforge_error(tmp_path):
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(tmp_path / "nowhere", *make_parts(0))
    assert_one_line_error(excinfo, tmp_path / "nowhere", "no checkpoint")


def test_folder_without_state_file_is_a_filterforge_error(saved):
    directory, _, _ = saved
    (directory / "trainer_state.json").unlink()
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(directory, *make_parts(0))
    assert_one_line_error(excinfo, directory, "trainer_state.json")


@pytest.mark.parametrize("name, content", [
    ("trainable.safetensors", b"this is not a safetensors file at all"),
    ("trainable.safetensors", b""),
    ("optimizer.safetensors", b"\x00\x01garbage"),
    ("rng.safetensors", b"garbage"),
    ("best.safetensors", b"garbage"),
    ("trainer_state.json", b"{not json"),
    ("trainer_state.json", b"[1, 2, 3]"),
    ("trainer_state.json", b""),
])
def test_garbage_file_is_a_one_line_filterforge_error(saved, name, content):
    directory, _, _ = saved
    (directory / name).write_bytes(content)
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(directory, *make_parts(0))
    assert_one_line_error(excinfo, directory, "corrupted")


@pytest.mark.parametrize("name", ["trainable.safetensors", "optimizer.safetensors", "rng.safetensors"])
def test_missing_tensor_file_is_a_filterforge_error(saved, name):
    directory, _, _ = saved
    (directory / name).unlink()
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(directory, *make_parts(0))
    assert_one_line_error(excinfo, directory, "corrupted")


@pytest.mark.parametrize("key", ["optimizer", "scheduler", "python_random"])
def test_state_file_missing_a_section_is_a_filterforge_error(saved, key):
    directory, _, _ = saved
    state = json.loads((directory / "trainer_state.json").read_text())
    del state[key]
    (directory / "trainer_state.json").write_text(json.dumps(state))
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(directory, *make_parts(0))
    assert_one_line_error(excinfo, directory, key)


def test_state_file_without_progress_is_a_filterforge_error(saved):
    directory, _, _ = saved
    state = json.loads((directory / "trainer_state.json").read_text())
    del state["progress"]
    (directory / "trainer_state.json").write_text(json.dumps(state))
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(directory, *make_parts(0))
    assert_one_line_error(excinfo, directory, "progress")


def test_checkpoint_of_a_different_model_is_a_filterforge_error(saved):
    directory, _, _ = saved
    torch.manual_seed(0)
    other = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
    optimizer = torch.optim.AdamW(other.parameters(), lr=1e-2)
    scheduler = get_linear_schedule_with_warmup(optimizer, 2, TOTAL_STEPS)
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(directory, other, optimizer, scheduler, None)
    assert_one_line_error(excinfo, directory, "lacks")


def test_checkpoint_with_wrong_shapes_is_a_filterforge_error(saved, tmp_path):
    directory, _, _ = saved

    class Wider(Tiny):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 2))

    model = Wider()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    scheduler = get_linear_schedule_with_warmup(optimizer, 2, TOTAL_STEPS)
    with pytest.raises(FilterforgeError) as excinfo:
        load_checkpoint(directory, model, optimizer, scheduler, None)
    assert_one_line_error(excinfo, directory, "corrupted or incompatible")
