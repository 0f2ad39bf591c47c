"""`Run`: the one owner of a run, model, export or deployed-model folder.

Every command opens its target through :meth:`Run.open` (a path, or a filter id for the model deployed
in its filter package) and asks the run for what it needs: the torch model folder, the ONNX exports,
the training metadata, the calibration, the data split it was trained on, its filter and strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError
from filterforge.io import read_json, write_json
from filterforge.runs import layout
from filterforge.runs.calibration import Calibration
from filterforge.runs.combination import Combination


def _read_json(path: Path) -> Any:
    """A JSON file of a run folder; unreadable or malformed is one error naming the file."""
    try:
        return read_json(path)
    except OSError as exc:
        raise FilterforgeError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _read_object(path: Path) -> dict[str, Any]:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise FilterforgeError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _read_info(folder: Path) -> dict[str, Any] | None:
    """The folder's ``filterforge.json``; None when it has none, an error naming the file when it is garbage."""
    path = folder / layout.MODEL_INFO
    return _read_object(path) if path.is_file() else None


def is_export_dir(folder: Path) -> bool:
    info = _read_info(folder)
    return bool(info) and info.get("format") == layout.ONNX_FORMAT and (folder / layout.ONNX_GRAPH).is_file()


def is_model_dir(folder: Path) -> bool:
    return (folder / layout.MODEL_INFO).is_file() and not is_export_dir(folder)


def export_dirs_in(folder: Path) -> list[Path]:
    """The export folders inside a run or model folder, in the order `score` and `bench` use them."""
    if not folder.is_dir():
        return []
    found = [folder / name for name in layout.EXPORT_DIR_NAMES if is_export_dir(folder / name)]
    extra = sorted(p for p in folder.glob(layout.EXPORT_DIR_GLOB) if p not in found and is_export_dir(p))
    return found + extra


def publish_model_dir(staging: Path, run_root: Path, package_files: list[Path]) -> None:
    """Complete a model folder written in ``staging`` with the filter package's files and put it in
    place as the run's ``model/`` in one rename (a previous one is replaced)."""
    import os
    import shutil

    for source in package_files:
        shutil.copy2(source, staging / source.name)
    target = run_root / layout.MODEL_DIR
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)


