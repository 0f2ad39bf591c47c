"""Every hook a filterforge plugin can implement.

A plugin is a module (or object) with functions decorated by ``@filterforge.hookimpl`` whose names
match the specifications below. Built-in plugins (``filterforge.plugins.builtins``) use exactly the
same hooks as third-party plugins, which are found through the ``filterforge`` entry-point group.
Every hook and each of its arguments is documented in ``docs/plugin_hooks.md``; a test keeps the two
in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only, keeps `filterforge --help` free of heavy imports
    import click

    from filterforge.filters.spec import FilterSpec
    from filterforge.student.sources import ModelSource
    from filterforge.encoding.strategies import Strategy

hookspec = pluggy.HookspecMarker("filterforge")
hookimpl = pluggy.HookimplMarker("filterforge")


@hookspec
def register_commands(cli: "click.Group") -> None:
    """Add click commands or groups to the ``filterforge`` command line.

    ``cli`` is the top-level click group; decorate functions with ``@cli.command()``.
    """


@hookspec
def register_strategies(register: Callable[[type["Strategy"]], None]) -> None:
    """Register input strategies: classes deriving from ``filterforge.strategies.Strategy``.

    Call ``register(StrategyClass)`` once per strategy. The class attribute ``name`` is what users
    pass to ``--strategy``; ``description`` is the one line ``filterforge strategies`` prints.
    Two plugins registering the same name is an error that names both.
    """


@hookspec
def register_heads(register: Callable[[type], None]) -> None:
    """Register regression heads: ``torch.nn.Module`` classes with ``name``, ``description``, a
    constructor ``HeadClass(hidden_size, num_outputs, **options)``, ``config()`` (the constructor's
    keyword arguments), ``save(dir, prefix)`` and ``load(dir, prefix)`` (see ``filterforge.student.heads`` and
    ``filterforge.modules.SavableModule``). ``register(HeadClass)`` once per head; names are unique.
    """


@hookspec
def register_poolings(register: Callable[[type], None]) -> None:
    """Register pooling modules that turn token states ``[batch, seq, hidden]`` and the attention mask
    into one vector per article (see ``filterforge.student.pooling``). ``register(PoolingClass)`` once per
    pooling; names are unique.
    """


@hookspec
def register_model_sources(register: Callable[["ModelSource"], None]) -> None:
    """Register model sources: objects with ``name``, ``description`` and
    ``resolve(spec, cache_dir) -> Path | None`` returning a local Hugging Face folder for a model
    spec (an alias, a path or a hub id) or ``None`` when the source does not handle the spec.
    Sources are asked in registration order; the first folder returned wins.
    """


@hookspec
def register_filter_paths(register: Callable[[Path], None]) -> None:
    """Register folders that hold filter packages laid out as ``<name>/<version>/filter.yaml``.

    ``register(path)`` once per folder. Earlier folders win when two hold the same filter version.
    """


@hookspec(firstresult=True)
def prefilter_article(article: dict, filter_spec: "FilterSpec") -> Optional[str]:
    """Decide before scoring whether an article should reach the model at all.

    ``article`` is the input row (``id``, ``title``, ``content``, ...); ``filter_spec`` the filter it
    is scored for. Return a short reason string to reject the article (it is written to the output
    with that reason and not scored), or ``None`` to let it through. The first plugin returning a
    reason wins.
    """
