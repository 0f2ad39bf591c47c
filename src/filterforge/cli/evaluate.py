"""`filterforge evaluate`: test metrics beside the mean predictor, tiers, ranking, edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from filterforge.cli.options import batch_size_option, device_option, parse_ints, threads_option

MAX_FAILURES_PRINTED = 10


def _fmt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_metrics(result: dict[str, Any]) -> None:
    m, b = result["metrics"], result["token_budget"]
    names = list(m["per_dimension_mae"])
    calibrated = " (calibrated: model/calibration.json applied)" if result["calibrated"] else ""
    click.echo(f"evaluate {result['filter']} [{result['strategy']}] on {result['n']} articles of {result['test_data']}{calibrated}")
    click.echo(f"  article tokens kept: mean {b['article_tokens_kept_mean']}, min {b['article_tokens_kept_min']}, "
               f"truncated {b['share_truncated']:.0%} (max_length {b['max_length']}, prompt/template {b['prompt_tokens']} tokens)")
    width = max(len(n) for n in names + ["overall"])
    click.echo(f"  {'dimension':<{width}}  {'MAE':>6}  {'mean-pred':>9}  {'RMSE':>6}  {'Spearman':>8}")
    for name in names:
        click.echo(f"  {name:<{width}}  {m['per_dimension_mae'][name]:>6.3f}  {m['mean_predictor_per_dimension_mae'][name]:>9.3f}  "
                   f"{m['per_dimension_rmse'][name]:>6.3f}  {_fmt(m['per_dimension_spearman'][name]):>8}")
    click.echo(f"  {'overall':<{width}}  {m['mae']:>6.3f}  {m['mean_predictor_mae']:>9.3f}  {m['rmse']:>6.3f}  {_fmt(m['spearman']):>8}")
    if m["mae"] >= m["mean_predictor_mae"]:
        click.echo("  WARNING: the model's MAE is not better than predicting the training means")
    if result["metrics_uncalibrated"]:
        click.echo(f"  before calibration: MAE {result['metrics_uncalibrated']['mae']:.3f} "
                   f"(mean predictor {m['mean_predictor_mae']:.3f})")


def print_tiers(tiers: dict[str, Any] | None) -> None:
    """Tier accuracy and the confusion matrix; nothing for a filter with a single tier (evaluate records
    ``tiers`` only for filters with several)."""
    if not tiers:
        return
    click.echo(f"  tier accuracy {tiers['accuracy']:.3f} (filter tier rules on oracle vs predicted scores)")
    labels, corner = tiers["labels"], "oracle \\ predicted"
    width = max(len(name) for name in labels + [corner])
    columns = [max(len(name), 5) for name in labels]
    click.echo(f"    {corner:<{width}}  " + "  ".join(f"{n:>{w}}" for n, w in zip(labels, columns)))
    for name, counts in zip(labels, tiers["confusion_matrix"]):
        click.echo(f"    {name:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(counts, columns)))


def print_tiers_ranking_edges(result: dict[str, Any]) -> None:
    print_tiers(result["tiers"])
    ranking = result["ranking"]
    click.echo("  ranking by weighted score: " + ", ".join(
        f"recall@{k} {_fmt(ranking['recall@k'][str(k)])} / ndcg@{k} {_fmt(ranking['ndcg@k'][str(k)])}" for k in ranking["k"]))
    edge = result["edge_cases"]
    if edge:
        cats = ", ".join(f"{c} {v['passed']}/{v['total']}" for c, v in edge["by_category"].items())
        click.echo(f"  edge cases: {edge['passed']}/{edge['total']} passed ({edge['pass_rate']:.0%}): {cats}")
        failed = [case for case in edge["cases"] if not case["passed"]]
        for case in failed[:MAX_FAILURES_PRINTED]:
            click.echo(f"    FAIL {case['id']}: {'; '.join(case['failed_expectations'])} (predicted tier {case['predicted']['tier']})")
        if len(failed) > MAX_FAILURES_PRINTED:
            click.echo(f"    ... {len(failed) - MAX_FAILURES_PRINTED} more failed cases listed in evaluation.json")


@click.command(name="evaluate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--test-data", required=True, type=click.Path(dir_okay=False),
              help="Prepared split (test.jsonl) or oracle-scored JSONL for the run's filter.")
@click.option("--edge-cases", type=click.Path(dir_okay=False), help="Edge-case suite (YAML), e.g. filters/<name>/v<N>/edge_cases.yaml.")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Default: RUN_DIR (required for a bare model folder).")
@click.option("--k", "ks", default="10,25,50", show_default=True, help="Cut-offs for Recall@k / NDCG@k.")
@batch_size_option()
@device_option
@click.option("--calibration/--no-calibration", "use_calibration", default=True, show_default=True,
              help="Apply model/calibration.json when the model has one.")
@threads_option
def command(run_dir, test_data, edge_cases, output_dir, ks, batch_size, device, use_calibration, threads):
    """Evaluate RUN_DIR's student (or a model folder) on test data and an edge-case suite."""
    from filterforge.evaluation.evaluate import evaluate
    from filterforge.runs.layout import EVALUATION

    result = evaluate(run_dir, test_data, edge_cases, output_dir, batch_size, device, use_calibration,
                      parse_ints(ks, "--k"), threads)
    print_metrics(result)
    print_tiers_ranking_edges(result)
    out = Path(output_dir) if output_dir else Path(run_dir)
    click.echo(f"wrote {out / EVALUATION}, predictions.jsonl, per_dimension_mae.png, pred_vs_oracle.png")
