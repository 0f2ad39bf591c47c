"""Save/load shared by pooling and head modules: a JSON config plus safetensors weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save_file

from filterforge.io import atomic_write_text


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
            save_file(state, str(directory / f"{prefix}.safetensors"))

    @classmethod
    def load(cls, directory: str | Path, prefix: str, **extra: Any) -> "SavableModule":
        directory = Path(directory)
        config = json.loads((directory / f"{prefix}_config.json").read_text())
        config.pop("name", None)
        module = cls(**config, **extra)
        weights = directory / f"{prefix}.safetensors"
        if weights.exists():
            module.load_state_dict(load_file(str(weights)))
        return module
