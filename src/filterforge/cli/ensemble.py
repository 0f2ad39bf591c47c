"""`filterforge ensemble`: combine runs per dimension (stacked weights or the best member) as a new run."""

from __future__ import annotations

from typing import Any

import click

from filterforge.cli.options import batch_size_option, device_option, threads_option


def print_leaning(metadata: dict[str, Any]) -> None:
    """Per dimension: each member's weight, the member leaned on, and the fit-split MAEs."""
    ensemble = metadata["ensemble"]
    names = [m["name"] for m in ensemble["members"]]
    fit = ensemble["fit_split"]
    click.echo(f"ensemble ({ensemble['method']}) of {', '.join(names)}: fitted on {fit['articles']} articles of "
               f"{fit['path']} ({fit['name']} split)")
    width = max(len(d) for d in [*ensemble["per_dimension"], "overall"])
    columns = [max(len(n), 6) for n in names]
    header = ("  " + f"{'dimension':<{width}}  " + "  ".join(f"{'w ' + n:>{c + 2}}" for n, c in zip(names, columns))
              + "  |  " + "  ".join(f"{'MAE ' + n:>{c + 4}}" for n, c in zip(names, columns))
              + f"  {'ensemble':>8}  {'mean-pred':>9}  leans on")
    click.echo(header)
    for dim, row in ensemble["per_dimension"].items():
        mae = row["mae"]
        click.echo("  " + f"{dim:<{width}}  " + "  ".join(f"{row['weights'][n]:>{c + 2}.3f}" for n, c in zip(names, columns))
                   + "  |  " + "  ".join(f"{mae[n]:>{c + 4}.3f}" for n, c in zip(names, columns))
                   + f"  {mae['ensemble']:>8.3f}  {mae['mean_predictor']:>9.3f}  {row['leans_on']}")
    overall = ensemble["fit_split_mae"]
    click.echo("  " + f"{'overall':<{width}}  " + "  ".join(" " * (c + 2) for c in columns)
               + "  |  " + "  ".join(f"{overall[n]:>{c + 4}.3f}" for n, c in zip(names, columns))
               + f"  {overall['ensemble']:>8.3f}  {overall['mean_predictor']:>9.3f}")
    tiers = ensemble.get("fit_split_tier_accuracy")
    if tiers:
        click.echo("  tier accuracy (fit split): " + ", ".join(f"{n} {tiers[n]:.3f}" for n in [*names, "ensemble"]))
    if fit["name"] != "calibration":
        click.echo(f"  note: fitted on {fit['why']}")
    click.echo(f"  validation MAE {metadata['best_val_mae']:.4f} (mean predictor {metadata['val_mean_predictor_mae']:.4f})"
               + (" - in-sample: the weights were fitted on validation" if metadata.get("validation_note") else ""))


@click.command(name="ensemble")
@click.argument("run_dirs", nargs=-1, metavar="RUN_DIR RUN_DIR ...")
@click.option("--output-dir", required=True, type=click.Path(file_okay=False), help="The ensemble's run folder.")
@click.option("--method", type=click.Choice(["stack", "select"]), default="stack", show_default=True,
              help="stack: per dimension, non-negative weights summing to 1 (least squares); select: per dimension, "
                   "the member with the lowest MAE (dimension-specific models).")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False),
              help="The members' prepared splits [default: the data_dir the first member recorded]. The fit uses "
                   "calibration.jsonl when there is one, else val.jsonl; never test.jsonl.")
@batch_size_option()
@device_option
@threads_option
@click.option("--overwrite", is_flag=True)
def command(run_dirs, output_dir, method, data_dir, batch_size, device, threads, overwrite):
    """Combine RUN_DIRs (students of any strategy, baselines) per dimension into one run every command accepts."""
    from filterforge.ensembles.runs import EnsembleSettings, build_ensemble

    metadata = build_ensemble(EnsembleSettings(list(run_dirs), output_dir, method, data_dir, device, threads,
                                               batch_size, overwrite))
    print_leaning(metadata)
    click.echo(f"wrote {output_dir}: evaluate, compare, calibrate, export, score, deploy and bench accept it")
