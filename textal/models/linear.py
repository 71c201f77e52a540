"""TF-IDF (word and character n-grams) + logistic regression: fast, strong, no GPU."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from textal.errors import ModelError
from textal.models.classifier import LabelMixin, Labels, params_from_saved, read_meta, saved_params
from textal.models.head import LogisticHead
from textal.models.saved_state import PickledModelError, has_state, read_state, write_state

STATE = "linear"  # linear.json + linear.npz: vocabularies, idf, head and LSA projection as data
LEGACY_FILE = "linear.joblib"  # what textal wrote before: a pickle, never loaded (``textal store convert``)


class LinearClassifier(LabelMixin, BaseEstimator):
    """Word + character TF-IDF features with a logistic-regression head.

    ``embed`` gives an LSA projection (truncated SVD of the TF-IDF matrix, fitted at ``fit``) so
    the diversity strategies work with this model too.
    """

    kind = "linear"

    def __init__(
        self,
        classes: Sequence[str] | None = None,
        multi_label: bool | None = None,
        C: float = 10.0,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        max_features: int = 200_000,
        sublinear_tf: bool = True,
        class_weight: str | None = None,
        embed_dim: int = 128,
        random_state: int = 0,
    ) -> None:
        self.classes = classes
        self.multi_label = multi_label
        self.C = C
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.class_weight = class_weight
        self.embed_dim = embed_dim
        self.random_state = random_state

    def _features(self, texts: Sequence[str]):
        return sparse.hstack([self.word_vec_.transform(texts), self.char_vec_.transform(texts)]).tocsr()

    def fit(self, texts: Sequence[str], labels: Labels) -> LinearClassifier:
        """Fit vectorisers, head and LSA projection on ``texts``."""
        y = self._learn_labels(labels)
        texts = list(texts)
        half = self.max_features // 2
        self.word_vec_ = TfidfVectorizer(
            ngram_range=tuple(self.word_ngrams), sublinear_tf=self.sublinear_tf, max_features=half
        ).fit(texts)
        self.char_vec_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=tuple(self.char_ngrams), sublinear_tf=self.sublinear_tf, max_features=half
        ).fit(texts)
        X = self._features(texts)
        self.head_ = LogisticHead(
            C=self.C, class_weight=self.class_weight, random_state=self.random_state, n_classes=len(self.labels_)
        ).fit(X, y)
        dim = max(1, min(self.embed_dim, X.shape[1] - 1, X.shape[0] - 1))
        self.svd_ = TruncatedSVD(n_components=dim, random_state=self.random_state).fit(X) if dim >= 2 else None
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        return self.head_.predict_proba(self._features(list(texts)))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """LSA embeddings, L2-normalised (n, embed_dim)."""
        self._check_fitted()
        X = self._features(list(texts))
        Z = self.svd_.transform(X) if self.svd_ is not None else X.toarray()
        norm = np.linalg.norm(Z, axis=1, keepdims=True)
        return (Z / np.maximum(norm, 1e-12)).astype(np.float32)

    def save(self, path: str | Path) -> None:
        """``textal_model.json`` (parameters, labels) and the learned state as data (``linear.json`` + ``.npz``)."""
        self._check_fitted()
        path = Path(path)
        self._write_meta(path, saved_params(self))
        write_state(path, STATE, {"word": self.word_vec_, "char": self.char_vec_, "head": self.head_, "svd": self.svd_})

    @classmethod
    def load(cls, path: str | Path) -> LinearClassifier:
        """A saved model; one saved as a pickle by an older textal is refused (``PickledModelError``), never read."""
        path = Path(path)
        meta = read_meta(path)
        model = cls(**params_from_saved(cls, meta["params"]))
        model._restore_labels(meta)
        if not has_state(path, STATE):
            if (path / LEGACY_FILE).exists():
                raise PickledModelError(path, [LEGACY_FILE])
            raise ModelError(f"{path}: the saved model ({STATE}.json) is missing")
        parts = read_state(path, STATE)
        word, char, head, svd = (parts.get(key) for key in ("word", "char", "head", "svd"))
        if not (
            isinstance(word, TfidfVectorizer)
            and isinstance(char, TfidfVectorizer)
            and isinstance(head, LogisticHead)
            and (svd is None or isinstance(svd, TruncatedSVD))
        ):
            raise ModelError(f"{path}: {STATE}.json does not hold a linear model's parts")
        model.word_vec_, model.char_vec_, model.head_, model.svd_ = word, char, head, svd
        return model
