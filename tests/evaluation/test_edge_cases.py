"""Behaviour of edge-case suites: loading and validating YAML, checking predictions case by case."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from filterforge.errors import FilterforgeError
from filterforge.evaluation.edge_cases import check_cases, load_edge_cases
from filterforge.filters.spec import resolve_filter

REPO = Path(__file__).resolve().parents[2]
REAL_SUITE = REPO / "filters" / "investment-risk" / "v2" / "edge_cases.yaml"

# dimension order: macro, credit, sentiment, valuation, policy, systemic, evidence, actionability
ZEROS = [0.0] * 8
TENS = [10.0] * 8
QUALITY_ONLY = [0.0] * 6 + [9.0, 9.0]  # no risk signal, but well evidenced and actionable


@pytest.fixture(scope="module")
def spec():
    return resolve_filter("investment-risk/v2")


def case(case_id="c1", **fields):
    item = {"id": case_id, "category": "test", "title": "A title", "content": "Some content.",
            "expect": ["all <= 3"]}
    item.update(fields)
    return {k: v for k, v in item.items() if v is not None}


def write_suite(tmp_path, cases, filter_id="investment-risk/v2", name="edge_cases.yaml") -> Path:
    data = {"cases": cases} if filter_id is None else {"filter": filter_id, "cases": cases}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_error(path, spec) -> str:
    with pytest.raises(FilterforgeError) as excinfo:
        load_edge_cases(path, spec)
    message = excinfo.value.message
    assert "\n" not in message, message
    assert str(path) in message, message
    return message


# -- loading -----------------------------------------------------------------------------------

def test_valid_file_loads_cases_in_order(tmp_path, spec):
    path = write_suite(tmp_path, [
        case("high-macro", category="crisis", expect=["macro_risk_severity >= 6", "tier in [RED, YELLOW]"]),
        case("title-only", content=None, category=None, expect="signal <= 3"),
        case("content-only", title=None, expect=[{"any": ["all <= 3", "tier == BLUE"]}]),
    ])
    cases = load_edge_cases(path, spec)
    assert [c.id for c in cases] == ["high-macro", "title-only", "content-only"]
    assert cases[0].category == "crisis"
    assert cases[1].category == "uncategorized"
    assert [e.text for e in cases[0].expectations] == ["macro_risk_severity >= 6", "tier in [RED, YELLOW]"]
    assert [e.text for e in cases[1].expectations] == ["signal <= 3"]  # a single string is one expectation
    assert len(cases[2].expectations) == 1
    assert cases[0].article() == {"id": "high-macro", "title": "A title", "content": "Some content."}
    assert cases[1].article()["content"] == "" and cases[2].article()["title"] == ""


@pytest.mark.parametrize("declared", ["investment-risk/v2", "investment_risk/v2", "investment-risk/2", None])
def test_matching_filter_spellings_or_no_filter_are_accepted(tmp_path, spec, declared):
    path = write_suite(tmp_path, [case()], filter_id=declared)
    assert len(load_edge_cases(path, spec)) == 1


def test_missing_file(tmp_path, spec):
    message = load_error(tmp_path / "absent.yaml", spec)
    assert "not found" in message


def test_malformed_yaml_names_file_and_line(tmp_path, spec):
    path = tmp_path / "bad.yaml"
    path.write_text("filter: investment-risk/v2\ncases:\n  - id: a\n    title: t\n   expect: x\n")
    message = load_error(path, spec)
    assert f"{path}:5" in message and "malformed YAML" in message


@pytest.mark.parametrize("text", ["- just\n- a list\n", "filter: investment-risk/v2\n", "cases: nope\n"])
def test_file_without_a_cases_list(tmp_path, spec, text):
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    assert "'cases' list" in load_error(path, spec)


def test_empty_cases_list(tmp_path, spec):
    assert "no cases" in load_error(write_suite(tmp_path, []), spec)


def test_case_that_is_not_a_mapping(tmp_path, spec):
    message = load_error(write_suite(tmp_path, [case("a"), "just a string"]), spec)
    assert "case #2" in message and "not a mapping" in message


@pytest.mark.parametrize("bad_id", [None, "", "   "])
def test_case_without_id(tmp_path, spec, bad_id):
    message = load_error(write_suite(tmp_path, [case("first"), case(bad_id)]), spec)
    assert "case #2" in message and "'id'" in message


def test_duplicate_id(tmp_path, spec):
    message = load_error(write_suite(tmp_path, [case("twin"), case("other"), case("twin")]), spec)
    assert "case 'twin'" in message and "duplicate" in message


@pytest.mark.parametrize("title, content", [(None, None), ("", ""), ("  ", "\n")])
def test_case_without_title_or_content(tmp_path, spec, title, content):
    message = load_error(write_suite(tmp_path, [case("blank", title=title, content=content)]), spec)
    assert "case 'blank'" in message and "'title'" in message and "'content'" in message


@pytest.mark.parametrize("expect", [[], "missing", None, 5])
def test_case_with_empty_or_missing_expect(tmp_path, spec, expect):
    item = case("no-expect")
    if expect == "missing":
        del item["expect"]
    else:
        item["expect"] = expect  # None is written as `expect: null`
    message = load_error(write_suite(tmp_path, [item]), spec)
    assert "case 'no-expect'" in message and "'expect'" in message


@pytest.mark.parametrize("expect, shown", [({}, "{}"), ("", "''")])
def test_case_with_an_empty_condition_as_expect(tmp_path, spec, expect, shown):
    message = load_error(write_suite(tmp_path, [case("empty-cond", expect=expect)]), spec)
    assert "case 'empty-cond'" in message and shown in message


def test_unknown_dimension(tmp_path, spec):
    path = write_suite(tmp_path, [case("dim", expect=["macro_risk_severity >= 6", "moon_phase >= 3"])])
    message = load_error(path, spec)
    assert "case 'dim'" in message and "unknown dimension 'moon_phase'" in message


def test_unknown_tier(tmp_path, spec):
    message = load_error(write_suite(tmp_path, [case("tiers", expect=["tier in [RED, PURPLE]"])]), spec)
    assert "case 'tiers'" in message and "unknown tier" in message and "PURPLE" in message


def test_unparseable_condition(tmp_path, spec):
    message = load_error(write_suite(tmp_path, [case("syntax", expect=["macro_risk_severity >> 6"])]), spec)
    assert "case 'syntax'" in message and "macro_risk_severity >> 6" in message


def test_multi_line_condition_still_gives_a_one_line_error(tmp_path, spec):
    path = tmp_path / "suite.yaml"
    path.write_text("cases:\n  - id: multi\n    title: t\n    expect:\n      - |\n"
                    "        macro_risk_severity >= 6\n        tier in [RED]\n")
    message = load_error(path, spec)
    assert "case 'multi'" in message


@pytest.mark.parametrize("declared", ["other-filter/v1", "investment-risk/v1", "investment-risk"])
def test_filter_mismatch(tmp_path, spec, declared):
    message = load_error(write_suite(tmp_path, [case()], filter_id=declared), spec)
    assert f"'{declared}'" in message and "investment-risk/v2" in message


def test_real_suite_loads(spec):
    cases = load_edge_cases(REAL_SUITE, spec)
    assert len(cases) == 28
    assert len({c.id for c in cases}) == 28
    assert all(c.expectations and (c.title or c.content) for c in cases)


def test_real_suite_clickbait_passes_with_zero_scores_and_fails_with_top_scores(spec):
    cases = load_edge_cases(REAL_SUITE, spec)
    low = check_cases(cases, [ZEROS] * len(cases), spec)
    high = check_cases(cases, [TENS] * len(cases), spec)
    assert low["total"] == high["total"] == 28
    clickbait = low["by_category"]["clickbait"]
    assert clickbait["passed"] == clickbait["total"] > 0
    assert high["by_category"]["clickbait"]["passed"] == 0


# -- checking ----------------------------------------------------------------------------------

@pytest.fixture
def suite(tmp_path, spec):
    path = write_suite(tmp_path, [
        case("high-macro", category="crisis", expect=["macro_risk_severity >= 6", "tier in [RED, YELLOW]"]),
        case("quiet", category="calm", expect=["all <= 3"]),
        case("low-signal", category="calm", expect=["signal <= 3", "tier in [NOISE, BLUE]"]),
    ])
    return load_edge_cases(path, spec)


def by_id(report):
    return {r["id"]: r for r in report["cases"]}


def test_all_zero_scores(suite, spec):
    report = check_cases(suite, [ZEROS] * 3, spec)
    results = by_id(report)
    assert results["high-macro"]["passed"] is False
    assert results["high-macro"]["failed_expectations"] == ["macro_risk_severity >= 6", "tier in [RED, YELLOW]"]
    assert results["quiet"]["passed"] is True and results["quiet"]["failed_expectations"] == []
    assert results["low-signal"]["passed"] is True
    assert results["quiet"]["predicted"]["tier"] == "NOISE"  # evidence_quality 0 < 4
    assert report["passed"] == 2 and report["total"] == 3
    assert report["pass_rate"] == pytest.approx(0.6667)
    assert report["by_category"] == {"crisis": {"passed": 0, "total": 1}, "calm": {"passed": 2, "total": 2}}


def test_all_ten_scores(suite, spec):
    report = check_cases(suite, [TENS] * 3, spec)
    results = by_id(report)
    assert results["high-macro"]["passed"] is True
    assert results["high-macro"]["predicted"]["tier"] == "RED"
    assert results["quiet"]["failed_expectations"] == ["all <= 3"]
    assert results["low-signal"]["failed_expectations"] == ["signal <= 3", "tier in [NOISE, BLUE]"]
    assert report["by_category"] == {"crisis": {"passed": 1, "total": 1}, "calm": {"passed": 0, "total": 2}}
    assert report["pass_rate"] == pytest.approx(0.3333)


def test_signal_covers_only_weighted_dimensions_while_all_covers_every_dimension(suite, spec):
    report = check_cases(suite, [TENS, QUALITY_ONLY, QUALITY_ONLY], spec)
    results = by_id(report)
    assert results["quiet"]["failed_expectations"] == ["all <= 3"]  # evidence and actionability are 9
    assert results["low-signal"]["passed"] is True  # signal dims are 0; tier BLUE
    assert results["low-signal"]["predicted"]["tier"] == "BLUE"
    assert results["high-macro"]["passed"] is True


def test_each_case_is_checked_against_its_own_row(suite, spec):
    report = check_cases(suite, [TENS, ZEROS, ZEROS], spec)
    assert report["passed"] == 3 and report["pass_rate"] == 1.0
    assert [r["id"] for r in report["cases"]] == ["high-macro", "quiet", "low-signal"]
    assert by_id(report)["high-macro"]["predicted"]["macro_risk_severity"] == 10.0


def test_yellow_tier_expectation(tmp_path, spec):
    path = write_suite(tmp_path, [case("watch", expect=["tier == YELLOW", "macro_risk_severity >= 5"])])
    cases = load_edge_cases(path, spec)
    yellow = [6.0, 0, 0, 0, 0, 0, 5.0, 4.0]
    red = [8.0, 0, 0, 0, 0, 0, 6.0, 6.0]
    assert check_cases(cases, [yellow], spec)["passed"] == 1
    failed = check_cases(cases, [red], spec)["cases"][0]
    assert failed["passed"] is False and failed["failed_expectations"] == ["tier == YELLOW"]
    assert failed["predicted"]["tier"] == "RED"


def test_no_cases_gives_no_pass_rate(spec):
    report = check_cases([], [], spec)
    assert report["pass_rate"] is None and report["total"] == 0 and report["by_category"] == {}


def test_expectations_on_the_capped_overall_score(tmp_path):
    sustainability = resolve_filter("sustainability/v1")
    path = write_suite(tmp_path, [case("capped", expect=["overall <= 4", "tier == monitoring"]),
                                  case("strong", expect=["overall >= 7.5"])], filter_id="sustainability/v1")
    cases = load_edge_cases(path, sustainability)
    gated = [9.0, 4.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0]  # weighted average 8.0, technical_credibility below 5: 4.0
    result = check_cases(cases, [gated, gated], sustainability)
    assert [c["passed"] for c in result["cases"]] == [True, False]
    assert result["cases"][1]["failed_expectations"] == ["overall >= 7.5"]
