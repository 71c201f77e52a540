"""Out-of-fold probabilities and cleanlab's verdict on labels, on small synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from textal.errors import TextalError
from textal.models.head import LogisticHead
from textal.quality.label_review import out_of_fold_proba, review_labels


def blobs(n_per_class=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    X = np.concatenate([c + rng.normal(size=(n_per_class, 2)) for c in centres])
    y = np.repeat(np.arange(3), n_per_class)
    return X, y


def test_every_row_is_predicted_by_a_model_that_never_saw_it():
    X, y = blobs()
    seen_with = []

    def fit_predict(train, held):
        assert not set(train) & set(held)
        seen_with.append(held)
        return np.full((len(held), 3), 1 / 3)

    proba = out_of_fold_proba(fit_predict, y, 3, folds=4)
    assert proba.shape == (120, 3)
    assert sorted(np.concatenate(seen_with).tolist()) == list(range(120))  # each row held out exactly once


def test_planted_wrong_labels_are_flagged_and_ranked_first_with_the_true_label_suggested():
    X, y = blobs()
    noisy = y.copy()
    planted = np.array([3, 50, 90, 100])
    noisy[planted] = (y[planted] + 1) % 3

    def fit_predict(train, held):
        return LogisticHead(n_classes=3).fit(X[train], noisy[train]).predict_proba(X[held])

    review = review_labels(out_of_fold_proba(fit_predict, noisy, 3), noisy)
    assert set(np.flatnonzero(review.flagged)) == set(planted)
    assert set(review.order[:4]) == set(planted)
    assert (review.suggested[planted] == y[planted]).all() and (review.suggested_proba[planted] > 0.5).all()
    assert review.quality[planted].max() < np.delete(review.quality, planted).min()


def test_multi_label_rows_are_reviewed_as_label_sets():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 3))
    y = (X > 0).astype(np.int8)  # label j present when feature j is positive
    noisy = y.copy()
    noisy[[5, 40]] = 1 - noisy[[5, 40]]  # whole rows wrong

    def fit_predict(train, held):
        return LogisticHead(n_classes=3).fit(X[train] * 5, noisy[train]).predict_proba(X[held] * 5)

    review = review_labels(out_of_fold_proba(fit_predict, noisy, 3), noisy)
    assert set(review.order[:2]) == {5, 40} and review.flagged[[5, 40]].all()
    assert (review.suggested[[5, 40]] == y[[5, 40]]).all()


def test_a_single_labelled_row_cannot_be_reviewed():
    with pytest.raises(TextalError, match="at least 2 labelled rows"):
        out_of_fold_proba(lambda train, held: None, np.array([0]), 2)


def test_few_labels_per_class_get_fewer_folds_rather_than_an_error():
    y = np.array([0, 0, 0, 1, 1, 2])  # no class has five members
    held_out = []
    proba = out_of_fold_proba(lambda train, held: (held_out.append(len(held)), np.full((len(held), 3), 1 / 3))[1], y, 3)
    assert proba.shape == (6, 3) and sum(held_out) == 6 and len(held_out) == 3
