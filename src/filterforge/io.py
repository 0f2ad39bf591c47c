"""Small file helpers shared by every stage: atomic writes, JSONL reading, hashing."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from filterforge.errors import FilterforgeError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temp file beside `path`, then rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default, allow_nan=False)


def write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write_text(path, to_json(data) + "\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    lines = [json.dumps(row, ensure_ascii=False, default=_json_default) for row in rows]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def _not_utf8(path: str | os.PathLike, lineno: int, exc: UnicodeDecodeError) -> FilterforgeError:
    return FilterforgeError(f"{path}:{lineno}: not UTF-8 (byte 0x{exc.object[exc.start]:02x}); re-encode the file as UTF-8")


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for every non-blank line; malformed JSON or bytes that are not UTF-8
    name file:line."""
    # Lines are split as bytes and decoded one by one: a text-mode reader decodes ahead in blocks and
    # would blame the wrong line (or the first one) for a bad byte further down.
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, lineno, exc) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FilterforgeError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise FilterforgeError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return [row for _, row in iter_jsonl(path)]


def read_json(path: str | os.PathLike) -> Any:
    try:
        data = Path(path).read_bytes()
        return json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise FilterforgeError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data.count(b"\n", 0, exc.start) + 1, exc) from None
    except json.JSONDecodeError as exc:
        raise FilterforgeError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None


class YamlMapping(dict):
    """A YAML mapping that remembers the line (1-based) where it and each of its keys start, so that a
    reader checking the data can name ``file:line``."""

    def __init__(self, *args: Any, line: int = 0, key_lines: dict | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line, self.key_lines = line, dict(key_lines or {})

    def line_of(self, key: Any = None) -> int:
        return self.key_lines.get(key, self.line)


def _line_tracking_loader() -> type:
    import yaml

    class LineTrackingLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[YamlMapping]:
        mapping = YamlMapping(line=node.start_mark.line + 1)
        yield mapping  # the safe loader's two-step construction, which lets mappings refer to themselves
        mapping.update(loader.construct_mapping(node))
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                mapping.key_lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1

    LineTrackingLoader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    return LineTrackingLoader


def read_yaml(path: str | os.PathLike, what: str = "", track_lines: bool = False) -> Any:
    """Parsed YAML (safe loader: data only, nothing constructed or evaluated); a syntax error names
    ``file:line``. With ``track_lines`` every mapping is a :class:`YamlMapping`."""
    import yaml

    data = Path(path).read_bytes()
    try:
        if track_lines:
            return yaml.load(data.decode("utf-8"), Loader=_line_tracking_loader())  # a SafeLoader subclass
        return yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data.count(b"\n", 0, exc.start) + 1, exc) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise FilterforgeError(f"{where}: malformed YAML{f' in {what}' if what else ''}") from None


def sha256_of_files(paths: Iterable[str | os.PathLike]) -> str:
    digest = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def ensure_empty_dir(path: str | os.PathLike, overwrite: bool, what: str = "output dir") -> Path:
    """Refuse a non-empty output dir unless overwrite; never delete anything here."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FilterforgeError(f"{what} {path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FilterforgeError(f"{what} {path} is not empty (use --overwrite to replace its files)")
    return path
