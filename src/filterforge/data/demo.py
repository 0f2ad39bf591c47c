"""Synthetic, oracle-scored news articles built from a filter package's ``demo_scenarios.yaml``.

The README demo trains a student model on data the repository generates itself, so this module
writes articles *and* the scores an LLM oracle would have given them, deterministically for a seed.
The scenario file holds every table (fictional world, sentence templates, per-scenario score ranges
and caps) and explains how they are used; dimensions and the analysis key come from ``filter.yaml``.
The order of the random draws below is part of the output: reordering them changes every seed's articles.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, Callable

from filterforge.errors import FilterforgeError
from filterforge.filters.spec import FilterSpec, resolve_filter
from filterforge.io import read_yaml

__all__ = ["SCENARIOS_FILE", "generate_demo_articles", "load_scenarios"]

SCENARIOS_FILE = "demo_scenarios.yaml"
YEAR = 2026
LEVELS = ("low", "medium", "high")

_SENTENCE_START = re.compile(r'(^|[.!?]"?\s+|^")([a-z])')

Fill = Callable[[str], str]


def generate_demo_articles(n: int = 600, seed: int = 0, filter_id: str = "investment-risk/v2") -> list[dict]:
    """Generate ``n`` synthetic, oracle-scored articles for ``filter_id``, deterministic for ``seed``.

    Every article text (title + content) is distinct; the rare duplicate draw is simply redrawn from
    the same random stream, so determinism is kept.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    spec = resolve_filter(filter_id)
    data = load_scenarios(spec)
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    try:
        while len(rows) < n:
            row = _article(rng, spec, data, f"demo-{seed}-{len(rows)}")
            digest = hashlib.sha1((row["title"] + "\n" + row["content"]).encode("utf-8")).hexdigest()
            if digest not in seen:
                seen.add(digest)
                rows.append(row)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        path = spec.path / SCENARIOS_FILE
        raise FilterforgeError(f"{path}: invalid demo scenarios ({type(exc).__name__}: {exc})") from None
    return rows


def load_scenarios(spec: FilterSpec) -> dict[str, Any]:
    """The filter package's scenario file, parsed; problems are one line naming the file."""
    path = spec.path / SCENARIOS_FILE
    if not path.is_file():
        raise FilterforgeError(f"filter {spec.id} has no demo scenarios: {path} is missing")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise FilterforgeError(f"{path}: expected a mapping")
    return data


def _article(rng: random.Random, spec: FilterSpec, data: dict[str, Any], article_id: str) -> dict[str, Any]:
    scenarios = data["scenarios"]
    scenario = rng.choices(scenarios, weights=[sc["weight"] for sc in scenarios])[0]
    severity = rng.betavariate(*scenario["severity_beta"])
    sourcing = _weighted_index(rng, scenario["sourcing_weights"])
    action = _weighted_index(rng, scenario["action_weights"])
    slots = _template_slots(rng, data["world"], severity)

    def fill(template: str) -> str:
        return _tidy(template.format_map(slots))

    title, content = _compose(rng, data, scenario, _level(severity), sourcing, action, fill)
    scores = _scores(rng, spec, data, scenario, severity, sourcing, action)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    return {
        "id": article_id,
        "title": title,
        "content": content,
        "source": data["source"],
        "synthetic": True,
        "published_date": f"{YEAR}-{month:02d}-{day:02d}",
        "language": data["language"],
        "category": scenario["name"],
        spec.analysis_keys()[0]: {dim: {"score": scores[dim], "evidence": None} for dim in spec.dimension_names},
    }


