"""`filterforge prepare`: validate, deduplicate and split oracle-scored articles."""

from __future__ import annotations

import click


@click.command(name="prepare")
@click.argument("filter_id", metavar="FILTER")
@click.option("--input", "inputs", multiple=True, required=True, help="Glob of oracle-scored JSONL files (repeatable).")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Default: datasets/training/<name>_v<version>.")
@click.option("--train-ratio", type=float, default=0.8, show_default=True)
@click.option("--val-ratio", type=float, default=0.1, show_default=True)
@click.option("--test-ratio", type=float, default=0.1, show_default=True)
@click.option("--calibration-ratio", type=float, default=0.0, show_default=True,
              help="Share carved out of train for `filterforge calibrate` (never used to pick checkpoints).")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--drop-invalid", is_flag=True, help="Drop and count rows with invalid scores instead of failing.")
@click.option("--overwrite", is_flag=True, help="Replace files in a non-empty output dir.")
def command(filter_id, inputs, output_dir, train_ratio, val_ratio, test_ratio, calibration_ratio, seed, drop_invalid, overwrite):
    """Validate, deduplicate and split oracle-scored articles for FILTER."""
    from filterforge.data.prepare import prepare
    from filterforge.data.splits import default_data_dir
    from filterforge.filters.spec import resolve_filter

    ratios = {"train": train_ratio - calibration_ratio, "val": val_ratio, "test": test_ratio}
    if calibration_ratio:
        ratios["calibration"] = calibration_ratio
    report = prepare(filter_id, inputs, output_dir, ratios, seed, drop_invalid, overwrite)
    target = output_dir or default_data_dir(resolve_filter(filter_id))
    counts = ", ".join(f"{name} {split['rows']}" for name, split in report["splits"].items())
    dropped = sum(report["dropped"].values())
    click.echo(
        f"{report['filter']}: read {report['rows_read']} rows, kept {report['rows_kept']} "
        f"(dropped {dropped}, duplicates {report['duplicates']['by_id']} by id / {report['duplicates']['by_text']} by text)"
    )
    click.echo(f"wrote {counts} -> {target} (data hash {report['data_hash'][:12]})")
