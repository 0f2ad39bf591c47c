"""Files that are not UTF-8: one line naming the file and the line, never a UnicodeDecodeError."""

from __future__ import annotations

import pytest

from filterforge import io
from filterforge.errors import FilterforgeError


def test_iter_jsonl_names_the_line_that_is_not_utf8(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": "caf\xe9"}\n{"a": 4}\n')
    rows = io.iter_jsonl(path)
    assert next(rows) == (1, {"a": 1}) and next(rows) == (2, {"a": 2})
    with pytest.raises(FilterforgeError) as excinfo:
        next(rows)
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(f"{path}:3: not UTF-8")


def test_iter_jsonl_line_numbers_stay_exact_past_large_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    big = b'{"a": "' + b"x" * 100_000 + b'"}\n'
    path.write_bytes(big * 3 + b'{"a": "\xff"}\n')
    with pytest.raises(FilterforgeError, match=rf"^{path}:4: not UTF-8"):
        list(io.iter_jsonl(path))


def test_iter_jsonl_reads_multibyte_utf8_and_crlf(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes('{"a": "café ✓"}\r\n\r\n{"a": "日本"}\r\n'.encode())
    assert list(io.iter_jsonl(path)) == [(1, {"a": "café ✓"}), (3, {"a": "日本"})]


def test_read_json_names_the_line_that_is_not_utf8(tmp_path):
    path = tmp_path / "report.json"
    path.write_bytes(b'{\n  "a": 1,\n  "b": "\xe9t\xe9"\n}\n')
    with pytest.raises(FilterforgeError) as excinfo:
        io.read_json(path)
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1 and message.startswith(f"{path}:3: not UTF-8")
