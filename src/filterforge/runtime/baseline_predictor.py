"""Scoring with a text baseline (TF-IDF + ridge, the mean predictor) through the `Predictor` contract.
The input is the whole article: nothing is cut, so its "article tokens kept" are its words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.encoding.strategies import EncodedInput, article_text
from filterforge.runtime.base import Predictor, Progress


@dataclass
class TextInput(EncodedInput):
    text: str = ""


class WholeArticle:
    """The input of a text baseline: title + content as written, never truncated."""

    shares_prefix = False
    uses_prompt = False
    fixed_tokens = 0
    tokenizer = None

    def __init__(self, filter_spec: Any):
        self.filter_spec = filter_spec

    def frame(self) -> tuple[list[int], list[int]]:
        return [], []

    def encode(self, article: dict, max_length: int | None = None) -> TextInput:
        text = article_text(article)
        words = len(text.split())
        return TextInput([], 0, words, words, text)


class BaselinePredictor(Predictor):
    runtime = "baseline"

    def __init__(self, model: Any, strategy: WholeArticle, source_dir: Path, method: str, batch_size: int = 256):
        super().__init__(None, strategy, 0, source_dir, batch_size)
        self.model, self.method = model, method

    @classmethod
    def from_run(cls, run: Any, batch_size: int = 256) -> "BaselinePredictor":
        from filterforge.baselines.models import load_text_model

        method = run.info(run.model_dir).get("method")
        return cls(load_text_model(method, run.model_dir), WholeArticle(run.filter_spec()), run.model_dir, method,
                   max(batch_size, 256))

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def path_used(self) -> str:
        return f"{self.method} on the whole article (no truncation)"

    def batches(self, encoded: Sequence[EncodedInput]) -> list[list[int]]:
        return [list(range(i, min(i + self.batch_size, len(encoded)))) for i in range(0, len(encoded), self.batch_size)]

    def predict_raw_encoded(self, encoded: Sequence[TextInput], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(encoded), self.num_outputs), dtype=np.float32)
        for indices in self.batches(encoded):
            out[indices] = self.model.predict([encoded[i].text for i in indices])
            if progress is not None:
                progress(len(indices))
        return out

    def warm_up(self, encoded: Sequence[EncodedInput]) -> None:
        pass
