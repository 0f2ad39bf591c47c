"""`deploy` scores with the staged model before it swaps it in: a broken model folder is refused with one
line, the previously deployed model stays as it was and no staging folder is left behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO, assert_one_line_error, copy_run, invoke, train_tiny_run, truncate_file

FILTER_DIR = REPO / "filters" / "investment-risk" / "v2"


def garbage(path: Path) -> None:
    path.write_text('{"not": json at all ::')



def broken_yaml(path: Path) -> None:
    path.write_text("name: investment-risk\ndimensions: [unclosed\n  - : :\n")


CORRUPTIONS = {
    "truncated model.safetensors": ("model.safetensors", truncate_file),
    "truncated head.safetensors": ("head.safetensors", truncate_file),
    "garbage head_config.json": ("head_config.json", garbage),
    "garbage filter.yaml": ("filter.yaml", broken_yaml),
    "garbage tokenizer.json": ("tokenizer.json", garbage),
    "truncated tokenizer.json": ("tokenizer.json", truncate_file),
}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("deploy-checks") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "16")


@pytest.fixture
def run(trained_run, tmp_path) -> Path:
    return copy_run(trained_run, tmp_path)


@pytest.fixture
def filters_root(tmp_path) -> Path:
    root = tmp_path / "filters"
    shutil.copytree(FILTER_DIR, root / "investment-risk" / "v2", ignore=shutil.ignore_patterns("model", ".*"))
    return root


def target_of(filters_root: Path) -> Path:
    return filters_root / "investment-risk" / "v2" / "model"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(filters_root: Path) -> list[str]:
    return sorted(p.name for p in target_of(filters_root).parent.iterdir() if p.name.startswith(".model"))


def deploy(runner, run: Path, filters_root: Path, *extra: str):
    return invoke(runner, ["deploy", run, "--filters-root", filters_root, *extra])


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_broken_model_is_not_deployed(runner, run, filters_root, corruption):
    name, corrupt = CORRUPTIONS[corruption]
    corrupt(run / "model" / name)
    result = deploy(runner, run, filters_root)
    assert_one_line_error(result, "refusing to deploy", str(run / "model" / name))
    assert not target_of(filters_root).exists()
    assert leftovers(filters_root) == []


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_broken_model_leaves_the_deployed_one_untouched(runner, trained_run, run, filters_root, corruption):
    assert deploy(runner, trained_run, filters_root).exit_code == 0
    before = snapshot(target_of(filters_root))
    name, corrupt = CORRUPTIONS[corruption]
    corrupt(run / "model" / name)
    result = deploy(runner, run, filters_root, "--overwrite")
    assert_one_line_error(result, "refusing to deploy", str(run / "model" / name))
    assert snapshot(target_of(filters_root)) == before
    assert leftovers(filters_root) == []


def test_a_model_scoring_nan_is_not_deployed(runner, run, filters_root):
    from safetensors.torch import load_file, save_file

    weights = run / "model" / "head.safetensors"
    state = load_file(str(weights))
    save_file({key: value * float("nan") for key, value in state.items()}, str(weights))
    result = deploy(runner, run, filters_root)
    assert_one_line_error(result, "refusing to deploy", str(run / "model"), "NaN")
    assert not target_of(filters_root).exists()
    assert leftovers(filters_root) == []


def test_a_run_whose_splits_are_gone_is_checked_on_built_in_articles(runner, run, filters_root, tmp_path):
    metadata_path = run / "training_metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["data_dir"] = str(tmp_path / "splits-moved-away")
    metadata_path.write_text(json.dumps(metadata))
    result = deploy(runner, run, filters_root)
    assert result.exit_code == 0, result.output
    assert (target_of(filters_root) / "model.safetensors").is_file()
    assert leftovers(filters_root) == []



def test_a_head_that_does_not_fit_the_body_is_not_deployed(runner, run, filters_root):
    """Head config and weights agree with each other but not with the transformer: it fails only when scoring."""
    from safetensors.torch import load_file, save_file

    config_path, weights = run / "model" / "head_config.json", run / "model" / "head.safetensors"
    config = json.loads(config_path.read_text())
    config["hidden_size"] = config["hidden_size"] // 2
    config_path.write_text(json.dumps(config))
    state = load_file(str(weights))
    state = {key: value[:, : config["hidden_size"]].contiguous() if value.dim() == 2 else value for key, value in state.items()}
    save_file(state, str(weights))
    result = deploy(runner, run, filters_root)
    assert_one_line_error(result, "refusing to deploy", f"{run / 'model'} does not score")
    assert not target_of(filters_root).exists()
    assert leftovers(filters_root) == []
