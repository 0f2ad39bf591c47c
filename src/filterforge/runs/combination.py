"""How an ensemble combines its members: per dimension, non-negative member weights that sum to 1
(``stack``: a convex combination; ``select``: all weight on one member), stored in ``ensemble.json``.

Members' scores are combined after each member clamps them to the dimension's scale, so a convex
combination stays within the scale too; the ensemble's calibration (if any) applies after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.io import read_json, write_json
from filterforge.runs.layout import ENSEMBLE_COMBINATION

FORMAT = "filterforge-ensemble-v1"
METHODS = ("stack", "select")
WEIGHT_SUM_TOLERANCE = 1e-6


class Combination:
    """``weights[d, m]``: member ``m``'s weight on dimension ``d``."""

    def __init__(self, method: str, members: Sequence[str], dimension_names: Sequence[str], weights: Any,
                 info: dict[str, Any] | None = None):
        self.method, self.members = method, list(members)
        self.dimension_names = list(dimension_names)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.info = dict(info or {})
        self.check()

    def check(self) -> None:
        expected = (len(self.dimension_names), len(self.members))
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r} (known: {', '.join(METHODS)})")
        if len(set(self.members)) != len(self.members) or len(self.members) < 2:
            raise ValueError(f"needs at least 2 distinct member names, got {self.members}")
        if self.weights.shape != expected:
            raise ValueError(f"weights of shape {self.weights.shape}, expected {expected} (dimensions x members)")
        if not np.isfinite(self.weights).all() or (self.weights < 0).any():
            raise ValueError("weights must be finite and non-negative")
        sums = self.weights.sum(1)
        if np.abs(sums - 1).max() > WEIGHT_SUM_TOLERANCE:
            worst = self.dimension_names[int(np.abs(sums - 1).argmax())]
            raise ValueError(f"the weights of '{worst}' sum to {sums.max():.6g}, not 1")

    def combine(self, member_scores: Any) -> np.ndarray:
        """``member_scores[m, n, d]`` (each member's scores of n articles) -> ``[n, d]``."""
        scores = np.asarray(member_scores, dtype=np.float64)
        if scores.ndim != 3 or scores.shape[0] != len(self.members) or scores.shape[2] != len(self.dimension_names):
            raise FilterforgeError(f"ensemble expects [{len(self.members)}, n, {len(self.dimension_names)}] member "
                                   f"scores, got {scores.shape}")
        return np.einsum("mnd,dm->nd", scores, self.weights).astype(np.float32)

    def leaned_on(self) -> dict[str, str]:
        """The member with the largest weight on each dimension."""
        return {name: self.members[int(row.argmax())] for name, row in zip(self.dimension_names, self.weights)}

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "method": self.method, "members": self.members,
                "dimension_names": self.dimension_names,
                "weights": {dim: {member: float(w) for member, w in zip(self.members, row)}
                            for dim, row in zip(self.dimension_names, self.weights)},
                "info": self.info}

    @classmethod
    def from_json(cls, data: Any, where: str = ENSEMBLE_COMBINATION) -> "Combination":
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            members, names = list(data["members"]), list(data["dimension_names"])
            weights = [[float(data["weights"][dim][member]) for member in members] for dim in names]
            return cls(data["method"], members, names, weights, data.get("info") or {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FilterforgeError(f"{where}: invalid ensemble combination ({exc})") from None

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / ENSEMBLE_COMBINATION
        write_json(path, self.to_json())
        return path

    @classmethod
    def load(cls, model_dir: str | Path) -> "Combination":
        path = Path(model_dir) / ENSEMBLE_COMBINATION
        if not path.is_file():
            raise FilterforgeError(f"{path} not found: the ensemble's combination is missing; rebuild it with "
                                   "filterforge ensemble")
        return cls.from_json(read_json(path), where=str(path))
