"""Behaviour of the synthetic demo-data generator (filterforge.data.demo) and `filterforge demo-data`."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter

import pytest
from conftest import REPO, assert_one_line_error, invoke

from filterforge.data.demo import generate_demo_articles
from filterforge.filters.spec import resolve_filter
from filterforge.io import read_jsonl

PACKAGE = REPO / "filters" / "investment-risk" / "v2"
TIERS = {"RED", "YELLOW", "GREEN", "BLUE", "NOISE"}
FINANCE_NEWS = {"bank_failure", "currency_crisis", "central_bank_surprise", "geopolitical_shock", "valuation_bubble",
                "credit_stress", "regulatory_crackdown", "calm_markets", "bullish_entry_point"}


@pytest.fixture(scope="module")
def spec():
    return resolve_filter("investment-risk/v2")


@pytest.fixture(scope="module")
def rows():
    return generate_demo_articles(600, seed=0)


def scores(row, spec):
    return {dim: row[spec.analysis_keys()[0]][dim]["score"] for dim in spec.dimension_names}


def tier_counts(rows, spec):
    return Counter(spec.tier(scores(row, spec)) for row in rows)


def test_rows_carry_the_filter_dimensions_under_its_analysis_key(rows, spec):
    assert spec.analysis_keys()[0] == "investment-risk_analysis"
    for row in rows:
        analysis = row["investment-risk_analysis"]
        assert list(analysis) == spec.dimension_names
        assert all(analysis[dim]["evidence"] is None for dim in spec.dimension_names)


def test_deterministic_per_seed_and_different_across_seeds():
    a = generate_demo_articles(50, seed=7)
    b = generate_demo_articles(50, seed=7)
    c = generate_demo_articles(50, seed=8)
    assert a == b
    assert [r["content"] for r in a] != [r["content"] for r in c]
    assert a[0]["id"] == "demo-7-0" and c[0]["id"] == "demo-8-0"


@pytest.mark.parametrize("n", [0, 1, 17, 600])
def test_returns_n_rows(n):
    assert len(generate_demo_articles(n, seed=3)) == n


def test_row_schema_and_every_row_marked_synthetic(rows):
    for i, row in enumerate(rows):
        assert row["id"] == f"demo-0-{i}"
        assert row["source"] == "filterforge-demo"
        assert row["synthetic"] is True
        assert row["language"] == "en"
        assert re.fullmatch(r"2026-(0[1-9]|1[0-2])-(0[1-9]|[12]\d)", row["published_date"])
        assert isinstance(row["title"], str) and row["title"].strip()
        assert isinstance(row["content"], str) and row["content"].strip()
        assert isinstance(row["category"], str) and row["category"]
        json.dumps(row)  # serialisable


def test_unique_ids_and_texts(rows):
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["content"] for r in rows}) == len(rows)
    assert len({r["title"] + r["content"] for r in rows}) == len(rows)


def test_no_unfilled_template_slots(rows):
    for row in rows:
        text = row["title"] + row["content"]
        assert "{" not in text and "}" not in text
        assert "the the " not in text.lower()


def test_every_score_is_an_int_from_0_to_10(rows, spec):
    for row in rows:
        for dim, value in scores(row, spec).items():
            assert type(value) is int, (row["id"], dim, value)
            assert 0 <= value <= 10


def test_lengths_vary(rows):
    lengths = [len(r["content"].split()) for r in rows]
    assert min(lengths) >= 50
    assert max(lengths) <= 700
    assert any(n >= 500 for n in lengths), "expected a few long reads"
    assert sum(n < 150 for n in lengths) >= 60, "expected plenty of short pieces"
    assert statistics.pstdev(lengths) > 60


def test_scenarios_mixed(rows):
    cats = Counter(r["category"] for r in rows)
    assert set(cats) == FINANCE_NEWS | {"stock_tip", "clickbait", "affiliate_promotion", "unrelated_news"}
    assert min(cats.values()) >= 10


def test_content_caps_hold(rows, spec):
    seen = Counter()
    for row in rows:
        sc, cat = scores(row, spec), row["category"]
        if cat in ("stock_tip", "affiliate_promotion"):
            assert all(sc[d] == 0 for d in spec.signal_dimensions), (row["id"], sc)
            assert sc["evidence_quality"] <= 3, (row["id"], sc)
        elif cat == "clickbait":
            assert sc["evidence_quality"] <= 3, (row["id"], sc)
        elif cat == "unrelated_news":
            assert all(v <= 2 for v in sc.values()), (row["id"], sc)
        seen[cat] += 1
    assert all(seen[cat] for cat in ("stock_tip", "affiliate_promotion", "clickbait", "unrelated_news"))


def test_every_tier_is_reached_in_roughly_the_intended_mix(rows, spec):
    tiers = tier_counts(rows, spec)
    assert set(tiers) == TIERS, tiers
    share = {t: c / len(rows) for t, c in tiers.items()}
    assert 0.07 <= share["RED"] <= 0.22
    assert 0.10 <= share["YELLOW"] <= 0.26
    assert 0.03 <= share["GREEN"] <= 0.14
    assert 0.15 <= share["NOISE"] <= 0.36


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_tier_is_reached_for_other_seeds(seed, spec):
    tiers = tier_counts(generate_demo_articles(600, seed=seed), spec)
    assert set(tiers) == TIERS, tiers


def test_scores_follow_scenario(rows, spec):
    def mean(cats, dim):
        values = [scores(r, spec)[dim] for r in rows if r["category"] in cats]
        assert values
        return statistics.mean(values)

    calm = {"calm_markets"}
    assert mean({"bank_failure", "currency_crisis"}, "macro_risk_severity") >= mean(calm, "macro_risk_severity") + 3
    assert mean({"credit_stress", "bank_failure"}, "credit_market_stress") >= mean(calm, "credit_market_stress") + 3
    assert mean({"valuation_bubble"}, "valuation_risk") >= mean({"bullish_entry_point"}, "valuation_risk") + 4
    assert mean({"regulatory_crackdown", "central_bank_surprise"}, "policy_regulatory_risk") >= \
        mean(calm, "policy_regulatory_risk") + 4


def test_severity_in_text_tracks_scores(rows, spec):
    # within bank failures, articles with contagion/emergency wording score higher on systemic risk
    banks = [r for r in rows if r["category"] == "bank_failure"]
    severe = re.compile(r"contagion|emergency|systemic|panic|froze|seized up", re.I)
    hot = [scores(r, spec)["systemic_risk"] for r in banks if severe.search(r["title"] + r["content"])]
    cold = [scores(r, spec)["systemic_risk"] for r in banks if not severe.search(r["title"] + r["content"])]
    assert hot and cold
    assert statistics.mean(hot) >= statistics.mean(cold) + 1.5


def test_evidence_quality_tracks_sourcing(rows, spec):
    # articles that cite official data/filings score higher on evidence_quality than hearsay-only ones
    cited = re.compile(r"\b(according to the|figures|data|filing|filings|records|report|minutes|accounts|statement"
                       r"|paper|rule text|penalty notice|survey)\b[^.]*\b(show|shows|puts|lists|record|cites"
                       r"|confirm|confirms|sets out|stood)\b", re.I)
    hearsay = re.compile(r"verified|nobody has offered proof|asked not to be named|cites no sources"
                         r"|without pointing to any data|originally came from", re.I)
    many, few, rumours, rest = [], [], [], []
    for r in rows:
        if r["category"] not in FINANCE_NEWS:
            continue
        ev = scores(r, spec)["evidence_quality"]
        n = len(cited.findall(r["content"]))
        if n >= 3:
            many.append(ev)
        elif n <= 1:
            few.append(ev)
        (rumours if hearsay.search(r["content"]) else rest).append(ev)
    assert statistics.mean(many) >= statistics.mean(few) + 2
    assert rumours and statistics.mean(rumours) <= statistics.mean(rest) - 3


def test_distractors_present(rows):
    # some non-crisis articles use crisis vocabulary, so words alone cannot decide the score
    crisis_words = re.compile(r"bank run|bubble|credit crunch|currency crisis|capital controls|crash", re.I)
    calm = [r for r in rows if r["category"] in ("calm_markets", "unrelated_news", "affiliate_promotion")]
    assert sum(bool(crisis_words.search(r["content"])) for r in calm) >= 5


def test_generation_is_fast():
    t0 = time.perf_counter()
    generate_demo_articles(600, seed=11)
    assert time.perf_counter() - t0 < 3.0


# --------------------------------------------------------------------------- #
# the `demo-data` command
# --------------------------------------------------------------------------- #


def make_package(root, name: str, scenarios: str | None = None):
    """A filter package `<name>/v1` under `root`: investment-risk/v2's filter.yaml renamed, without analysis_key."""
    package = root / name / "v1"
    package.mkdir(parents=True)
    text = (PACKAGE / "filter.yaml").read_text(encoding="utf-8")
    text = text.replace("name: investment-risk\nversion: 2", f"name: {name}\nversion: 1")
    text = text.replace("analysis_key: investment-risk_analysis\n", "")
    (package / "filter.yaml").write_text(text, encoding="utf-8")
    if scenarios is not None:
        (package / "demo_scenarios.yaml").write_text(scenarios, encoding="utf-8")
    return package


