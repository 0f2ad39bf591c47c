"""Edge-case suites: hand-written articles with expectations in the declarative condition language.

File format (YAML)::

    filter: investment-risk/v2
    cases:
      - id: geo-nuclear-test-01
        category: geopolitical
        title: ...
        content: ...
        expect: ["macro_risk_severity >= 6", "all <= 3", "signal <= 3", "tier in [RED, YELLOW]"]

Each expectation is parsed with :mod:`filterforge.filters.conditions` (never eval); a case passes when every
expectation holds for the model's predicted scores, their overall score (``overall >= 5``, after the filter's
caps) and the tier the filter's rules give them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from filterforge.filters import conditions
from filterforge.errors import FilterforgeError
from filterforge.io import read_yaml


@dataclass(frozen=True)
class Expectation:
    text: str  # as written in the file, for reports
    tree: Any


@dataclass(frozen=True)
class EdgeCase:
    id: str
    category: str
    title: str
    content: str
    expectations: tuple[Expectation, ...]

    def article(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "content": self.content}


def _expectation_text(raw: Any) -> str:
    return raw if isinstance(raw, str) else str(raw)


def load_edge_cases(path: str | Path, spec: Any) -> list[EdgeCase]:
    """Read and validate a suite against the model's filter; every problem names the file and case."""
    path = Path(path)
    if not path.is_file():
        raise FilterforgeError(f"edge-case file {path} not found")
    raw = read_yaml(path, "edge-case file")
    if not isinstance(raw, dict) or not isinstance(raw.get("cases"), list):
        raise FilterforgeError(f"{path}: expected a mapping with a 'cases' list")
    declared = raw.get("filter")
    if declared is not None:
        from filterforge.filters.spec import parse_filter_id

        if parse_filter_id(str(declared)) != (spec.name, spec.version):
            raise FilterforgeError(f"{path}: edge cases are for filter '{declared}', the model is for {spec.id}")
    cases: list[EdgeCase] = []
    seen: set[str] = set()
    for index, item in enumerate(raw["cases"], start=1):
        if not isinstance(item, dict):
            raise FilterforgeError(f"{path}: case #{index} is not a mapping")
        case_id = str(item.get("id") or "").strip()
        if not case_id:
            raise FilterforgeError(f"{path}: case #{index} has no 'id'")
        where = f"{path}: case '{case_id}'"
        if case_id in seen:
            raise FilterforgeError(f"{where}: duplicate id")
        seen.add(case_id)
        title, content = str(item.get("title") or ""), str(item.get("content") or "")
        if not (title.strip() or content.strip()):
            raise FilterforgeError(f"{where}: needs a 'title' or 'content'")
        expect = item.get("expect")
        if isinstance(expect, (str, dict)):
            expect = [expect]
        if not isinstance(expect, list) or not expect:
            raise FilterforgeError(f"{where}: 'expect' must be a non-empty list of conditions")
        parsed = []
        for entry in expect:
            try:
                tree = conditions.parse(entry, spec.dimension_names, spec.tier_names or None, spec.has_overall)
            except conditions.ConditionError as exc:
                raise FilterforgeError(f"{where}: {exc}") from None
            parsed.append(Expectation(_expectation_text(entry), tree))
        cases.append(EdgeCase(case_id, str(item.get("category") or "uncategorized"), title, content, tuple(parsed)))
    if not cases:
        raise FilterforgeError(f"{path}: no cases")
    return cases


def check_cases(cases: Sequence[EdgeCase], predictions: Any, spec: Any) -> dict[str, Any]:
    """Pass/fail per case and per category for predicted scores [n_cases, n_dims]."""
    names = spec.dimension_names
    results = []
    passed_by: Counter = Counter()
    total_by: Counter = Counter()
    for case, row in zip(cases, predictions):
        scores = {name: float(value) for name, value in zip(names, row)}
        tier = spec.tier(scores)
        overall = spec.overall(scores) if spec.has_overall else None
        failed = [e.text for e in case.expectations
                  if not conditions.evaluate(e.tree, scores, spec.signal_dimensions, tier, overall)]
        passed = not failed
        total_by[case.category] += 1
        passed_by[case.category] += passed
        results.append({
            "id": case.id,
            "category": case.category,
            "passed": passed,
            "failed_expectations": failed,
            "predicted": {**{name: round(value, 3) for name, value in scores.items()}, "tier": tier},
        })
    total = len(results)
    return {
        "pass_rate": round(sum(r["passed"] for r in results) / total, 4) if total else None,
        "passed": sum(r["passed"] for r in results),
        "total": total,
        "by_category": {cat: {"passed": passed_by[cat], "total": total_by[cat]} for cat in total_by},
        "cases": results,
    }
