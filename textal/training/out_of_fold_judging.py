"""A new version against its parent before the evaluation slice can judge: paired out-of-fold estimates.

While the slice holds too few labels, the training labels are the only evidence. Every training label is
predicted twice by models that never saw it: once by the new procedure (a head fitted on the other folds of
all the labels), once by the parent's (a head fitted on the other folds of the labels the parent had; a label
the parent never saw is predicted by the parent itself). Both see the same folds, so the two estimates are
paired item by item, and ``promotion`` judges them as it judges the slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textal.models.classifier import encode_labels
from textal.models.head import LogisticHead
from textal.quality.label_review import fold_numbers

MIN_LABELS = 8  # fewer training labels than this: no estimate (the version trained on more labels serves)
FOLDS = 5


@dataclass(frozen=True)
class PairedEstimate:
    """Out-of-fold probabilities of the new procedure and honest ones of the parent, on the same labels."""

    proba: np.ndarray  # (n, k)
    parent_proba: np.ndarray  # (n, k)
    labels: list[Any]  # the n training labels, as given


def paired_out_of_fold(
    X: np.ndarray,
    labels: Sequence[Any],
    classes: Sequence[str],
    multi_label: bool,
    parent_saw: np.ndarray,
    parent_proba_unseen: np.ndarray | None,
    *,
    extra_X: np.ndarray | None = None,
    extra_labels: Sequence[Any] = (),
    C: float = 10.0,
    class_weight: str | None = None,
    seed: int = 0,
    folds: int = FOLDS,
) -> PairedEstimate | None:
    """Paired estimates over training embeddings ``X`` with ``labels``; None when too few labels to fold.

    ``parent_saw`` (bool, n): the labels the parent was trained on; its out-of-fold predictions come from heads
    fitted on those alone. ``parent_proba_unseen``: the parent's own probabilities on the rest, in row order.
    ``extra_X``/``extra_labels`` (a base model's rows) join every fold's training, for both procedures.
    ``class_weight`` as scikit-learn takes it.
    """
    n = len(labels)
    if n < MIN_LABELS:
        return None
    y = encode_labels(list(labels), classes, multi_label)
    extra_y = encode_labels(list(extra_labels), classes, multi_label) if len(extra_labels) else None
    fold_of = fold_numbers(y, folds, seed)
    if fold_of is None:
        return None
    parent_saw = np.asarray(parent_saw, dtype=bool)
    proba = np.zeros((n, len(classes)))
    parent_proba = np.zeros((n, len(classes)))
    if parent_proba_unseen is not None and (~parent_saw).any():
        parent_proba[~parent_saw] = parent_proba_unseen
    for f in np.unique(fold_of):
        held = fold_of == f
        proba[held] = _fit_predict(X[~held], y[~held], X[held], extra_X, extra_y, len(classes), C, class_weight, seed)
        seen_train = ~held & parent_saw
        held_seen = held & parent_saw
        if held_seen.any():
            parent_proba[held_seen] = _fit_predict(
                X[seen_train], y[seen_train], X[held_seen], extra_X, extra_y, len(classes), C, class_weight, seed
            )
    return PairedEstimate(proba, parent_proba, list(labels))


def _fit_predict(
    X: np.ndarray,
    y: np.ndarray,
    X_held: np.ndarray,
    extra_X: np.ndarray | None,
    extra_y: np.ndarray | None,
    n_classes: int,
    C: float,
    class_weight: str | None,
    seed: int,
) -> np.ndarray:
    if extra_X is not None and extra_y is not None and len(extra_y):
        X, y = np.concatenate([X, extra_X]), np.concatenate([y, extra_y])
    head = LogisticHead(C=C, class_weight=class_weight, random_state=seed, n_classes=n_classes)
    return head.fit(X, y).predict_proba(X_held)
