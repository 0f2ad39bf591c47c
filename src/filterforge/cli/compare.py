"""`filterforge compare`: the decision table for two or more runs, the verdict and the rule that decided."""

from __future__ import annotations

from pathlib import Path

import click

from filterforge.cli.options import device_option, threads_option
from filterforge.errors import FilterforgeError


@click.command(name="compare")
@click.argument("run_dirs", nargs=-1, type=click.Path(file_okay=False))
@click.option("--output", default="comparison/report.md", show_default=True, type=click.Path(dir_okay=False),
              help="Markdown report; comparison.json and mode_comparison.png are written beside it.")
@click.option("--max-slowdown", type=float, default=3.0, show_default=True,
              help="Instruction's speed is acceptable up to this many times distillation's ms/article.")
@click.option("--measure", is_flag=True, help="Measure inference speed here even when every run has bench.json.")
@click.option("--speed-data", type=click.Path(dir_okay=False), help="Articles to time (default: the first run's val.jsonl).")
@click.option("--speed-articles", type=int, default=16, show_default=True, help="How many articles to time.")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="Add the mean predictor and TF-IDF + ridge, fitted on the runs' train split (cached beside the data).")
@device_option
@threads_option
def command(run_dirs, output, max_slowdown, measure, speed_data, speed_articles, baselines, device, threads):
    """Compare two or more runs: the seed's decision table, a verdict and the rule that decided."""
    from filterforge.evaluation.compare import COMPARISON_FILE, PLOT_FILE, compare
    from filterforge.runtime.device import use_threads

    use_threads(threads)
    if speed_articles <= 0:
        raise FilterforgeError(f"--speed-articles must be > 0, got {speed_articles}")
    result = compare(run_dirs, output, max_slowdown, measure, speed_data, speed_articles, device, baselines)
    for line in result["warnings"]:
        click.echo(line)
    names = [r["name"] for r in result["runs"]]
    click.echo("runs: " + ", ".join(f"{n} ({r['strategy']})" for n, r in zip(names, result["runs"])))
    for row in result["table"]:
        winner = f"  -> winner {row['winner']}" if row["winner"] else ""
        click.echo(f"  {row['row']}: " + " | ".join(row["cells"]) + winner)
    decision = result["decision"]
    click.echo(f"verdict: {decision['verdict']} ({Path(decision['chosen_run']).name})")
    click.echo(f"rule: {decision['rule']}")
    click.echo(f"hypothesis: {decision['hypothesis']}")
    if decision.get("ensemble_command"):
        click.echo(f"ensemble: {decision['ensemble_command']}  (add --method select for one model per dimension)")
    for note in decision.get("ensembles", []):
        click.echo(f"ensemble {note}")
    if decision.get("baselines"):
        click.echo(f"baselines: {decision['baselines']['text']}")
    click.echo(f"wrote {output}, {Path(output).parent / COMPARISON_FILE}, {Path(output).parent / PLOT_FILE}")
