"""Scoring with an ensemble through the `Predictor` contract: one predictor per member (each encodes
articles with its own tokenizer and input strategy and runs on its own runtime), combined per dimension
by the run's ``ensemble.json``. Calibration and tiers stay the `Scorer`'s job, applied after the
combination; members' own calibrations are not used."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from filterforge.encoding.strategies import EncodedInput
from filterforge.runtime.base import Predictor, Progress


@dataclass
class EnsembleInput(EncodedInput):
    """One article as every member encoded it; the token counts are those of the member that kept the
    smallest share of the article (a member that reads whole articles counts words)."""

    parts: tuple = ()


def most_truncated(parts: Sequence[EncodedInput]) -> EncodedInput:
    return min(parts, key=lambda p: p.article_tokens / max(p.article_tokens_total, 1))


class MemberInputs:
    """The ensemble's "strategy": each member frames the article its own way, so it has no frame itself."""

    shares_prefix = False
    fixed_tokens = 0
    tokenizer = None

    def __init__(self, filter_spec: Any, members: Sequence[Predictor]):
        self.filter_spec = filter_spec
        self.uses_prompt = any(getattr(m.strategy, "uses_prompt", False) for m in members)

    def frame(self) -> tuple[list[int], list[int]]:
        return [], []


class EnsemblePredictor(Predictor):
    runtime = "ensemble"

    def __init__(self, names: Sequence[str], members: Sequence[Predictor], combination: Any, filter_spec: Any,
                 source_dir: Path, batch_size: int = 16):
        self.names, self.members, self.combination = list(names), list(members), combination
        self.runtime = f"ensemble ({'+'.join(dict.fromkeys(m.runtime for m in self.members))})"  # type: ignore[misc]
        super().__init__(None, MemberInputs(filter_spec, members), max(m.max_length for m in members), source_dir,
                         batch_size)

    @classmethod
    def from_run(cls, run: Any, load_member: Callable[[str, Any], Predictor], batch_size: int = 16) -> "EnsemblePredictor":
        """``load_member(name, member_run)`` picks each member's runtime (see `runtime.loader`)."""
        combination = run.combination()
        names, members = [], []
        for name, member_run in run.ensemble_members():
            names.append(name)
            members.append(load_member(name, member_run))
        return cls(names, members, combination, run.filter_spec(), run.weights_dir, batch_size)

    # -- settings every member shares (bench and compare set them on the predictor they hold) ----
    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = value
        for member in self.members:
            member.batch_size = value

    @property
    def max_batch_tokens(self) -> int | None:
        return self._max_batch_tokens

    @max_batch_tokens.setter
    def max_batch_tokens(self, value: int | None) -> None:
        self._max_batch_tokens = value
        for member in self.members:
            member.max_batch_tokens = value

    # -- what the runtime does ----------------------------------------------------------------
    @property
    def device(self) -> str:
        return next((str(m.device) for m in self.members if str(m.device) != "cpu"), "cpu")

    @property
    def path_used(self) -> str:
        return "ensemble: " + "; ".join(f"{n} {m.runtime} {m.path_used}" for n, m in zip(self.names, self.members))

    @property
    def precision(self) -> str:
        return "/".join(dict.fromkeys(m.precision for m in self.members))

    @precision.setter
    def precision(self, value: str) -> None:
        pass  # each member keeps its own

    @property
    def pad_id(self) -> int:
        return 0

    def describe(self) -> str:
        members = ", ".join(f"{n}: {m.describe()}" for n, m in zip(self.names, self.members))
        return f"ensemble ({self.combination.method}) from {self.source_dir} of {members}"

    # -- prediction ---------------------------------------------------------------------------
    def encode(self, articles: Sequence[dict]) -> list[EncodedInput]:
        per_member = [member.encode(articles) for member in self.members]
        encoded = []
        for parts in zip(*per_member):
            worst = most_truncated(parts)
            encoded.append(EnsembleInput([], 0, worst.article_tokens, worst.article_tokens_total, tuple(parts)))
        return encoded

    def batches(self, encoded: Sequence[EncodedInput]) -> list[list[int]]:
        return [list(range(len(encoded)))] if encoded else []  # each member batches its own inputs

    def member_scores(self, encoded: Sequence[EnsembleInput]) -> np.ndarray:
        """``[members, n, dims]``: each member's scores, clamped to each dimension's scale."""
        return np.stack([member.predict_encoded([e.parts[i] for e in encoded])
                         for i, member in enumerate(self.members)])

    def predict_raw_encoded(self, encoded: Sequence[EnsembleInput], progress: Progress | None = None) -> np.ndarray:
        if not encoded:
            return np.zeros((0, self.num_outputs), dtype=np.float32)
        combined = self.combination.combine(self.member_scores(encoded))
        if progress is not None:
            progress(len(encoded))
        return combined

    def warm_up(self, encoded: Sequence[EnsembleInput]) -> None:
        for i, member in enumerate(self.members):
            member.warm_up([e.parts[i] for e in list(encoded)[:1]])
