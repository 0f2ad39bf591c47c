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


def _echo_filter(spec, path) -> None:
    click.echo(f"{spec.id}  {path}")
    for dim in spec.dimensions:
        click.echo(f"    {dim.name:<34} weight {dim.weight:<5g} {dim.description}")
    for cap in spec.overall_caps:
        click.echo(f"    overall at most {cap.max:g} when {cap.when}")
    if spec.tiers:
        click.echo(f"    tiers: {', '.join(spec.tier_names)}")


@click.command(name="filters")
def filters_command() -> None:
    """List the filter packages found and their dimensions; a broken package is one line naming its file."""
    from filterforge.errors import FilterforgeError
    from filterforge.filters.spec import known_filters, load_filter

    packages = sorted(known_filters().items())
    broken = 0
    for _, path in packages:
        try:
            spec = load_filter(path)
        except FilterforgeError as exc:
            broken += 1
            click.echo(f"warning: skipped {exc}", err=True)
            continue
        _echo_filter(spec, path)
    if packages and broken == len(packages):
        raise FilterforgeError(f"none of the {broken} filter packages found could be read")


COMMANDS = (plugins_command, strategies_command, heads_command, filters_command)
