"""Oracle labels: reading a row's scores in the filter's dimension order, from oracle rows
(``<filter>_analysis``) or prepared rows (``labels`` + ``dimension_names``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError
from filterforge.filters.spec import FilterSpec
from filterforge.io import is_finite_number, iter_jsonl


def _analysis(row: dict, spec: FilterSpec) -> dict | None:
    for key in spec.analysis_keys():
        if isinstance(row.get(key), dict):
            return row[key]
    return None


def _score(value: Any) -> Any:
    return value.get("score") if isinstance(value, dict) else value


class InvalidRow(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def extract_labels(row: dict, spec: FilterSpec, where: str) -> list[float]:
    """The row's scores in the filter's dimension order, or InvalidRow saying what and where."""
    analysis = _analysis(row, spec)
    ident = f"{where} id={row.get('id')!r}"
    if analysis is None:
        raise InvalidRow("missing_analysis", f"{ident}: no '{spec.analysis_keys()[0]}' object with the oracle's scores")
    labels = []
    for dim in spec.dimensions:
        if dim.name not in analysis:
            raise InvalidRow("missing_dimension", f"{ident}: missing dimension '{dim.name}'")
        value = _score(analysis[dim.name])
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if not is_finite_number(value):
            raise InvalidRow("non_numeric_score", f"{ident}: dimension '{dim.name}' has a non-numeric or NaN score {value!r}")
        low, high = dim.scale
        if not low <= value <= high:
            raise InvalidRow("score_out_of_range", f"{ident}: dimension '{dim.name}' score {value} is outside {low:g}-{high:g}")
        labels.append(float(value))
    return labels


def load_labelled_rows(path: str | Path, spec: Any) -> list[dict]:
    """Prepared rows (``labels`` + ``dimension_names``) or raw oracle rows (``<filter>_analysis``)."""
    path = Path(path)
    if not path.is_file():
        raise FilterforgeError(f"test data {path} not found")
    rows = []
    for lineno, row in iter_jsonl(path):
        where = f"{path}:{lineno}"
        names = row.get("dimension_names")
        if names is not None and list(names) != spec.dimension_names:
            raise FilterforgeError(f"{where}: dimensions {list(names)} differ from the model's filter {spec.id} "
                                   f"({', '.join(spec.dimension_names)})")
        if "labels" in row:
            labels = row["labels"]
            if not isinstance(labels, list) or len(labels) != len(spec.dimensions):
                raise FilterforgeError(f"{where}: 'labels' must list {len(spec.dimensions)} scores for {spec.id}")
        else:
            try:
                labels = extract_labels(row, spec, where)
            except InvalidRow as exc:
                raise FilterforgeError(f"{exc} (test data must be prepared splits or oracle rows for {spec.id})") from None
        rows.append({**row, "labels": [float(v) for v in labels]})
    if not rows:
        raise FilterforgeError(f"test data {path} holds no rows")
    return rows
