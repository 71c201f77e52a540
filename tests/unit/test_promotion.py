"""The promotion rule: a new version replaces the serving one unless it is worse on the same held-out labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textal.promotion import MIN_WORSE_ITEMS, net_worse_items, promotion


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
