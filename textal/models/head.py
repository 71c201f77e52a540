"""A logistic-regression head over any feature matrix (TF-IDF, frozen embeddings).

It always answers over the full label set, including classes with no example yet, and copes with
a training set that holds a single class, which happens in the first rounds of active learning.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from textal.errors import ModelError
from textal.runtime.threads import single_blas_thread


class LogisticHead(BaseEstimator):
    """Softmax (single-label) or one-vs-rest sigmoid (multi-label) logistic regression.

    ``fit`` reads the task from ``y``: class indices (n,) are single-label, a 0/1 matrix (n, k)
    multi-label. ``n_classes`` is the width of the answer; None takes it from ``y`` (the highest
    index + 1, or the matrix width), so declare it when the last classes may have no example yet.
    """

    def __init__(
        self,
        C: float = 10.0,
        max_iter: int = 1000,
        class_weight: str | None = None,
        random_state: int = 0,
        n_classes: int | None = None,
    ) -> None:
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_classes = n_classes

    def __setstate__(self, state: dict[str, Any]) -> None:
        # heads pickled before n_classes was a parameter hold only the learned n_classes_
        state.setdefault("n_classes", state.get("n_classes_"))
        super().__setstate__(state)

    def _new(self) -> LogisticRegression:
        return LogisticRegression(
            C=self.C, max_iter=self.max_iter, class_weight=self.class_weight, random_state=self.random_state
        )

    def _width(self, y: np.ndarray, multi_label: bool) -> int:
        """The number of columns to answer with: ``n_classes``, checked against ``y``."""
        seen = y.shape[1] if multi_label else int(y.max()) + 1
        if self.n_classes is None:
            return seen
        if (multi_label and seen != self.n_classes) or seen > self.n_classes:
            raise ModelError(f"labels span {seen} classes but the head has n_classes={self.n_classes}")
        return int(self.n_classes)

    def fit(self, X, y: np.ndarray, sample_weight=None) -> LogisticHead:
        """Fit on features ``X`` and encoded labels ``y`` (indices, or a 0/1 matrix if multi-label)."""
        y = np.asarray(y)
        if y.ndim not in (1, 2) or len(y) == 0 or len(y) != X.shape[0]:
            raise ModelError(
                f"need one label (or label row) per feature row: X has {X.shape[0]} rows, y shape {y.shape}"
            )
        multi_label = y.ndim == 2
        self.n_classes_ = self._width(y, multi_label)
        self.multi_label_ = multi_label
        with warnings.catch_warnings(), single_blas_thread():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", message="The number of unique classes")
            if multi_label:
                self.models_ = []
                for j in range(self.n_classes_):
                    col = y[:, j].astype(int)
                    if col.min() == col.max():
                        # One value only: a smoothed frequency, so an unseen label is not certain.
                        self.models_.append(float((col.sum() + 1) / (len(col) + 2)))
                    else:
                        self.models_.append(self._new().fit(X, col, sample_weight=sample_weight))
            else:
                present = np.unique(y)
                if len(present) == 1:
                    self.model_ = int(present[0])
                else:
                    self.model_ = self._new().fit(X, y, sample_weight=sample_weight)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities over all ``n_classes_`` (n, k)."""
        with single_blas_thread():
            return self._predict_proba(X)

    def _predict_proba(self, X) -> np.ndarray:
        n = X.shape[0]
        out = np.zeros((n, self.n_classes_), dtype=np.float64)
        if self.multi_label_:
            for j, model in enumerate(self.models_):
                out[:, j] = model if isinstance(model, float) else model.predict_proba(X)[:, 1]
            return out
        if isinstance(self.model_, int):
            out[:, self.model_] = 1.0
            return out
        out[:, self.model_.classes_] = self.model_.predict_proba(X)
        return out
