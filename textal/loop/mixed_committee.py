"""A simulation learner whose query-by-committee votes come from unlike models (``--committee mixed``).

The wrapped learner still answers for the pool and the test set; only the committee differs: an embedding
head, the TF-IDF linear model and spaCy (or the kinds given), refit on the labelled texts every round.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textal.loop.learners import Learner
from textal.models.committee import DEFAULT_KINDS, MixedCommittee


class MixedCommitteeLearner(Learner):
    """``inner`` with a mixed committee of ``kinds`` over the pool's texts."""

    def __init__(self, inner: Learner, pool_texts: Sequence[str], kinds: Sequence[str] = DEFAULT_KINDS) -> None:
        self.inner = inner
        self.pool_texts = list(pool_texts)
        self.kinds = tuple(kinds)
        self.labels = inner.labels
        self.multi_label = inner.multi_label
        self.pool_size = inner.pool_size

    @property
    def full_tier_labels(self) -> int | None:  # type: ignore[override]  # the inner learner's, read-only
        return self.inner.full_tier_labels

    @property
    def fine_tunes(self) -> Sequence[dict[str, Any]]:  # type: ignore[override]  # the inner learner's, read-only
        return self.inner.fine_tunes

    def fit(self, idx: np.ndarray, y: np.ndarray) -> None:
        self.idx_, self.y_ = idx, y
        self.inner.fit(idx, y)

    def proba_pool(self) -> np.ndarray:
        return self.inner.proba_pool()

    def proba_test(self) -> np.ndarray:
        return self.inner.proba_test()

    def embeddings(self) -> np.ndarray:
        return self.inner.embeddings()

    def pretrained_embeddings(self) -> np.ndarray:
        return self.inner.pretrained_embeddings()

    def start_curve(self, held_out: np.ndarray, held_out_y: np.ndarray, tag: dict[str, Any]) -> None:
        self.inner.start_curve(held_out, held_out_y, tag)

    def out_of_fold_proba(self, idx: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
        return self.inner.out_of_fold_proba(idx, y, folds)

    def committee(self) -> np.ndarray:
        texts = [self.pool_texts[i] for i in self.idx_]
        members = MixedCommittee(kinds=self.kinds, classes=self.labels, multi_label=self.multi_label)
        return members.fit(texts, self.decode(self.y_)).predict_proba(self.pool_texts)

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "committee": f"mixed: {', '.join(self.kinds)}"}
