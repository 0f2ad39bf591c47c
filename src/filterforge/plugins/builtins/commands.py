"""Built-in pipeline commands, added through the same `register_commands` hook plugins use."""

from __future__ import annotations

import importlib
from typing import Any

from filterforge.plugins.hookspecs import hookimpl

COMMAND_MODULES = (
    "filterforge.cli.demo_data",
    "filterforge.cli.prepare",
    "filterforge.cli.train",
    "filterforge.cli.baseline",
    "filterforge.cli.ensemble",
    "filterforge.cli.evaluate",
    "filterforge.cli.compare",
    "filterforge.cli.calibrate",
    "filterforge.cli.export",
    "filterforge.cli.bench",
    "filterforge.cli.score",
    "filterforge.cli.deploy",
)


@hookimpl
def register_commands(cli: Any) -> None:
    for command in importlib.import_module("filterforge.cli.listing").COMMANDS:
        cli.add_command(command)
    for module_name in COMMAND_MODULES:
        cli.add_command(importlib.import_module(module_name).command)
