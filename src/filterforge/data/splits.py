"""The data folder `prepare` writes and every later stage reads: ``train/val/test[/calibration].jsonl``
and ``prepare_report.json``, with checks that the rows belong to the filter being used."""

from __future__ import annotations

from pathlib import Path

from filterforge.data.labels import InvalidRow, check_prepared_row
from filterforge.errors import FilterforgeError
from filterforge.filters.spec import FilterSpec
from filterforge.io import iter_jsonl, read_json, sha256_of_files

SPLITS = ("train", "val", "test")
CALIBRATION_SPLIT = "calibration"
REPORT_FILE = "prepare_report.json"


def default_data_dir(spec: FilterSpec) -> Path:
    return Path("datasets") / "training" / spec.slug


def split_file(data_dir: str | Path, split: str) -> Path:
    return Path(data_dir) / f"{split}.jsonl"


def report_file(data_dir: str | Path) -> Path:
    return Path(data_dir) / REPORT_FILE


def load_split(path: str | Path, spec: FilterSpec, required: bool = True) -> list[dict]:
    """The rows of one prepared split; a row that breaks the label rules (see `data.labels`) is one error."""
    path = Path(path)
    if not path.exists():
        if required:
            raise FilterforgeError(
                f"{path} not found; create the splits with: filterforge prepare {spec.id} --input 'scored/*.jsonl' "
                f"--output-dir {path.parent}"
            )
        return []
    rows = []
    for lineno, row in iter_jsonl(path):
        names = row.get("dimension_names")
        if names is not None and list(names) != spec.dimension_names:
            raise FilterforgeError(
                f"{path}:{lineno}: dimensions {names} differ from filter {spec.id}'s {spec.dimension_names}; "
                f"re-run filterforge prepare {spec.id}"
            )
        try:
            check_prepared_row(row, spec, f"{path}:{lineno}")
        except InvalidRow as exc:
            raise FilterforgeError(str(exc)) from None
        rows.append(row)
    if required and not rows:
        raise FilterforgeError(f"{path} holds no rows")
    return rows


def first_split(data_dir: str | Path, spec: FilterSpec, order: tuple[str, ...] = ("test", "val", "train")) -> tuple[list[dict], Path | None]:
    """The rows of the first split in ``order`` that has any, and its path."""
    for split in order:
        path = split_file(data_dir, split)
        rows = load_split(path, spec, required=False)
        if rows:
            return rows, path
    return [], None


def data_hash(data_dir: str | Path) -> str:
    """The hash `prepare` recorded, else a hash of the split files themselves."""
    report = report_file(data_dir)
    if report.exists():
        value = read_json(report).get("data_hash")
        if value:
            return value
    files = [p for p in (split_file(data_dir, n) for n in SPLITS) if p.exists()]
    return sha256_of_files(files)
