"""`filterforge plugins`, `strategies`, `heads`, `filters`: what is installed and registered."""

from __future__ import annotations

import json

import click


@click.command(name="plugins")
def plugins_command() -> None:
    """List installed plugins (built-ins included) as JSON: name, version, hooks."""
    from filterforge.plugins.manager import plugin_listing

    click.echo(json.dumps(plugin_listing(), indent=2))


def _describe(registry: dict) -> None:
    width = max((len(name) for name in registry), default=0)
    for name, item in sorted(registry.items()):
        plugin = getattr(item, "plugin_name", "")
        click.echo(f"{name:<{width}}  {item.description}  [{plugin}]")


@click.command(name="strategies")
def strategies_command() -> None:
    """List the registered input strategies."""
    from filterforge.plugins.manager import get_strategies

    _describe(get_strategies())


@click.command(name="heads")
def heads_command() -> None:
    """List the registered regression heads and poolings."""
    from filterforge.plugins.manager import get_heads, get_poolings

    click.echo("heads:")
    _describe(get_heads())
    click.echo("poolings:")
    _describe(get_poolings())


@click.command(name="filters")
def filters_command() -> None:
    """List the filter packages found and their dimensions."""
    from filterforge.filters.spec import known_filters, load_filter

    for (name, version), path in sorted(known_filters().items()):
        spec = load_filter(path)
        click.echo(f"{spec.id}  {path}")
        for dim in spec.dimensions:
            click.echo(f"    {dim.name:<34} weight {dim.weight:<5g} {dim.description}")


COMMANDS = (plugins_command, strategies_command, heads_command, filters_command)
