"""filterforge: distil an LLM oracle's article scores into a small, fast student model.

What a plugin needs is importable from here: ``hookimpl`` (see ``filterforge.plugins.hookspecs``),
``Strategy`` (the input-strategy base class) and ``FilterforgeError``.
"""

from filterforge.encoding.strategies import Strategy
from filterforge.errors import FilterforgeError
from filterforge.plugins.hookspecs import hookimpl
from filterforge.version import __version__

__all__ = ["FilterforgeError", "Strategy", "hookimpl", "__version__"]
