"""Filter packages: ``filters/<name>/v<version>/filter.yaml`` + ``prompt.md``, their discovery, the overall
score (weighted average of the dimensions, lowered by the caps of the ``overall`` section) and the tiers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

from filterforge.filters import conditions
from filterforge.errors import FilterforgeError
from filterforge.io import YamlMapping, read_yaml


FILTER_FILE = "filter.yaml"
PROMPT_FILE = "prompt.md"


@dataclass(frozen=True)
class Dimension:
    name: str
    weight: float
    description: str = ""
    scale: tuple[float, float] = (0.0, 10.0)


@dataclass(frozen=True)
class Tier:
    name: str
    description: str
    rule: Any  # parsed condition tree, None for the default tier
    default: bool = False


@dataclass(frozen=True)
class OverallCap:
    """While ``rule`` holds, the overall score is at most ``max`` (a source's gatekeeper)."""
    name: str
    description: str
    when: str  # the condition as written, for people
    rule: Any
    max: float


@dataclass
class FilterSpec:
    name: str
    version: int
    description: str
    path: Path
    dimensions: list[Dimension]
    tiers: list[Tier] = field(default_factory=list)
    gatekeepers: list[dict] = field(default_factory=list)
    content_caps: list[dict] = field(default_factory=list)
    analysis_key: str | None = None
    overall_caps: list[OverallCap] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.name}/v{self.version}"

    @property
    def slug(self) -> str:
        """`investment-risk/v2` -> `investment_risk_v2` (used for default dataset folders)."""
        return f"{self.name.replace('-', '_')}_v{self.version}"

    @property
    def dimension_names(self) -> list[str]:
        return [dim.name for dim in self.dimensions]

    @property
    def weights(self) -> list[float]:
        return [dim.weight for dim in self.dimensions]

    @property
    def signal_dimensions(self) -> list[str]:
        return [dim.name for dim in self.dimensions if dim.weight > 0]

    @property
    def yaml_path(self) -> Path:
        return self.path / FILTER_FILE

    @property
    def prompt_path(self) -> Path:
        return self.path / PROMPT_FILE

    def package_files(self) -> list[Path]:
        """The files a model folder copies from its filter package."""
        return [self.yaml_path] + ([self.prompt_path] if self.prompt_path.is_file() else [])

    def prompt(self) -> str:
        if not self.prompt_path.is_file():
            raise FilterforgeError(f"filter {self.id} has no prompt.md in {self.path}")
        return self.prompt_path.read_text(encoding="utf-8")

    def analysis_keys(self) -> list[str]:
        keys = [self.analysis_key] if self.analysis_key else []
        for base in (self.name, self.name.replace("-", "_"), self.name.replace("_", "-")):
            keys.append(f"{base}_analysis")
        return list(dict.fromkeys(keys))

    def weighted_average(self, scores: Sequence[float]) -> float:
        total = sum(self.weights)
        if total <= 0:
            return sum(scores) / len(scores)
        return sum(w * s for w, s in zip(self.weights, scores)) / total

    @property
    def has_overall(self) -> bool:
        """Whether the filter defines an overall score: its dimension weights sum to more than 0."""
        return sum(self.weights) > 0

    def _by_name(self, scores: Sequence[float] | Mapping[str, float]) -> Mapping[str, float]:
        if isinstance(scores, Mapping):
            return scores
        return dict(zip(self.dimension_names, (float(s) for s in scores)))

    def overall(self, scores: Sequence[float] | Mapping[str, float]) -> float:
        """The weighted average of the dimension scores, lowered to the ``max`` of every cap whose rule holds."""
        scores = self._by_name(scores)
        # Rounded to 9 places: float sums of weights such as 0.15 + 0.05 leave ~1e-16 of noise, which would put
        # integer oracle scores that average exactly 3.0 below a 3.0 threshold.
        value = round(self.weighted_average([float(scores[name]) for name in self.dimension_names]), 9)
        for cap in self.overall_caps:
            if conditions.evaluate(cap.rule, scores, self.signal_dimensions):
                value = min(value, cap.max)
        return value

    @cached_property
    def _tiers_read_overall(self) -> bool:
        return any(conditions.OVERALL in conditions.subjects(t.rule) for t in self.tiers if not t.default)

    def tier(self, scores: Sequence[float] | Mapping[str, float]) -> str | None:
        """The first tier whose rule holds for these scores (raw values; the overall score after its caps)."""
        if not self.tiers:
            return None
        scores = self._by_name(scores)
        overall = self.overall(scores) if self._tiers_read_overall else None
        for tier in self.tiers:
            if tier.default or conditions.evaluate(tier.rule, scores, self.signal_dimensions, overall=overall):
                return tier.name
        return None

    @property
    def tier_names(self) -> list[str]:
        return [tier.name for tier in self.tiers]

    @property
    def has_several_tiers(self) -> bool:
        """Whether tiers tell articles apart; a single tier puts every article in it, so its accuracy is
        always 1 and means nothing."""
        return len(self.tiers) > 1


