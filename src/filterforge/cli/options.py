"""Options shared by several commands: one name, type, default and help each."""

from __future__ import annotations

from typing import Any, Callable

import click

from filterforge.errors import FilterforgeError

DEVICES = ("auto", "cpu", "cuda")
RUNTIMES = ("auto", "onnx", "torch")

device_option = click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
                             help="Device for the torch runtime.")
threads_option = click.option("--threads", type=click.IntRange(min=1), default=None,
                              help="CPU threads for torch and ONNX Runtime.")
quiet_option = click.option("--quiet", is_flag=True,
                            help="Print only warnings and errors (also silences third-party progress bars and warnings).")


def batch_size_option(default: int = 16, help: str | None = None) -> Callable[[Any], Any]:
    return click.option("--batch-size", type=click.IntRange(min=1), default=default, show_default=True, help=help)


def parse_ints(text: str, option: str) -> list[int]:
    """`1,8,32` -> [1, 8, 32]; positive whole numbers only."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise FilterforgeError(f"{option} expects comma-separated whole numbers, got '{text}'") from None
    if not values or any(v < 1 for v in values):
        raise FilterforgeError(f"{option} expects positive whole numbers, got '{text}'")
    return values


def parse_key_values(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FilterforgeError(f"{flag} expects key=value, got '{pair}'")
        options[key.strip().replace("-", "_")] = value.strip()
    return options
