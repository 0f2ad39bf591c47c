"""Resumable training state without pickle: tensors in safetensors, everything else in JSON."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from filterforge.errors import FilterforgeError
from filterforge.training.config import option_name

STATE_FILE = "trainer_state.json"


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            name = f"{index}.{key}"
            if torch.is_tensor(value):
                tensors[name] = value.detach().contiguous().cpu()
            else:
                scalars[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in list(tensors.items()) + list(meta["scalars"].items()):
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone().cpu().contiguous() for name, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(directory: Path, model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any,
                    best_state: dict[str, torch.Tensor] | None, progress: dict[str, Any],
                    settings: dict[str, Any] | None = None, ranks_rng: dict[str, torch.Tensor] | None = None) -> None:
    """Write into a temp folder, then swap it in: a kill mid-write leaves the previous checkpoint.

    ``settings`` are the training settings an exact resume depends on (see :func:`settings_changes`);
    ``ranks_rng`` every rank's :func:`rank_rng_state` as ``<name>.rank<r>`` (a distributed run)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".checkpoint-", dir=directory.parent))
    try:
        save_file(trainable_state(model), str(staging / "trainable.safetensors"))
        if best_state is not None:
            save_file(best_state, str(staging / "best.safetensors"))
        opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
        save_file(opt_tensors, str(staging / "optimizer.safetensors"))
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                rng[f"cuda{i}"] = s
        save_file({**rng, **(ranks_rng or {})}, str(staging / "rng.safetensors"))
        state = {
            "progress": progress,
            "optimizer": opt_meta,
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
            "python_random": _to_jsonable(random.getstate()),
            "settings": settings,
        }
        (staging / STATE_FILE).write_text(json.dumps(state, default=str))
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)  # left by a save killed before its clean-up
        if directory.exists():
            os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_jsonable(v) for v in value]
    return value


def _to_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_to_tuple(v) for v in value)
    return value


def _corrupted(directory: Path, exc: Exception) -> FilterforgeError:
    detail = str(exc).splitlines()[0][:160] if str(exc) else ""
    return FilterforgeError(f"--resume: checkpoint in {directory} is corrupted or incompatible ({type(exc).__name__}: {detail})")


def _require_state_file(directory: Path) -> Path:
    path = directory / STATE_FILE
    if not path.exists():
        raise FilterforgeError(f"--resume: no checkpoint in {directory} (expected {path})")
    return path


def recorded_settings(directory: Path) -> dict[str, Any] | None:
    """The settings the checkpoint was trained with; None for a checkpoint written before they were recorded."""
    directory = Path(directory)
    path = _require_state_file(directory)
    try:
        settings = json.loads(path.read_text()).get("settings")
        if settings is not None and not isinstance(settings, dict):
            raise ValueError(f"settings is a {type(settings).__name__}, not an object")
    except Exception as exc:
        raise _corrupted(directory, exc) from None
    return settings


def settings_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``--name old -> new`` for each recorded setting the current run changes (a setting the checkpoint
    did not record is not compared)."""
    current = json.loads(json.dumps(current, default=str))  # as the checkpoint stored them (tuples as lists)
    return [f"{option_name(name)} {_shown(name, recorded[name])} -> {_shown(name, current.get(name))}"
            for name in recorded if recorded[name] != current.get(name)]


def _shown(name: str, value: Any) -> str:
    if name == "data_hash" and isinstance(value, str):
        return value[:12]
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def rank_rng_state(device: str) -> dict[str, torch.Tensor]:
    """This process's RNG states: torch's CPU generator and, on a GPU, that device's."""
    state = {"torch": torch.get_rng_state()}
    if str(device).startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _restore_rank_rng(rng: dict[str, torch.Tensor], rank: int, device: str) -> None:
    if f"torch.rank{rank}" in rng:
        torch.set_rng_state(rng[f"torch.rank{rank}"])
    if f"cuda.rank{rank}" in rng and str(device).startswith("cuda"):
        torch.cuda.set_rng_state(rng[f"cuda.rank{rank}"], device)


def load_checkpoint(directory: Path, model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any,
                    rank: int | None = None, device: str = "cpu") -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    """Restore model, optimizer, scheduler, scaler and RNG state; returns (progress, best_state).

    With ``rank`` (a distributed run) that rank's own RNG states are restored, where the checkpoint has them."""
    directory = Path(directory)
    state_file = _require_state_file(directory)
    try:
        state = json.loads(state_file.read_text())
        trainable = load_file(str(directory / "trainable.safetensors"))
        optimizer_tensors = load_file(str(directory / "optimizer.safetensors"))
        rng = load_file(str(directory / "rng.safetensors"))
        best = load_file(str(directory / "best.safetensors")) if (directory / "best.safetensors").exists() else None
        params = dict(model.named_parameters())
        missing = [name for name, p in params.items() if p.requires_grad and name not in trainable]
        if missing:
            raise ValueError(f"checkpoint lacks {len(missing)} trainable tensors, e.g. {missing[0]} (different model or options?)")
        with torch.no_grad():
            for name, value in trainable.items():
                params[name].copy_(value)
        optimizer.load_state_dict(_unflatten_optimizer(optimizer_tensors, state["optimizer"]))
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(rng["torch"])
        if torch.cuda.is_available():
            cuda_states = [rng[f"cuda{i}"] for i in range(len(rng)) if f"cuda{i}" in rng]
            if cuda_states:
                torch.cuda.set_rng_state_all(cuda_states)
        if rank is not None:
            _restore_rank_rng(rng, rank, device)
        random.setstate(_to_tuple(state["python_random"]))
        progress = state["progress"]
    except FilterforgeError:
        raise
    except Exception as exc:
        raise _corrupted(directory, exc) from None
    return progress, best
