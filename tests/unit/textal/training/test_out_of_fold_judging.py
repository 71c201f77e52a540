"""Paired out-of-fold estimates: the new procedure and the parent's, on the same labels and the same folds."""

from __future__ import annotations

import numpy as np

from textal.training.out_of_fold_judging import MIN_LABELS, paired_out_of_fold
from textal.training.promotion import net_worse_items


def blobs(n: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 8)) + np.where(y[:, None] == 1, 2.0, -2.0)
    return X.astype(np.float32), ["b" if v else "a" for v in y]


def test_every_label_gets_an_honest_prediction_from_both_sides():
    X, labels = blobs(40)
    saw = np.arange(40) < 30
    unseen = np.tile([0.5, 0.5], (10, 1))
    est = paired_out_of_fold(X, labels, ["a", "b"], False, saw, unseen)
    assert est is not None and est.proba.shape == est.parent_proba.shape == (40, 2)
    np.testing.assert_allclose(est.parent_proba[~saw], unseen)  # the parent's own answer on labels it never saw
    assert (est.proba.argmax(1) == (np.arange(40) % 2)).mean() > 0.9


def test_a_parent_that_knew_nothing_of_the_labels_loses_to_the_new_procedure():
    X, labels = blobs(40)
    wrong = np.tile([0.0, 1.0], (40, 1))  # a base model that answers "b" everywhere
    est = paired_out_of_fold(X, labels, ["a", "b"], False, np.zeros(40, dtype=bool), wrong)
    assert est is not None
    assert net_worse_items(est.proba, est.parent_proba, est.labels, ["a", "b"], False) < -10


def test_rows_of_a_base_model_join_every_fold_and_teach_a_class_the_labels_lack():
    X, labels = blobs(20)
    only_a = [i for i, lab in enumerate(labels) if lab == "a"] + [1, 3]  # two "b" labels only
    extra_X, extra_labels = blobs(60, seed=1)
    est = paired_out_of_fold(
        X[only_a],
        [labels[i] for i in only_a],
        ["a", "b"],
        False,
        np.zeros(len(only_a), dtype=bool),
        np.tile([0.5, 0.5], (len(only_a), 1)),
        extra_X=extra_X,
        extra_labels=extra_labels,
    )
    assert est is not None and (est.proba.argmax(1) == [0] * 10 + [1, 1]).all()


def test_too_few_labels_give_no_estimate():
    X, labels = blobs(MIN_LABELS - 1)
    assert paired_out_of_fold(X, labels, ["a", "b"], False, np.ones(len(labels), dtype=bool), None) is None
