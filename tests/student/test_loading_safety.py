"""Model folders are data: filterforge never runs Python code shipped in one, even when stdin says yes."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from conftest import assert_one_line_error, invoke, tiny_train_args, train_tiny_run

REFUSED = "refuses remote code"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("loading-safety") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "16")


def invoke_answering_yes(runner, args: list):
    """The CLI with "y" waiting on stdin, as in `echo y | filterforge ...`."""
    from filterforge.cli import build_cli

    return runner.invoke(build_cli(), [str(a) for a in args], input="y\n", catch_exceptions=False)


def plant_code(folder: Path, marker: Path) -> str:
    """A module in ``folder`` that creates ``marker`` when imported; returns its module name (unique per
    folder, so Python's module cache cannot hide an import)."""
    module = f"custom_{abs(hash(str(folder))) % 10**8}"
    (folder / f"{module}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast\n"
        "class CustomConfig(PretrainedConfig):\n    model_type = 'custom_unknown'\n"
        "class CustomModel(PreTrainedModel):\n    config_class = CustomConfig\n"
        "class CustomTokenizer(PreTrainedTokenizerFast):\n    pass\n")
    return module


def ask_for_custom_model(folder: Path, marker: Path) -> None:
    """config.json with a model_type transformers does not know and an auto_map into the folder's code."""
    module = plant_code(folder, marker)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "custom_unknown"
    config["auto_map"] = {"AutoConfig": f"{module}.CustomConfig", "AutoModel": f"{module}.CustomModel"}
    (folder / "config.json").write_text(json.dumps(config))


def ask_for_custom_tokenizer(folder: Path, marker: Path) -> None:
    module = plant_code(folder, marker)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "CustomTokenizer"
    config["auto_map"] = {"AutoTokenizer": [None, f"{module}.CustomTokenizer"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("checkpoint"))
    return copy


def command_args(command: str, run: Path, splits: Path, tmp_path: Path) -> list:
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a1", "title": "Banks", "content": "rates and risk at the banks"}\n')
    return {
        "score": ["score", run, "--input", articles, "--output", tmp_path / "scored.jsonl", "--runtime", "torch"],
        "evaluate": ["evaluate", run, "--test-data", splits / "test.jsonl", "--output-dir", tmp_path / "eval"],
        "export": ["export", run, "--output", tmp_path / "onnx"],
        "bench": ["bench", run, "--batch-sizes", "1", "--lengths", "16", "--warmup", "0", "--iters", "1"],
    }[command]


@pytest.mark.parametrize("command", ["score", "evaluate", "export", "bench"])
def test_a_run_whose_model_needs_its_own_code_is_refused(runner, trained_run, demo_splits, tmp_path, command):
    run = copy_run(trained_run, tmp_path)
    marker = tmp_path / "code-ran"
    ask_for_custom_model(run / "model", marker)
    result = invoke_answering_yes(runner, command_args(command, run, demo_splits, tmp_path))
    assert_one_line_error(result, str(run / "model"), REFUSED)
    assert not marker.exists()


def test_train_refuses_a_base_model_that_needs_its_own_code(runner, tiny_encoder, demo_splits, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_encoder, base)
    marker = tmp_path / "code-ran"
    ask_for_custom_model(base, marker)
    result = invoke_answering_yes(runner, tiny_train_args(demo_splits, base, tmp_path / "out"))
    assert_one_line_error(result, str(base), REFUSED)
    assert not marker.exists()


def test_score_refuses_a_tokenizer_that_needs_its_own_code(runner, trained_run, demo_splits, tmp_path):
    run = copy_run(trained_run, tmp_path)
    marker = tmp_path / "code-ran"
    ask_for_custom_tokenizer(run / "model", marker)
    result = invoke_answering_yes(runner, command_args("score", run, demo_splits, tmp_path))
    assert_one_line_error(result, str(run / "model"), REFUSED)
    assert not marker.exists()


def test_loading_a_tokenizer_never_asks_stdin(tiny_encoder, tmp_path, monkeypatch):
    from filterforge.errors import FilterforgeError
    from filterforge.student.sources import load_tokenizer

    folder = tmp_path / "model"
    shutil.copytree(tiny_encoder, folder)
    marker = tmp_path / "code-ran"
    ask_for_custom_tokenizer(folder, marker)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    with pytest.raises(FilterforgeError, match=REFUSED):
        load_tokenizer(folder)
    assert not marker.exists()
