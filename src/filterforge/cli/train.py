"""`filterforge train`: click options mapped onto TrainConfig (the seed's flag names work too)."""

from __future__ import annotations

import click

from filterforge.errors import FilterforgeError


def parse_options(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FilterforgeError(f"{flag} expects key=value, got '{pair}'")
        options[key.strip().replace("-", "_")] = value.strip()
    return options


@click.command(name="train")
@click.argument("filter_id", metavar="FILTER")
@click.option("--strategy", default=None, help="Input strategy (see `filterforge strategies`). Default: distillation.")
@click.option("--include-prompt", is_flag=True, help="Same as --strategy instruction (the seed's flag).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Default: datasets/training/<name>_v<version>.")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Default: runs/<name>_v<version>_<strategy>_<timestamp>.")
@click.option("--model", "--model-name", "model", default="minilm", show_default=True,
              help="Packaged alias (minilm, smollm2-135m), local folder or hub id.")
@click.option("--epochs", type=int, default=3, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--learning-rate", type=float, default=2e-5, show_default=True)
@click.option("--head-learning-rate", type=float, default=1e-3, show_default=True, help="Learning rate of the freshly initialised head.")
@click.option("--max-length", type=int, default=None, help="Default: 512 (distillation), prompt tokens + 512 (instruction).")
@click.option("--warmup-steps", type=int, default=None)
@click.option("--warmup-ratio", type=float, default=None)
@click.option("--grad-accum", type=int, default=1, show_default=True)
@click.option("--lora/--no-lora", default=False, show_default=True)
@click.option("--lora-r", type=int, default=16, show_default=True)
@click.option("--grad-checkpointing", is_flag=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--early-stopping-patience", type=int, default=None)
@click.option("--min-article-tokens", type=int, default=128, show_default=True)
@click.option("--max-steps", type=int, default=None, help="Stop after N optimizer steps (the schedule still spans --epochs, so --resume continues it).")
@click.option("--max-train-examples", type=int, default=None, help="Use only the first N training articles.")
@click.option("--head", default="regression", show_default=True, help="Regression head (see `filterforge heads`).")
@click.option("--pooling", default=None, help="Default: mean for encoders, last-token for decoders.")
@click.option("--loss", type=click.Choice(["mse", "huber"]), default="mse", show_default=True)
@click.option("--shared-prefix/--no-shared-prefix", default=True, show_default=True,
              help="Run the instruction prompt once per batch (decoders).")
@click.option("--strategy-option", "strategy_options", multiple=True, help="key=value passed to the strategy (repeatable).")
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
@click.option("--resume", is_flag=True, help="Continue from OUTPUT_DIR/checkpoint.")
@click.option("--overwrite", is_flag=True)
@click.option("--quiet", is_flag=True)
def command(filter_id, strategy, include_prompt, strategy_options, **kwargs):
    """Train a student for FILTER on the splits `prepare` wrote."""
    from filterforge.training.trainer import TrainConfig, train

    if include_prompt and strategy not in (None, "instruction"):
        raise FilterforgeError(f"--include-prompt means --strategy instruction, not '{strategy}'")
    chosen = "instruction" if include_prompt else (strategy or "distillation")
    config = TrainConfig(filter_id=filter_id, strategy=chosen,
                         strategy_options=parse_options(strategy_options, "--strategy-option"), **kwargs)
    train(config)
