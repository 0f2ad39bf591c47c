"""`filterforge score` refuses what would corrupt its output: a second writer on the same file, and a resume
into an output another filter, model or calibration wrote."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import assert_one_line_error, invoke, tiny_train_args


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    """A tiny distillation run (torch only: no export)."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("score-safety") / "run"
    trained = invoke(CliRunner(), tiny_train_args(demo_splits, tiny_encoder, out, "distillation",
                                                  "--max-train-examples", "32"))
    assert trained.exit_code == 0, trained.output
    return out


@pytest.fixture
def model_copy(run, tmp_path) -> Path:
    """A model folder of its own, free to be calibrated or changed by one test."""
    copy = tmp_path / "copy" / "model"
    shutil.copytree(run / "model", copy)
    shutil.copy2(run / "training_metadata.json", copy.parent / "training_metadata.json")
    return copy.parent


def _articles(splits: Path, n: int) -> list[dict]:
    rows = [json.loads(line) for line in (splits / "test.jsonl").read_text().splitlines() if line.strip()][:n]
    return [{"id": r["id"], "title": r["title"], "content": r["content"]} for r in rows]


def _input(path: Path, articles: list[dict]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles))
    return path


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def _score(runner, target: Path, source: Path, out: Path):
    return invoke(runner, ["score", target, "--input", source, "--output", out])


def _score_in_a_process(target: Path, source: Path, out: Path) -> SimpleNamespace:
    done = subprocess.run([sys.executable, "-m", "filterforge", "score", str(target), "--input", str(source),
                           "--output", str(out)], capture_output=True, text=True, timeout=300)
    return SimpleNamespace(exit_code=done.returncode, output=done.stdout + done.stderr)


# -- one writer per output ----------------------------------------------------------------------

def test_a_second_writer_is_refused_while_the_first_holds_the_output(runner, run, demo_splits, tmp_path):
    from filterforge.serving.score import exclusive_output_lock

    articles = _articles(demo_splits, 6)
    out = tmp_path / "scores.jsonl"
    assert _score(runner, run, _input(tmp_path / "first.jsonl", articles[:3]), out).exit_code == 0
    everything = _input(tmp_path / "all.jsonl", articles)
    with exclusive_output_lock(out):
        second = _score_in_a_process(run, everything, out)
    assert_one_line_error(second, str(out), "another filterforge score is writing it", f"pid {os.getpid()}")
    assert _ids(out) == [a["id"] for a in articles[:3]]
    again = _score_in_a_process(run, everything, out)
    assert again.exit_code == 0, again.output
    assert _ids(out) == [a["id"] for a in articles]
    assert not Path(f"{out}.lock").exists()


def test_a_lock_left_by_a_killed_writer_does_not_block_the_next_run(runner, run, demo_splits, tmp_path):
    out = tmp_path / "scores.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from filterforge.serving.score import exclusive_output_lock\n"
         "with exclusive_output_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n    time.sleep(300)\n",
         str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert Path(f"{out}.lock").exists()
    articles = _articles(demo_splits, 2)
    result = _score(runner, run, _input(tmp_path / "in.jsonl", articles), out)
    assert result.exit_code == 0, result.output
    assert _ids(out) == [a["id"] for a in articles]
    assert not Path(f"{out}.lock").exists()


def test_the_lock_is_released_when_scoring_fails(runner, run, tmp_path):
    out = tmp_path / "notes.jsonl"
    out.write_text("not a score row\n")
    source = _input(tmp_path / "in.jsonl", [{"id": "a", "title": "Some title", "content": "some content " * 20}])
    assert_one_line_error(_score(runner, run, source, out), f"{out}:1: not a score row")
    assert not Path(f"{out}.lock").exists()


# -- an output remembers who wrote it -----------------------------------------------------------

def _what_differs(line: str) -> str:
    return line.split(" was written with another ", 1)[1].split(" (", 1)[0]


def _resume_into_output_of(runner, writer: Path, resumer: Path, demo_splits, tmp_path):
    articles = _articles(demo_splits, 6)
    out = tmp_path / "scores.jsonl"
    first = _score(runner, writer, _input(tmp_path / "first.jsonl", articles[:3]), out)
    assert first.exit_code == 0, first.output
    written = out.read_text()
    result = _score(runner, resumer, _input(tmp_path / "all.jsonl", articles), out)
    assert out.read_text() == written
    return result, out


def test_resume_into_another_filters_output_is_refused(runner, run, model_copy, demo_splits, tmp_path):
    filter_yaml = model_copy / "model" / "filter.yaml"
    filter_yaml.write_text(filter_yaml.read_text().replace("version: 2\n", "version: 3\n"))
    result, out = _resume_into_output_of(runner, run, model_copy, demo_splits, tmp_path)
    line = assert_one_line_error(result, str(out), "filter investment-risk/v2, now investment-risk/v3", "another --output")
    assert _what_differs(line) == "filter"


