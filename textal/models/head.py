"""A logistic-regression head over any feature matrix (TF-IDF, frozen embeddings).

It always answers over the full label set, including classes with no example yet, and copes with
a training set that holds a single class, which happens in the first rounds of active learning.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from textal.threads import single_blas_thread


class LogisticHead:
    """Softmax (single-label) or one-vs-rest sigmoid (multi-label) logistic regression."""

    def __init__(
        self,
        C: float = 10.0,
        max_iter: int = 1000,
        class_weight: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.random_state = random_state

    def _new(self) -> LogisticRegression:
        return LogisticRegression(
            C=self.C, max_iter=self.max_iter, class_weight=self.class_weight, random_state=self.random_state
        )

    def fit(self, X, y: np.ndarray, n_classes: int, multi_label: bool, sample_weight=None) -> LogisticHead:
        """Fit on features ``X`` and encoded labels ``y`` (indices, or a 0/1 matrix if multi-label)."""
        self.n_classes_ = n_classes
        self.multi_label_ = multi_label
        with warnings.catch_warnings(), single_blas_thread():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", message="The number of unique classes")
            if multi_label:
                self.models_ = []
                for j in range(n_classes):
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
        """Probabilities over all ``n_classes`` (n, k)."""
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
