"""Reading the splits `prepare` wrote, with checks that they belong to the filter being trained."""

from __future__ import annotations

from pathlib import Path

from filterforge.errors import FilterforgeError
from filterforge.filters.spec import FilterSpec
from filterforge.io import iter_jsonl, read_json, sha256_of_files


def load_split(path: str | Path, spec: FilterSpec, required: bool = True) -> list[dict]:
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
        labels = row.get("labels")
        if not isinstance(labels, list) or len(labels) != len(spec.dimensions):
            raise FilterforgeError(f"{path}:{lineno}: 'labels' must list {len(spec.dimensions)} scores for {spec.id}")
        rows.append(row)
    if required and not rows:
        raise FilterforgeError(f"{path} holds no rows")
    return rows


def data_hash(data_dir: str | Path) -> str:
    """The hash `prepare` recorded, else a hash of the split files themselves."""
    data_dir = Path(data_dir)
    report = data_dir / "prepare_report.json"
    if report.exists():
        value = read_json(report).get("data_hash")
        if value:
            return value
    files = [p for p in (data_dir / f"{n}.jsonl" for n in ("train", "val", "test")) if p.exists()]
    return sha256_of_files(files)