_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9_-]*)\s*/\s*v?(\d+)\s*$", re.IGNORECASE)


def normalize_name(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def parse_filter_id(text: str) -> tuple[str, int | None]:
    """`investment-risk/v2`, `investment_risk/v2`, `investment-risk/2` -> ("investment-risk", 2)."""
    match = _SPEC.match(text)
    if match:
        return normalize_name(match.group(1)), int(match.group(2))
    return normalize_name(text), None


def _filter_dirs(roots: Sequence[Path]) -> dict[tuple[str, int], Path]:
    found: dict[tuple[str, int], Path] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for yaml_path in sorted(root.glob(f"*/v*/{FILTER_FILE}")):
            version_dir = yaml_path.parent
            match = re.fullmatch(r"v(\d+)", version_dir.name)
            if match:
                found.setdefault((normalize_name(version_dir.parent.name), int(match.group(1))), version_dir)
    return found


def known_filters(roots: Sequence[Path] | None = None) -> dict[tuple[str, int], Path]:
    if roots is None:
        from filterforge.plugins.manager import get_filter_paths

        roots = get_filter_paths()
    return _filter_dirs(roots)


def resolve_filter(text: str, roots: Sequence[Path] | None = None) -> FilterSpec:
    """Find a filter by id; a bare name picks its highest version. Unknown ids list the known ones."""
    found = known_filters(roots)
    name, version = parse_filter_id(text)
    candidates = sorted(v for (n, v) in found if n == name)
    if version is None and candidates:
        version = candidates[-1]
    if (name, version) not in found:
        known = ", ".join(f"{n}/v{v}" for n, v in sorted(found)) or "none found"
        raise FilterforgeError(f"unknown filter '{text}' (known: {known})")
    return load_filter(found[(name, version)])


TIER_KEYS = ("name", "description", "when", "default")
OVERALL_KEYS = ("description", "caps")
CAP_KEYS = ("name", "description", "when", "max")


def _where(yaml_path: Path, node: Any, key: Any = None) -> str:
    """``file:line`` of a mapping (or of one of its keys) when the reader tracked lines, else the file."""
    return f"{yaml_path}:{node.line_of(key)}" if isinstance(node, YamlMapping) and node.line else str(yaml_path)


def _check_keys(yaml_path: Path, node: Any, allowed: Sequence[str], what: str) -> None:
    if not isinstance(node, dict):
        raise FilterforgeError(f"{_where(yaml_path, node)}: {what} must be a mapping ({', '.join(allowed)})")
    for key in node:
        if key not in allowed:
            raise FilterforgeError(f"{_where(yaml_path, node, key)}: {what}: unknown key '{key}' "
                                   f"(known: {', '.join(allowed)})")


def _condition(yaml_path: Path, node: Any, what: str, dimensions: Sequence[str], tiers: Sequence[str] | None,
               overall: bool) -> Any:
    if "when" not in node:
        raise FilterforgeError(f"{_where(yaml_path, node)}: {what} needs 'when'")
    try:
        return conditions.parse(node["when"], dimensions, tiers, overall)
    except conditions.ConditionError as exc:
        raise FilterforgeError(f"{_where(yaml_path, node, 'when')}: {what}: {exc}") from None


def _listed(yaml_path: Path, node: Any, key: str) -> list:
    value = node.get(key) or []
    if not isinstance(value, list):
        raise FilterforgeError(f"{_where(yaml_path, node, key)}: '{key}' must be a list")
    return value


def _dimensions(yaml_path: Path, raw: dict) -> list[Dimension]:
    if not isinstance(raw["dimensions"], list):
        raise FilterforgeError(f"{_where(yaml_path, raw, 'dimensions')}: 'dimensions' must be a list")
    dimensions = []
    for d in raw["dimensions"]:
        dimension = Dimension(name=str(d["name"]), weight=float(d.get("weight", 0.0)),
                              description=str(d.get("description", "")),
                              scale=tuple(float(x) for x in d.get("scale", (0, 10))))
        if dimension.name in conditions.RESERVED:
            raise FilterforgeError(f"{_where(yaml_path, d, 'name')}: '{dimension.name}' cannot name a dimension "
                                   f"(reserved in conditions: {', '.join(conditions.RESERVED)})")
        if any(other.name == dimension.name for other in dimensions):
            raise FilterforgeError(f"{_where(yaml_path, d, 'name')}: dimension '{dimension.name}' is defined twice")
        if not math.isfinite(dimension.weight) or dimension.weight < 0:
            raise FilterforgeError(f"{_where(yaml_path, d, 'weight')}: dimension '{dimension.name}': weight must be "
                                   f"a number >= 0, got {d.get('weight')!r}")
        dimensions.append(dimension)
    return dimensions


def _overall_caps(yaml_path: Path, raw: dict, dimensions: Sequence[str], has_overall: bool) -> list[OverallCap]:
    section = raw.get("overall")
    if section is None:
        return []
    _check_keys(yaml_path, section, OVERALL_KEYS, "'overall'")
    if not has_overall and section.get("caps"):
        raise FilterforgeError(f"{_where(yaml_path, section, 'caps')}: overall caps need dimension weights above 0 "
                               "(the overall score is their weighted average)")
    caps = []
    for index, cap in enumerate(_listed(yaml_path, section, "caps"), start=1):
        _check_keys(yaml_path, cap, CAP_KEYS, f"overall cap #{index}")
        name = str(cap.get("name") or f"cap #{index}")
        rule = _condition(yaml_path, cap, f"overall cap '{name}'", dimensions, None, overall=True)
        used = conditions.subjects(rule)
        if used & {conditions.OVERALL, "tier"}:
            raise FilterforgeError(f"{_where(yaml_path, cap, 'when')}: overall cap '{name}': its condition reads "
                                   f"{' and '.join(sorted(used & {conditions.OVERALL, 'tier'}))}, which the caps "
                                   "decide (caps apply before tiers); name dimensions only")
        limit = cap.get("max")
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit):
            raise FilterforgeError(f"{_where(yaml_path, cap, 'max')}: overall cap '{name}': 'max' must be a number, "
                                   f"got {limit!r}")
        caps.append(OverallCap(name, str(cap.get("description", "")), " ".join(str(cap["when"]).split()), rule,
                               float(limit)))
    return caps