def _template_slots(rng: random.Random, world: dict[str, Any], severity: float) -> dict[str, str]:
    """Every template slot for one article; the quantities grow with ``severity``."""
    country, country2 = rng.sample(world["countries"], 2)
    bank, bank2 = rng.sample(world["bank_names"], 2)
    company, company2 = rng.sample(world["company_names"], 2)
    firm, firm2 = rng.sample(world["firm_names"], 2)
    first, first2 = rng.sample(world["first_names"], 2)
    last, last2 = rng.sample(world["last_names"], 2)
    sector, sector2 = rng.sample(world["sectors"], 2)
    team, team2 = rng.sample(world["teams"], 2)

    def jitter() -> float:
        return rng.uniform(0.75, 1.3)

    years = 2 + int(severity * 22 * jitter())
    return {
        **country,
        "country2": country2["country"], "currency2": country2["currency"], "cb2": country2["cb"],
        "bank": f"{bank} {rng.choice(world['bank_suffixes'])}",
        "bank2": f"{bank2} {rng.choice(world['bank_suffixes'])}",
        "company": f"{company} {rng.choice(world['company_suffixes'])}",
        "company2": f"{company2} {rng.choice(world['company_suffixes'])}",
        "ticker": (company[:3] + rng.choice("XQZKV")).upper(),
        "analyst": f"{first} {last}", "analyst2": f"{first2} {last2}",
        "firm": f"{firm} {rng.choice(world['firm_suffixes'])}",
        "firm2": f"{firm2} {rng.choice(world['firm_suffixes'])}",
        "role": rng.choice(world["roles"]), "role2": rng.choice(world["roles"]),
        "sector": sector, "sector2": sector2,
        "month": rng.choice(world["months"]), "weekday": rng.choice(world["weekdays"]),
        "team": team, "team2": team2, "player": rng.choice(world["players"]),
        "since_year": str(YEAR - years), "years": str(years),
        "loss_bn": _number(0.3 + severity * 42 * jitter()),
        "n_banks": str(1 + int(severity * 5.5)),
        "outflow_pct": _number(2 + severity * 33 * jitter(), 0),
        "drop_pct": _number(1.5 + severity * 28 * jitter()),
        "fx_drop": _number(1.5 + severity * 38 * jitter()),
        "rate_bp": str(25 * (1 + int(severity * 4.5))),
        "spread_bp": str(int(60 + severity * 640 * jitter())),
        "default_rate": _number(1.2 + severity * 9 * jitter()),
        "pe": _number(18 + severity * 34 * jitter(), 0),
        "cheap_pe": _number(max(5.5, 16.5 - 9 * severity * jitter())),
        "fear_idx": str(int(17 + severity * 52 * jitter())),
        "bearish_pct": str(min(92, int(38 + severity * 45 * jitter()))),
        "rally_pct": _number(8 + severity * 140 * jitter(), 0),
        "fine_bn": _number(0.1 + severity * 11 * jitter()),
        "oil_pct": _number(2 + severity * 38 * jitter()),
        "inflation": _number(2.1 + severity * 15 * jitter()),
        "reserves_pct": _number(4 + severity * 45 * jitter(), 0),
        "n_firms": str(2 + int(severity * 30 * jitter())),
        "debt_bn": _number(0.8 + severity * 60 * jitter()),
        "small_pct": _number(rng.uniform(0.2, 2.4)),
        "pct": _number(rng.uniform(1, 9)),
        "eps_pct": _number(rng.uniform(1, 14)),
        "hype_pct": str(rng.choice([150, 200, 300, 400, 500, 700, 1000])),
        "price": _number(rng.uniform(0.05, 4.9), 2),
        "discount": str(rng.choice([20, 25, 30, 40, 50, 60, 70])),
        "fee": _number(rng.uniform(4, 49), 2),
        "temp": str(rng.randint(28, 44)),
        "rain_mm": str(rng.randint(40, 260)),
        "score1": str(rng.randint(0, 4)), "score2": str(rng.randint(0, 3)),
        "attendance": f"{rng.randint(8, 72)},{rng.randint(100, 999)}",
        "minute": str(rng.randint(3, 93)),
        "cash_pct": str(rng.randint(6, 30)),
        "hedge_pct": str(rng.randint(20, 80)),
        "quarter": rng.choice(world["quarters"]),
    }


def _compose(rng: random.Random, data: dict[str, Any], scenario: dict[str, Any], level: str, sourcing: int,
             action: int, fill: Fill) -> tuple[str, str]:
    """(title, content): a lede, then the must-have sentences, padded with optional ones to a target length."""
    shared = data["shared"]
    if scenario["kind"] == "unrelated":
        title, lede, core, optional = _unrelated_parts(rng, shared, scenario, fill)
    else:
        title, lede, core, optional = _scenario_parts(rng, shared, scenario, level, sourcing, action, fill)
    if rng.random() < 0.35:
        echoes = [e for sc in data["scenarios"] if sc["name"] != scenario["name"] for e in sc.get("echoes", [])]
        core += [fill(e) for e in rng.sample(echoes, 1 if rng.random() < 0.75 else 2)]
    if scenario["kind"] != "news":
        rng.shuffle(optional)
    return title, _layout(rng, lede, core, optional)


