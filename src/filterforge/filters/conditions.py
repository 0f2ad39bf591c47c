"""A tiny declarative condition language for tier rules and edge-case expectations (never `eval`).

Atoms: ``<dimension> <op> <number>`` with op in <, <=, >, >=, ==, !=; ``all <op> <number>`` (every
dimension) and ``signal <op> <number>`` (every dimension with weight > 0); ``overall <op> <number>``
(the filter's weighted average of the dimension scores after its caps, where the caller allows it);
``tier in [A, B]`` and ``tier == A``. Combinators are YAML mappings: ``{all: [...]}``, ``{any: [...]}``,
``{not: cond}``. A YAML list is ``all`` of its items. The words in ``RESERVED`` cannot name a dimension.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
RESERVED = ("all", "signal", "overall", "tier")
OVERALL = "overall"
_COMPARISON = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")
_TIER = re.compile(r"^\s*tier\s*(?:(==)\s*([A-Za-z_][\w-]*)|in\s*\[([^\]]*)\])\s*$")


class ConditionError(ValueError):
    """A condition that does not parse or names an unknown dimension."""


def _shown(text: str) -> str:
    """A condition as quoted in an error: on one line, however it was written in the YAML."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Comparison:
    subject: str  # a dimension name, "all", "signal" or "overall"
    op: str
    value: float

    def dimensions(self, names: Sequence[str], signal: Sequence[str]) -> Sequence[str]:
        if self.subject == "all":
            return names
        if self.subject == "signal":
            return signal
        return [self.subject]


@dataclass(frozen=True)
class TierIn:
    tiers: tuple[str, ...]


def parse_atom(text: str, dimensions: Sequence[str], tiers: Sequence[str] | None = None,
               overall: bool = False) -> Comparison | TierIn:
    if not isinstance(text, str):
        raise ConditionError(f"expected a condition string, got {text!r}")
    match = _TIER.match(text)
    if match:
        names = (match.group(2),) if match.group(1) else tuple(
            part.strip() for part in match.group(3).split(",") if part.strip()
        )
        unknown = [name for name in names if tiers is not None and name not in tiers]
        if not names or unknown:
            raise ConditionError(f"'{_shown(text)}': unknown tier {', '.join(unknown) or '(none given)'}")
        return TierIn(names)
    match = _COMPARISON.match(text)
    if not match:
        raise ConditionError(f"'{_shown(text)}' is not '<dimension> <op> <number>' or 'tier in [...]'")
    subject, op, value = match.groups()
    if subject == OVERALL and not overall:
        raise ConditionError(f"'{_shown(text)}': 'overall' is the weighted average of the dimensions and needs "
                             "dimension weights above 0")
    if subject not in ("all", "signal", OVERALL) and subject not in dimensions:
        raise ConditionError(f"'{_shown(text)}': unknown dimension '{subject}'")
    return Comparison(subject, op, float(value))


def parse(cond: Any, dimensions: Sequence[str], tiers: Sequence[str] | None = None, overall: bool = False) -> Any:
    """Parse a YAML condition tree into atoms and ('all'|'any'|'not', children) tuples. ``overall``: whether
    atoms may name the overall score."""
    if isinstance(cond, str):
        return parse_atom(cond, dimensions, tiers, overall)
    if isinstance(cond, list):
        return ("all", [parse(child, dimensions, tiers, overall) for child in cond])
    if isinstance(cond, Mapping) and len(cond) == 1:
        (key, value), = cond.items()
        if key in ("all", "any"):
            if not isinstance(value, list):
                raise ConditionError(f"'{key}' needs a list")
            return (key, [parse(child, dimensions, tiers, overall) for child in value])
        if key == "not":
            return ("not", [parse(value, dimensions, tiers, overall)])
    raise ConditionError(f"cannot read condition {cond!r}")


def subjects(tree: Any) -> set[str]:
    """The names a parsed condition reads: dimensions, "all", "signal", "overall", and "tier" for tier atoms."""
    if isinstance(tree, Comparison):
        return {tree.subject}
    if isinstance(tree, TierIn):
        return {"tier"}
    return set().union(*(subjects(child) for child in tree[1]))


def evaluate(
    tree: Any,
    scores: Mapping[str, float],
    signal: Sequence[str] = (),
    tier: str | None = None,
    overall: float | None = None,
) -> bool:
    if isinstance(tree, Comparison):
        compare = OPERATORS[tree.op]
        if tree.subject == OVERALL:
            if overall is None:
                raise ConditionError("a condition on 'overall' was evaluated without the overall score")
            return compare(float(overall), tree.value)
        names = tree.dimensions(list(scores), signal)
        return all(compare(float(scores[name]), tree.value) for name in names)
    if isinstance(tree, TierIn):
        return tier in tree.tiers
    kind, children = tree
    if kind == "all":
        return all(evaluate(child, scores, signal, tier, overall) for child in children)
    if kind == "any":
        return any(evaluate(child, scores, signal, tier, overall) for child in children)
    return not evaluate(children[0], scores, signal, tier, overall)
