"""The live fast tier: a head refit over embeddings, held-out figures, and the promotion rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textal.fast_tier import (
    MIN_WORSE_ITEMS,
    calibration_figures,
    committee_proba,
    fit_head,
    heldout_metrics,
    net_worse_items,
    pool_uncertainty,
    promotion,
)


def blobs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-1.5, 1, (n, 16)), rng.normal(1.5, 1, (n, 16))]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, ["ham"] * n + ["spam"] * n


def test_a_head_fit_on_embeddings_separates_what_it_was_shown_and_names_its_encoder(tiny_bert_dir):
    X, y = blobs(40)
    model = fit_head(X, y, ["ham", "spam", "other"], False, encoder=str(tiny_bert_dir))
    assert model.labels_ == ["ham", "spam", "other"] and model.model == str(tiny_bert_dir)
    X_test, y_test = blobs(30, seed=1)
    metrics = heldout_metrics(model.predict_proba_embeddings(X_test), y_test, model.labels_, False)
    assert metrics["accuracy"] > 0.9 and metrics["n"] == 60
    assert heldout_metrics(np.zeros((0, 3)), [], model.labels_, False) is None


def test_the_committee_gives_one_probability_table_per_member():
    X, y = blobs(20)
    members = committee_proba(X, y, ["ham", "spam"], False, X[:7], size=3)
    assert members.shape == (3, 7, 2) and np.allclose(members.sum(axis=2), 1.0)


def test_calibration_needs_enough_held_out_labels():
    X, y = blobs(30)
    p = np.column_stack([np.full(60, 0.5), np.full(60, 0.5)])
    assert calibration_figures(p[:10], y[:10], ["ham", "spam"], False) is None
    report = calibration_figures(p, y, ["ham", "spam"], False)
    assert report["items"] == 60 and report["ece_after"] <= report["ece_before"] + 1e-9


@pytest.mark.parametrize(
    "new, parent, n, margin, promoted",
    [
        (0.80, None, 100, 0.02, True),  # first version
        (0.80, 0.81, 100, 0.02, True),  # within the margin
        (0.70, 0.81, 100, 0.02, False),  # clearly worse
        (0.70, 0.81, 10, 0.02, True),  # too few held-out labels to judge
        (0.10, 0.90, 100, math.inf, True),  # the check switched off
        (0.79, 0.80, 100, 0.0, False),  # no margin at all
    ],
)
def test_a_version_worse_than_its_parent_by_more_than_the_margin_is_not_promoted(new, parent, n, margin, promoted):
    decision = promotion({"macro_f1": new, "n": n}, None if parent is None else {"macro_f1": parent, "n": n}, margin=margin)
    assert decision.promote is promoted
    assert decision.value == new and decision.parent_value == parent and decision.reason


def test_one_more_wrong_item_of_a_small_slice_does_not_hold_a_version_back():
    new, parent = {"macro_f1": 0.90, "n": 15}, {"macro_f1": 1.0, "n": 15}
    assert promotion(new, parent, min_eval=10, worse_items=1).promote
    assert not promotion(new, parent, min_eval=10, worse_items=MIN_WORSE_ITEMS).promote
    assert not promotion(new, parent, min_eval=10).promote  # without the item count, the margin alone decides


def test_net_worse_items_counts_items_lost_minus_items_won():
    gold = ["ham", "ham", "spam", "spam"]
    parent = np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])  # right, right, right, wrong
    new = np.array([[0.1, 0.9], [0.2, 0.8], [0.2, 0.8], [0.3, 0.7]])  # wrong, wrong, right, right
    assert net_worse_items(new, parent, gold, ["ham", "spam"], False) == 1
    assert net_worse_items(parent, new, gold, ["ham", "spam"], False) == -1
    multi = net_worse_items(np.array([[0.9, 0.9]]), np.array([[0.9, 0.1]]), [("a",)], ["a", "b"], True)
    assert multi == 1


def test_pool_uncertainty_gives_both_stopping_verdicts():
    sure = np.tile([[0.99, 0.01]], (50, 1))
    verdicts = pool_uncertainty(sure, False)
    assert verdicts["overall_uncertainty"]["stop"] and verdicts["max_uncertainty"]["stop"]
    assert not pool_uncertainty(np.tile([[0.5, 0.5]], (5, 1)), False)["overall_uncertainty"]["stop"]
    assert pool_uncertainty(np.zeros((0, 2)), False) is None
