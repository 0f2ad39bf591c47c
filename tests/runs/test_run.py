"""`Run`: one owner of run, model, export and deployed-model folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from filterforge.errors import FilterforgeError
from filterforge.runs.run import Run

FILTER_DIR = REPO / "filters" / "investment-risk" / "v2"


def model_folder(path: Path, **info) -> Path:
    path.mkdir(parents=True)
    (path / "filterforge.json").write_text(json.dumps({"strategy": "distillation", "max_length": 64, **info}))
    (path / "model.safetensors").write_bytes(b"")
    shutil.copy2(FILTER_DIR / "filter.yaml", path / "filter.yaml")
    return path


def export_folder(path: Path, source: Path | None = None) -> Path:
    path.mkdir(parents=True)
    info = {"format": "onnx", "strategy": "distillation", "max_length": 64, "data_dir": "from-export"}
    if source is not None:
        info["source_model_dir"] = str(source)
    (path / "filterforge.json").write_text(json.dumps(info))
    (path / "model.onnx").write_bytes(b"")
    shutil.copy2(FILTER_DIR / "filter.yaml", path / "filter.yaml")
    return path


def run_folder(root: Path, **metadata) -> Path:
    model_folder(root / "model")
    (root / "training_metadata.json").write_text(json.dumps({"train_label_means": [5.0] * 8, **metadata}))
    return root


def test_a_run_dir_has_its_model_metadata_and_exports_in_order(tmp_path):
    root = run_folder(tmp_path / "run", seed=3)
    export_folder(root / "onnx-int8")
    export_folder(root / "onnx")
    export_folder(root / "onnx-custom")
    run = Run.open(root)
    assert run.is_run_dir and run.has_torch_model and run.model_dir == root / "model"
    assert run.metadata()["seed"] == 3
    assert [p.name for p in run.exports] == ["onnx", "onnx-int8", "onnx-custom"]
    assert run.filter_spec().id == "investment-risk/v2"


def test_a_model_folder_given_directly_finds_the_run_metadata_beside_it(tmp_path):
    root = run_folder(tmp_path / "run", seed=7)
    run = Run.open(root / "model")
    assert not run.is_run_dir and run.model_dir == root / "model"
    assert run.metadata()["seed"] == 7
    with pytest.raises(FilterforgeError, match="give --output-dir"):
        run.evaluation_dir()


def test_an_export_folder_scores_with_its_own_files_and_knows_its_source(tmp_path):
    root = run_folder(tmp_path / "run")
    export = export_folder(root / "onnx", source=root / "model")
    run = Run.open(export)
    assert run.export_dir == export and run.weights_dir == export and run.exports == [export]
    assert run.model_dir == root / "model"
    assert run.data_dir(required=False) is None  # "from-export" is not a folder here
    shutil.rmtree(root / "model")
    assert Run.open(export).model_dir is None


def test_one_rule_for_the_data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    run = Run.open(run_folder(tmp_path / "run", data_dir=str(data)))
    assert run.data_dir() == data
    assert run.data_dir(tmp_path / "given") == tmp_path / "given"
    gone = Run.open(run_folder(tmp_path / "gone", data_dir=str(tmp_path / "nowhere")))
    with pytest.raises(FilterforgeError, match="give the run's splits with --data-dir") as error:
        gone.data_dir()
    assert "\n" not in str(error.value)
    unnamed = Run.open(run_folder(tmp_path / "unnamed"))
    with pytest.raises(FilterforgeError, match="names no data_dir; pass --data-dir"):
        unnamed.data_dir()
    assert unnamed.data_dir(required=False) is None


def test_an_evaluation_written_elsewhere_is_found(tmp_path):
    run = Run.open(run_folder(tmp_path / "run"))
    assert run.evaluation() is None
    elsewhere = tmp_path / "evaluations" / "first"
    elsewhere.mkdir(parents=True)
    (elsewhere / "evaluation.json").write_text(json.dumps({"n": 1}))
    run.record_evaluation(elsewhere)
    assert run.evaluation() == {"n": 1}
    (tmp_path / "run" / "evaluation.json").write_text(json.dumps({"n": 2}))
    assert run.evaluation() == {"n": 2}  # the run folder's own evaluation comes first


def test_a_folder_without_a_model_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FilterforgeError, match="holds no filterforge model"):
        Run.open(tmp_path / "empty")


def test_a_filter_id_opens_its_deployed_model(tmp_path, monkeypatch):
    package = tmp_path / "filters" / "investment-risk" / "v2"
    shutil.copytree(FILTER_DIR, package, ignore=shutil.ignore_patterns("model", ".*"))
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(tmp_path / "filters"))
    with pytest.raises(FilterforgeError, match="has no deployed model"):
        Run.open("investment-risk/v2")
    model_folder(package / "model")
    assert Run.open("investment-risk/v2").model_dir == package / "model"
    with pytest.raises(FilterforgeError, match="neither a folder nor a known filter"):
        Run.open("no-such-filter/v1")


def test_a_calibration_for_other_dimensions_is_refused(tmp_path):
    from filterforge.runs.calibration import Calibration

    run = Run.open(run_folder(tmp_path / "run"))
    Calibration([["a"]][0], [([0.0, 1.0], [0.0, 1.0])]).save(run.model_dir)
    with pytest.raises(FilterforgeError, match="dimensions differ"):
        run.calibration()
