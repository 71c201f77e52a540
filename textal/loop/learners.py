"""The model side of a simulated active-learning loop: refit on the labelled rows, answer for the pool.

``EmbedHeadLearner`` is the fast tier (frozen-encoder embeddings computed once, a logistic head
refit each round); ``ClassifierLearner`` refits any textal classifier on texts (linear, or the
transformer on a GPU).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from textal.errors import TextalError
from textal.models.class_weights import class_weight_param
from textal.models.classifier import encode_labels
from textal.models.head import LogisticHead


class Learner(ABC):
    """What the simulation needs of a model, over a fixed pool and test set."""

    labels: list[str]
    multi_label: bool
    pool_size: int
    full_tier_labels: int | None = None  # labels the serving fine-tuned encoder was trained on (None: none serves)
    fine_tunes: Sequence[dict[str, Any]] = ()  # the full tier's fine-tunes, for the results file (two-tier only)

    def encode(self, labels: Sequence) -> np.ndarray:
        """Gold labels as indices (single-label) or a 0/1 matrix (multi-label)."""
        return encode_labels(labels, self.labels, self.multi_label)

    def decode(self, y: np.ndarray) -> list:
        """Encoded labels back to label names (tuples for multi-label)."""
        if self.multi_label:
            return [tuple(self.labels[j] for j in np.flatnonzero(row)) for row in y]
        return [self.labels[j] for j in y]

    @abstractmethod
    def fit(self, idx: np.ndarray, y: np.ndarray) -> None:
        """Refit on pool rows ``idx`` with encoded labels ``y``."""

    @abstractmethod
    def proba_pool(self) -> np.ndarray:
        """Probabilities for every pool row (n, k)."""

    @abstractmethod
    def proba_test(self) -> np.ndarray:
        """Probabilities for every test row (m, k)."""

    @abstractmethod
    def embeddings(self) -> np.ndarray:
        """The current model's embeddings of the pool (n, d)."""

    def pretrained_embeddings(self) -> np.ndarray:
        """Embeddings before any training, for the coverage-first cold start."""
        return self.embeddings()

    def start_curve(self, held_out: np.ndarray, held_out_y: np.ndarray, tag: dict[str, Any]) -> None:
        """A new learning curve begins (``tag`` names it); ``held_out`` rows with gold ``held_out_y`` are the
        evaluation slice. Learners that carry state from round to round reset it here."""
        return None  # the stateless learners have nothing to reset

    @abstractmethod
    def committee(self) -> np.ndarray:
        """Committee members' probabilities for the pool (m, n, k)."""

    def out_of_fold_proba(self, idx: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
        """(len(idx), k) probabilities of pool rows ``idx``, each from a model fitted on the other folds of
        ``idx`` (labels ``y``): what the label review judges by."""
        raise TextalError(
            f"reviewing labels in a simulation needs --model embed-head or two-tier, not {type(self).__name__}"
        )

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Model name and parameters, for the results file."""


class EmbedHeadLearner(Learner):
    """Logistic head over fixed embeddings; committee = bootstrap heads over the same embeddings."""

    _proba_pool: np.ndarray | None  # the pool's probabilities under the latest fit, once asked for

    def __init__(
        self,
        pool_embeddings: np.ndarray,
        test_embeddings: np.ndarray,
        labels: Sequence[str],
        multi_label: bool = False,
        C: float = 10.0,
        committee_size: int = 5,
        seed: int = 0,
        encoder: str = "default",
        class_weight: str | None = None,
    ) -> None:
        self.X_pool = np.asarray(pool_embeddings, dtype=np.float32)
        self.X_test = np.asarray(test_embeddings, dtype=np.float32)
        self.labels = list(labels)
        self.multi_label = multi_label
        self.pool_size = len(self.X_pool)
        self.C = C
        self.committee_size = committee_size
        self.seed = seed
        self.encoder = encoder
        self.class_weight = class_weight_param(class_weight)  # "balanced" / "none" -> scikit-learn's value
        self._round = 0

    def fit(self, idx: np.ndarray, y: np.ndarray) -> None:
        self.idx_, self.y_ = idx, y
        self.head_ = LogisticHead(
            C=self.C, class_weight=self.class_weight, random_state=self.seed, n_classes=len(self.labels)
        ).fit(self.X_pool[idx], y)
        self._proba_pool = None
        self._round += 1

    def proba_pool(self) -> np.ndarray:
        if self._proba_pool is None:
            self._proba_pool = self.head_.predict_proba(self.X_pool)
        return self._proba_pool

    def proba_test(self) -> np.ndarray:
        return self.head_.predict_proba(self.X_test)

    def embeddings(self) -> np.ndarray:
        return self.X_pool

    def committee(self) -> np.ndarray:
        from textal.models.committee import BootstrapCommittee

        members = BootstrapCommittee(
            size=self.committee_size,
            classes=self.labels,
            multi_label=self.multi_label,
            C=self.C,
            class_weight=self.class_weight,
            random_state=self.seed + 7919 * self._round,
        )
        return members.fit(self.X_pool[self.idx_], self.decode(self.y_)).predict_proba(self.X_pool)

    def out_of_fold_proba(self, idx: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
        from textal.quality.label_review import head_out_of_fold_proba

        return head_out_of_fold_proba(
            self.X_pool[idx], y, len(self.labels), folds=folds, C=self.C, class_weight=self.class_weight, seed=self.seed
        )

    def describe(self) -> dict[str, Any]:
        return {
            "model": "embed-head",
            "encoder": self.encoder,
            "head": f"LogisticRegression(C={self.C}, class_weight={self.class_weight})",
            "committee": f"{self.committee_size} bootstrap heads",
        }


class ClassifierLearner(Learner):
    """Refits a textal classifier (linear, spacy, transformer) on the labelled texts every round."""

    _proba_pool: np.ndarray | None  # the pool's probabilities and embeddings under the latest fit, once asked for
    _embeddings: np.ndarray | None

    def __init__(
        self,
        kind: str,
        pool_texts: Sequence[str],
        test_texts: Sequence[str],
        labels: Sequence[str],
        multi_label: bool = False,
        params: dict[str, Any] | None = None,
        mc_passes: int = 10,
    ) -> None:
        self.kind = kind
        self.pool_texts = list(pool_texts)
        self.test_texts = list(test_texts)
        self.labels = list(labels)
        self.multi_label = multi_label
        self.pool_size = len(self.pool_texts)
        self.params = dict(params or {})
        self.mc_passes = mc_passes
        self._pretrained: np.ndarray | None = None

    def fit(self, idx: np.ndarray, y: np.ndarray) -> None:
        from textal.models import make_classifier

        self.model_ = make_classifier(self.kind, classes=self.labels, multi_label=self.multi_label, **self.params)
        self.model_.fit([self.pool_texts[i] for i in idx], self.decode(y))
        self._proba_pool = None
        self._embeddings = None

    def proba_pool(self) -> np.ndarray:
        if self._proba_pool is None:
            self._proba_pool = self.model_.predict_proba(self.pool_texts)
        return self._proba_pool

    def proba_test(self) -> np.ndarray:
        return self.model_.predict_proba(self.test_texts)

    def embeddings(self) -> np.ndarray:
        if self._embeddings is None:
            self._embeddings = self.model_.embed(self.pool_texts)
        return self._embeddings

    def pretrained_embeddings(self) -> np.ndarray:
        if self._pretrained is None:
            from textal.models.encoder import Encoder

            self._pretrained = Encoder().encode(self.pool_texts)
        return self._pretrained

    def committee(self) -> np.ndarray:
        if hasattr(self.model_, "mc_dropout_proba"):
            return self.model_.mc_dropout_proba(self.pool_texts, passes=self.mc_passes)
        raise TextalError(f"the {self.kind} model has no committee; use --model embed-head or transformer")

    def describe(self) -> dict[str, Any]:
        return {"model": self.kind, "params": self.params}
