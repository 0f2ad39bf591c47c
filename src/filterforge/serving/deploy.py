"""`deploy`: copy a run's model into its filter package (``filters/<name>/v<N>/model/``) with the run files
it needs and a model card, refusing when filter, version or dimensions differ."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError
from filterforge.io import atomic_write_text, write_json
from filterforge.runs import layout


def check_compatible(info: dict[str, Any], spec: Any, run_dir: Path) -> None:
    """The run's model must be for exactly this filter: same name, version and dimensions in order."""
    run_filter = f"{info.get('filter_name')}/v{info.get('filter_version')}"
    if info.get("filter_name") != spec.name:
        raise FilterforgeError(f"refusing to deploy: {run_dir} was trained for filter {run_filter}, not {spec.id}")
    if info.get("filter_version") != spec.version:
        raise FilterforgeError(f"refusing to deploy: {run_dir} was trained for {run_filter}, the target is version {spec.version} ({spec.id})")
    if list(info.get("dimension_names") or []) != spec.dimension_names:
        raise FilterforgeError(
            f"refusing to deploy: the run's dimensions {info.get('dimension_names')} differ from "
            f"{spec.path / 'filter.yaml'} ({', '.join(spec.dimension_names)})"
        )


def deploy(target: str | Path, filter_id: str | None = None, filters_root: str | Path | None = None,
           overwrite: bool = False) -> dict[str, Any]:
    from filterforge.filters.spec import resolve_filter
    from filterforge.provenance import git_commit
    from filterforge.runs.run import Run
    from filterforge.serving.model_card import model_card

    run = Run.open(target)
    if run.model_dir is None or run.export_dir is not None:
        raise FilterforgeError(f"{target} is not a run or model folder with a torch model; deploy RUN_DIR")
    model_dir = run.model_dir
    info = run.info(model_dir)
    metadata = run.metadata()
    run.train_label_means()
    roots = [Path(filters_root)] if filters_root else None
    if filters_root and not Path(filters_root).is_dir():
        raise FilterforgeError(f"--filters-root {filters_root} is not a directory")
    spec = resolve_filter(filter_id or str(info.get("filter")), roots)
    check_compatible(info, spec, Path(target))
    destination = Run.deployment_target(spec)
    if destination.resolve() == model_dir.resolve():
        raise FilterforgeError(f"{model_dir} is already the deployed model of {spec.id}")
    if destination.exists() and not overwrite:
        raise FilterforgeError(f"{destination} already exists; add --overwrite to replace the deployed model")

    extras = {name: run.root / name for name in layout.DEPLOYED_RUN_FILES
              if (run.root / name).is_file() and not (model_dir / name).is_file()}
    evaluation = run.evaluation()
    bench = run.bench_summary()
    deployed_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    calibrated = (model_dir / layout.CALIBRATION).is_file()
    card = model_card(spec, info, metadata, evaluation, calibrated, bench, Path(target), deployed_at)
    deployment = {"filter": spec.id, "run_dir": str(Path(target).resolve()), "deployed_at": deployed_at,
                  "git_commit": git_commit()}
    swap_in(model_dir, destination, extras, card, deployment)
    prompt = model_dir / spec.prompt_path.name
    prompt_differs = prompt.is_file() and spec.prompt_path.is_file() and prompt.read_bytes() != spec.prompt_path.read_bytes()
    return {"target": destination, "filter": spec.id, "evaluated": evaluation is not None, "prompt_differs": prompt_differs,
            "calibrated": (destination / layout.CALIBRATION).is_file(), "metadata": metadata, "evaluation": evaluation}


def swap_in(model_dir: Path, destination: Path, extras: dict[str, Path], card: str, deployment: dict[str, Any]) -> None:
    """Stage the new model folder beside the old one, check that it scores, then swap; on failure the
    previous model stays and the staging folder goes."""
    staging = destination.with_name(f".{destination.name}.deploy-{os.getpid()}")
    retired = destination.with_name(f".{destination.name}.old-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(model_dir, staging, ignore=shutil.ignore_patterns(".*", layout.EVALUATION_INDEX))
        for name, source in extras.items():
            shutil.copy2(source, staging / name)
        atomic_write_text(staging / layout.MODEL_CARD, card)
        write_json(staging / layout.DEPLOYMENT, deployment)
        check_scores(staging, model_dir, extras)
        if destination.exists():
            os.replace(destination, retired)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not destination.exists():
            os.replace(retired, destination)  # put the previous model back
        raise
    shutil.rmtree(retired, ignore_errors=True)


CHECK_ARTICLES = 4
BUILT_IN_ARTICLES = [
    {"id": "deploy-check-1", "title": "Central bank raises interest rates",
     "content": "The central bank raised its main rate by half a point, citing inflation, and warned of slower growth."},
    {"id": "deploy-check-2", "title": "Local bakery opens a second shop",
     "content": "A family bakery opened a second shop downtown after a year of strong sales."},
]


def check_scores(staging: Path, model_dir: Path, extras: dict[str, Path]) -> None:
    """Load the staged folder the way `score` does and score a few articles; any failure refuses the
    deployment with one line naming the run's file (not its staged copy)."""
    import numpy as np

    from filterforge.runs.run import Run
    from filterforge.runtime.scorer import Scorer

    try:
        run = Run.open(staging)
        scorer = Scorer.load(run, runtime="torch", device="cpu")
        scores = scorer.score(check_articles(run, scorer.spec))
    except FilterforgeError as exc:
        raise FilterforgeError(f"refusing to deploy: {source_paths(str(exc), staging, model_dir, extras)}") from None
    except Exception as exc:  # anything else a broken folder makes torch, transformers or a plugin raise
        reason = source_paths(next(iter(str(exc).splitlines()), ""), staging, model_dir, extras)
        raise FilterforgeError(f"refusing to deploy: {model_dir} does not score ({type(exc).__name__}: {reason})") from None
    if not np.isfinite(scores).all():
        raise FilterforgeError(f"refusing to deploy: {model_dir} scores articles as NaN or infinity")


def check_articles(run: Any, spec: Any) -> list[dict[str, Any]]:
    """A few of the run's own test/val articles when its splits are here, else the built-in ones."""
    from filterforge.data.splits import first_split

    data_dir = run.data_dir(required=False)
    if data_dir is not None:
        try:
            rows, _ = first_split(data_dir, spec, order=("test", "val"))
        except FilterforgeError:
            rows = []  # the splits are not what is deployed: a broken one only means other articles
        if rows:
            return rows[:CHECK_ARTICLES]
    return BUILT_IN_ARTICLES


def source_paths(message: str, staging: Path, model_dir: Path, extras: dict[str, Path]) -> str:
    """A message about the staged copy, naming the files it was copied from."""
    for name, source in extras.items():
        message = message.replace(str(staging / name), str(source))
    return message.replace(str(staging), str(model_dir))
