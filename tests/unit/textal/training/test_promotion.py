"""The promotion rule: a new version replaces the serving one unless it is worse on the same held-out labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textal.training.promotion import MIN_WORSE_ITEMS, net_worse_items, promotion


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
    decision = promotion(
        {"macro_f1": new, "n": n}, None if parent is None else {"macro_f1": parent, "n": n}, margin=margin
    )
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


@pytest.mark.parametrize(
    "n, size, parent_size, promoted",
    [
        (5, 2, 3000, False),  # a two-label model never replaces one trained on thousands on five held-out labels
        (0, 2, 3000, False),  # nor with no held-out labels at all
        (5, 40, 30, True),  # a version trained on more labels than the serving one takes over while the slice is small
        (5, 40, None, True),  # the serving version's training size unknown: the new one is promoted
    ],
)
def test_while_the_slice_is_too_small_to_judge_the_version_trained_on_more_labels_serves(
    n, size, parent_size, promoted
):
    new = {"macro_f1": 0.9, "n": n} if n else None
    parent = {"macro_f1": 0.5, "n": n} if n else None
    decision = promotion(new, parent, min_eval=20, train_size=size, parent_train_size=parent_size)
    assert decision.promote is promoted and "fewer than the 20" in decision.reason


def test_with_enough_held_out_labels_a_small_model_that_is_not_worse_replaces_a_large_one():
    new, parent = {"macro_f1": 0.91, "n": 40}, {"macro_f1": 0.90, "n": 40}
    assert promotion(new, parent, min_eval=20, train_size=30, parent_train_size=3000).promote
    worse = {"macro_f1": 0.60, "n": 40}
    assert not promotion(worse, parent, min_eval=20, train_size=30, parent_train_size=3000, worse_items=8).promote
