"""Bad input stops at `prepare` (or at the split reader `train` uses) with one line naming file:line, id
and dimension, never travelling downstream: wrong types, score forms other than ``{"score": n}``,
labels outside a dimension's scale, empty texts, bytes that are not UTF-8; and the warnings prepare
owes its user (conflicting duplicate ids, empty splits)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import assert_one_line_error, invoke, tiny_train_args
from filterforge.data.splits import load_split
from filterforge.errors import FilterforgeError
from filterforge.filters.spec import resolve_filter

FILTER = "investment-risk/v2"
KEY = "investment-risk_analysis"
DIMENSIONS = resolve_filter(FILTER).dimension_names


def article(ident: str, score=5, **fields) -> dict:
    row = {"id": ident, "title": f"Headline {ident}", "content": f"Body of article {ident} about credit spreads."}
    row[KEY] = {dim: {"score": score, "evidence": None} for dim in DIMENSIONS}
    return {**row, **fields}


def with_score(row: dict, dimension: str, value) -> dict:
    row[KEY][dimension] = value
    return row


def good_rows(n: int) -> list[dict]:
    return [article(f"ok{i}", score=i % 11, content=f"Article number {i} about markets.") for i in range(n)]


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def prepare(runner, source: Path, out: Path, *extra: str):
    return invoke(runner, ["prepare", FILTER, "--input", source, "--output-dir", out, *extra])


def report(out: Path) -> dict:
    return json.loads((out / "prepare_report.json").read_text())


def kept_ids(out: Path) -> set[str]:
    return {json.loads(line)["id"] for name in ("train", "val", "test")
            for line in (out / f"{name}.jsonl").read_text().splitlines()}


def assert_refused(result, out: Path, *fragments: str) -> str:
    line = assert_one_line_error(result, *fragments)
    assert result.exit_code == 1
    assert not out.exists(), "nothing may be written"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")], "staging left behind"
    return line


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "prepared"


# -- prepare: wrong types ---------------------------------------------------------------------

WRONG_TEXT = [
    pytest.param("content", 7, "int", id="int-content"),
    pytest.param("content", ["a", "b"], "list", id="list-content"),
    pytest.param("content", {"text": "x"}, "dict", id="object-content"),
    pytest.param("title", 3.5, "float", id="float-title"),
    pytest.param("title", True, "bool", id="bool-title"),
]


@pytest.mark.parametrize("field, value, kind", WRONG_TEXT)
def test_text_that_is_not_a_string_is_refused(runner, tmp_path, out, field, value, kind):
    source = write_rows(tmp_path / "scored.jsonl", good_rows(5) + [article("bad-1", **{field: value})])
    line = assert_refused(prepare(runner, source, out), out, f"{source}:6", "id='bad-1'", f"'{field}'", kind)
    assert "--drop-invalid" in line


WRONG_SCORES = [
    pytest.param(7, "score_not_an_object", "7", id="bare-number"),
    pytest.param("7", "score_not_an_object", "'7'", id="bare-string"),
    pytest.param({"score": "7"}, "non_numeric_score", "'7'", id="string-in-object"),
    pytest.param({"score": "7.5"}, "non_numeric_score", "'7.5'", id="decimal-string-in-object"),
    pytest.param({"evidence": "no score key"}, "non_numeric_score", "None", id="object-without-score"),
    pytest.param([7], "score_not_an_object", "[7]", id="list"),
    pytest.param({"score": 99}, "score_out_of_range", "outside 0-10", id="99"),
]


@pytest.mark.parametrize("value, reason, shown", WRONG_SCORES)
def test_score_other_than_a_number_object_in_scale_is_refused(runner, tmp_path, out, value, reason, shown):
    source = write_rows(tmp_path / "scored.jsonl", good_rows(5) + [with_score(article("bad-2"), "valuation_risk", value)])
    line = assert_refused(prepare(runner, source, out), out, f"{source}:6", "id='bad-2'", "dimension 'valuation_risk'", shown)
    assert "--drop-invalid" in line


@pytest.mark.parametrize("value, reason, shown", WRONG_SCORES)
def test_drop_invalid_drops_and_counts_wrong_scores(runner, tmp_path, out, value, reason, shown):
    rows = good_rows(20) + [with_score(article("bad-2"), "valuation_risk", value)]
    source = write_rows(tmp_path / "scored.jsonl", rows)
    result = prepare(runner, source, out, "--drop-invalid")
    assert result.exit_code == 0, result.output
    assert report(out)["dropped"] == {reason: 1} and "bad-2" not in kept_ids(out)


def test_drop_invalid_drops_and_counts_wrong_text_types(runner, tmp_path, out):
    rows = good_rows(20) + [article("int", content=7), article("list", content=["x"]), article("title", title=1)]
    source = write_rows(tmp_path / "scored.jsonl", rows)
    result = prepare(runner, source, out, "--drop-invalid")
    assert result.exit_code == 0, result.output
    assert report(out)["dropped"] == {"text_not_a_string": 3} and report(out)["rows_kept"] == 20
    assert "dropped 3" in result.output


def test_null_title_or_content_counts_as_absent(runner, tmp_path, out):
    rows = good_rows(10) + [article("no-title", title=None), article("no-content", content=None)]
    source = write_rows(tmp_path / "scored.jsonl", rows)
    result = prepare(runner, source, out)
    assert result.exit_code == 0, result.output
    assert {"no-title", "no-content"} <= kept_ids(out)


# -- prepare: empty text is an invalid row ----------------------------------------------------

@pytest.mark.parametrize("title, content", [("", ""), ("  ", "\n\t"), (None, None)], ids=["empty", "blank", "null"])
def test_empty_text_fails_without_drop_invalid(runner, tmp_path, out, title, content):
    source = write_rows(tmp_path / "scored.jsonl", good_rows(5) + [article("e1", title=title, content=content)])
    line = assert_refused(prepare(runner, source, out), out, f"{source}:6", "id='e1'", "empty")
    assert "--drop-invalid" in line


def test_empty_text_is_dropped_and_counted_with_drop_invalid(runner, tmp_path, out):
    rows = good_rows(20) + [article("e1", title="", content=""), article("e2", title=" ", content=None)]
    source = write_rows(tmp_path / "scored.jsonl", rows)
    result = prepare(runner, source, out, "--drop-invalid")
    assert result.exit_code == 0, result.output
    assert report(out)["dropped"] == {"empty_text": 2} and report(out)["rows_kept"] == 20


# -- prepare: not UTF-8 -----------------------------------------------------------------------

def test_input_that_is_not_utf8_names_file_and_line(runner, tmp_path, out):
    source = tmp_path / "scored.jsonl"
    lines = [json.dumps(row).encode() for row in good_rows(4)]
    lines.insert(2, json.dumps(article("latin1")).replace("Headline", "Caf\\u00e9").encode().replace(b"Caf\\u00e9", b"Caf\xe9"))
    source.write_bytes(b"\n".join(lines) + b"\n")
    assert_refused(prepare(runner, source, out), out, f"{source}:3: not UTF-8")


# -- prepare: conflicting duplicate ids -------------------------------------------------------

def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning:")]


def conflict_warnings(output: str) -> list[str]:
    return [line for line in warning_lines(output) if "repeat with other text or labels" in line]


def test_conflicting_duplicate_ids_are_warned_about_and_counted(runner, tmp_path, out):
    rows = good_rows(30)
    rows += [article("ok3", score=3, content="A different text under the id ok3."),  # text differs
             article("ok4", score=9, content=rows[4]["content"]),                   # labels differ
             dict(rows[5])]                                                          # identical: no conflict
    source = write_rows(tmp_path / "scored.jsonl", rows)
    result = prepare(runner, source, out)
    assert result.exit_code == 0, result.output
    data = report(out)
    assert data["duplicates"]["by_id"] == 3 and data["conflicting_duplicate_ids"] == 2
    (warning,) = conflict_warnings(result.output)
    assert "ok3" in warning and "ok4" in warning and "ok5" not in warning and "first row" in warning
    kept = {json.loads(line)["id"]: json.loads(line) for name in ("train", "val", "test")
            for line in (out / f"{name}.jsonl").read_text().splitlines()}
    assert kept["ok3"]["content"] == rows[3]["content"]  # the first one still wins


def test_many_conflicting_ids_are_listed_up_to_ten_then_counted(runner, tmp_path, out):
    rows = good_rows(30)
    rows += [article(f"ok{i}", content=f"Another text for ok{i}.") for i in range(25)]
    source = write_rows(tmp_path / "scored.jsonl", rows)
    result = prepare(runner, source, out)
    assert result.exit_code == 0, result.output
    (warning,) = conflict_warnings(result.output)
    listed = re.findall(r"\bok\d+\b", warning)
    assert len(listed) == 10 and "15 more" in warning
    assert report(out)["conflicting_duplicate_ids"] == 25


def test_no_duplicate_warning_without_conflicts(runner, tmp_path, out):
    rows = good_rows(20)
    source = write_rows(tmp_path / "scored.jsonl", rows + [dict(rows[2])])
    result = prepare(runner, source, out)
    assert result.exit_code == 0, result.output
    assert not conflict_warnings(result.output) and report(out)["conflicting_duplicate_ids"] == 0


# -- prepare: empty splits --------------------------------------------------------------------

def test_an_empty_split_is_warned_about_once(runner, tmp_path, out):
    source = write_rows(tmp_path / "scored.jsonl", [article(f"s{i}", content=f"Text {i}.") for i in range(3)])
    result = prepare(runner, source, out)
    assert result.exit_code == 0, result.output
    empty = [name for name in ("train", "val", "test") if not (out / f"{name}.jsonl").read_text().strip()]
    assert empty, "three rows cannot fill train, val and test"
    warnings = warning_lines(result.output)
    for name in empty:
        assert len([w for w in warnings if f"'{name}' split is empty" in w]) == 1, warnings
    assert len(warnings) == len(empty)


def test_no_empty_split_warning_when_every_split_has_rows(runner, tmp_path, out):
    result = prepare(runner, write_rows(tmp_path / "scored.jsonl", good_rows(40)), out)
    assert result.exit_code == 0, result.output
    assert not warning_lines(result.output)


# -- the prepared splits: load_split (train reads through it) --------------------------------

def prepared(ident: str = "p1", labels=None, **fields) -> dict:
    row = {"id": ident, "title": "Headline", "content": "Body text.", "labels": [5.0] * len(DIMENSIONS),
           "dimension_names": DIMENSIONS}
    if labels is not None:
        row["labels"] = labels
    return {**row, **fields}


def labels_with(index: int, value) -> list:
    labels = [5.0] * len(DIMENSIONS)
    labels[index] = value
    return labels


BAD_LABELS = [
    pytest.param(99, "outside 0-10", id="99"),
    pytest.param(-0.5, "outside 0-10", id="negative"),
    pytest.param(float("nan"), "nan is not a finite number", id="nan"),
    pytest.param(float("inf"), "not a finite number", id="infinity"),
    pytest.param("7", "not a finite number", id="string"),
    pytest.param(None, "not a finite number", id="null"),
    pytest.param(True, "not a finite number", id="bool"),
]


@pytest.mark.parametrize("value, words", BAD_LABELS)
def test_load_split_refuses_bad_labels(tmp_path, value, words):
    path = write_rows(tmp_path / "train.jsonl", [prepared("p1"), prepared("p2", labels_with(3, value))])
    with pytest.raises(FilterforgeError) as excinfo:
        load_split(path, resolve_filter(FILTER))
    message = str(excinfo.value)
    assert len(message.splitlines()) == 1
    for fragment in (f"{path}:2", "id='p2'", "dimension 'valuation_risk'", words):
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("field, value, kind", WRONG_TEXT)
def test_load_split_refuses_text_that_is_not_a_string(tmp_path, field, value, kind):
    path = write_rows(tmp_path / "train.jsonl", [prepared("p1"), prepared("p2", **{field: value})])
    with pytest.raises(FilterforgeError, match=rf"^{re.escape(str(path))}:2 id='p2': '{field}' must be a string"):
        load_split(path, resolve_filter(FILTER))


def test_load_split_accepts_integer_labels_on_the_scale_bounds(tmp_path):
    path = write_rows(tmp_path / "train.jsonl", [prepared("p1", [0, 10, 0.5, 9.5, 1, 2, 3, 4])])
    (row,) = load_split(path, resolve_filter(FILTER))
    assert row["labels"] == [0, 10, 0.5, 9.5, 1, 2, 3, 4]


def splits_with_val(tmp_path: Path, val_rows: list) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_rows(data / "train.jsonl", [prepared(f"t{i}") for i in range(8)])
    write_rows(data / "val.jsonl", val_rows)
    return data


def test_train_refuses_a_split_with_a_label_out_of_scale(runner, tmp_path, tiny_encoder):
    data = splits_with_val(tmp_path, [prepared("v1"), prepared("v2", labels_with(0, 99))])
    result = invoke(runner, tiny_train_args(data, tiny_encoder, tmp_path / "run"))
    assert_one_line_error(result, f"{data / 'val.jsonl'}:2", "id='v2'", "dimension 'macro_risk_severity'", "outside 0-10")


def test_train_refuses_a_split_that_is_not_utf8(runner, tmp_path, tiny_encoder):
    data = splits_with_val(tmp_path, [prepared("v1")])
    (data / "train.jsonl").write_bytes(b'{"id": "t\xff"}\n')
    result = invoke(runner, tiny_train_args(data, tiny_encoder, tmp_path / "run"))
    assert_one_line_error(result, f"{data / 'train.jsonl'}:1: not UTF-8")
