"""`filterforge train`: click options mapped onto `TrainConfig`, whose defaults they show (the seed's
flag names work too)."""

from __future__ import annotations

import click

from filterforge.cli.options import DEVICES, parse_key_values, quiet_option, threads_option
from filterforge.errors import FilterforgeError
from filterforge.training.config import LOSSES, PRECISIONS, defaults, recipes

D = defaults()
RECIPES = recipes()


def _recipe_help(field: str) -> str:
    """Where the recipe fills a setting: its value per kind of body."""
    values = [f"{kind} {recipe[field]}" for kind, recipe in RECIPES.items() if field in recipe]
    return f" Default: the model kind's recipe ({', '.join(values)})." if values else ""


def _option(*names: str, **kwargs):
    """An option whose default is TrainConfig's (shown in --help when there is one)."""
    field = names[-1].lstrip("-").split("/")[0].replace("-", "_")
    kwargs.setdefault("default", D[field])
    kwargs.setdefault("show_default", D[field] is not None)
    if D[field] is None:
        kwargs["help"] = kwargs.get("help", "") + _recipe_help(field)
    return click.option(*names, **kwargs)


@click.command(name="train")
@click.argument("filter_id", metavar="FILTER")
@click.option("--strategy", default=None, help=f"Input strategy (see `filterforge strategies`). Default: {D['strategy']}.")
@click.option("--include-prompt", is_flag=True, help="Same as --strategy instruction (the seed's flag).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Default: datasets/training/<name>_v<version>.")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Default: runs/<name>_v<version>_<strategy>_<timestamp>.")
@click.option("--model", "--model-name", "model", default=D["model"], show_default=True,
              help="Packaged alias (minilm, smollm2-135m), local folder or hub id.")
@_option("--epochs", type=int)
@_option("--batch-size", type=int)
@_option("--learning-rate", type=float)
@_option("--head-learning-rate", type=float, help="Learning rate of the freshly initialised head.")
@_option("--layer-lr-decay", type=float,
         help="Layer-wise learning-rate decay: layer k below the top trains at --learning-rate x decay^k.")
@_option("--max-length", type=int, help="Default: 512 (distillation), prompt tokens + 512 (instruction).")
@_option("--warmup-steps", type=int)
@_option("--warmup-ratio", type=float)
@_option("--grad-accum", type=int)
@_option("--lora/--no-lora")
@_option("--lora-r", type=int)
@_option("--grad-checkpointing", is_flag=True)
@_option("--precision", type=click.Choice(PRECISIONS))
@_option("--device", type=click.Choice(DEVICES))
@_option("--seed", type=int)
@_option("--early-stopping-patience", type=int)
@_option("--min-article-tokens", type=int)
@_option("--max-steps", type=int, help="Stop after N optimizer steps (the schedule still spans --epochs, so --resume continues it).")
@_option("--max-train-examples", type=int, help="Use only the first N training articles.")
@_option("--save-every-steps", type=int, help="Also checkpoint every N optimizer steps within an epoch.")
@_option("--save-every-minutes", type=float,
         help="Also checkpoint within an epoch once this many minutes passed since the last checkpoint (0: off).")
@_option("--head", help="Regression head (see `filterforge heads`).")
@_option("--pooling", help="Default: mean for encoders, last-token for decoders.")
@_option("--loss", type=click.Choice(LOSSES))
@_option("--shared-prefix/--no-shared-prefix", help="Run the instruction prompt once per batch (decoders).")
@click.option("--strategy-option", "strategy_options", multiple=True, help="key=value passed to the strategy (repeatable).")
@threads_option
@click.option("--resume", is_flag=True, help="Continue from OUTPUT_DIR/checkpoint (with the settings it was trained with).")
@click.option("--overwrite", is_flag=True)
@quiet_option
def command(filter_id, strategy, include_prompt, strategy_options, **kwargs):
    """Train a student for FILTER on the splits `prepare` wrote."""
    from filterforge.cli.output import quiet
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import train

    if include_prompt and strategy not in (None, "instruction"):
        raise FilterforgeError(f"--include-prompt means --strategy instruction, not '{strategy}'")
    if kwargs["quiet"]:
        quiet()
    chosen = "instruction" if include_prompt else (strategy or D["strategy"])
    config = TrainConfig(filter_id=filter_id, strategy=chosen,
                         strategy_options=parse_key_values(strategy_options, "--strategy-option"), **kwargs)
    train(config)
