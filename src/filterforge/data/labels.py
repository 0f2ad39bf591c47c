"""Oracle labels: reading a row's scores in the filter's dimension order, from oracle rows
(``<filter>_analysis``) or prepared rows (``labels`` + ``dimension_names``), and the rules every row
meets before anything trains on it or is scored against it: ``title``/``content`` are strings (or
absent), an oracle score is ``{"score": <finite number within the dimension's scale>}``, a prepared
label is a finite number within its dimension's scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError
from filterforge.filters.spec import Dimension, FilterSpec
from filterforge.io import is_finite_number, iter_jsonl

TEXT_FIELDS = ("title", "content")


class InvalidRow(Exception):
    """A row that breaks one of the rules; ``reason`` is what `prepare --drop-invalid` counts it under."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def row_ident(row: dict, where: str) -> str:
    return f"{where} id={row.get('id')!r}"


def check_text_fields(row: dict, where: str) -> None:
    """``title`` and ``content`` are strings; null counts as absent."""
    for name in TEXT_FIELDS:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidRow("text_not_a_string",
                             f"{row_ident(row, where)}: '{name}' must be a string, got {type(value).__name__}")


def _analysis(row: dict, spec: FilterSpec) -> dict | None:
    for key in spec.analysis_keys():
        if isinstance(row.get(key), dict):
            return row[key]
    return None


def _check_in_scale(value: float, dim: Dimension, ident: str, what: str) -> None:
    low, high = dim.scale
    if not low <= value <= high:
        raise InvalidRow("score_out_of_range", f"{ident}: dimension '{dim.name}' {what} {value} is outside {low:g}-{high:g}")


def _oracle_score(analysis: dict, dim: Dimension, ident: str) -> float:
    if dim.name not in analysis:
        raise InvalidRow("missing_dimension", f"{ident}: missing dimension '{dim.name}'")
    entry = analysis[dim.name]
    if not isinstance(entry, dict):
        raise InvalidRow("score_not_an_object",
                         f"{ident}: dimension '{dim.name}' must be {{\"score\": <number>}}, got {entry!r}")
    value = entry.get("score")
    if not is_finite_number(value):
        raise InvalidRow("non_numeric_score", f"{ident}: dimension '{dim.name}' has a non-numeric or NaN score {value!r}")
    _check_in_scale(value, dim, ident, "score")
    return float(value)


def extract_labels(row: dict, spec: FilterSpec, where: str) -> list[float]:
    """An oracle row's scores in the filter's dimension order, or InvalidRow saying what and where."""
    analysis = _analysis(row, spec)
    ident = row_ident(row, where)
    if analysis is None:
        raise InvalidRow("missing_analysis", f"{ident}: no '{spec.analysis_keys()[0]}' object with the oracle's scores")
    return [_oracle_score(analysis, dim, ident) for dim in spec.dimensions]


def check_prepared_labels(row: dict, spec: FilterSpec, where: str) -> None:
    """A prepared row's ``labels``: one finite number per dimension, each within its scale."""
    ident = row_ident(row, where)
    labels = row.get("labels")
    if not isinstance(labels, list) or len(labels) != len(spec.dimensions):
        raise InvalidRow("bad_labels", f"{ident}: 'labels' must list {len(spec.dimensions)} scores for {spec.id}")
    for dim, value in zip(spec.dimensions, labels):
        if not is_finite_number(value):
            raise InvalidRow("non_numeric_score", f"{ident}: dimension '{dim.name}' label {value!r} is not a finite number")
        _check_in_scale(value, dim, ident, "label")


def check_prepared_row(row: dict, spec: FilterSpec, where: str) -> None:
    """The rules a row of a prepared split meets (text fields, labels); InvalidRow otherwise."""
    check_text_fields(row, where)
    check_prepared_labels(row, spec, where)


def _check_dimension_names(row: dict, spec: FilterSpec, where: str) -> None:
    names = row.get("dimension_names")
    if names is not None and list(names) != spec.dimension_names:
        raise FilterforgeError(f"{where}: dimensions {list(names)} differ from the model's filter {spec.id} "
                               f"({', '.join(spec.dimension_names)})")


def _labels_of(row: dict, spec: FilterSpec, where: str) -> list[float]:
    """Prepared labels when the row has them, else the oracle's scores; FilterforgeError on a broken rule."""
    try:
        if "labels" in row:
            check_prepared_row(row, spec, where)
            return [float(v) for v in row["labels"]]
        check_text_fields(row, where)
        return extract_labels(row, spec, where)
    except InvalidRow as exc:
        raise FilterforgeError(f"{exc} (test data must be prepared splits or oracle rows for {spec.id})") from None


def load_labelled_rows(path: str | Path, spec: Any) -> list[dict]:
    """Prepared rows (``labels`` + ``dimension_names``) or raw oracle rows (``<filter>_analysis``)."""
    path = Path(path)
    if not path.is_file():
        raise FilterforgeError(f"test data {path} not found")
    rows = []
    for lineno, row in iter_jsonl(path):
        where = f"{path}:{lineno}"
        _check_dimension_names(row, spec, where)
        rows.append({**row, "labels": _labels_of(row, spec, where)})
    if not rows:
        raise FilterforgeError(f"test data {path} holds no rows")
    return rows
