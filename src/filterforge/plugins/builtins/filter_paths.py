"""Built-in filter folders: $FILTERFORGE_FILTERS_PATH, ./filters, and the source tree's filters/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from filterforge.plugins.hookspecs import hookimpl

SOURCE_TREE_FILTERS = Path(__file__).resolve().parents[4] / "filters"


@hookimpl
def register_filter_paths(register: Any) -> None:
    for entry in filter(None, os.environ.get("FILTERFORGE_FILTERS_PATH", "").split(os.pathsep)):
        register(Path(entry))
    register(Path.cwd() / "filters")
    if SOURCE_TREE_FILTERS.resolve() != (Path.cwd() / "filters").resolve():
        register(SOURCE_TREE_FILTERS)
