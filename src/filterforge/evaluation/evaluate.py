"""`filterforge evaluate`: test-split metrics, tiers, ranking, token budget and edge-case suites.

Writes ``evaluation.json`` (the schema `compare` and `deploy` read), ``predictions.jsonl``,
``per_dimension_mae.png`` and ``pred_vs_oracle.png``. Every MAE is printed beside the mean
predictor's MAE on the same split (the run's training label means) and the article tokens kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import click

from filterforge.errors import FilterforgeError
from filterforge.io import iter_jsonl, read_json, sha256_of_files, write_json, write_jsonl

EVALUATION_FILE = "evaluation.json"
MAX_FAILURES_PRINTED = 10


def read_training_metadata(run_dir: Path, model_dir: Path) -> dict[str, Any]:
    """The run's training_metadata.json (deploy copies it into the model folder too)."""
    for candidate in (Path(run_dir) / "training_metadata.json", Path(model_dir) / "training_metadata.json"):
        if candidate.is_file():
            metadata = read_json(candidate)
            if not isinstance(metadata.get("train_label_means"), list):
                raise FilterforgeError(f"{candidate}: no train_label_means (needed for the mean-predictor baseline)")
            return metadata
    raise FilterforgeError(
        f"{run_dir}: no training_metadata.json beside the model (needed for the mean-predictor baseline); "
        f"evaluate a run dir written by filterforge train or a model folder written by filterforge deploy"
    )


def prompt_tokens(predictor: Any) -> int:
    prefix, suffix = predictor.strategy.frame()
    return len(prefix) + len(suffix)


def load_test_rows(path: str | Path, spec: Any) -> list[dict]:
    """Prepared rows (``labels`` + ``dimension_names``) or raw oracle rows (``<filter>_analysis``)."""
    from filterforge.data.prepare import InvalidRow, extract_labels

    path = Path(path)
    if not path.is_file():
        raise FilterforgeError(f"test data {path} not found")
    rows = []
    for lineno, row in iter_jsonl(path):
        where = f"{path}:{lineno}"
        names = row.get("dimension_names")
        if names is not None and list(names) != spec.dimension_names:
            raise FilterforgeError(f"{where}: dimensions {list(names)} differ from the model's filter {spec.id} "
                                   f"({', '.join(spec.dimension_names)})")
        if "labels" in row:
            labels = row["labels"]
            if not isinstance(labels, list) or len(labels) != len(spec.dimensions):
                raise FilterforgeError(f"{where}: 'labels' must list {len(spec.dimensions)} scores for {spec.id}")
        else:
            try:
                labels = extract_labels(row, spec, where)
            except InvalidRow as exc:
                raise FilterforgeError(f"{exc} (test data must be prepared splits or oracle rows for {spec.id})") from None
        rows.append({**row, "labels": [float(v) for v in labels]})
    if not rows:
        raise FilterforgeError(f"test data {path} holds no rows")
    return rows


# -- the evaluation --------------------------------------------------------------------------

def default_output_dir(path: Path) -> Path:
    if (path / "model").is_dir() and (path / "training_metadata.json").is_file():
        return path
    raise FilterforgeError(f"{path} is a model folder, not a run dir; give --output-dir for the evaluation files")