def _tiers(yaml_path: Path, raw: dict, dimensions: Sequence[str], has_overall: bool) -> list[Tier]:
    entries = _listed(yaml_path, raw, "tiers")
    for index, entry in enumerate(entries, start=1):
        _check_keys(yaml_path, entry, TIER_KEYS, f"tier #{index}")
        if "name" not in entry:
            raise FilterforgeError(f"{_where(yaml_path, entry)}: tier #{index} needs a 'name'")
    names = [str(entry["name"]) for entry in entries]
    for entry, name in zip(entries, names):
        if names.count(name) > 1:
            raise FilterforgeError(f"{_where(yaml_path, entry, 'name')}: tier '{name}' is defined twice")
    tiers = []
    for entry, name in zip(entries, names):
        default = bool(entry.get("default", False))
        rule = None if default else _condition(yaml_path, entry, f"tier '{name}'", dimensions, names, has_overall)
        tiers.append(Tier(name=name, description=str(entry.get("description", "")), rule=rule, default=default))
    return tiers


def load_filter(path: Path) -> FilterSpec:
    yaml_path = Path(path) / FILTER_FILE
    raw = read_yaml(yaml_path, track_lines=True)
    if not isinstance(raw, dict):
        raise FilterforgeError(f"{yaml_path}: expected a mapping")
    try:
        dimensions = _dimensions(yaml_path, raw)
        names = [d.name for d in dimensions]
        has_overall = sum(d.weight for d in dimensions) > 0
        return FilterSpec(
            name=normalize_name(str(raw["name"])),
            version=int(raw["version"]),
            description=str(raw.get("description", "")).strip(),
            path=Path(path),
            dimensions=dimensions,
            tiers=_tiers(yaml_path, raw, names, has_overall),
            gatekeepers=list(raw.get("gatekeepers", []) or []),
            content_caps=list(raw.get("content_caps", []) or []),
            analysis_key=raw.get("analysis_key"),
            overall_caps=_overall_caps(yaml_path, raw, names, has_overall),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FilterforgeError(f"{yaml_path}: invalid filter definition ({exc})") from None
