"""Progress lines and the time guard that skips jobs which would overrun the budget."""

from __future__ import annotations

import time
from datetime import datetime

import click

MIN_SLOWDOWN, MAX_SLOWDOWN = 0.5, 4.0


def log(message: str) -> None:
    click.echo(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", err=True)


class Clock:
    """Skips a job whose estimate (corrected by what earlier jobs of that model kind really took) would overrun."""

    def __init__(self, budget_s: float):
        self.budget_s = budget_s
        self.started = time.time()
        self.slowdown: dict[str, float] = {}
        self._totals: dict[str, list[float]] = {}  # kind -> [estimated, actual] seconds so far

    @property
    def elapsed(self) -> float:
        return time.time() - self.started

    def factor(self, kind: str) -> float:
        return self.slowdown.get(kind, self.slowdown.get("any", 1.0))

    def fits(self, estimate_s: float, kind: str) -> tuple[bool, str]:
        needed = estimate_s * self.factor(kind)
        left = self.budget_s - self.elapsed
        return needed <= left, f"estimated {needed:.0f} s, {left:.0f} s of the {self.budget_s:.0f} s budget left"

    def learn(self, estimate_s: float, actual_s: float, kind: str) -> None:
        """Ratio of all actual to all estimated seconds, so one short job cannot undo a long one's lesson."""
        for key in (kind, "any"):
            totals = self._totals.setdefault(key, [0.0, 0.0])
            totals[0] += estimate_s
            totals[1] += actual_s
            self.slowdown[key] = max(MIN_SLOWDOWN, min(MAX_SLOWDOWN, totals[1] / totals[0]))