@dataclass
class Run:
    """A folder written by filterforge. ``root`` holds the run-level files (metadata, evaluation, bench);
    ``model_dir`` the torch student (None for an export whose source is gone); ``export_dir`` is set
    when the folder opened is an ONNX export."""

    root: Path
    model_dir: Path | None
    export_dir: Path | None = None

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path) -> "Run":
        path = Path(target)
        if path.is_dir():
            return cls.from_path(path)
        return cls.deployed(str(target))

    @classmethod
    def from_path(cls, path: Path) -> "Run":
        if not path.is_dir():
            raise FilterforgeError(f"run dir {path} not found")
        if is_export_dir(path):
            source = (_read_info(path) or {}).get("source_model_dir")
            model = Path(source) if source and (Path(source) / layout.MODEL_WEIGHTS).is_file() else None
            return cls(path, model, path)
        if is_model_dir(path / layout.MODEL_DIR):
            return cls(path, path / layout.MODEL_DIR)
        if is_model_dir(path):
            return cls(path, path)
        if (path / layout.TRAINING_METADATA).is_file():
            return cls(path, None)  # a run whose model is gone: its records still compare
        raise FilterforgeError(f"{path} holds no filterforge model "
                               f"(expected {path / layout.MODEL_DIR / layout.MODEL_INFO})")

    @classmethod
    def deployed(cls, filter_id: str) -> "Run":
        """The model deployed in a filter package (``filters/<name>/v<N>/model``)."""
        from filterforge.filters.spec import resolve_filter

        try:
            spec = resolve_filter(filter_id)
        except FilterforgeError as exc:
            raise FilterforgeError(f"'{filter_id}' is neither a folder nor a known filter ({exc})") from None
        folder = spec.path / layout.MODEL_DIR
        if not folder.is_dir():
            raise FilterforgeError(f"filter {spec.id} has no deployed model in {folder}; deploy a run first "
                                   "(filterforge deploy RUN_DIR) or give a RUN_DIR")
        return cls.from_path(folder)

    @classmethod
    def deployment_target(cls, spec: Any) -> Path:
        return spec.path / layout.MODEL_DIR

    # -- what the folder holds ----------------------------------------------------------------
    @property
    def is_run_dir(self) -> bool:
        """A folder `train` wrote (holding model/), as opposed to a bare or deployed model folder."""
        return self.model_dir is not None and self.model_dir == self.root / layout.MODEL_DIR

    @property
    def is_text_baseline(self) -> bool:
        """A TF-IDF or mean-predictor baseline: scored by its own model, no network, no ONNX."""
        return (self.model_dir is not None and self.export_dir is None
                and self.info(self.model_dir).get("format") == layout.BASELINE_FORMAT)

    @property
    def is_ensemble(self) -> bool:
        """A model folder that combines the models in its members/ folder (`filterforge ensemble`)."""
        return (self.model_dir is not None and self.export_dir is None
                and self.info(self.model_dir).get("format") == layout.ENSEMBLE_FORMAT)

    @property
    def has_torch_model(self) -> bool:
        return self.model_dir is not None and (self.model_dir / layout.MODEL_WEIGHTS).is_file()

    @property
    def exports(self) -> list[Path]:
        if self.export_dir is not None:
            return [self.export_dir]
        folders = [self.root] + ([self.model_dir] if self.model_dir and self.model_dir != self.root else [])
        return list(dict.fromkeys(p for folder in folders for p in export_dirs_in(folder)))

    @property
    def weights_dir(self) -> Path:
        """The folder the scoring model comes from (the export when one was opened): its filter, strategy
        settings, tokenizer and calibration."""
        folder = self.export_dir or self.model_dir
        if folder is None:
            raise FilterforgeError(f"{self.root} holds no model")
        return folder

    def info(self, folder: Path | None = None) -> dict[str, Any]:
        """``filterforge.json`` of the model (or of ``folder``, e.g. one export)."""
        folder = folder or self.weights_dir
        return _read_object(folder / layout.MODEL_INFO)

    def prompt_cache_path(self, folder: Path | None = None) -> Path:
        """The prompt KV cache of a shared-prompt decoder export (``folder``, else the opened export)."""
        return (folder or self.weights_dir) / layout.PROMPT_CACHE

    def _candidates(self, name: str) -> list[Path]:
        folders = [self.root]
        if self.model_dir is not None:
            folders += [self.model_dir]
            if self.model_dir.name == layout.MODEL_DIR:
                folders.append(self.model_dir.parent)
        return [folder / name for folder in dict.fromkeys(folders)]

    def _first(self, name: str) -> Path | None:
        return next((p for p in self._candidates(name) if p.is_file()), None)

    # -- training metadata --------------------------------------------------------------------
    def metadata(self, required: bool = True) -> dict[str, Any]:
        """``training_metadata.json`` (a deployed model carries its own copy; an export records the
        fields later stages need in its ``filterforge.json``)."""
        path = self._first(layout.TRAINING_METADATA)
        if path is not None:
            return _read_object(path)
        if self.export_dir is not None:
            return self.info(self.export_dir)
        if required:
            raise FilterforgeError(
                f"{self.root}: no {layout.TRAINING_METADATA} beside the model; give a run dir written by "
                "filterforge train or a model folder written by filterforge deploy")
        return {}

    def train_label_means(self) -> list[float]:
        means = self.metadata().get("train_label_means")
        if not isinstance(means, list):
            raise FilterforgeError(f"{self.root}: the training metadata has no train_label_means "
                                   "(needed for the mean-predictor baseline)")
        return means

    def history(self) -> list[dict[str, Any]]:
        path = self._first(layout.TRAINING_HISTORY)
        if path is None:
            return []
        history = _read_json(path)
        return [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []

    def data_dir(self, given: str | Path | None = None, required: bool = True) -> Path | None:
        """The splits the run was trained on: ``given``, else the data_dir its metadata recorded."""
        if given is not None:
            return Path(given)
        recorded = self.metadata(required=False).get("data_dir")
        if not recorded:
            if required:
                raise FilterforgeError(f"{self.root}: the training metadata names no data_dir; pass --data-dir")
            return None
        path = Path(recorded)
        if not path.is_dir():
            if required:
                raise FilterforgeError(f"the run's data dir {path} (from {self.root}'s training metadata) is not "
                                       "here; give the run's splits with --data-dir")
            return None
        return path

    # -- filter, strategy, calibration ---------------------------------------------------------
    def filter_spec(self) -> Any:
        from filterforge.filters.spec import load_filter

        return load_filter(self.weights_dir)

    def strategy(self, tokenizer: Any, folder: Path | None = None) -> Any:
        """The input strategy the model was trained with, rebuilt with its recorded settings."""
        from filterforge.filters.spec import load_filter
        from filterforge.plugins.manager import get_strategies, lookup

        folder = folder or self.weights_dir
        info = self.info(folder)
        strategy_cls = lookup("strategy", info["strategy"], get_strategies())
        return strategy_cls(load_filter(folder), tokenizer, info.get("strategy_options") or {})

    def calibration(self, folder: Path | None = None) -> Calibration | None:
        calibration = Calibration.load(folder or self.weights_dir)
        if calibration is not None and calibration.dimension_names != self.filter_spec().dimension_names:
            raise FilterforgeError(f"{(folder or self.weights_dir) / layout.CALIBRATION}: dimensions differ from "
                                   "the model's; re-run filterforge calibrate")
        return calibration

    def save_calibration(self, calibration: Calibration) -> Path:
        if self.model_dir is None:
            raise FilterforgeError(f"{self.root} holds no torch model to calibrate")
        return calibration.save(self.model_dir)

    # -- ensembles -----------------------------------------------------------------------------
    def combination(self) -> Combination:
        """The per-dimension member weights of an ensemble (``ensemble.json``)."""
        return Combination.load(self.weights_dir)

    @property
    def members_dir(self) -> Path:
        return self.weights_dir / layout.ENSEMBLE_MEMBERS_DIR

    def ensemble_members(self) -> list[tuple[str, "Run"]]:
        """Each member of an ensemble as a run of its own, in the combination's order."""
        members = []
        for name in self.combination().members:
            folder = self.members_dir / name
            if not (folder / layout.MODEL_INFO).is_file():
                raise FilterforgeError(f"{folder}: ensemble member '{name}' is missing (expected {layout.MODEL_INFO}); "
                                       "rebuild the ensemble with filterforge ensemble")
            members.append((name, Run(folder, folder)))
        return members

    @property
    def calibration_report_path(self) -> Path:
        return self.root / layout.CALIBRATION_REPORT

    # -- evaluation and benchmark results -----------------------------------------------------
    def evaluation_dir(self, given: str | Path | None = None) -> Path:
        if given is not None:
            return Path(given)
        if self.is_run_dir:
            return self.root
        raise FilterforgeError(f"{self.root} is a model folder, not a run dir; give --output-dir for the evaluation files")

    def record_evaluation(self, folder: Path) -> None:
        """Remember where `evaluate --output-dir` wrote an evaluation, so `compare` and `deploy` find it."""
        if Path(folder).resolve() == self.root.resolve():
            return
        index = self.root / layout.EVALUATION_INDEX
        entries = self._evaluation_index()
        entries = [e for e in entries if isinstance(e, str) and Path(e).resolve() != Path(folder).resolve()]
        try:
            write_json(index, entries + [str(Path(folder).resolve())])
        except OSError:
            pass  # a read-only run folder: compare is told with --output-dir where the evaluation is

    def evaluation_path(self) -> Path | None:
        """Where the run's test evaluation is: ``evaluation.json`` in the run folder, else the newest one
        that `evaluate --output-dir` recorded."""
        path = self._first(layout.EVALUATION)
        if path is None:
            found = [Path(e) / layout.EVALUATION for e in reversed(self._evaluation_index()) if isinstance(e, str)]
            path = next((p for p in found if p.is_file()), None)
        return path

    def evaluation(self) -> dict[str, Any] | None:
        path = self.evaluation_path()
        return _read_object(path) if path is not None else None

    def test_errors(self) -> dict[str, float] | None:
        """Each test article's mean absolute error over the dimensions (from the evaluation's
        ``predictions.jsonl``), by article id: what paired bootstraps resample."""
        from filterforge.io import iter_jsonl

        path = self.evaluation_path()
        predictions = path.parent / layout.PREDICTIONS if path is not None else None
        if predictions is None or not predictions.is_file():
            return None
        errors = {}
        for _, row in iter_jsonl(predictions):
            oracle, predicted = row.get("oracle") or {}, row.get("predicted") or {}
            if oracle and oracle.keys() == predicted.keys():
                errors[str(row.get("id"))] = sum(abs(predicted[k] - oracle[k]) for k in oracle) / len(oracle)
        return errors or None

    def _evaluation_index(self) -> list[Any]:
        index = self.root / layout.EVALUATION_INDEX
        entries = _read_json(index) if index.is_file() else []
        return entries if isinstance(entries, list) else []

    @staticmethod
    def evaluation_file(folder: Path) -> Path:
        return Path(folder) / layout.EVALUATION

    def bench_summary(self) -> dict[str, Any] | None:
        path = self._first(layout.BENCH_JSON)
        if path is None:
            return None
        summary = _read_object(path).get("summary")
        if isinstance(summary, dict) and isinstance(summary.get("ms_per_article"), (int, float)):
            return summary
        return None

    def bench_paths(self) -> tuple[Path, Path]:
        folder = self.export_dir or self.root
        return folder / layout.BENCH_JSON, folder / layout.BENCH_MARKDOWN

    @property
    def name(self) -> str:
        return self.root.name
