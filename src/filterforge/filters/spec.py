"""Filter packages: ``filters/<name>/v<version>/filter.yaml`` + ``prompt.md``, their discovery and tiers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from filterforge.filters import conditions
from filterforge.errors import FilterforgeError
from filterforge.io import read_yaml


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

    def tier(self, scores: Sequence[float] | Mapping[str, float]) -> str | None:
        """The first tier whose rule holds for these scores (raw values, no rounding)."""
        if not self.tiers:
            return None
        if not isinstance(scores, Mapping):
            scores = dict(zip(self.dimension_names, (float(s) for s in scores)))
        for tier in self.tiers:
            if tier.default or conditions.evaluate(tier.rule, scores, self.signal_dimensions):
                return tier.name
        return None

    @property
    def tier_names(self) -> list[str]:
        return [tier.name for tier in self.tiers]


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


def load_filter(path: Path) -> FilterSpec:
    yaml_path = Path(path) / FILTER_FILE
    raw = read_yaml(yaml_path)
    if not isinstance(raw, dict):
        raise FilterforgeError(f"{yaml_path}: expected a mapping")
    try:
        dimensions = [
            Dimension(
                name=str(d["name"]),
                weight=float(d.get("weight", 0.0)),
                description=str(d.get("description", "")),
                scale=tuple(float(x) for x in d.get("scale", (0, 10))),
            )
            for d in raw["dimensions"]
        ]
        names = [d.name for d in dimensions]
        tier_names = [str(t["name"]) for t in raw.get("tiers", [])]
        tiers = [
            Tier(
                name=str(t["name"]),
                description=str(t.get("description", "")),
                rule=None if t.get("default") else conditions.parse(t["when"], names, tier_names),
                default=bool(t.get("default", False)),
            )
            for t in raw.get("tiers", [])
        ]
        return FilterSpec(
            name=normalize_name(str(raw["name"])),
            version=int(raw["version"]),
            description=str(raw.get("description", "")).strip(),
            path=Path(path),
            dimensions=dimensions,
            tiers=tiers,
            gatekeepers=list(raw.get("gatekeepers", []) or []),
            content_caps=list(raw.get("content_caps", []) or []),
            analysis_key=raw.get("analysis_key"),
        )
    except conditions.ConditionError as exc:
        raise FilterforgeError(f"{yaml_path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise FilterforgeError(f"{yaml_path}: invalid filter definition ({exc})") from None
