"""How the command line shows what the library reports: filterforge's log records go to stdout as plain
lines; ``--quiet`` keeps warnings and errors only and silences third-party progress bars and warnings."""

from __future__ import annotations

import logging
import os
import warnings

import click

LIBRARY_LOGGER = "filterforge"


class EchoHandler(logging.Handler):
    """Writes each record with click.echo (so CliRunner and pipes see it); errors go to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=record.levelno >= logging.ERROR)


def show_progress() -> None:
    logger = logging.getLogger(LIBRARY_LOGGER)
    if not any(isinstance(h, EchoHandler) for h in logger.handlers):
        handler = EchoHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def quiet() -> None:
    """Library messages below WARNING, transformers' and huggingface_hub's progress bars and warnings off."""
    logging.getLogger(LIBRARY_LOGGER).setLevel(logging.WARNING)
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    os.environ["TRANSFORMERS_NO_ADVISORY_WARNINGS"] = "1"
    warnings.filterwarnings("ignore")
    for name in ("transformers", "huggingface_hub", "accelerate", "peft", "optimum"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass
