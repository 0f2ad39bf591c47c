"""`TrainConfig`: every training setting and its default, written once (the CLI reads them from here)."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
LOSSES = ("mse", "huber")


@dataclass
class TrainConfig:
    filter_id: str
    strategy: str = "distillation"
    data_dir: str | None = None
    output_dir: str | None = None
    model: str = "minilm"
    epochs: int = 3
    batch_size: int = 8
    learning_rate: float = 2e-5
    head_learning_rate: float | None = 1e-3
    weight_decay: float = 0.01
    max_length: int | None = None
    warmup_steps: int | None = None
    warmup_ratio: float | None = None
    grad_accum: int = 1
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int | None = None
    lora_dropout: float = 0.05
    grad_checkpointing: bool = False
    precision: str = "auto"
    device: str = "auto"
    seed: int = 42
    early_stopping_patience: int | None = None
    min_article_tokens: int = 128
    max_steps: int | None = None
    max_train_examples: int | None = None
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    head: str = "regression"
    pooling: str | None = None
    loss: str = "mse"
    shared_prefix: bool = True
    strategy_options: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None


def defaults() -> dict[str, Any]:
    """Each setting's default value (settings with a default factory are left out)."""
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
