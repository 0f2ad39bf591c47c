"""Behaviour of the evaluation metrics on small hand-computed examples."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from filterforge.metrics import (
    bootstrap_mae_interval,
    mean_of_defined,
    ndcg_at_k,
    paired_ratio_interval,
    per_article_errors,
    ranking_metrics,
    recall_at_k,
    regression_metrics,
    recorded_tier_accuracy,
    spearman_by_dimension,
    tier_accuracy,
    tier_metrics,
)
from filterforge.filters.spec import resolve_filter


@pytest.fixture(scope="module")
def spec():
    return resolve_filter("investment-risk/v2")


# -- regression --------------------------------------------------------------------------------

def test_regression_metrics_match_hand_computed_values():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    gold = np.array([[0.0, 2.0], [5.0, 5.0]])
    # errors: [[1, 0], [-2, -1]]
    result = regression_metrics(pred, gold, ["a", "b"], train_means=[1.0, 3.0])
    assert result["n"] == 2
    assert result["mae"] == pytest.approx(1.0)
    assert result["rmse"] == pytest.approx(math.sqrt(1.5))
    assert result["per_dimension_mae"] == pytest.approx({"a": 1.5, "b": 0.5})
    assert result["per_dimension_rmse"] == pytest.approx({"a": math.sqrt(2.5), "b": math.sqrt(0.5)})
    # mean predictor [1, 3] against gold: |[[1, 1], [4, 2]]|
    assert result["mean_predictor_mae"] == pytest.approx(2.0)
    assert result["mean_predictor_per_dimension_mae"] == pytest.approx({"a": 2.5, "b": 1.5})


def test_regression_metrics_without_train_means_has_no_baseline():
    result = regression_metrics(np.zeros((3, 2)), np.ones((3, 2)), ["a", "b"])
    assert result["mae"] == pytest.approx(1.0)
    assert result["rmse"] == pytest.approx(1.0)
    assert "mean_predictor_mae" not in result


def test_perfect_predictions_have_zero_error():
    gold = np.array([[1.0, 7.0], [2.5, 3.0], [9.0, 0.0]])
    result = regression_metrics(gold.copy(), gold, ["a", "b"], train_means=gold.mean(0))
    assert result["mae"] == 0.0 and result["rmse"] == 0.0
    assert result["mean_predictor_mae"] > 0


def test_per_article_errors_average_over_dimensions():
    errors = per_article_errors([[1, 1], [0, 4]], [[0, 0], [0, 0]])
    assert errors.tolist() == [1.0, 2.0]


# -- spearman ----------------------------------------------------------------------------------

def test_spearman_by_dimension_is_none_for_constant_columns():
    pred = np.array([[1, 3, 5, 1], [2, 2, 5, 2], [3, 1, 5, 3], [4, 0, 5, 4]], dtype=float)
    gold = np.array([[1, 1, 1, 7], [2, 2, 2, 7], [3, 3, 3, 7], [4, 4, 4, 7]], dtype=float)
    result = spearman_by_dimension(pred, gold, ["up", "down", "flat_pred", "flat_gold"])
    assert result["up"] == pytest.approx(1.0)
    assert result["down"] == pytest.approx(-1.0)
    assert result["flat_pred"] is None
    assert result["flat_gold"] is None


def test_spearman_needs_two_rows():
    assert spearman_by_dimension([[1.0]], [[2.0]], ["a"]) == {"a": None}


def test_mean_of_defined_skips_none():
    assert mean_of_defined([1.0, None, 0.5]) == pytest.approx(0.75)
    assert mean_of_defined([None, None]) is None


# -- tiers -------------------------------------------------------------------------------------
# dimension order: macro, credit, sentiment, valuation, policy, systemic, evidence, actionability
RED = [8, 0, 0, 0, 0, 0, 6, 6]
YELLOW = [6, 0, 0, 0, 0, 0, 5, 4]
GREEN = [0, 0, 8, 2, 0, 0, 7, 6]
NOISE = [0, 0, 0, 0, 0, 0, 2, 0]
BLUE = [0, 0, 0, 0, 0, 0, 5, 0]


def test_example_rows_fall_in_the_intended_tiers(spec):
    assert [spec.tier(row) for row in (RED, YELLOW, GREEN, NOISE, BLUE)] == ["RED", "YELLOW", "GREEN", "NOISE", "BLUE"]


def test_tier_confusion_matrix_rows_are_oracle_columns_are_predicted(spec):
    gold = np.array([RED, RED, YELLOW, NOISE, GREEN], dtype=float)
    pred = np.array([RED, YELLOW, YELLOW, BLUE, GREEN], dtype=float)
    metrics, oracle, predicted = tier_metrics(pred, gold, spec)
    assert oracle == ["RED", "RED", "YELLOW", "NOISE", "GREEN"]
    assert predicted == ["RED", "YELLOW", "YELLOW", "BLUE", "GREEN"]
    labels = metrics["labels"]
    assert labels == spec.tier_names == ["RED", "YELLOW", "GREEN", "NOISE", "BLUE"]
    matrix = metrics["confusion_matrix"]
    at = lambda o, p: matrix[labels.index(o)][labels.index(p)]  # noqa: E731
    assert at("RED", "RED") == 1
    assert at("RED", "YELLOW") == 1
    assert at("YELLOW", "RED") == 0
    assert at("YELLOW", "YELLOW") == 1
    assert at("NOISE", "BLUE") == 1
    assert at("BLUE", "NOISE") == 0
    assert at("GREEN", "GREEN") == 1
    assert sum(map(sum, matrix)) == 5
    assert [sum(row) for row in matrix] == [2, 1, 1, 1, 0]  # oracle counts per tier
    assert [sum(col) for col in zip(*matrix)] == [1, 2, 1, 0, 1]  # predicted counts per tier
    assert metrics["accuracy"] == pytest.approx(0.6)
    assert metrics["rows"] == "oracle tier" and metrics["columns"] == "predicted tier"


def test_tier_metrics_is_none_for_a_spec_without_tiers(spec):
    untiered = dataclasses.replace(spec, tiers=[])
    rows = np.array([RED, NOISE], dtype=float)
    metrics, oracle, predicted = tier_metrics(rows, rows, untiered)
    assert metrics is None
    assert oracle == [None, None] and predicted == [None, None]


def test_a_single_tier_has_no_tier_metrics_and_no_tier_accuracy(spec):
    single = dataclasses.replace(spec, tiers=[t for t in spec.tiers if t.default])
    gold, pred = np.array([RED, NOISE], dtype=float), np.array([NOISE, RED], dtype=float)
    metrics, oracle, predicted = tier_metrics(pred, gold, single)
    assert metrics is None and oracle == predicted == ["BLUE", "BLUE"]
    assert tier_accuracy(pred, gold, single) is None


def test_tier_accuracy_is_the_unrounded_share_of_agreeing_tiers(spec):
    gold = np.array([RED, RED, YELLOW], dtype=float)
    pred = np.array([RED, YELLOW, YELLOW], dtype=float)
    assert tier_accuracy(pred, gold, spec) == 2 / 3
    assert tier_metrics(pred, gold, spec)[0]["accuracy"] == round(2 / 3, 4)


def test_tier_accuracy_follows_the_capped_overall_score():
    sustainability = resolve_filter("sustainability/v1")
    gold = np.array([[9, 4, 9, 9, 9, 9, 9, 9]], dtype=float)  # capped at 4.0: monitoring
    assert tier_accuracy(np.array([[4.0, 6, 4, 4, 4, 4, 4, 4]]), gold, sustainability) == 1.0
    assert tier_accuracy(np.array([[9.0, 5, 9, 9, 9, 9, 9, 9]]), gold, sustainability) == 0.0  # breakthrough


@pytest.mark.parametrize("recorded, expected", [
    (None, None),
    ({"accuracy": 1.0, "labels": ["ALL"]}, None),  # what evaluations of one-tier filters used to record
    ({"accuracy": 0.75, "labels": ["HIGH", "LOW"]}, 0.75),
])
def test_recorded_tier_accuracy_counts_only_several_tiers(recorded, expected):
    assert recorded_tier_accuracy(recorded) == expected


# -- ranking -----------------------------------------------------------------------------------

def test_recall_at_k_counts_every_article_tied_with_the_kth_oracle_score():
    oracle = np.array([9.0, 7.0, 7.0, 1.0, 0.0])
    # model's top 2 are articles 2 and 0; article 2 ties with the oracle's 2nd best, so both count
    assert recall_at_k(np.array([8.0, 0.0, 9.0, 1.0, 2.0]), oracle, 2) == 1.0
    # model's top 2 are articles 1 and 2: both tied at the k-th score, both relevant
    assert recall_at_k(np.array([0.0, 9.0, 8.0, 1.0, 2.0]), oracle, 2) == 1.0
    # one relevant (0), one not (3)
    assert recall_at_k(np.array([9.0, 0.0, 0.0, 8.0, 1.0]), oracle, 2) == 0.5
    # none relevant
    assert recall_at_k(np.array([0.0, 0.0, 0.0, 9.0, 8.0]), oracle, 2) == 0.0


def test_recall_at_k_never_exceeds_one_when_everything_ties():
    oracle = np.full(6, 5.0)
    assert recall_at_k(np.arange(6, dtype=float), oracle, 3) == 1.0


def test_recall_at_k_clips_k_and_handles_empty_input():
    oracle = np.array([3.0, 2.0, 1.0])
    assert recall_at_k(np.array([1.0, 2.0, 3.0]), oracle, 10) == 1.0
    assert math.isnan(recall_at_k(np.array([]), np.array([]), 5))


def test_ndcg_is_one_for_a_perfect_ranking_and_lower_for_a_reversed_one():
    oracle = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    assert ndcg_at_k(oracle * 2 + 1, oracle, 3) == pytest.approx(1.0)
    reversed_score = ndcg_at_k(-oracle, oracle, 3)
    assert 0.0 < reversed_score < 1.0
    # hand computed: reversed top 3 gains [1, 2, 3], ideal [5, 4, 3]
    discounts = 1 / np.log2([2, 3, 4])
    assert reversed_score == pytest.approx(float(np.dot([1, 2, 3], discounts) / np.dot([5, 4, 3], discounts)))


def test_ndcg_is_nan_when_no_article_has_positive_gain():
    assert math.isnan(ndcg_at_k(np.array([1.0, 2.0]), np.zeros(2), 2))


def test_ranking_metrics_clips_k_to_the_number_of_articles():
    gold = np.array([[9.0, 0.0], [5.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
    pred = gold[::-1].copy()  # the reversed ranking
    result = ranking_metrics(pred, gold, weights=[1.0, 0.0], ks=(2, 10, 50))
    assert result["k"] == [2, 4]
    assert set(result["recall@k"]) == {"2", "4"} and set(result["ndcg@k"]) == {"2", "4"}
    assert result["recall@k"]["4"] == 1.0  # k = n: every article is found
    assert result["recall@k"]["2"] == 0.0
    assert result["ndcg@k"]["2"] < 1.0


def test_ranking_metrics_perfect_prediction_scores_one():
    gold = np.array([[9.0, 1.0], [5.0, 3.0], [2.0, 8.0], [1.0, 0.0], [4.0, 4.0]])
    result = ranking_metrics(gold.copy(), gold, weights=[0.7, 0.3], ks=(1, 3))
    assert result["k"] == [1, 3]
    assert result["recall@k"] == {"1": 1.0, "3": 1.0}
    assert result["ndcg@k"] == {"1": 1.0, "3": 1.0}


def test_ranking_metrics_uses_the_weights():
    gold = np.array([[9.0, 0.0], [0.0, 9.0], [1.0, 1.0]])
    pred = np.array([[0.0, 9.0], [9.0, 0.0], [1.0, 1.0]])  # dimensions swapped
    only_first = ranking_metrics(pred, gold, weights=[1.0, 0.0], ks=(1,))
    equal = ranking_metrics(pred, gold, weights=[1.0, 1.0], ks=(1,))
    assert only_first["recall@k"]["1"] == 0.0
    assert equal["recall@k"]["1"] == 1.0  # the two top articles tie at 4.5


# -- uncertainty -------------------------------------------------------------------------------

ERRORS = np.array([0.2, 1.5, 0.7, 0.3, 2.2, 0.9, 0.1, 1.1, 0.6, 0.4, 1.8, 0.5, 0.8, 1.3, 0.05, 0.95])


def test_bootstrap_mae_interval_contains_the_point_mae():
    low, high = bootstrap_mae_interval(ERRORS, seed=0)
    assert low < ERRORS.mean() < high
    assert ERRORS.min() <= low and high <= ERRORS.max()


def test_bootstrap_mae_interval_is_deterministic_per_seed():
    assert bootstrap_mae_interval(ERRORS, seed=3) == bootstrap_mae_interval(ERRORS, seed=3)
    assert bootstrap_mae_interval(ERRORS, seed=3) != bootstrap_mae_interval(ERRORS, seed=4)


def test_bootstrap_mae_interval_of_constant_errors_is_a_point():
    assert bootstrap_mae_interval(np.full(10, 0.75), seed=1) == pytest.approx([0.75, 0.75])


def test_paired_ratio_interval_of_identical_errors_is_one():
    assert paired_ratio_interval(ERRORS, ERRORS.copy(), seed=0) == pytest.approx([1.0, 1.0])


def test_paired_ratio_interval_of_half_errors_is_one_half():
    # paired resampling: the ratio is exactly 0.5 in every resample, whatever articles are drawn
    assert paired_ratio_interval(0.5 * ERRORS, ERRORS, seed=0) == pytest.approx([0.5, 0.5])


def test_paired_ratio_interval_is_deterministic_and_above_one_for_a_worse_model():
    worse = ERRORS + 0.5
    first = paired_ratio_interval(worse, ERRORS, seed=5)
    assert first == paired_ratio_interval(worse, ERRORS, seed=5)
    assert 1.0 < first[0] < first[1]
