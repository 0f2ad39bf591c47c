"""`ensemble`: combine runs (students of any strategy, baselines) per dimension and write the result as a
run folder (``model/`` holding ``ensemble.json`` and a copy of every member, ``training_metadata.json``,
``training_history.json``) that evaluate, compare, calibrate, score, export, deploy and bench open.

The combination is fitted on a split that picked none of the members' checkpoints: the calibration split
when the data has one, else validation (which did pick them, so the fit is optimistic; the metadata says
which). The test split is never read.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.runs import layout

logger = logging.getLogger(__name__)
FIT_SPLITS = ("calibration", "val")
CLEAN_FIT = "the calibration split: never used to train a member or to pick its checkpoint or hyper-parameters"
OPTIMISTIC_FIT = ("validation (the data has no calibration split): it also picked the members' checkpoints and "
                  "hyper-parameters, so the fit-split MAEs are optimistic; prepare with --calibration-ratio for a "
                  "held-out fit split")


@dataclass
class EnsembleSettings:
    members: Sequence[str]
    output_dir: str
    method: str = "stack"
    data_dir: str | None = None
    device: str = "auto"
    threads: int | None = None
    batch_size: int = 16
    overwrite: bool = False


@dataclass
class Split:
    name: str
    path: Path
    rows: list[dict]

    @property
    def gold(self) -> np.ndarray:
        return np.asarray([r["labels"] for r in self.rows], dtype=np.float64)


def fit_data_dir(members: Sequence[Any], given: str | None) -> Path:
    if given is not None:
        return Path(given)
    found = next((d for d in (m.run.data_dir(required=False) for m in members) if d is not None), None)
    if found is None:
        raise FilterforgeError("no member's recorded data dir is here; give the members' prepared splits with --data-dir")
    return found


def fit_split(data_dir: Path, spec: Any) -> Split:
    from filterforge.data.splits import load_split, split_file

    for name in FIT_SPLITS:
        rows = load_split(split_file(data_dir, name), spec, required=False)
        if rows:
            return Split(name, split_file(data_dir, name), rows)
    raise FilterforgeError(f"{data_dir} has neither a calibration.jsonl nor a val.jsonl with rows to fit the ensemble on")


def predict_splits(folder: Path, members: Sequence[Any], splits: Sequence[Split], settings: EnsembleSettings
                   ) -> tuple[list[np.ndarray], list[dict[str, Any]], str]:
    """Each split's member scores ``[members, n, dims]`` from the copied members (what will score), one
    member loaded at a time; each member's token budget on the last split; the device used."""
    from filterforge.encoding.strategies import budget_statistics
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    scores: list[list[np.ndarray]] = [[] for _ in splits]
    budgets, device = [], "cpu"
    for member in members:
        member_dir = folder / member.name
        try:
            predictor = load_predictor(Run(member_dir, member_dir), runtime="torch", device=settings.device,
                                       threads=settings.threads, batch_size=settings.batch_size)
        except FilterforgeError as exc:
            raise FilterforgeError(f"ensemble member {member.run.root}: {exc}") from None
        device = predictor.device if str(predictor.device) != "cpu" else device
        for index, split in enumerate(splits):
            encoded = predictor.encode(split.rows)
            scores[index].append(predictor.predict_encoded(encoded))
        budgets.append({**budget_statistics(encoded, predictor.prompt_tokens), "max_length": predictor.max_length,
                        "min_article_tokens": (member.metadata.get("token_budget") or {}).get("min_article_tokens")})
        del predictor
    return [np.stack(s) for s in scores], budgets, str(device)


