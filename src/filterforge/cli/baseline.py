"""`filterforge baseline`: what a user would pick instead of a student, as a run every command accepts."""

from __future__ import annotations

import click

from filterforge.training.config import defaults

DEFAULTS = defaults()


@click.command(name="baseline")
@click.argument("filter_id", metavar="FILTER")
@click.option("--data-dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="The splits `prepare` wrote (train fits, val chooses the hyper-parameters).")
@click.option("--output-dir", required=True, type=click.Path(file_okay=False))
@click.option("--method", type=click.Choice(["tfidf-ridge", "embedding-probe", "mean"]), default="tfidf-ridge",
              show_default=True, help="tfidf-ridge: word and character n-grams + ridge (one alpha per dimension); "
                                      "embedding-probe: a frozen encoder (--model) + ridge head; mean: the train means.")
@click.option("--model", default="minilm", show_default=True, help="The frozen encoder of embedding-probe.")
@click.option("--strategy", default=DEFAULTS["strategy"], show_default=True,
              help="The input strategy of embedding-probe (see `filterforge strategies`).")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--overwrite", is_flag=True)
def command(filter_id, data_dir, output_dir, method, model, strategy, seed, overwrite):
    """Fit a baseline for FILTER and write it as a run folder (evaluate, compare, score, deploy, bench accept it)."""
    from filterforge.baselines.runs import BaselineSettings, fit_baseline

    fit_baseline(BaselineSettings(filter_id, data_dir, output_dir, method, model, strategy, seed, overwrite))
