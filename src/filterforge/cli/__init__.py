"""The `filterforge` command line: the only package that imports click.

Each command lives in its own module (parse options -> call the library -> print). Built-in commands are
registered through the same ``register_commands`` hook as plugin commands. A `FilterforgeError` raised
anywhere below becomes one line on stderr and exit code 1.
"""

from __future__ import annotations

import click

from filterforge.version import __version__
from filterforge.errors import FilterforgeError


class FilterforgeGroup(click.Group):
    """Turns `FilterforgeError` into click's one-line ``Error: ...`` and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FilterforgeError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=FilterforgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="filterforge")
def cli() -> None:
    """Distil an LLM oracle's article scores into a small, fast student model.

    \b
    Pipeline: demo-data / prepare -> train -> evaluate -> compare -> calibrate -> export -> bench -> score -> deploy
    """
    from filterforge.cli.output import show_progress

    show_progress()


_commands_registered = False


def build_cli() -> click.Group:
    from filterforge.plugins.manager import load_plugins, pm

    global _commands_registered
    load_plugins()
    if not _commands_registered:
        _commands_registered = True
        pm.hook.register_commands(cli=cli)
    return cli


def main() -> None:
    try:
        group = build_cli()
    except FilterforgeError as exc:  # a broken plugin: one line, not a traceback
        click.ClickException(str(exc)).show()
        raise SystemExit(exc.exit_code) from None
    group(prog_name="filterforge")
