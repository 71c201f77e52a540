"""Informativeness -> Label Studio's score: the slice first, then the batch in order, then the rest; the ticked labels."""

from __future__ import annotations

import numpy as np
import pytest

from ml_backend.scoring.ls_score import BATCH_BAND, chosen_labels, ls_scores


def test_scores_put_the_open_slice_first_then_the_batch_in_order_then_the_rest_by_informativeness():
    inf = np.array([0.9, 0.1, 0.5, 0.99, 0.3])
    scores = ls_scores(inf, batch=np.array([4, 1]), held_out=np.array([False, False, False, True, False]))
    assert scores[3] == 0.0
    assert 0 < scores[4] < scores[1] < BATCH_BAND <= scores[0] < scores[2]
    assert scores[0] == pytest.approx(1 - 0.9, abs=BATCH_BAND)
    assert np.argsort(scores).tolist() == [3, 4, 1, 0, 2]


def test_the_chosen_labels_are_the_top_one_or_all_over_their_threshold():
    assert chosen_labels(np.array([0.3, 0.7]), ["ham", "spam"], False) == ["spam"]
    assert chosen_labels(np.array([0.6, 0.2, 0.9]), ["a", "b", "c"], True) == ["a", "c"]
    assert chosen_labels(np.array([0.6, 0.2, 0.9]), ["a", "b", "c"], True, {"c": 0.95}) == ["a"]
