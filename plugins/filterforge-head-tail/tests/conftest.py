"""Reuse filterforge's own test fixtures (tiny random models, demo splits, the CLI runner).

The repository root goes on sys.path so that `tests.conftest` imports however pytest was started.
A plugin developed outside the filterforge repository would copy the fixtures it needs instead.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.conftest import *  # noqa: E402,F401,F403  (pytest finds the fixtures by name)