def most_truncating(budgets: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """The budget of the member that cut the most articles (the ensemble reads what each member keeps)."""
    index = max(range(len(budgets)), key=lambda i: (budgets[i]["share_truncated"], -budgets[i]["article_tokens_kept_min"]))
    return {**budgets[index], "member": names[index]}


def write_model_folder(output: Path, staging: Path, info: dict[str, Any], combination: Any, spec: Any) -> None:
    from filterforge.io import write_json
    from filterforge.runs.run import publish_model_dir

    combination.save(staging)
    write_json(staging / layout.MODEL_INFO, info)
    publish_model_dir(staging, output, spec.package_files())


def build_ensemble(settings: EnsembleSettings) -> dict[str, Any]:
    """Fit the combination and write the ensemble run; returns its training metadata."""
    from filterforge.data.splits import load_split, split_file
    from filterforge.ensembles.fit import fit_combination, leaning_report
    from filterforge.ensembles.members import check_trained_on, copy_members, open_members
    from filterforge.filters.spec import load_filter
    from filterforge.io import ensure_empty_dir, sha256_of_files, write_json
    from filterforge.metrics import regression_metrics
    from filterforge.provenance import provenance
    from filterforge.runs.combination import METHODS

    if settings.method not in METHODS:
        raise FilterforgeError(f"unknown ensemble method '{settings.method}' (known: {', '.join(METHODS)})")
    started = time.time()
    members = open_members(settings.members)
    spec = load_filter(members[0].run.model_dir)
    data_dir = fit_data_dir(members, settings.data_dir)
    hash_ = check_trained_on(members, data_dir)
    fit = fit_split(data_dir, spec)
    val = fit if fit.name == "val" else Split("val", split_file(data_dir, "val"), load_split(split_file(data_dir, "val"), spec))
    train = load_split(split_file(data_dir, "train"), spec)
    means = np.asarray([r["labels"] for r in train], dtype=np.float64).mean(0).tolist()
    output = ensure_empty_dir(settings.output_dir, settings.overwrite)
    for member in members:
        model_dir = member.run.model_dir.resolve()
        if output.resolve() in (member.run.root.resolve(), model_dir) or model_dir in output.resolve().parents:
            raise FilterforgeError(f"--output-dir {output} would overwrite member {member.run.root}; choose a new folder")
    names = [m.name for m in members]
    staging = output / f".{layout.MODEL_DIR}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        copy_members(members, staging / layout.ENSEMBLE_MEMBERS_DIR)
        splits = [fit] if fit is val else [fit, val]
        scores, budgets, device = predict_splits(staging / layout.ENSEMBLE_MEMBERS_DIR, members, splits, settings)
        combination = fit_combination(settings.method, scores[0], fit.gold, names, spec.dimension_names)
        fit_record = {"name": fit.name, "path": str(fit.path.resolve()), "articles": len(fit.rows),
                      "sha256": sha256_of_files([fit.path]), "why": CLEAN_FIT if fit.name == "calibration" else OPTIMISTIC_FIT}
        combination.info.update(fit_split=fit_record, data_hash=hash_)
        leaning = leaning_report(combination, scores[0], fit.gold, means, spec)
        info = {"format": layout.ENSEMBLE_FORMAT, "filter": spec.id, "filter_name": spec.name,
                "filter_version": spec.version, "dimension_names": spec.dimension_names, "method": settings.method,
                "members": names}
        write_model_folder(output, staging, info, combination, spec)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    val_pred = combination.combine(scores[-1])
    val_metrics = regression_metrics(val_pred, val.gold, spec.dimension_names, means)
    seconds = round(time.time() - started, 2)
    metadata = {
        **{k: info[k] for k in ("filter", "filter_name", "filter_version", "dimension_names")},
        "num_dimensions": len(spec.dimensions), "strategy": f"ensemble-{settings.method}", "training_mode": "ensemble",
        "include_prompt": any(bool(m.metadata.get("include_prompt")) for m in members),
        "model_name": "ensemble of " + ", ".join(names),
        "ensemble": {"method": settings.method, "fit_split": fit_record, "members": [m.describe() for m in members],
                     "per_dimension": leaning["per_dimension"], "fit_split_mae": leaning["mae"],
                     "fit_split_tier_accuracy": leaning["tier_accuracy"],
                     "members_calibration": "not used: members' raw scores (clamped to each scale) are combined; "
                                            "calibrate the ensemble itself"},
        "train_examples": len(train), "val_examples": len(val.rows), "best_val_mae": val_metrics["mae"], "best_epoch": 1,
        "val_mean_predictor_mae": val_metrics["mean_predictor_mae"],
        "validation_note": "the weights were fitted on validation: its MAE is in-sample" if fit is val else None,
        "train_label_means": means, "seed": None, "data_dir": str(data_dir), "data_hash": hash_,
        "train_seconds": seconds, "wall_time_seconds": seconds,
        "token_budget": most_truncating(budgets, names), "device": device, "precision": "fp32", **provenance(),
    }
    history = [{"epoch": 1, "train_loss": None, "val_mae": val_metrics["mae"], "val_rmse": val_metrics["rmse"],
                "val_mean_predictor_mae": val_metrics["mean_predictor_mae"],
                "val_per_dimension_mae": val_metrics["per_dimension_mae"], "global_step": 0}]
    write_json(output / layout.TRAINING_HISTORY, history)
    write_json(output / layout.TRAINING_METADATA, metadata)
    logger.info(f"ensemble ({settings.method}) of {', '.join(names)} for {spec.id}: fitted on {len(fit.rows)} articles of "
                f"{fit.path} ({fit.name}); fit-split MAE {leaning['mae']['ensemble']:.4f} vs best member "
                f"{min(leaning['mae'][n] for n in names):.4f} and mean predictor {leaning['mae']['mean_predictor']:.4f}; "
                f"wrote {output}")
    return metadata
