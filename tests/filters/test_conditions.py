"""The condition language: the `overall` atom (where the caller allows it), the names a condition reads,
and what it refuses. The tier rules of investment-risk and the never-eval cases are in tests/data/test_prepare.py."""

from __future__ import annotations

import pytest

from filterforge.filters import conditions

DIMENSIONS = ["impact", "credibility", "cost"]


def test_overall_is_an_atom_where_the_caller_allows_it():
    tree = conditions.parse("overall >= 7.5", DIMENSIONS, overall=True)
    assert tree == conditions.Comparison("overall", ">=", 7.5)
    assert conditions.evaluate(tree, dict.fromkeys(DIMENSIONS, 0.0), overall=7.5)
    assert not conditions.evaluate(tree, dict.fromkeys(DIMENSIONS, 10.0), overall=7.4)


def test_overall_is_refused_where_there_is_no_overall_score():
    with pytest.raises(conditions.ConditionError, match="'overall' is the weighted average.*weights above 0"):
        conditions.parse({"any": ["impact >= 7", "overall >= 5"]}, DIMENSIONS)


def test_overall_combines_with_dimensions_and_tiers():
    tree = conditions.parse({"all": ["overall >= 5", {"not": "credibility < 5"}, "tier in [HIGH]"]}, DIMENSIONS,
                            ["HIGH", "LOW"], overall=True)
    scores = {"impact": 9.0, "credibility": 6.0, "cost": 1.0}
    assert conditions.evaluate(tree, scores, tier="HIGH", overall=5.0)
    assert not conditions.evaluate(tree, scores, tier="LOW", overall=5.0)
    assert not conditions.evaluate(tree, scores | {"credibility": 4.0}, tier="HIGH", overall=5.0)
    assert not conditions.evaluate(tree, scores, tier="HIGH", overall=4.9)


def test_evaluating_overall_without_the_score_is_an_error_not_false():
    tree = conditions.parse("overall < 3", DIMENSIONS, overall=True)
    with pytest.raises(conditions.ConditionError, match="without the overall score"):
        conditions.evaluate(tree, dict.fromkeys(DIMENSIONS, 0.0))


def test_subjects_names_what_a_condition_reads():
    tree = conditions.parse({"any": ["overall >= 5", ["impact > 2", "signal <= 3"], {"not": "tier == HIGH"}]},
                            DIMENSIONS, ["HIGH"], overall=True)
    assert conditions.subjects(tree) == {"overall", "impact", "signal", "tier"}
    assert conditions.subjects(conditions.parse("cost == 0", DIMENSIONS)) == {"cost"}


@pytest.mark.parametrize("text, fragment", [
    ("tier >= 3", "unknown dimension 'tier'"),
    ("overall >= high", "is not '<dimension> <op> <number>'"),
    ("overall >= __import__('os')", "is not '<dimension> <op> <number>'"),
    ("overall() >= 3", "is not '<dimension> <op> <number>'"),
    ("overall >= 3 and impact < 2", "is not '<dimension> <op> <number>'"),
])
def test_malformed_overall_conditions_are_refused(text, fragment):
    with pytest.raises(conditions.ConditionError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        conditions.parse(text, DIMENSIONS, overall=True)


def test_reserved_names_are_the_words_conditions_give_a_meaning():
    assert set(conditions.RESERVED) == {"all", "signal", "overall", "tier"}
