"""A corrupt file in a run folder is one line naming it, never a traceback, in every command that reads it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import assert_one_line_error, copy_run, garbage_json, invoke, train_tiny_run, truncate_file



def a_list(path: Path) -> None:
    path.write_text("[1, 2, 3]\n")


CORRUPTIONS = {
    "garbage model/filterforge.json": ("model/filterforge.json", garbage_json),
    "model/filterforge.json holding a list": ("model/filterforge.json", a_list),
    "garbage model/head_config.json": ("model/head_config.json", garbage_json),
    "model/head_config.json holding a list": ("model/head_config.json", a_list),
    "truncated model/head.safetensors": ("model/head.safetensors", truncate_file),
    "missing model/head.safetensors": ("model/head.safetensors", Path.unlink),
    "truncated model/tokenizer.json": ("model/tokenizer.json", truncate_file),
    "truncated model/model.safetensors": ("model/model.safetensors", truncate_file),
    "garbage training_metadata.json": ("training_metadata.json", garbage_json),
}
COMMANDS = ["evaluate", "score", "export", "bench"]
NOT_READ = {("garbage training_metadata.json", "score")}  # score needs no training metadata


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("corrupt-files") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "16")


@pytest.fixture
def run(trained_run, tmp_path) -> Path:
    return copy_run(trained_run, tmp_path)


def command_args(command: str, run: Path, splits: Path, tmp_path: Path) -> list:
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a1", "title": "Banks", "content": "rates and risk at the banks"}\n')
    return {
        "evaluate": ["evaluate", run, "--test-data", splits / "test.jsonl", "--output-dir", tmp_path / "eval"],
        "score": ["score", run, "--input", articles, "--output", tmp_path / "scored.jsonl", "--runtime", "torch"],
        "export": ["export", run],
        "bench": ["bench", run, "--batch-sizes", "1", "--lengths", "16", "--warmup", "0", "--iters", "1"],
    }[command]


def assert_fails_naming(result, command: str, path: Path) -> None:
    if command == "bench":  # bench prints its plan before it loads the model; the error is stderr's one line
        assert "Traceback" not in result.output
        result = SimpleNamespace(exit_code=result.exit_code, output=result.stderr)
    assert_one_line_error(result, str(path))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupt_file_is_one_line_naming_it(runner, run, demo_splits, tmp_path, corruption, command):
    if (corruption, command) in NOT_READ:
        pytest.skip("the command does not read this file")
    name, corrupt = CORRUPTIONS[corruption]
    corrupt(run / name)
    result = invoke(runner, command_args(command, run, demo_splits, tmp_path))
    assert_fails_naming(result, command, run / name)
    assert not (run / "onnx").exists()


def test_score_does_without_training_metadata(runner, run, demo_splits, tmp_path):
    garbage_json(run / "training_metadata.json")
    result = invoke(runner, command_args("score", run, demo_splits, tmp_path))
    assert result.exit_code == 0, result.output


# -- Run reports a garbage filterforge.json instead of taking the folder for something else ----------

def test_an_export_with_garbage_filterforge_json_is_reported_not_skipped(run):
    from filterforge.errors import FilterforgeError
    from filterforge.runs.run import Run

    export = run / "onnx"
    export.mkdir()
    (export / "model.onnx").write_bytes(b"not a graph either")
    garbage_json(export / "filterforge.json")
    with pytest.raises(FilterforgeError, match=f"{export / 'filterforge.json'}:1: malformed JSON"):
        Run.open(run).exports
    with pytest.raises(FilterforgeError, match=f"{export / 'filterforge.json'}:1: malformed JSON"):
        Run.open(export)


@pytest.mark.parametrize("name", ["bench.json", "evaluation.json"])
def test_run_records_that_are_not_objects_are_named(run, name):
    from filterforge.errors import FilterforgeError
    from filterforge.runs.run import Run

    (run / name).write_text(json.dumps(["not", "a", "record"]))
    opened = Run.open(run)
    read = opened.bench_summary if name == "bench.json" else opened.evaluation
    with pytest.raises(FilterforgeError, match=f"{run / name}: expected a JSON object, got list"):
        read()


def test_head_weights_that_do_not_fit_its_config_are_named(run, demo_splits, tmp_path, runner):
    config_path = run / "model" / "head_config.json"
    config = json.loads(config_path.read_text())
    config["num_outputs"] = config["num_outputs"] + 1
    config_path.write_text(json.dumps(config))
    result = invoke(runner, command_args("score", run, demo_splits, tmp_path))
    assert_one_line_error(result, str(run / "model" / "head.safetensors"), "head_config.json")
