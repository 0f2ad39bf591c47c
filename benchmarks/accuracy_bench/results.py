"""One method's outcome on one dataset, as kept in memory and as written to the JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

IN_MEMORY_ONLY = ("predictions", "val_predictions")
PRIVATE_SETTING_PREFIX = "_"  # settings kept for the evidence, never written


@dataclass
class MethodResult:
    key: str
    label: str
    kind: str  # baseline | student
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    test: dict[str, Any] = field(default_factory=dict)
    val_mae: float | None = None  # whole val split (baselines: what chose alpha)
    val_mae_first_n: float | None = None  # first `student_val_limit` val articles, for every method
    train_seconds: float | None = None
    ms_per_article: float | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    budget_limited: bool = False
    predictions: np.ndarray | None = None  # test predictions, kept in memory for the evidence
    val_predictions: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in IN_MEMORY_ONLY:
            data.pop(name)
        data["settings"] = {k: v for k, v in data["settings"].items() if not k.startswith(PRIVATE_SETTING_PREFIX)}
        return data