def test_resume_into_another_models_output_is_refused(runner, run, model_copy, demo_splits, tmp_path):
    from safetensors.torch import load_file, save_file

    head = model_copy / "model" / "head.safetensors"
    save_file({name: tensor + 0.5 for name, tensor in load_file(str(head)).items()}, str(head))  # a retrained head
    result, out = _resume_into_output_of(runner, run, model_copy, demo_splits, tmp_path)
    line = assert_one_line_error(result, str(out), str((run / "model").resolve()),
                                 str((model_copy / "model").resolve()), "another --output")
    assert _what_differs(line) == "model"


def test_resume_after_calibrating_the_same_model_is_refused(runner, model_copy, demo_splits, tmp_path):
    from filterforge.runs.calibration import Calibration

    articles = _articles(demo_splits, 6)
    out = tmp_path / "scores.jsonl"
    assert _score(runner, model_copy, _input(tmp_path / "first.jsonl", articles[:3]), out).exit_code == 0
    names = json.loads((model_copy / "model" / "filterforge.json").read_text())["dimension_names"]
    Calibration(names, [([0.0, 10.0], [1.0, 9.0])] * len(names)).save(model_copy / "model")
    result = _score(runner, model_copy, _input(tmp_path / "all.jsonl", articles), out)
    line = assert_one_line_error(result, str(out), "calibration none, now applied", "another --output")
    assert _what_differs(line) == "calibration"
    assert _ids(out) == [a["id"] for a in articles[:3]]


def test_resume_with_the_same_model_scores_only_the_new_ids(runner, run, demo_splits, tmp_path):
    articles = _articles(demo_splits, 8)
    out = tmp_path / "scores.jsonl"
    assert _score(runner, run, _input(tmp_path / "first.jsonl", articles[:4]), out).exit_code == 0
    result = _score(runner, run, _input(tmp_path / "all.jsonl", articles), out)
    assert result.exit_code == 0, result.output
    assert "scored 4," in result.output and "skipped 4 already in the output" in result.output
    assert "warning" not in result.output
    assert _ids(out) == [a["id"] for a in articles]


def test_the_same_weights_in_another_folder_resume_the_output(runner, run, model_copy, demo_splits, tmp_path):
    articles = _articles(demo_splits, 4)
    out = tmp_path / "scores.jsonl"
    assert _score(runner, run, _input(tmp_path / "first.jsonl", articles[:2]), out).exit_code == 0
    result = _score(runner, model_copy, _input(tmp_path / "all.jsonl", articles), out)
    assert result.exit_code == 0, result.output
    assert "scored 2," in result.output and _ids(out) == [a["id"] for a in articles]


def test_an_output_without_a_record_of_its_writer_resumes_with_a_warning(runner, run, demo_splits, tmp_path):
    articles = _articles(demo_splits, 6)
    out = tmp_path / "scores.jsonl"
    out.write_text("".join(json.dumps({"id": a["id"], "filter": "investment-risk/v2"}) + "\n" for a in articles[:2]))
    result = _score(runner, run, _input(tmp_path / "all.jsonl", articles), out)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(out) in warnings[0] and "writer is unknown" in warnings[0]
    assert "scored 4," in result.output
    assert _ids(out) == [a["id"] for a in articles]


def test_the_record_of_the_writer_is_not_taken_for_score_rows(runner, run, demo_splits, tmp_path):
    articles = _articles(demo_splits, 3)
    out = tmp_path / "scores.jsonl"
    source = _input(tmp_path / "in.jsonl", articles)
    assert _score(runner, run, source, out).exit_code == 0
    record = json.loads(Path(f"{out}.meta.json").read_text())
    assert record["filter"] == "investment-risk/v2" and record["model"]["path"] == str((run / "model").resolve())
    assert record["runtime"] == "torch" and record["calibration"] is None and record["filterforge_version"]
    again = _score(runner, run, source, out)
    assert "scored 0," in again.output and "skipped 3 already in the output" in again.output
    assert _ids(out) == [a["id"] for a in articles]


@pytest.mark.parametrize("record, message", [("{broken", "malformed JSON"), ("[]", "expected a JSON object")])
def test_an_unreadable_record_of_the_writer_is_one_line(runner, run, demo_splits, tmp_path, record, message):
    articles = _articles(demo_splits, 4)
    out = tmp_path / "scores.jsonl"
    assert _score(runner, run, _input(tmp_path / "first.jsonl", articles[:2]), out).exit_code == 0
    Path(f"{out}.meta.json").write_text(record)
    result = _score(runner, run, _input(tmp_path / "all.jsonl", articles), out)
    assert_one_line_error(result, f"{out}.meta.json", message)
    assert _ids(out) == [a["id"] for a in articles[:2]]
