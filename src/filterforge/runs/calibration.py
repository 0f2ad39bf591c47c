"""Per-dimension isotonic calibration maps, stored as plain threshold lists in ``calibration.json``.

The maps are applied with linear interpolation, clipped at both ends, exactly as scikit-learn's
``IsotonicRegression`` with ``out_of_bounds="clip"`` predicts; no pickle is involved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError
from filterforge.io import read_json, write_json
from filterforge.runs.layout import CALIBRATION

FORMAT = "filterforge-isotonic-v1"
DEFAULT_SCALE = (0.0, 10.0)


class Calibration:
    """One monotone map per dimension from raw prediction to calibrated score, within the dimension's scale."""

    def __init__(self, dimension_names: Sequence[str], thresholds: Sequence[tuple[Sequence[float], Sequence[float]]],
                 info: dict[str, Any] | None = None, scales: Sequence[tuple[float, float]] | None = None):
        if len(thresholds) != len(dimension_names):
            raise FilterforgeError(f"calibration has {len(thresholds)} maps for {len(dimension_names)} dimensions")
        self.dimension_names = list(dimension_names)
        self.thresholds = [(list(map(float, x)), list(map(float, y))) for x, y in thresholds]
        self.scales = [tuple(map(float, s)) for s in scales] if scales else [DEFAULT_SCALE] * len(self.dimension_names)
        self.info = dict(info or {})

    @classmethod
    def fit(cls, pred: Any, gold: Any, dimension_names: Sequence[str],
            scales: Sequence[tuple[float, float]] | None = None) -> "Calibration":
        import numpy as np
        from sklearn.isotonic import IsotonicRegression

        pred = np.asarray(pred, dtype=np.float64)
        gold = np.asarray(gold, dtype=np.float64)
        if pred.shape != gold.shape or pred.ndim != 2 or pred.shape[1] != len(dimension_names):
            raise FilterforgeError(f"calibration needs [n, {len(dimension_names)}] predictions and labels, "
                                   f"got {pred.shape} and {gold.shape}")
        if pred.shape[0] < 2:
            raise FilterforgeError(f"calibration needs at least 2 articles, got {pred.shape[0]}")
        scales = list(scales) if scales else [DEFAULT_SCALE] * len(dimension_names)
        maps = []
        for dim, (low, high) in enumerate(scales):
            iso = IsotonicRegression(y_min=low, y_max=high, increasing=True, out_of_bounds="clip")
            iso.fit(pred[:, dim], gold[:, dim])
            maps.append((iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()))
        return cls(dimension_names, maps, {"n": int(pred.shape[0])}, scales)

    def apply(self, pred: Any) -> Any:
        import numpy as np

        pred = np.asarray(pred, dtype=np.float64)
        if pred.ndim != 2 or pred.shape[1] != len(self.dimension_names):
            raise FilterforgeError(f"calibration expects [n, {len(self.dimension_names)}] predictions, got {pred.shape}")
        out = np.empty_like(pred)
        for dim, (x, y) in enumerate(self.thresholds):
            out[:, dim] = np.interp(pred[:, dim], x, y)  # np.interp clamps outside [x0, xn]: the "clip" rule
        low, high = np.asarray(self.scales).T
        return np.clip(out, low, high).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "method": "isotonic",
            "dimension_names": self.dimension_names,
            "maps": {name: {"x": x, "y": y} for name, (x, y) in zip(self.dimension_names, self.thresholds)},
            "scales": {name: list(scale) for name, scale in zip(self.dimension_names, self.scales)},
            "info": self.info,
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "calibration") -> "Calibration":
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            names = list(data["dimension_names"])
            maps = []
            for name in names:
                x, y = data["maps"][name]["x"], data["maps"][name]["y"]
                if not x or len(x) != len(y) or any(b < a for a, b in zip(x, x[1:])):
                    raise ValueError(f"map for '{name}' needs increasing x and as many y values")
                maps.append(([float(v) for v in x], [float(v) for v in y]))
            scales = [tuple(float(v) for v in data["scales"][name]) for name in names] if data.get("scales") else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FilterforgeError(f"{where}: invalid calibration ({exc})") from None
        return cls(names, maps, data.get("info") or {}, scales)

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / CALIBRATION
        write_json(path, self.to_json())
        return path

    @classmethod
    def load(cls, model_dir: str | Path) -> "Calibration | None":
        """The calibration saved in a model or export folder, or None when it has none."""
        path = Path(model_dir) / CALIBRATION
        if not path.exists():
            return None
        return cls.from_json(read_json(path), where=str(path))
