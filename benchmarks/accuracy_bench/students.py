"""Training and predicting students through filterforge's own pipeline.

Every call into filterforge's training, prediction, model-source and plugin internals lives here,
one small function each, so that a change in those APIs is fixed in one place.
"""

from __future__ import annotations

import gc
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

HEAD_TAIL_STRATEGY = "head-tail"
PREDICT_BATCH_SIZE = 16
DEVICE = "cpu"
WARMUP_RATIO = 0.1


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


def train_student(*, filter_id: str, strategy: str, data_dir: Path, run_dir: Path, model: str, epochs: int,
                  batch_size: int, learning_rate: float, head_learning_rate: float, max_length: int, lora: bool,
                  seed: int, max_steps: int | None, max_train_examples: int | None, threads: int) -> dict[str, Any]:
    """Train one student into ``run_dir``; returns filterforge's training metadata."""
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import train

    config = TrainConfig(
        filter_id=filter_id, strategy=strategy, data_dir=str(data_dir), output_dir=str(run_dir), model=model,
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, head_learning_rate=head_learning_rate,
        max_length=max_length, warmup_ratio=WARMUP_RATIO, lora=lora, seed=seed, max_steps=max_steps,
        max_train_examples=max_train_examples, overwrite=True, quiet=True, threads=threads, device=DEVICE,
    )
    return train(config)


def predict(run_dir: Path, rows: Sequence[dict]) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Predictions of a trained student, ms per article, and its token-budget statistics on ``rows``.

    The statistics carry ``truncated_mask``: which rows the student's input cut."""
    from filterforge.encoding.strategies import budget_statistics
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    predictor = load_predictor(Run.open(run_dir), runtime="torch", device=DEVICE, batch_size=PREDICT_BATCH_SIZE)
    started = time.perf_counter()
    encoded = predictor.encode(rows)
    pred = predictor.predict_encoded(encoded)
    ms = (time.perf_counter() - started) / len(rows) * 1000
    stats = budget_statistics(encoded, predictor.prompt_tokens)
    truncated = np.asarray([e.truncated for e in encoded])
    del predictor
    gc.collect()
    return pred, ms, {**stats, "truncated_mask": truncated}


def drop_resume_state(run_dir: Path) -> None:
    """The resume checkpoint (1.6 GB for SmolLM2) is not needed once the student is scored."""
    from filterforge.runs.layout import CHECKPOINT_DIR

    shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)


def trained_tokenizer(run_dir: Path):
    from filterforge.runs.run import Run
    from filterforge.student.sources import load_tokenizer

    return load_tokenizer(Run.open(run_dir).model_dir)
