"""Behaviour of the shared file helpers: atomic writes, JSON/JSONL reading, output dirs, hashing."""

from __future__ import annotations

import json
import math
import os

import pytest

from filterforge import io
from filterforge.errors import FilterforgeError


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def one_line(excinfo) -> str:
    message = excinfo.value.message
    assert "\n" not in message
    return message


# -- atomic writes -----------------------------------------------------------------------------

def test_atomic_write_text_writes_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    io.atomic_write_text(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert leftovers(target.parent) == []
    io.atomic_write_text(target, "second")
    assert target.read_text(encoding="utf-8") == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_failed_rename_keeps_old_content_and_removes_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(io.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        io.atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_failed_write_midway_keeps_old_content_and_removes_temp_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        io.atomic_write_bytes(target, object())  # not bytes: the write itself fails
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_write_json_refuses_nan_and_writes_nothing(tmp_path):
    target = tmp_path / "metrics.json"
    with pytest.raises(ValueError):
        io.write_json(target, {"mae": float("nan")})
    with pytest.raises(ValueError):
        io.write_json(target, {"mae": float("inf")})
    assert list(tmp_path.iterdir()) == []


def test_write_json_then_read_json_round_trip(tmp_path):
    import numpy as np

    target = tmp_path / "data.json"
    io.write_json(target, {"a": 1, "b": [1.5, "x"], "path": tmp_path, "np": np.float32(0.5), "i": np.int64(3)})
    assert io.read_json(target) == {"a": 1, "b": [1.5, "x"], "path": str(tmp_path), "np": 0.5, "i": 3}
    assert target.read_text().endswith("\n")


def test_write_json_serialises_numpy_arrays_as_lists(tmp_path):
    import numpy as np

    target = tmp_path / "data.json"
    io.write_json(target, {"arr": np.arange(3), "matrix": np.eye(2)})
    assert io.read_json(target) == {"arr": [0, 1, 2], "matrix": [[1.0, 0.0], [0.0, 1.0]]}


def test_write_jsonl_then_read_jsonl_round_trip(tmp_path):
    rows = [{"id": "a", "x": 1}, {"id": "b", "text": "ünïcode"}]
    io.write_jsonl(tmp_path / "rows.jsonl", rows)
    assert io.read_jsonl(tmp_path / "rows.jsonl") == rows


# -- reading -----------------------------------------------------------------------------------

def test_iter_jsonl_yields_line_numbers_and_skips_blank_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n   \n{"a": 2}\n{"a": 3}')
    assert list(io.iter_jsonl(path)) == [(1, {"a": 1}), (4, {"a": 2}), (5, {"a": 3})]


def test_iter_jsonl_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n{"a": 3}\n')
    with pytest.raises(FilterforgeError) as excinfo:
        list(io.iter_jsonl(path))
    message = one_line(excinfo)
    assert f"{path}:3" in message
    assert "malformed JSON" in message


@pytest.mark.parametrize("line, kind", [("[1, 2]", "list"), ('"text"', "str"), ("7", "int"), ("null", "NoneType")])
def test_iter_jsonl_non_object_line_names_file_and_line(tmp_path, line, kind):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n' + line + "\n")
    with pytest.raises(FilterforgeError) as excinfo:
        list(io.iter_jsonl(path))
    message = one_line(excinfo)
    assert f"{path}:2" in message
    assert "expected a JSON object" in message and kind in message


def test_read_json_missing_file_names_the_file(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(FilterforgeError) as excinfo:
        io.read_json(path)
    message = one_line(excinfo)
    assert str(path) in message and "not found" in message


def test_read_json_malformed_names_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(FilterforgeError) as excinfo:
        io.read_json(path)
    message = one_line(excinfo)
    assert f"{path}:4" in message and "malformed JSON" in message


# -- output dirs -------------------------------------------------------------------------------

def test_ensure_empty_dir_accepts_missing_and_empty_dirs(tmp_path):
    assert io.ensure_empty_dir(tmp_path / "new", overwrite=False) == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert io.ensure_empty_dir(tmp_path / "empty", overwrite=False) == tmp_path / "empty"


def test_ensure_empty_dir_refuses_non_empty_dir_without_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(FilterforgeError) as excinfo:
        io.ensure_empty_dir(tmp_path / "out", overwrite=False, what="model dir")
    message = one_line(excinfo)
    assert str(tmp_path / "out") in message and "model dir" in message and "--overwrite" in message
    # with overwrite it is accepted, and nothing is deleted
    assert io.ensure_empty_dir(tmp_path / "out", overwrite=True) == tmp_path / "out"
    assert (tmp_path / "out" / "keep.txt").read_text() == "x"


@pytest.mark.parametrize("overwrite", [False, True])
def test_ensure_empty_dir_refuses_a_file(tmp_path, overwrite):
    (tmp_path / "out").write_text("x")
    with pytest.raises(FilterforgeError) as excinfo:
        io.ensure_empty_dir(tmp_path / "out", overwrite=overwrite)
    message = one_line(excinfo)
    assert str(tmp_path / "out") in message and "not a directory" in message
    assert (tmp_path / "out").read_text() == "x"


# -- hashing and numbers -----------------------------------------------------------------------

def test_sha256_of_files_does_not_depend_on_argument_order(tmp_path):
    a, b, c = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    a.write_text("alpha")
    b.write_text("beta")
    c.write_text("gamma")
    digest = io.sha256_of_files([a, b, c])
    assert io.sha256_of_files([c, a, b]) == digest
    assert io.sha256_of_files([str(b), c, a]) == digest
    assert len(digest) == 64


def test_sha256_of_files_changes_with_content(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("alpha")
    b.write_text("beta")
    before = io.sha256_of_files([a, b])
    b.write_text("beta!")
    assert io.sha256_of_files([a, b]) != before
    assert io.sha256_of_files([a]) != io.sha256_of_files([a, b])


@pytest.mark.parametrize("value", [0, 3, -2.5, 1e300, 0.0])
def test_is_finite_number_accepts_finite_numbers(value):
    assert io.is_finite_number(value) is True


@pytest.mark.parametrize("value", [True, False, math.nan, math.inf, -math.inf, "3", "nan", None, [1], {}])
def test_is_finite_number_rejects_bools_non_finite_and_non_numbers(value):
    assert io.is_finite_number(value) is False


def test_temp_files_are_hidden_beside_the_target(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src)))
        return real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", spy)
    io.atomic_write_text(tmp_path / "x.json", json.dumps({}))
    monkeypatch.undo()
    (directory, name), = seen
    assert directory == str(tmp_path)
    assert name.startswith(".x.json.") and name.endswith(".tmp")
