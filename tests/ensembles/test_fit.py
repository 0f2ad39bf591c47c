"""Fitting the combination: convex weights by least squares (stack), the best member per dimension
(select), the leaning report, and ``ensemble.json`` read back or refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from filterforge.ensembles.fit import convex_weights, fit_combination, leaning_report, lowest_mae_member
from filterforge.errors import FilterforgeError
from filterforge.runs.combination import Combination

NAMES = ["a", "b", "c"]


def test_stack_recovers_a_convex_mixture():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 10, size=(200, 3))
    gold = scores @ np.array([0.6, 0.4, 0.0])
    weights = convex_weights(scores, gold)
    np.testing.assert_allclose(weights, [0.6, 0.4, 0.0], atol=1e-6)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12) and (weights >= 0).all()


def test_stack_matches_a_constrained_solver_and_never_goes_negative():
    """b repeats a's error twice over: least squares with weights summing to 1 would give b -1; here it gets 0."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(1)
    gold = rng.uniform(0, 10, size=60)
    error = rng.normal(0, 1, 60)
    scores = np.stack([gold + error, gold + 2 * error, gold + rng.normal(0.5, 2, 60)], axis=1)
    weights = convex_weights(scores, gold)
    loss = lambda w: float(((scores @ w - gold) ** 2).sum())  # noqa: E731
    reference = minimize(loss, np.full(3, 1 / 3), method="SLSQP", bounds=[(0, 1)] * 3,
                         constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}]).x
    assert weights[1] == 0.0 and (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    assert loss(weights) <= loss(reference) + 1e-6


def test_identical_members_still_get_valid_weights():
    gold = np.linspace(0, 10, 30)
    scores = np.stack([gold * 0.9, gold * 0.9], axis=1)
    weights = convex_weights(scores, gold)
    assert np.isfinite(weights).all() and weights.sum() == pytest.approx(1.0) and (weights >= 0).all()


def test_select_takes_the_lowest_mae_member_and_the_first_on_a_tie():
    gold = np.zeros(4)
    assert lowest_mae_member(np.array([[2, 1, 1]] * 4, dtype=float), gold).tolist() == [0, 1, 0]


def test_fit_combination_per_dimension_and_the_leaning_report():
    rng = np.random.default_rng(2)
    gold = rng.uniform(0, 10, size=(40, 2))
    noise = rng.normal(0, 3, size=(40, 2))
    # member a is right on dimension x, member b on dimension y, c is the mean
    scores = np.stack([np.stack([gold[:, 0], gold[:, 1] + noise[:, 1]], 1),
                       np.stack([gold[:, 0] + noise[:, 0], gold[:, 1]], 1),
                       np.full_like(gold, 5.0)])
    combination = fit_combination("select", scores, gold, NAMES, ["x", "y"])
    assert combination.leaned_on() == {"x": "a", "y": "b"}
    report = leaning_report(combination, scores, gold, [5.0, 5.0])
    assert report["per_dimension"]["x"]["weights"] == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert report["per_dimension"]["x"]["mae"]["ensemble"] == 0.0 == report["mae"]["ensemble"]
    assert report["per_dimension"]["y"]["mae"]["mean_predictor"] == report["per_dimension"]["y"]["mae"]["c"]
    stacked = fit_combination("stack", scores, gold, NAMES, ["x", "y"])
    np.testing.assert_allclose(stacked.weights, [[1, 0, 0], [0, 1, 0]], atol=1e-6)


def test_the_leaning_report_gives_tier_accuracies_only_for_filters_with_tiers():
    import dataclasses

    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("investment-risk/v2")
    red, yellow, noise = [8, 0, 0, 0, 0, 0, 6, 6], [6, 0, 0, 0, 0, 0, 5, 4], [0, 0, 0, 0, 0, 0, 2, 0]
    gold = np.array([red, yellow, noise, noise], dtype=float)
    right = gold.copy()  # member a puts every article in its oracle tier
    wrong = np.array([noise, noise, red, noise], dtype=float)  # member b: one in four
    names = spec.dimension_names
    combination = Combination("select", ["a", "b"], names, np.tile([1.0, 0.0], (len(names), 1)))
    report = leaning_report(combination, np.stack([right, wrong]), gold, gold.mean(0), spec)
    assert report["tier_accuracy"] == {"a": 1.0, "b": 0.25, "ensemble": 1.0}
    single = dataclasses.replace(spec, tiers=spec.tiers[:1])
    assert leaning_report(combination, np.stack([right, wrong]), gold, gold.mean(0), single)["tier_accuracy"] is None


def test_fit_refuses_too_few_articles_and_unknown_methods():
    with pytest.raises(FilterforgeError, match="at least 2"):
        fit_combination("stack", np.zeros((2, 1, 1)), np.zeros((1, 1)), ["a", "b"], ["x"])
    with pytest.raises(FilterforgeError, match="unknown ensemble method"):
        fit_combination("vote", np.zeros((2, 3, 1)), np.zeros((3, 1)), ["a", "b"], ["x"])


def test_combination_round_trips_and_combines(tmp_path):
    combination = Combination("stack", ["a", "b"], ["x", "y"], [[0.25, 0.75], [1.0, 0.0]], {"fit_split": {"name": "val"}})
    combination.save(tmp_path)
    loaded = Combination.load(tmp_path)
    np.testing.assert_array_equal(loaded.weights, combination.weights)
    member_scores = np.array([[[4.0, 2.0]], [[8.0, 6.0]]])  # [members, n, dims]
    np.testing.assert_allclose(loaded.combine(member_scores), [[7.0, 2.0]])


@pytest.mark.parametrize("change, fragment", [
    (lambda d: d["weights"]["x"].update(a=0.9), "sum to"),
    (lambda d: d["weights"]["y"].update(a=-0.5, b=1.5), "non-negative"),
    (lambda d: d.update(members=["a"]), "at least 2"),
    (lambda d: d.update(format="other"), "unknown format"),
])
def test_a_broken_combination_is_one_error_naming_the_file(tmp_path, change, fragment):
    document = Combination("stack", ["a", "b"], ["x", "y"], [[0.5, 0.5], [1.0, 0.0]]).to_json()
    change(document)
    (tmp_path / "ensemble.json").write_text(json.dumps(document))
    with pytest.raises(FilterforgeError, match=fragment) as error:
        Combination.load(tmp_path)
    assert str(tmp_path / "ensemble.json") in str(error.value) and "\n" not in str(error.value)
