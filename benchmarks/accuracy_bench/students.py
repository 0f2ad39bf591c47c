"""Training students through filterforge's own pipeline.

Every call into filterforge's training, model-source and plugin internals lives here, one small
function each, so that a change in those APIs is fixed in one place (run-level calls: ``pipeline``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HEAD_TAIL_STRATEGY = "head-tail"
DEVICE = "cpu"


def model_path(name: str) -> Path:
    """A model name (``minilm``, ``smollm2-135m``) or folder, as filterforge resolves it."""
    from filterforge.student.sources import resolve_model

    return resolve_model(name)


def strategy_fixed_tokens(model: str, strategy: str, spec: Any) -> int:
    """Tokens the strategy adds around the article (special tokens, or prompt + chat template)."""
    from transformers import AutoTokenizer

    from filterforge.plugins.manager import get_strategies, lookup

    tokenizer = AutoTokenizer.from_pretrained(str(model_path(model)))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return lookup("strategy", strategy, get_strategies())(spec, tokenizer).fixed_tokens


def head_tail_available() -> tuple[bool, str]:
    """Whether an installed plugin registers the head-tail strategy (entry point group ``filterforge``)."""
    from filterforge.plugins.manager import get_strategies

    if HEAD_TAIL_STRATEGY in get_strategies():
        return True, "installed plugin"
    return False, (f"no installed plugin registers the '{HEAD_TAIL_STRATEGY}' strategy "
                   "(pip install -e plugins/filterforge-head-tail)")


def train_student(*, filter_id: str, strategy: str, data_dir: Path, run_dir: Path, model: str, max_length: int,
                  lora: bool, seed: int, max_train_examples: int | None, threads: int,
                  overrides: dict[str, Any]) -> dict[str, Any]:
    """Train one student into ``run_dir`` with TrainConfig's defaults except ``overrides``; returns
    filterforge's training metadata."""
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import train

    config = TrainConfig(
        filter_id=filter_id, strategy=strategy, data_dir=str(data_dir), output_dir=str(run_dir), model=model,
        max_length=max_length, lora=lora, seed=seed, max_train_examples=max_train_examples, overwrite=True,
        quiet=True, threads=threads, device=DEVICE, **overrides,
    )
    return train(config)
