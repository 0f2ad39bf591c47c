"""Behaviour of the synthetic demo-data generator (filterforge.data.demo)."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter

import pytest

from filterforge.data.demo import (
    ANALYSIS_KEY,
    DIMENSIONS,
    generate_demo_articles,
    write_jsonl,
)

SIGNALS = ["macro_risk_severity", "credit_market_stress", "market_sentiment_extremes",
           "valuation_risk", "policy_regulatory_risk", "systemic_risk"]


@pytest.fixture(scope="module")
def rows():
    return generate_demo_articles(600, seed=0)


def scores(row):
    return {dim: row[ANALYSIS_KEY][dim]["score"] for dim in DIMENSIONS}


def tier(sc):
    macro, credit = sc["macro_risk_severity"], sc["credit_market_stress"]
    sentiment, valuation = sc["market_sentiment_extremes"], sc["valuation_risk"]
    systemic, evidence, action = sc["systemic_risk"], sc["evidence_quality"], sc["actionability"]
    if (macro >= 7 or credit >= 7 or systemic >= 8) and evidence >= 5 and action >= 5:
        return "RED"
    if (5 <= macro <= 6 or 5 <= credit <= 6 or 7 <= valuation <= 8) and evidence >= 5 and action >= 4:
        return "YELLOW"
    if sentiment >= 7 and valuation <= 3 and evidence >= 6 and action >= 5:
        return "GREEN"
    if evidence < 4:
        return "NOISE"
    return "BLUE"


def test_dimensions_are_the_filter_dimensions():
    assert DIMENSIONS == SIGNALS + ["evidence_quality", "actionability"]
    assert ANALYSIS_KEY == "investment-risk_analysis"


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


def test_row_schema(rows):
    for i, row in enumerate(rows):
        assert row["id"] == f"demo-0-{i}"
        assert row["source"] == "filterforge-demo"
        assert row["synthetic"] is True
        assert row["language"] == "en"
        assert re.fullmatch(r"2026-(0[1-9]|1[0-2])-(0[1-9]|[12]\d)", row["published_date"])
        assert isinstance(row["title"], str) and row["title"].strip()
        assert isinstance(row["content"], str) and row["content"].strip()
        assert isinstance(row["category"], str) and row["category"]
        analysis = row[ANALYSIS_KEY]
        assert list(analysis) == DIMENSIONS
        for dim in DIMENSIONS:
            assert analysis[dim]["evidence"] is None
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


def test_every_score_is_an_int_in_range(rows):
    for row in rows:
        for dim, value in scores(row).items():
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
    expected = {"bank_failure", "currency_crisis", "central_bank_surprise", "geopolitical_shock",
                "valuation_bubble", "credit_stress", "regulatory_crackdown", "calm_markets",
                "bullish_entry_point", "stock_tip", "clickbait", "affiliate_promotion", "unrelated_news"}
    assert set(cats) == expected
    assert min(cats.values()) >= 10


def test_content_caps(rows):
    seen = Counter()
    for row in rows:
        sc = scores(row)
        cat = row["category"]
        if cat in ("stock_tip", "affiliate_promotion"):
            assert all(sc[d] == 0 for d in SIGNALS), (row["id"], sc)
            seen[cat] += 1
        elif cat == "clickbait":
            assert sc["evidence_quality"] <= 3, (row["id"], sc)
            seen[cat] += 1
        elif cat == "unrelated_news":
            assert all(v <= 2 for v in sc.values()), (row["id"], sc)
            seen[cat] += 1
    assert len(seen) == 4


def test_every_tier_is_reached(rows):
    tiers = Counter(tier(scores(r)) for r in rows)
    assert set(tiers) == {"RED", "YELLOW", "GREEN", "BLUE", "NOISE"}, tiers
    share = {t: c / len(rows) for t, c in tiers.items()}
    # roughly the intended mix (generous bounds)
    assert 0.07 <= share["RED"] <= 0.22
    assert 0.10 <= share["YELLOW"] <= 0.26
    assert 0.03 <= share["GREEN"] <= 0.14
    assert 0.15 <= share["NOISE"] <= 0.36


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_tier_is_reached_for_other_seeds(seed):
    tiers = Counter(tier(scores(r)) for r in generate_demo_articles(600, seed=seed))
    assert set(tiers) == {"RED", "YELLOW", "GREEN", "BLUE", "NOISE"}, tiers


def _mean(rows, cats, dim):
    vals = [scores(r)[dim] for r in rows if r["category"] in cats]
    assert vals
    return statistics.mean(vals)


def test_scores_follow_scenario(rows):
    crisis = {"bank_failure", "currency_crisis"}
    assert _mean(rows, crisis, "macro_risk_severity") >= _mean(rows, {"calm_markets"}, "macro_risk_severity") + 3
    assert _mean(rows, {"credit_stress", "bank_failure"}, "credit_market_stress") >= \
        _mean(rows, {"calm_markets"}, "credit_market_stress") + 3
    assert _mean(rows, {"valuation_bubble"}, "valuation_risk") >= _mean(rows, {"bullish_entry_point"}, "valuation_risk") + 4
    assert _mean(rows, {"regulatory_crackdown", "central_bank_surprise"}, "policy_regulatory_risk") >= \
        _mean(rows, {"calm_markets"}, "policy_regulatory_risk") + 4


def test_severity_in_text_tracks_scores(rows):
    # within bank failures, articles with contagion/emergency wording score higher on systemic risk
    banks = [r for r in rows if r["category"] == "bank_failure"]
    severe = re.compile(r"contagion|emergency|systemic|panic|froze|seized up", re.I)
    hot = [scores(r)["systemic_risk"] for r in banks if severe.search(r["title"] + r["content"])]
    cold = [scores(r)["systemic_risk"] for r in banks if not severe.search(r["title"] + r["content"])]
    assert hot and cold
    assert statistics.mean(hot) >= statistics.mean(cold) + 1.5


def test_evidence_quality_tracks_sourcing(rows):
    # articles that cite official data/filings score higher on evidence_quality than hearsay-only ones
    cited = re.compile(r"\b(according to the|figures|data|filing|filings|records|report|minutes|accounts|statement"
                       r"|paper|rule text|penalty notice|survey)\b[^.]*\b(show|shows|puts|lists|record|cites"
                       r"|confirm|confirms|sets out|stood)\b", re.I)
    hearsay = re.compile(r"verified|nobody has offered proof|asked not to be named|cites no sources"
                         r"|without pointing to any data|originally came from", re.I)
    finance = {"bank_failure", "currency_crisis", "central_bank_surprise", "geopolitical_shock",
               "valuation_bubble", "credit_stress", "regulatory_crackdown", "calm_markets", "bullish_entry_point"}
    many, few, rumours, rest = [], [], [], []
    for r in rows:
        if r["category"] not in finance:
            continue
        ev = scores(r)["evidence_quality"]
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
    import time

    t0 = time.perf_counter()
    generate_demo_articles(600, seed=11)
    assert time.perf_counter() - t0 < 3.0


def test_write_jsonl_atomic(tmp_path, rows):
    path = tmp_path / "sub" / "demo.jsonl"
    write_jsonl(rows[:25], path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows[:25]
    # overwrite in place, no temp files left behind
    write_jsonl(rows[:3], str(path))
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3
    assert sorted(p.name for p in path.parent.iterdir()) == ["demo.jsonl"]