def evaluate(run_dir: str | Path, test_data: str | Path, edge_cases: str | Path | None = None,
             output_dir: str | Path | None = None, batch_size: int = 16, device: str = "auto",
             use_calibration: bool = True, ks: Sequence[int] | None = None) -> dict[str, Any]:
    import numpy as np

    from filterforge.evaluation import edge_cases as edge
    from filterforge.evaluation.calibrate import load_calibration
    from filterforge.filters.spec import load_filter
    from filterforge.runtime.torch_predictor import TorchPredictor, resolve_model_dir
    from filterforge.provenance import provenance
    from filterforge.evaluation.metrics import DEFAULT_K, ranking_metrics, split_metrics, tier_metrics
    from filterforge.encoding.strategies import budget_statistics

    run_dir = Path(run_dir)
    model_dir = resolve_model_dir(run_dir)
    out = Path(output_dir) if output_dir else default_output_dir(run_dir)
    spec = load_filter(model_dir)
    metadata = read_training_metadata(run_dir, model_dir)
    means = metadata["train_label_means"]
    rows = load_test_rows(test_data, spec)
    cases = edge.load_edge_cases(edge_cases, spec) if edge_cases else None
    calibration = load_calibration(model_dir) if use_calibration else None
    if calibration is not None and calibration.dimension_names != spec.dimension_names:
        raise FilterforgeError(f"{model_dir / 'calibration.json'}: dimensions differ from the model's; re-run filterforge calibrate")

    predictor = TorchPredictor.from_dir(model_dir, device=device, batch_size=batch_size)
    encoded = predictor.encode(rows)
    started = time.perf_counter()
    raw = predictor.predict_encoded(encoded)
    seconds = time.perf_counter() - started
    pred = calibration.apply(raw) if calibration else raw
    gold = np.asarray([r["labels"] for r in rows], dtype=np.float64)

    budget = budget_statistics(encoded, prompt_tokens(predictor))
    trained_budget = metadata.get("token_budget") or {}
    budget.update({"max_length": predictor.max_length, "min_article_tokens": trained_budget.get("min_article_tokens")})
    tiers, oracle_tiers, predicted_tiers = tier_metrics(pred, gold, spec)
    edge_result = None
    if cases:
        edge_encoded = predictor.encode([case.article() for case in cases])
        edge_raw = predictor.predict_encoded(edge_encoded)
        edge_result = edge.check_cases(cases, calibration.apply(edge_raw) if calibration else edge_raw, spec)
        edge_result["file"] = str(edge_cases)
        edge_result["token_budget"] = budget_statistics(edge_encoded, prompt_tokens(predictor))

    result = {
        "run_dir": str(run_dir),
        "model_dir": str(model_dir),
        "filter": spec.id,
        "strategy": metadata.get("strategy"),
        "test_data": str(test_data),
        "n": len(rows),
        "calibrated": calibration is not None,
        "metrics": split_metrics(pred, gold, spec, means),
        "metrics_uncalibrated": split_metrics(raw, gold, spec, means) if calibration else None,
        "mean_predictor": "training label means of the run (train_label_means)",
        "tiers": tiers,
        "ranking": ranking_metrics(pred, gold, spec.weights, ks or DEFAULT_K),
        "token_budget": budget,
        "edge_cases": edge_result,
        "inference": {"path": predictor.path_used, "device": predictor.device, "batch_size": batch_size,
                      "seconds": round(seconds, 3), "ms_per_article": round(1000 * seconds / len(rows), 3)},
        "provenance": {
            **provenance(),
            "seed": metadata.get("seed"),
            "train_data_hash": metadata.get("data_hash"),
            "test_data_sha256": sha256_of_files([test_data]),
            "edge_cases_sha256": sha256_of_files([edge_cases]) if edge_cases else None,
            "trained_at_commit": metadata.get("git_commit"),
        },
    }
    _write_outputs(out, result, rows, gold, pred, raw if calibration else None, oracle_tiers, predicted_tiers, spec)
    return result


def _write_outputs(out: Path, result: dict, rows: list[dict], gold: Any, pred: Any, raw: Any,
                   oracle_tiers: list, predicted_tiers: list, spec: Any) -> None:
    from filterforge.evaluation.plots import plot_per_dimension_mae, plot_pred_vs_oracle

    names = spec.dimension_names
    out.mkdir(parents=True, exist_ok=True)
    predictions = []
    for i, row in enumerate(rows):
        entry = {
            "id": row.get("id"),
            "oracle": {n: float(v) for n, v in zip(names, gold[i])},
            "predicted": {n: round(float(v), 4) for n, v in zip(names, pred[i])},
            "oracle_tier": oracle_tiers[i],
            "predicted_tier": predicted_tiers[i],
        }
        if raw is not None:
            entry["predicted_uncalibrated"] = {n: round(float(v), 4) for n, v in zip(names, raw[i])}
        predictions.append(entry)
    metrics = result["metrics"]
    title = f"{spec.id} {result['strategy'] or ''} - {result['n']} test articles"
    plot_per_dimension_mae(names, [metrics["per_dimension_mae"][n] for n in names],
                           [metrics["mean_predictor_per_dimension_mae"][n] for n in names],
                           out / "per_dimension_mae.png", title)
    plot_pred_vs_oracle(pred, gold, names, out / "pred_vs_oracle.png", title)
    write_jsonl(out / "predictions.jsonl", predictions)
    write_json(out / EVALUATION_FILE, result)  # last, so an evaluation.json always has its siblings


# -- printing --------------------------------------------------------------------------------