def test_command_writes_the_generated_rows(runner, tmp_path):
    output = tmp_path / "out" / "demo.jsonl"
    result = invoke(runner, ["demo-data", "investment-risk/v2", "--n", "40", "--seed", "5", "--output", output])
    assert result.exit_code == 0, result.output
    assert read_jsonl(output) == generate_demo_articles(40, seed=5)
    assert f"wrote 40 synthetic articles -> {output}" in result.output and "tiers:" in result.output


def test_command_works_for_any_filter_with_a_scenarios_file(runner, tmp_path, monkeypatch):
    scenarios = (PACKAGE / "demo_scenarios.yaml").read_text(encoding="utf-8")
    make_package(tmp_path / "filters", "copied-risk", scenarios)
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(tmp_path / "filters"))
    output = tmp_path / "copied.jsonl"
    result = invoke(runner, ["demo-data", "copied-risk/v1", "--n", "20", "--output", output])
    assert result.exit_code == 0, result.output
    written = read_jsonl(output)
    assert len(written) == 20 and all(row["synthetic"] is True for row in written)
    original = generate_demo_articles(20, seed=0)
    assert [row["copied-risk_analysis"] for row in written] == [row["investment-risk_analysis"] for row in original]


def test_filter_without_scenarios_file_is_a_one_line_error(runner, tmp_path, monkeypatch):
    package = make_package(tmp_path / "filters", "no-demo")
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(tmp_path / "filters"))
    output = tmp_path / "never.jsonl"
    result = invoke(runner, ["demo-data", "no-demo/v1", "--n", "5", "--output", output])
    assert_one_line_error(result, "no-demo/v1", str(package / "demo_scenarios.yaml"))
    assert not output.exists()


def test_malformed_scenarios_file_is_a_one_line_error_naming_the_line(runner, tmp_path, monkeypatch):
    package = make_package(tmp_path / "filters", "broken-demo", "source: demo\nscenarios: [\n  - name: x\n")
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(tmp_path / "filters"))
    result = invoke(runner, ["demo-data", "broken-demo/v1", "--n", "5", "--output", tmp_path / "never.jsonl"])
    line = assert_one_line_error(result, str(package / "demo_scenarios.yaml"), "malformed YAML")
    assert re.search(r"demo_scenarios\.yaml:\d+: ", line), line


def test_incomplete_scenarios_file_is_a_one_line_error(runner, tmp_path, monkeypatch):
    package = make_package(tmp_path / "filters", "thin-demo", "source: demo\nscenarios:\n  - name: only_a_name\n")
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(tmp_path / "filters"))
    result = invoke(runner, ["demo-data", "thin-demo/v1", "--n", "5", "--output", tmp_path / "never.jsonl"])
    assert_one_line_error(result, str(package / "demo_scenarios.yaml"), "invalid demo scenarios")
