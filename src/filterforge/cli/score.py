"""`filterforge score`: score articles with a deployed filter or a run; resumable JSON lines."""

from __future__ import annotations

from pathlib import Path

import click

from filterforge.cli.options import RUNTIMES, batch_size_option, device_option, threads_option
from filterforge.serving.score import ENGINES


@click.command(name="score")
@click.argument("target", metavar="FILTER|RUN_DIR")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Articles as JSON lines with id, title, content.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Score rows (JSON lines); an existing file is resumed (its ids are skipped) only by the filter, "
                   "model and calibration that wrote it, recorded in OUTPUT.meta.json. One score per output at a time.")
@click.option("--runtime", type=click.Choice(RUNTIMES), default="auto", show_default=True,
              help="auto: ONNX when an export exists, except for instruction students (torch caches their prompt).")
@batch_size_option()
@threads_option
@device_option
@click.option("--cuda-graphs", is_flag=True,
              help="GPU, decoder students: score one article at a time (batch 1) in bf16, replaying a CUDA graph "
                   "captured per bucketed length (lowest latency per article; --batch-size does not apply).")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="ray: score on a Ray Data actor pool (this machine, or the cluster RAY_ADDRESS names): one actor "
                   "per GPU, else CPU actors of --threads CPUs each (default 1). Needs pip install 'filterforge[ray]'.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="--engine ray: number of actors (default: one per GPU, else the CPUs divided by --threads).")
@click.option("--shard", "shard_spec", metavar="I/N", default=None,
              help="Score only shard I (0-based) of N: the articles whose id hashes to I. Give each shard its own "
                   "--output; the shards' ids are disjoint, so concatenating their outputs gives every article.")
def command(target: str, input_path: Path, output_path: Path, runtime: str, batch_size: int, threads: int | None,
            device: str, cuda_graphs: bool, engine: str, workers: int | None, shard_spec: str | None) -> None:
    """Score articles with a deployed FILTER or a RUN_DIR: scores, weighted average, tier, prefilter verdict."""
    from filterforge.serving.score import Shard, score_file

    shard = Shard.parse(shard_spec) if shard_spec is not None else None
    result = score_file(target, input_path, output_path, runtime, batch_size, threads, device, cuda_graphs,
                        engine, workers, shard)
    counts, duplicates = result["counts"], result["counts"]["duplicates"]
    per_article = 1000 * result["model_seconds"] / counts["scored"] if counts["scored"] else 0.0
    elsewhere = f", {counts['other_shards']} in other shards" if shard else ""
    click.echo(f"scored {counts['scored']}, prefiltered {counts['prefiltered']}, skipped {counts['skipped_already_scored']} "
               f"already in the output, {counts['invalid']} invalid rows{f', {duplicates} duplicate ids' if duplicates else ''}"
               f"{elsewhere}; {per_article:.1f} ms/article in the model, {result['seconds']:.1f} s in all -> {output_path}")
    if result["tiers"]:
        click.echo("  tiers: " + ", ".join(f"{name} {n}" for name, n in sorted(result["tiers"].items())))
