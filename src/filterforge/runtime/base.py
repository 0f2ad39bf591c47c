"""The `Predictor` contract every runtime implements.

A predictor encodes articles with the run's input strategy, predicts raw scores (``predict_raw_encoded``,
what export compares between runtimes) and clamps them to each dimension's scale (``predict_encoded``,
done here once for every runtime). Calibration and tiers are the `Scorer`'s job, not the predictor's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from filterforge.encoding.batching import MAX_BATCH_TOKENS, inference_batches, pad_token_id
from filterforge.encoding.strategies import EncodedInput

Progress = Callable[[int], Any]


class Predictor:
    """Base class: subclasses implement :meth:`predict_raw_encoded` and set ``runtime``."""

    runtime: ClassVar[str] = ""
    #: A runtime that can only run one batch size (e.g. batch-1 CUDA graphs) names it here.
    only_batch_size: ClassVar[int | None] = None
    device: str = "cpu"

    def __init__(self, tokenizer: Any, strategy: Any, max_length: int, source_dir: Path, batch_size: int = 16):
        self.tokenizer, self.strategy, self.max_length = tokenizer, strategy, max_length
        self.source_dir = Path(source_dir)
        self.batch_size = batch_size
        self.max_batch_tokens: int | None = MAX_BATCH_TOKENS
        self.precision = "fp32"

    @property
    def spec(self) -> Any:
        return self.strategy.filter_spec

    @property
    def num_outputs(self) -> int:
        return len(self.spec.dimensions)

    @property
    def pad_id(self) -> int:
        return pad_token_id(self.tokenizer)

    @property
    def prompt_tokens(self) -> int:
        return self.strategy.fixed_tokens

    # -- what the runtime does ----------------------------------------------------------------
    @property
    def path_used(self) -> str:
        """How inputs reach the model: "shared-prefix" (the prompt's cache reused) or "full-sequence"."""
        return "full-sequence"

    def describe(self) -> str:
        return f"{self.runtime} on {self.device} ({self.path_used}) from {self.source_dir}"

    # -- prediction ---------------------------------------------------------------------------
    def encode(self, articles: Sequence[dict]) -> list[EncodedInput]:
        return [self.strategy.encode(article, self.max_length) for article in articles]

    def batch_length(self, item: EncodedInput) -> int:
        """Tokens the runtime reads for an input (a cached prefix is not read again)."""
        return len(item.input_ids)

    def batches(self, encoded: Sequence[EncodedInput]) -> list[list[int]]:
        return inference_batches([self.batch_length(e) for e in encoded], self.batch_size, self.max_batch_tokens)

    def predict_raw_encoded(self, encoded: Sequence[EncodedInput], progress: Progress | None = None) -> np.ndarray:
        raise NotImplementedError

    def predict_encoded(self, encoded: Sequence[EncodedInput], progress: Progress | None = None) -> np.ndarray:
        """Scores clamped to each dimension's scale (0-10 unless the filter says otherwise)."""
        raw = self.predict_raw_encoded(encoded, progress)
        low, high = np.asarray([dim.scale for dim in self.spec.dimensions], dtype=np.float32).T
        return np.clip(raw, low, high).astype(np.float32)

    def predict(self, articles: Sequence[dict]) -> np.ndarray:
        return self.predict_encoded(self.encode(articles))

    def warm_up(self, encoded: Sequence[EncodedInput]) -> None:
        """Build what the first call would (caches, graphs), so that no timed call pays for it."""
        self.predict_raw_encoded(list(encoded)[:1])

    # -- memory -------------------------------------------------------------------------------
    def reset_peak_memory(self) -> bool:
        from filterforge.runtime.device import reset_peak_memory

        return reset_peak_memory(self.device)

    def peak_memory_mb(self) -> float | None:
        from filterforge.runtime.device import peak_memory_mb

        return peak_memory_mb(self.device)

    @property
    def memory_kind(self) -> str:
        return "peak CUDA memory allocated" if str(self.device).startswith("cuda") else "peak process RSS"