def _fmt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(result: dict[str, Any], out: Path) -> None:
    m, b = result["metrics"], result["token_budget"]
    names = list(m["per_dimension_mae"])
    echo = click.echo
    calibrated = " (calibrated: model/calibration.json applied)" if result["calibrated"] else ""
    echo(f"evaluate {result['filter']} [{result['strategy']}] on {result['n']} articles of {result['test_data']}{calibrated}")
    echo(f"  article tokens kept: mean {b['article_tokens_kept_mean']}, min {b['article_tokens_kept_min']}, "
         f"truncated {b['share_truncated']:.0%} (max_length {b['max_length']}, prompt/template {b['prompt_tokens']} tokens)")
    width = max(len(n) for n in names + ["overall"])
    echo(f"  {'dimension':<{width}}  {'MAE':>6}  {'mean-pred':>9}  {'RMSE':>6}  {'Spearman':>8}")
    for name in names:
        echo(f"  {name:<{width}}  {m['per_dimension_mae'][name]:>6.3f}  {m['mean_predictor_per_dimension_mae'][name]:>9.3f}  "
             f"{m['per_dimension_rmse'][name]:>6.3f}  {_fmt(m['per_dimension_spearman'][name]):>8}")
    echo(f"  {'overall':<{width}}  {m['mae']:>6.3f}  {m['mean_predictor_mae']:>9.3f}  {m['rmse']:>6.3f}  {_fmt(m['spearman']):>8}")
    if m["mae"] >= m["mean_predictor_mae"]:
        echo("  WARNING: the model's MAE is not better than predicting the training means")
    if result["metrics_uncalibrated"]:
        echo(f"  before calibration: MAE {result['metrics_uncalibrated']['mae']:.3f} "
             f"(mean predictor {m['mean_predictor_mae']:.3f})")
    if result["tiers"]:
        echo(f"  tier accuracy {result['tiers']['accuracy']:.3f} (filter tier rules on oracle vs predicted scores)")
    ranking = result["ranking"]
    echo("  ranking by weighted score: " + ", ".join(
        f"recall@{k} {_fmt(ranking['recall@k'][str(k)])} / ndcg@{k} {_fmt(ranking['ndcg@k'][str(k)])}" for k in ranking["k"]))
    edge = result["edge_cases"]
    if edge:
        cats = ", ".join(f"{c} {v['passed']}/{v['total']}" for c, v in edge["by_category"].items())
        echo(f"  edge cases: {edge['passed']}/{edge['total']} passed ({edge['pass_rate']:.0%}): {cats}")
        failed = [case for case in edge["cases"] if not case["passed"]]
        for case in failed[:MAX_FAILURES_PRINTED]:
            echo(f"    FAIL {case['id']}: {'; '.join(case['failed_expectations'])} (predicted tier {case['predicted']['tier']})")
        if len(failed) > MAX_FAILURES_PRINTED:
            echo(f"    ... {len(failed) - MAX_FAILURES_PRINTED} more failed cases listed in evaluation.json")
    echo(f"wrote {out / EVALUATION_FILE}, predictions.jsonl, per_dimension_mae.png, pred_vs_oracle.png")


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise FilterforgeError(f"--k expects comma-separated integers, got '{text}'") from None
    if not ks or any(k <= 0 for k in ks):
        raise FilterforgeError(f"--k expects positive integers, got '{text}'")
    return ks


@click.command(name="evaluate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--test-data", required=True, type=click.Path(dir_okay=False),
              help="Prepared split (test.jsonl) or oracle-scored JSONL for the model's filter.")
@click.option("--edge-cases", type=click.Path(dir_okay=False), help="Edge-case suite (YAML), e.g. filters/<name>/v<N>/edge_cases.yaml.")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Default: RUN_DIR (required for a bare model folder).")
@click.option("--k", "ks", default="10,25,50", show_default=True, help="Cut-offs for Recall@k / NDCG@k.")
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--calibration/--no-calibration", "use_calibration", default=True, show_default=True,
              help="Apply model/calibration.json when present.")
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
def command(run_dir, test_data, edge_cases, output_dir, ks, batch_size, device, use_calibration, threads):
    """Evaluate a trained run (or a deployed model folder) on test data and an edge-case suite."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    result = evaluate(run_dir, test_data, edge_cases, output_dir, batch_size, device, use_calibration, _parse_ks(ks))
    print_report(result, Path(output_dir) if output_dir else Path(run_dir))
