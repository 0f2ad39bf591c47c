"""The one exception type users see: a single actionable line, never a traceback."""

import click


class FilterforgeError(click.ClickException):
    """An error the user can act on. Click prints `Error: <message>` and exits with code 1."""

    exit_code = 1
