"""`filterforge deploy`: copy a run's model into its filter package (``filters/<name>/v<N>/model/``)
with ``training_metadata.json`` and a model card, refusing when filter, version or dimensions differ."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from filterforge.errors import FilterforgeError
from filterforge.io import atomic_write_text, read_json, write_json

# Copied beside the model when the run has them; training_metadata.json is required.
RUN_FILES = ("training_metadata.json", "evaluation.json", "calibration_report.json", "bench.json")


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


def _synthetic_training_data(metadata: dict[str, Any]) -> bool:
    path = Path(str(metadata.get("data_dir"))) / "train.jsonl"
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        return bool(first.strip()) and bool(json.loads(first).get("synthetic"))
    except (OSError, ValueError, AttributeError):
        return False


def _article_budget(info: dict[str, Any], budget: dict[str, Any]) -> Any:
    if isinstance(info.get("max_length"), int) and isinstance(budget.get("prompt_tokens"), int):
        return info["max_length"] - budget["prompt_tokens"]
    return f"about {budget.get('article_tokens_kept_max')}"


def _fmt(value: Any, digits: int = 3) -> str:
    return "—" if value is None else (f"{value:.{digits}f}" if isinstance(value, (int, float)) else str(value))


def model_card(spec: Any, info: dict[str, Any], metadata: dict[str, Any], evaluation: dict[str, Any] | None,
               calibrated: bool, bench: dict[str, Any] | None, run_dir: Path, deployed_at: str) -> str:
    budget = metadata.get("token_budget") or {}
    lines = [
        f"# {spec.id} student model",
        "",
        f"Scores news articles on the {len(spec.dimensions)} dimensions of the `{spec.id}` filter (0-10 each), "
        f"distilled from an LLM oracle's scores. Deployed {deployed_at} from `{run_dir}`.",
        "",
        "## Model",
        "",
        f"- Base model: `{metadata.get('model_name')}` ({_fmt(metadata.get('num_parameters'), 0)} parameters, "
        f"{metadata.get('training_mode')} fine-tuning{', LoRA r' + str(metadata.get('lora_r')) + ' merged' if metadata.get('lora_r') else ''})",
        f"- Strategy: `{metadata.get('strategy')}` ({'filter prompt + article' if metadata.get('strategy') == 'instruction' else 'article only'}), "
        f"pooling `{info.get('pooling')}`, head `{info.get('head')}`, max_length {info.get('max_length')}",
        f"- Calibration: {'per-dimension isotonic (calibration.json, applied by evaluate/score/export)' if calibrated else 'none'}",
        f"- Training: {metadata.get('epochs_completed')} epoch(s), batch {metadata.get('batch_size')}, lr {metadata.get('learning_rate')}, "
        f"seed {metadata.get('seed')}, {_fmt(metadata.get('train_seconds'), 1)} s on {metadata.get('device')} "
        f"({metadata.get('precision')}), peak memory {_fmt(metadata.get('peak_memory_mb'), 0)} MB",
        "",
        "## Data",
        "",
        f"- {metadata.get('train_examples')} training and {metadata.get('val_examples')} validation articles "
        f"from `{metadata.get('data_dir')}`; data hash `{metadata.get('data_hash')}`",
        f"- Article tokens kept (train+val): mean {budget.get('article_tokens_kept_mean')}, min {budget.get('article_tokens_kept_min')}, "
        f"{(budget.get('share_truncated') or 0):.0%} truncated; prompt/template {budget.get('prompt_tokens')} tokens",
        "",
        "## Metrics",
        "",
        f"- Validation MAE {_fmt(metadata.get('best_val_mae'))} (mean predictor {_fmt(metadata.get('val_mean_predictor_mae'))})",
    ]
    if evaluation:
        m = evaluation["metrics"]
        lines.append(f"- Test MAE {_fmt(m['mae'])} (mean predictor {_fmt(m.get('mean_predictor_mae'))}), RMSE {_fmt(m['rmse'])}, "
                     f"Spearman {_fmt(m.get('spearman'))} on {evaluation['n']} articles"
                     + (" (calibrated)" if evaluation.get("calibrated") else ""))
        if evaluation.get("tiers"):
            lines.append(f"- Tier accuracy {_fmt(evaluation['tiers']['accuracy'])}")
        ranking = evaluation.get("ranking") or {}
        if ranking.get("k"):
            lines.append("- Ranking: " + ", ".join(f"Recall@{k} {_fmt(ranking['recall@k'][str(k)])}, NDCG@{k} {_fmt(ranking['ndcg@k'][str(k)])}"
                                               for k in ranking["k"]))
        lines += ["", "| dimension | MAE | mean predictor |", "|---|---|---|"]
        lines += [f"| {n} | {_fmt(v)} | {_fmt(m.get('mean_predictor_per_dimension_mae', {}).get(n))} |"
                  for n, v in m["per_dimension_mae"].items()]
    else:
        lines.append("- Test: not evaluated (run `filterforge evaluate` before deploying to record it here)")
    lines += ["", "## Edge cases", ""]
    edge = (evaluation or {}).get("edge_cases")
    if edge:
        lines.append(f"{edge['passed']}/{edge['total']} cases passed ({edge['pass_rate']:.0%}) from `{edge.get('file')}`:")
        lines += [f"- {cat}: {v['passed']}/{v['total']}" for cat, v in edge["by_category"].items()]
    else:
        lines.append("Not evaluated.")
    if bench:
        lines += ["", "## Speed", "",
                  f"{_fmt(bench.get('ms_per_article'), 2)} ms/article ({bench.get('runtime')}, batch {bench.get('batch_size')}, "
                  f"length {bench.get('length')}, {bench.get('path')}) on {bench.get('machine')}"]
    lines += ["", "## Limits", "",
              "- The labels are an LLM oracle's scores, not ground truth; the model imitates that oracle, errors included.",
              f"- Articles longer than {_article_budget(info, budget)} tokens are truncated by the `{info.get('strategy')}` "
              "strategy; the model never sees the part cut away.",
              "- Scores outside the training distribution (other languages, other kinds of text) are unreliable; "
              "check the edge-case results above."]
    if _synthetic_training_data(metadata):
        lines.append("- Trained on synthetic demo articles: a pipeline demonstration, not a model for real use.")
    lines += ["", "## Intended use", "",
              f"Screening and ranking news for the `{spec.id}` filter ({spec.description.split('.')[0].strip()}.) so that a person "
              "reads the articles that matter first. Not investment advice and not a replacement for reading the article.",
              "", "## Provenance", "",
              f"- Trained at commit `{metadata.get('git_commit')}`; package versions in training_metadata.json",
              f"- Deployed from `{run_dir}` at {deployed_at}", ""]
    return "\n".join(lines)


def deploy(run_dir: str | Path, filter_id: str | None = None, filters_root: str | Path | None = None,
           overwrite: bool = False) -> dict[str, Any]:
    from filterforge.evaluation.calibrate import CALIBRATION_FILE
    from filterforge.evaluation.evaluate import read_training_metadata
    from filterforge.filters.spec import resolve_filter
    from filterforge.runtime.torch_predictor import resolve_model_dir
    from filterforge.provenance import git_commit

    run_dir = Path(run_dir)
    model_dir = resolve_model_dir(run_dir)
    info = read_json(model_dir / "filterforge.json")
    metadata = read_training_metadata(run_dir, model_dir)
    roots = [Path(filters_root)] if filters_root else None
    if filters_root and not Path(filters_root).is_dir():
        raise FilterforgeError(f"--filters-root {filters_root} is not a directory")
    spec = resolve_filter(filter_id or str(info.get("filter")), roots)
    check_compatible(info, spec, run_dir)
    target = spec.path / "model"
    if target.resolve() == model_dir.resolve():
        raise FilterforgeError(f"{model_dir} is already the deployed model of {spec.id}")
    if target.exists() and not overwrite:
        raise FilterforgeError(f"{target} already exists; add --overwrite to replace the deployed model")

    extras = {name: run_dir / name for name in RUN_FILES if (run_dir / name).is_file() and not (model_dir / name).is_file()}
    evaluation = read_json(extras["evaluation.json"]) if "evaluation.json" in extras else (
        read_json(model_dir / "evaluation.json") if (model_dir / "evaluation.json").is_file() else None)
    bench = read_json(extras["bench.json"]).get("summary") if "bench.json" in extras else None
    deployed_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    card = model_card(spec, info, metadata, evaluation, (model_dir / CALIBRATION_FILE).is_file(), bench, run_dir, deployed_at)

    staging = spec.path / f".model.deploy-{os.getpid()}"
    retired = spec.path / f".model.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(model_dir, staging, ignore=shutil.ignore_patterns(".*"))
        for name, source in extras.items():
            shutil.copy2(source, staging / name)
        atomic_write_text(staging / "README.md", card)
        write_json(staging / "deployment.json", {"filter": spec.id, "run_dir": str(run_dir.resolve()),
                                                 "deployed_at": deployed_at, "git_commit": git_commit()})
        if target.exists():
            os.replace(target, retired)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not target.exists():
            os.replace(retired, target)  # put the previous model back
        raise
    shutil.rmtree(retired, ignore_errors=True)
    prompt_differs = (model_dir / "prompt.md").is_file() and spec.prompt_path.is_file() and \
        (model_dir / "prompt.md").read_bytes() != spec.prompt_path.read_bytes()
    return {"target": target, "filter": spec.id, "evaluated": evaluation is not None, "prompt_differs": prompt_differs,
            "calibrated": (target / CALIBRATION_FILE).is_file(), "metadata": metadata, "evaluation": evaluation}


@click.command(name="deploy")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--filter", "filter_id", help="Target filter (default: the one the run was trained for), e.g. investment-risk/v2.")
@click.option("--filters-root", type=click.Path(file_okay=False),
              help="Folder holding <name>/v<N>/filter.yaml (default: $FILTERFORGE_FILTERS_PATH, ./filters, the source tree's).")
@click.option("--overwrite", is_flag=True, help="Replace a model already deployed there.")
def command(run_dir, filter_id, filters_root, overwrite):
    """Copy RUN_DIR's model into its filter package (filters/<name>/v<N>/model/) with a model card."""
    result = deploy(run_dir, filter_id, filters_root, overwrite)
    meta, evaluation = result["metadata"], result["evaluation"]
    budget = meta.get("token_budget") or {}
    click.echo(f"deployed {run_dir} -> {result['target']} ({result['filter']}, {meta.get('strategy')}, "
               f"{'calibrated' if result['calibrated'] else 'not calibrated'})")
    click.echo(f"  validation MAE {_fmt(meta.get('best_val_mae'))} (mean predictor {_fmt(meta.get('val_mean_predictor_mae'))}; "
               f"article tokens kept mean {budget.get('article_tokens_kept_mean')})")
    if evaluation:
        m, tb = evaluation["metrics"], evaluation.get("token_budget") or {}
        click.echo(f"  test MAE {_fmt(m['mae'])} (mean predictor {_fmt(m.get('mean_predictor_mae'))}; "
                   f"article tokens kept mean {tb.get('article_tokens_kept_mean')})")
    else:
        click.echo("  not evaluated on test: the model card says so")
    if result["prompt_differs"]:
        click.echo("  note: the model keeps the prompt.md it was trained with, which differs from the filter folder's")
    click.echo(f"  wrote README.md (model card) and training_metadata.json in {result['target']}")