def _scenario_parts(rng: random.Random, shared: dict[str, Any], scenario: dict[str, Any], level: str,
                    sourcing: int, action: int, fill: Fill) -> tuple[str, str, list[str], list[str]]:
    news = scenario["kind"] == "news"
    title = fill(rng.choice(scenario["titles"][level]))
    lede = fill(rng.choice(scenario["ledes"][level]))
    if news:
        evidence = scenario.get("evidence", []) + shared["evidence"][scenario["shared_evidence"]]
        core = [fill(t) for t in rng.sample(evidence, sourcing)]
        if sourcing == 0:
            core.append(fill(rng.choice(shared["hearsay"])))
    else:
        core = [fill(rng.choice(scenario.get("hearsay", shared["hearsay"])))]
        if sourcing:
            core.append(fill(rng.choice(shared["hearsay"])))
    steps = scenario["actions"] + (shared["actions"][scenario["shared_actions"]] if news else [])
    core += [fill(t) for t in rng.sample(steps, min(action, len(steps)))]
    if action == 0 and news and rng.random() < 0.7:
        core.append(fill(rng.choice(shared["no_action"])))

    quotes = scenario["quotes"][level]
    attributions = shared["quote_attributions"]["news" if news else "hype"]
    optional = [fill(d) for d in scenario["details"][level]]
    optional += [f'"{q}," {fill(rng.choice(attributions))}' for q in rng.sample(quotes, min(2, len(quotes)))]
    optional += [fill(b) for b in scenario["background"]]
    if news or rng.random() < 0.5:
        optional += [fill(b) for b in rng.sample(shared["market_background"], 6 if news else 3)]
    if news:
        rng.shuffle(optional)
        # appended after the shuffle so that context sentences only pad the longer reads
        optional += [fill(c) for c in rng.sample(shared["context"], 12)]
    return title, lede, core, optional


def _unrelated_parts(rng: random.Random, shared: dict[str, Any], scenario: dict[str, Any],
                     fill: Fill) -> tuple[str, str, list[str], list[str]]:
    topic = rng.choice(scenario["topics"])
    story = rng.choice(topic["stories"])
    optional = [fill(d) for d in story["details"] + topic["shared_details"]]
    if rng.random() < 0.25:
        optional += [fill(b) for b in rng.sample(shared["market_background"], 2)]
    return fill(story["title"]), fill(story["lede"]), [], optional


def _layout(rng: random.Random, lede: str, core: list[str], optional: list[str]) -> str:
    target = _target_words(rng)
    body = list(core)
    words = sum(len(s.split()) for s in [lede, *body])
    for sentence in optional:
        if words >= target:
            break
        body.append(sentence)
        words += len(sentence.split())
    rng.shuffle(body)
    paragraphs = [lede]
    while body:
        size = rng.choice((1, 2, 2, 3))
        paragraphs.append(" ".join(body[:size]))
        del body[:size]
    return "\n\n".join(paragraphs)


def _scores(rng: random.Random, spec: FilterSpec, data: dict[str, Any], scenario: dict[str, Any],
            severity: float, sourcing: int, action: int) -> dict[str, int]:
    values: dict[str, float] = {}
    for dim in spec.signal_dimensions:
        low, high = scenario["scores"][dim]
        values[dim] = low + (high - low) * severity
    if "sourcing_score" in scenario:
        values[data["sourcing_dimension"]] = rng.randint(*scenario["sourcing_score"]) + sourcing
    else:
        values[data["sourcing_dimension"]] = 2 + 2 * sourcing + rng.choice((0, 0, 1))
    if "action_score" in scenario:
        values[data["action_dimension"]] = rng.randint(*scenario["action_score"]) + max(action - 1, 0)
    else:
        values[data["action_dimension"]] = 1 + 2 * action + rng.choice((0, 1, 1))
    scores = [int(round(values[dim])) for dim in spec.dimension_names]
    for index in rng.sample(range(len(scores)), rng.choice((0, 1, 2, 2, 3))):  # an imperfect oracle
        scores[index] += rng.choice((-1, 1))
    result = {d.name: max(int(d.scale[0]), min(int(d.scale[1]), s)) for d, s in zip(spec.dimensions, scores)}
    groups = {"signal": spec.signal_dimensions, "all": spec.dimension_names}
    for key, ceiling in (scenario.get("max_scores") or {}).items():
        for dim in groups.get(key, [key]):
            result[dim] = min(result[dim], ceiling)
    return result


def _weighted_index(rng: random.Random, weights: list[float]) -> int:
    return rng.choices(range(len(weights)), weights=weights)[0]


def _level(severity: float) -> str:
    return LEVELS[0 if severity < 0.34 else (1 if severity < 0.67 else 2)]


def _target_words(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.07:
        return rng.randint(540, 600)  # a few long reads
    if r < 0.25:
        return rng.randint(60, 130)
    return int(rng.triangular(110, 450, 220))


def _number(x: float, digits: int = 1) -> str:
    """``x`` rounded, without a trailing ``.0``."""
    value = round(x, digits)
    return str(int(value)) if value == int(value) else str(value)


def _tidy(text: str) -> str:
    """Drop the doubled "the" of names that carry their own, and capitalise sentence starts."""
    text = text.replace("the the ", "the ").replace("The the ", "The ")
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)
