"""Built-in pipeline commands, added through the same `register_commands` hook plugins use."""

from __future__ import annotations

import importlib
from typing import Any

from filterforge.hookspecs import hookimpl

STAGE_MODULES = (
    "filterforge.demo_data_command",
    "filterforge.prepare",
    "filterforge.train_command",
    "filterforge.evaluate",
    "filterforge.compare",
    "filterforge.calibration",
    "filterforge.export",
    "filterforge.bench",
    "filterforge.score",
    "filterforge.deploy",
)


@hookimpl
def register_commands(cli: Any) -> None:
    for module_name in STAGE_MODULES:
        cli.add_command(importlib.import_module(module_name).command)
