"""Save/load shared by pooling and head modules: a JSON config plus safetensors weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save

from filterforge.errors import FilterforgeError
from filterforge.io import atomic_write_bytes, atomic_write_text, read_json


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from a model folder file; anything else is one error naming the file."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise FilterforgeError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error type for a truncated or foreign file
        reason = next(iter(str(exc).splitlines()), "")
        raise FilterforgeError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {reason})") from None


class SavableModule(torch.nn.Module):
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def config(self) -> dict[str, Any]:
        return {}

    def save(self, directory: str | Path, prefix: str) -> None:
        directory = Path(directory)
        atomic_write_text(directory / f"{prefix}_config.json", json.dumps({"name": self.name, **self.config()}, indent=2))
        state = {key: value.detach().contiguous().cpu() for key, value in self.state_dict().items()}
        if state:
            atomic_write_bytes(directory / f"{prefix}.safetensors", save(state))

    @classmethod
    def load(cls, directory: str | Path, prefix: str, **extra: Any) -> "SavableModule":
        directory = Path(directory)
        config_path = directory / f"{prefix}_config.json"
        config = read_json_object(config_path)
        config.pop("name", None)
        try:
            module = cls(**config, **extra)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise FilterforgeError(f"{config_path}: settings that {cls.name or cls.__name__} does not take ({exc})") from None
        weights = directory / f"{prefix}.safetensors"
        if not weights.exists():
            if module.state_dict():
                raise FilterforgeError(f"{weights}: file not found (the {prefix} in {config_path.name} has weights)")
            return module
        try:
            module.load_state_dict(_load_weights(weights))
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[0]
            raise FilterforgeError(f"{weights}: weights do not fit {config_path.name} ({reason})") from None
        return module
