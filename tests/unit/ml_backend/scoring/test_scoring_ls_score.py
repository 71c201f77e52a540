"""Informativeness -> Label Studio's score: the slice first, the batch in order, then the rest; the ticked labels."""

from __future__ import annotations

import numpy as np
import pytest

from ml_backend.scoring.ls_score import BATCH_BAND, ScoreScale, chosen_labels, guesses, interleave


def test_without_a_scale_scores_follow_informativeness_above_a_narrow_band():
    inf = np.array([0.9, 0.1, 0.5, 0.99, 0.3])
    scale = ScoreScale()
    scores = scale.scores(inf)
    assert scores.min() >= BATCH_BAND and scores[0] == pytest.approx(1 - 0.9, abs=BATCH_BAND)
    assert np.argsort(scores).tolist() == [3, 0, 2, 4, 1]  # most informative first
    assert np.all(scale.band_scores(2) < scores.min())  # the band goes before every other task


@pytest.mark.parametrize(
    "labelled, in_slice, every, expected",
    [
        (0, 0, 3, [0, 1, "s1", 2, 3, "s2", 4, 5]),  # one slice task in every three served
        (30, 0, 3, ["s1", "s2", "s3", 0, 1, 2, 3, 4, 5]),  # a slice behind its share catches up first
        (30, 10, 3, [0, 1, "s1", 2, 3, "s2", 4, 5]),  # on its share: every third again
        (0, 0, 0, ["s1", "s2", "s3", 0, 1, 2, 3, 4, 5]),  # 0: the whole slice first (the order before interleaving)
    ],
)
def test_the_slice_is_interleaved_with_the_batch_by_its_share_of_the_labels(labelled, in_slice, every, expected):
    assert interleave(list(range(6)), ["s1", "s2", "s3"], labelled, in_slice, every) == expected


def test_the_band_ends_with_the_batch_and_leaves_the_rest_of_the_slice_for_later():
    assert interleave([0, 1], ["s1", "s2", "s3", "s4"], 0, 0, 2) == [0, "s1", 1]
    assert interleave([], ["s1"], 0, 0, 3) == []


def test_the_chosen_labels_are_the_top_one_or_all_over_their_threshold():
    assert chosen_labels(np.array([0.3, 0.7]), ["ham", "spam"], False) == ["spam"]
    assert chosen_labels(np.array([0.45, 0.55]), ["ham", "spam"], False) == []  # a coin flip: no guess pre-filled
    assert chosen_labels(np.array([0.5, 0.3, 0.2]), ["a", "b", "c"], False) == ["a"]
    assert chosen_labels(np.array([0.6, 0.2, 0.9]), ["a", "b", "c"], True) == ["a", "c"]
    assert chosen_labels(np.array([0.6, 0.2, 0.9]), ["a", "b", "c"], True, {"c": 0.95}) == ["a"]


def test_guesses_for_many_rows_give_each_rows_labels_and_how_sure_the_model_is_of_them():
    proba = np.array([[0.3, 0.7], [0.45, 0.55], [0.9, 0.1]])
    assert guesses(proba, ["ham", "spam"], False) == [(["spam"], 0.7), ([], None), (["ham"], 0.9)]
    multi = guesses(np.array([[0.6, 0.2, 0.9], [0.1, 0.1, 0.1]]), ["a", "b", "c"], True, {"c": 0.95})
    assert multi[0][0] == ["a"] and multi[0][1] == pytest.approx(0.6) and multi[1] == ([], pytest.approx(0.9))


def test_a_scale_spreads_a_confident_pool_over_zero_to_one_keeping_the_order():
    inf = np.random.default_rng(0).uniform(1e-6, 1e-3, 500)  # a sure model: raw scores would all read 0.999 or 1.000
    assert len({f"{s:.3f}" for s in ScoreScale().scores(inf)}) <= 2
    scale = ScoreScale.from_pool(inf, band_size=25)
    scores = scale.scores(inf)
    assert scale.band == pytest.approx(0.05) and scores.min() >= 0.05 and scores.max() <= 1.0
    assert len({f"{s:.3f}" for s in scores}) > 400  # readable at the Data Manager's three decimals
    assert (np.argsort(-inf) == np.argsort(scores)).all()  # most informative first, as before
    assert np.all(np.diff(scale.band_scores(25)) > 0) and scale.band_scores(25).max() < scale.band


def test_a_scale_round_trips_and_an_unsorted_one_is_not_trusted():
    scale = ScoreScale.from_pool([0.1, 0.5, 0.2, 0.9], band_size=1)
    assert ScoreScale.from_dict(scale.to_dict()) == scale
    assert ScoreScale.from_dict({"quantiles": [0.9, 0.1], "band": 0.2}) == ScoreScale()
