"""`filterforge calibrate`: isotonic calibration per dimension on the run's calibration split."""

from __future__ import annotations

import click

from filterforge.cli.options import batch_size_option, device_option, threads_option


@click.command(name="calibrate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--data-dir", type=click.Path(file_okay=False), help="Default: the data_dir the run was trained on.")
@batch_size_option()
@device_option
@threads_option
def command(run_dir, data_dir, batch_size, device, threads):
    """Fit per-dimension isotonic calibration on the run's calibration split (model/calibration.json)."""
    from filterforge.evaluation.calibrate import calibrate

    report = calibrate(run_dir, data_dir, batch_size, device, threads)
    cal = report["calibration_split"]
    click.echo(f"fitted isotonic calibration on {cal['before']['n']} articles of {cal['path']}")
    for label, split in (("calibration split", cal), ("test", report["test"])):
        if split:
            click.echo(f"  {label} MAE {split['before']['mae']:.4f} -> {split['after']['mae']:.4f} "
                       f"(mean predictor {split['before']['mean_predictor_mae']:.4f}; {split['before']['n']} articles, "
                       f"article tokens kept mean {split['token_budget']['article_tokens_kept_mean']}, "
                       f"min {split['token_budget']['article_tokens_kept_min']})")
    if not report["test"]:
        click.echo("  no test.jsonl in the data dir: test MAE before/after not measured")
    click.echo(f"wrote {report['calibration_file']}; evaluate, score and export apply it")
