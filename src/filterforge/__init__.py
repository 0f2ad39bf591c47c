"""filterforge: distil an LLM oracle's article scores into a small, fast student model."""

__version__ = "0.1.0"
