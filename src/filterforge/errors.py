"""The one exception type users see: the command line prints its message as a single line, no traceback."""


class FilterforgeError(Exception):
    """An error the user can act on: what is wrong and where (file:line, id, dimension)."""

    exit_code = 1

    @property
    def message(self) -> str:
        return str(self)
