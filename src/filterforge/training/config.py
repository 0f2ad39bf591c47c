"""`TrainConfig`: every training setting and its default, written once (the CLI reads them from here)."""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
LOSSES = ("mse", "huber")
MAX_SEED = 2**32 - 1  # numpy's seed range
# Up to this many train articles a frozen encoder with a ridge head (the embedding probe) costs seconds
# to a minute on a CPU and can beat fine-tuning by a wide margin: train points to it, compare fits it.
SMALL_DATA_TRAIN_ARTICLES = 1000

# Settings a bit-exact resume depends on, compared with the ones a checkpoint recorded. The trainer adds
# the values it resolves itself (filter, max_length, pooling, strategy_options, data_hash). max_steps is
# left out on purpose: raising it is how a bounded run continues.
RESUME_SETTINGS = ("model", "strategy", "head", "loss", "epochs", "batch_size", "grad_accum", "seed",
                   "learning_rate", "head_learning_rate", "layer_lr_decay", "weight_decay", "warmup_steps", "warmup_ratio",
                   "lora", "lora_r", "lora_alpha", "lora_dropout", "shared_prefix", "max_train_examples")

# How messages name settings whose flag is not "--" + the field name (or that have no flag).
_NAMES = {"strategy_options": "--strategy-option", "weight_decay": "weight_decay", "lora_alpha": "lora_alpha",
          "lora_dropout": "lora_dropout", "filter": "filter", "data_hash": "data hash",
          "distributed_timeout_minutes": "distributed_timeout_minutes", "world_size": "world size (torchrun processes)"}


@dataclass
class TrainConfig:
    filter_id: str
    strategy: str = "distillation"
    data_dir: str | None = None
    output_dir: str | None = None
    model: str = "minilm"
    epochs: int = 3
    batch_size: int = 8
    learning_rate: float | None = None  # None: the model kind's recipe (recipes.yaml), as for the other RECIPE_SETTINGS
    head_learning_rate: float | None = 1e-3
    layer_lr_decay: float | None = None
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
    recipe: str | None = None  # the recipe (model kind) that filled unset settings; set by apply_recipe
    min_article_tokens: int = 128
    max_steps: int | None = None
    max_train_examples: int | None = None
    save_every_steps: int | None = None
    save_every_minutes: float = 10.0
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    head: str = "regression"
    pooling: str | None = None
    loss: str = "mse"
    shared_prefix: bool = True
    strategy_options: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None
    distributed_timeout_minutes: float = 30.0

    def apply_recipe(self, kind: str) -> None:
        """Fill the settings the user left unset from the recipe of this kind of body ("encoder" or
        "decoder"); --warmup-steps given by the user wins over the recipe's warm-up ratio."""
        recipe = recipes()[kind]
        for name, value in recipe.items():
            if getattr(self, name) is not None or (name == "warmup_ratio" and self.warmup_steps is not None):
                continue
            setattr(self, name, value)
        self.recipe = kind

    def validate(self) -> None:
        """Refuse impossible settings in one line, each problem naming its option and allowed range."""
        problems = [problem for name, bound in BOUNDS.items() if (problem := bound.check(name, getattr(self, name)))]
        if self.precision not in PRECISIONS:
            problems.append(f"--precision must be one of {', '.join(PRECISIONS)} (got {self.precision!r})")
        if self.loss not in LOSSES:
            problems.append(f"--loss must be one of {', '.join(LOSSES)} (got {self.loss!r})")
        if self.warmup_steps is not None and self.warmup_ratio is not None:
            problems.append("give --warmup-steps or --warmup-ratio, not both")
        if problems:
            raise FilterforgeError("; ".join(problems))


@dataclass(frozen=True)
class Bound:
    """The values one numeric setting allows: whole or any number, a lower and optional upper limit,
    and whether it may be left unset (None)."""

    minimum: float
    maximum: float | None = None
    whole: bool = True
    exclusive_minimum: bool = False
    optional: bool = False
    note: str = ""

    def check(self, name: str, value: Any) -> str | None:
        """None when ``value`` is allowed, else one sentence naming the option and the allowed range."""
        if value is None and self.optional:
            return None
        if not self.allows(value):
            return f"{option_name(name)} must be {self.describe()} (got {value!r})"
        return None

    def allows(self, value: Any) -> bool:
        kinds = (int,) if self.whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
            return False
        above = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        return above and (self.maximum is None or value <= self.maximum)

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        limits = f"{'>' if self.exclusive_minimum else '>='} {_number(self.minimum)}"
        if self.maximum is not None:
            limits += f" and <= {_number(self.maximum)}"
        return f"{kind} {limits}{f' ({self.note})' if self.note else ''}"


BOUNDS: dict[str, Bound] = {
    "epochs": Bound(1),
    "batch_size": Bound(1),
    "grad_accum": Bound(1),
    "learning_rate": Bound(0, whole=False, exclusive_minimum=True, optional=True),
    "head_learning_rate": Bound(0, whole=False, exclusive_minimum=True, optional=True),
    "layer_lr_decay": Bound(0, 1, whole=False, exclusive_minimum=True, optional=True,
                            note="1 turns layer-wise decay off"),
    "weight_decay": Bound(0, whole=False),
    "max_length": Bound(1, optional=True),
    "warmup_steps": Bound(0, optional=True),
    "warmup_ratio": Bound(0, 1, whole=False, optional=True),
    "lora_r": Bound(1),
    "lora_alpha": Bound(1, optional=True),
    "lora_dropout": Bound(0, 1, whole=False),
    "seed": Bound(0, MAX_SEED),
    "early_stopping_patience": Bound(0, optional=True, note="0 turns early stopping off"),
    "min_article_tokens": Bound(0),
    "max_steps": Bound(1, optional=True),
    "max_train_examples": Bound(1, optional=True),
    "save_every_steps": Bound(1, optional=True),
    "save_every_minutes": Bound(0, whole=False, note="0 turns time-based checkpoints off"),
    "threads": Bound(1, optional=True),
    "distributed_timeout_minutes": Bound(0, whole=False, exclusive_minimum=True),
}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def option_name(setting: str) -> str:
    """How messages name a setting: its command-line flag, or the field name where it has none."""
    return _NAMES.get(setting, "--" + setting.replace("_", "-"))


RECIPE_FILE = Path(__file__).with_name("recipes.yaml")


def recipes() -> dict[str, dict[str, Any]]:
    """Per kind of body ("encoder", "decoder"), the settings that fill what the user left unset."""
    from filterforge.io import read_yaml

    return read_yaml(RECIPE_FILE, "training recipes")


def defaults() -> dict[str, Any]:
    """Each setting's default value (settings with a default factory are left out)."""
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
