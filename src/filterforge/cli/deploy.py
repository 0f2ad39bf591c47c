"""`filterforge deploy`: copy a run's model into its filter package with a model card."""

from __future__ import annotations

import click


@click.command(name="deploy")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--filter", "filter_id", help="Target filter (default: the one the run was trained for), e.g. investment-risk/v2.")
@click.option("--filters-root", type=click.Path(file_okay=False),
              help="Folder holding <name>/v<N>/filter.yaml (default: $FILTERFORGE_FILTERS_PATH, ./filters, the source tree's).")
@click.option("--overwrite", is_flag=True, help="Replace a model already deployed there.")
def command(run_dir, filter_id, filters_root, overwrite):
    """Copy RUN_DIR's model into its filter package (filters/<name>/v<N>/model/) with a model card."""
    from filterforge.serving.deploy import deploy
    from filterforge.serving.model_card import fmt

    result = deploy(run_dir, filter_id, filters_root, overwrite)
    meta, evaluation = result["metadata"], result["evaluation"]
    budget = meta.get("token_budget") or {}
    click.echo(f"deployed {run_dir} -> {result['target']} ({result['filter']}, {meta.get('strategy')}, "
               f"{'calibrated' if result['calibrated'] else 'not calibrated'})")
    click.echo(f"  validation MAE {fmt(meta.get('best_val_mae'))} (mean predictor {fmt(meta.get('val_mean_predictor_mae'))}; "
               f"article tokens kept mean {budget.get('article_tokens_kept_mean')})")
    if evaluation:
        m, tb = evaluation["metrics"], evaluation.get("token_budget") or {}
        click.echo(f"  test MAE {fmt(m['mae'])} (mean predictor {fmt(m.get('mean_predictor_mae'))}; "
                   f"article tokens kept mean {tb.get('article_tokens_kept_mean')})")
    else:
        click.echo("  not evaluated on test: the model card says so")
    if result["prompt_differs"]:
        click.echo("  note: the model keeps the prompt.md it was trained with, which differs from the filter folder's")
    click.echo(f"  wrote README.md (model card) and training_metadata.json in {result['target']}")
