"""The `filterforge` command line. Stage commands come from plugins (built-ins included)."""

from __future__ import annotations

import json

import click

from filterforge import __version__
from filterforge.plugins.manager import get_heads, get_poolings, get_strategies, load_plugins, plugin_listing, pm


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="filterforge")
def cli() -> None:
    """Distil an LLM oracle's article scores into a small, fast student model.

    \b
    Pipeline: demo-data / prepare -> train -> evaluate -> compare -> calibrate -> export -> bench -> score -> deploy
    """


@cli.command(name="plugins")
def plugins_command() -> None:
    """List installed plugins (built-ins included) as JSON: name, version, hooks."""
    click.echo(json.dumps(plugin_listing(), indent=2))


def _describe(registry: dict) -> None:
    width = max((len(name) for name in registry), default=0)
    for name, item in sorted(registry.items()):
        plugin = getattr(item, "plugin_name", "")
        click.echo(f"{name:<{width}}  {item.description}  [{plugin}]")


@cli.command(name="strategies")
def strategies_command() -> None:
    """List the registered input strategies."""
    _describe(get_strategies())


@cli.command(name="heads")
def heads_command() -> None:
    """List the registered regression heads and poolings."""
    click.echo("heads:")
    _describe(get_heads())
    click.echo("poolings:")
    _describe(get_poolings())


@cli.command(name="filters")
def filters_command() -> None:
    """List the filter packages found and their dimensions."""
    from filterforge.filters.spec import known_filters, load_filter

    for (name, version), path in sorted(known_filters().items()):
        spec = load_filter(path)
        click.echo(f"{spec.id}  {path}")
        for dim in spec.dimensions:
            click.echo(f"    {dim.name:<34} weight {dim.weight:<5g} {dim.description}")


_commands_registered = False


def build_cli() -> click.Group:
    global _commands_registered
    load_plugins()
    if not _commands_registered:
        _commands_registered = True
        pm.hook.register_commands(cli=cli)
    return cli


def main() -> None:
    try:
        group = build_cli()
    except click.ClickException as exc:  # a broken plugin: one line, not a traceback
        exc.show()
        raise SystemExit(exc.exit_code) from None
    group(prog_name="filterforge")
