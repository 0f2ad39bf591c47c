"""One method's outcome on one dataset, as kept in memory and as written to the JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

IN_MEMORY_ONLY = ("predictions", "fit_predictions")
PRIVATE_SETTING_PREFIX = "_"  # settings kept for the evidence, never written


@dataclass
class MethodResult:
    key: str
    label: str
    kind: str  # baseline | student | ensemble
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    test: dict[str, Any] = field(default_factory=dict)
    val_mae_first_n: float | None = None  # the selection articles (first of val): checkpoints, alphas
    fit_mae: float | None = None  # the fit articles (rest of val): ensembles cross-fitted; ranks the recommendation
    train_seconds: float | None = None
    ms_per_article: float | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    budget_limited: bool = False
    ensemble: dict[str, Any] | None = None  # members, per-dimension weights and leaning, cross-fit
    predictions: np.ndarray | None = None  # test predictions, kept in memory for the evidence
    fit_predictions: np.ndarray | None = None  # fit-split predictions (cross-fitted for an ensemble)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in IN_MEMORY_ONLY:
            data.pop(name)
        data["settings"] = {k: v for k, v in data["settings"].items() if not k.startswith(PRIVATE_SETTING_PREFIX)}
        return data
