"""Stopping rules: each says stop or go with the figures behind it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from textal.errors import TextalError
from textal.quality.stopping import (
    StoppingError,
    choose_stop_set,
    cohen_kappa,
    max_uncertainty,
    metric_plateau,
    overall_uncertainty,
    stabilising_predictions,
)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 60), k=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_kappa_agrees_with_scikit_learn_whenever_scikit_learn_defines_it(n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.3, rng.integers(0, k, n), a)
    expected = cohen_kappa_score(a, b)
    if np.isfinite(expected):
        assert np.isclose(cohen_kappa(a, b), expected)


def test_identical_constant_predictions_count_as_perfect_agreement():
    assert cohen_kappa(["a"] * 5, ["a"] * 5) == 1.0


def test_stable_predictions_stop_and_changing_ones_do_not():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 4, 500)
    stable = [base.copy() for _ in range(5)]
    verdict = stabilising_predictions(stable)
    assert verdict.stop and verdict.value == 1.0 and verdict.figures["kappas"] == [1.0] * 4
    moving = [np.where(rng.random(500) < 0.2, rng.integers(0, 4, 500), base) for _ in range(5)]
    verdict = stabilising_predictions(moving)
    assert not verdict.stop and verdict.value < 0.99
    assert "below" in verdict.reason


def test_stability_only_looks_at_the_last_window_of_version_pairs():
    a, b = np.array([0, 1, 2, 3] * 25), np.array([3, 2, 1, 0] * 25)
    history = [a, b, a, a, a, a]  # early churn, then three identical pairs
    assert stabilising_predictions(history, window=3).stop
    assert not stabilising_predictions(history, window=5).stop


def test_stability_needs_enough_versions_and_says_so():
    verdict = stabilising_predictions([[0, 1], [0, 1]], window=3)
    assert not verdict.stop and verdict.value is None and "need 4 model versions" in verdict.reason


def test_multi_label_predictions_are_compared_label_by_label():
    a = np.array([[1, 0, 1], [0, 1, 0]])
    assert cohen_kappa(a, a) == 1.0
    assert cohen_kappa(a, 1 - a) < 0


def test_stop_sets_of_different_sizes_are_an_error():
    with pytest.raises(StoppingError, match="shape"):
        stabilising_predictions([[0, 1, 2], [0, 1], [0, 1], [0, 1]])


def test_uncertainty_rules_compare_mean_and_max_with_their_thresholds():
    sure = np.array([[0.99, 0.01]] * 50 + [[0.6, 0.4]])
    overall = overall_uncertainty(sure, threshold=0.2)
    assert overall.stop and np.isclose(overall.value, overall.figures["mean"])
    worst = max_uncertainty(sure, threshold=0.5)
    assert not worst.stop and np.isclose(worst.value, overall.figures["max"])
    assert max_uncertainty(sure[:50], threshold=0.5).stop


def test_uncertainty_rules_take_any_strategy_measure_and_refuse_bad_input():
    assert overall_uncertainty(np.array([[0.5, 0.5]]), measure="margin").value == 1.0
    with pytest.raises(StoppingError, match="measure"):
        overall_uncertainty(np.array([[0.5, 0.5]]), measure="vibes")
    with pytest.raises(StoppingError, match="non-empty"):
        max_uncertainty(np.zeros((0, 2)))
    with pytest.raises(StoppingError, match=r"\[0, 1\]"):
        max_uncertainty(np.array([[np.nan, 1.0]]))


def test_plateau_stops_when_three_rounds_gain_under_half_a_point():
    assert metric_plateau([0.50, 0.60, 0.700, 0.701, 0.703, 0.704]).stop
    verdict = metric_plateau([0.50, 0.60, 0.700, 0.701, 0.703, 0.710])
    assert not verdict.stop and np.isclose(verdict.value, 0.010)
    assert np.isclose(verdict.figures["best_before"], 0.7)


def test_plateau_gain_is_measured_against_the_best_so_far_not_the_last_round():
    # a dip and recovery is no gain
    verdict = metric_plateau([0.80, 0.70, 0.75, 0.80])
    assert verdict.stop and verdict.value == 0.0


def test_plateau_needs_more_rounds_than_its_window_and_refuses_bad_history():
    assert metric_plateau([0.5, 0.6, 0.7]).value is None
    with pytest.raises(StoppingError):
        metric_plateau([0.5, float("nan"), 0.6, 0.7])
    with pytest.raises(StoppingError, match="rounds"):
        metric_plateau([0.5] * 5, rounds=0)


def test_every_verdict_is_a_plain_record_and_errors_are_user_errors():
    verdict = metric_plateau([0.1, 0.2, 0.3, 0.4, 0.5])
    assert set(verdict.as_dict()) == {"rule", "stop", "value", "threshold", "reason", "figures"}
    assert issubclass(StoppingError, TextalError)


def test_the_stop_set_is_fixed_by_its_seed_and_no_larger_than_the_pool():
    a, b = choose_stop_set(10_000, 100, seed=3), choose_stop_set(10_000, 100, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 100
    assert len(choose_stop_set(20, 100)) == 20
