"""Built-in pipeline commands, added through the same `register_commands` hook plugins use."""

from __future__ import annotations

import importlib
from typing import Any

from filterforge.plugins.hookspecs import hookimpl

STAGE_MODULES = (
    "filterforge.cli.demo_data",
    "filterforge.data.prepare",
    "filterforge.cli.train",
    "filterforge.evaluation.evaluate",
    "filterforge.evaluation.compare",
    "filterforge.evaluation.calibrate",
    "filterforge.export.export",
    "filterforge.serving.bench",
    "filterforge.serving.score",
    "filterforge.serving.deploy",
)


@hookimpl
def register_commands(cli: Any) -> None:
    for module_name in STAGE_MODULES:
        cli.add_command(importlib.import_module(module_name).command)
