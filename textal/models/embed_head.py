"""The fast tier: a frozen encoder's (cached) embeddings under a logistic-regression head.

Refitting takes a fraction of a second once the pool is embedded, so the scores annotators see can
follow every batch of new labels. Callers that hold cached embeddings use ``fit_embeddings`` /
``predict_proba_embeddings`` and skip the encoder altogether.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from textal.errors import ModelError
from textal.models.base import LabelMixin, Labels, read_meta
from textal.models.encoder import Encoder
from textal.models.head import LogisticHead
from textal.models.hf import model_reference

HEAD_FILE = "head.joblib"


class EmbedHeadClassifier(LabelMixin):
    """Frozen ``Encoder`` (mean-pooled, unit-length embeddings) + ``LogisticHead``.

    Saving stores the head and a reference to the encoder (``"default"``, a local path or a hub id)
    with its fingerprint, never the encoder's weights; loading checks the encoder is unchanged.
    """

    kind = "embed-head"

    def __init__(
        self,
        classes: Sequence[str] | None = None,
        multi_label: bool | None = None,
        model: str = "default",
        max_length: int = 128,
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
        C: float = 10.0,
        class_weight: str | None = None,
        random_state: int = 0,
        device: str | None = None,
    ) -> None:
        self.classes = classes
        self.multi_label = multi_label
        self.model = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state
        self.device = device

    def get_params(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes) if self.classes is not None else None,
            "multi_label": self.multi_label,
            "model": model_reference(self.model),
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "cache_dir": str(self.cache_dir) if self.cache_dir is not None else None,
            "C": self.C,
            "class_weight": self.class_weight,
            "random_state": self.random_state,
            "device": self.device,
        }

    @property
    def encoder(self) -> Encoder:
        """The frozen encoder (built on first use; checked against the fingerprint the head was fitted with)."""
        enc = self.__dict__.get("_encoder")
        if enc is None:
            enc = Encoder(self.model, self.max_length, self.batch_size, self.cache_dir, self.device)
            expected = getattr(self, "encoder_fingerprint_", None)
            if expected is not None and enc.fingerprint != expected:
                raise ModelError(
                    f"the encoder {self.model!r} changed since this model was fitted "
                    f"(fingerprint {enc.fingerprint}, fitted with {expected}); retrain the model"
                )
            self.__dict__["_encoder"] = enc
        return enc

    def fit(self, texts: Sequence[str], labels: Labels) -> EmbedHeadClassifier:
        """Embed ``texts`` with the frozen encoder and fit the head."""
        texts = list(texts)
        if len(texts) != len(labels):
            raise ModelError(f"got {len(texts)} texts but {len(labels)} labels")
        self._learn_labels(labels)  # fail on bad labels before paying for the encoder
        encoder = self._fresh_encoder()
        X = encoder.encode(texts)
        self.encoder_fingerprint_ = encoder.fingerprint
        return self._fit_head(X, labels)

    def fit_embeddings(self, X: np.ndarray, labels: Labels) -> EmbedHeadClassifier:
        """Fit the head on embeddings the caller already has (from this encoder)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or len(X) != len(labels):
            raise ModelError(f"embeddings must be (n_labels={len(labels)}, dim), got shape {X.shape}")
        try:  # record which encoder the head belongs to, when it can be found from here
            self.encoder_fingerprint_ = self._fresh_encoder().fingerprint
        except ModelError:
            self.encoder_fingerprint_ = None
        return self._fit_head(X, labels)

    def _fresh_encoder(self) -> Encoder:
        """The encoder, rebuilt from the current parameters and not checked (a fit makes the check true)."""
        self.__dict__.pop("_encoder", None)
        self.encoder_fingerprint_ = None
        return self.encoder

    def _fit_head(self, X: np.ndarray, labels: Labels) -> EmbedHeadClassifier:
        y = self._learn_labels(labels)
        self.head_ = LogisticHead(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        self.head_.fit(X, y, len(self.labels_), self.multi_label_)
        self.dim_ = int(X.shape[1])
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (n, k) over ``labels_``."""
        self._check_fitted()
        return self.predict_proba_embeddings(self.encoder.encode(texts))

    def predict_proba_embeddings(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) from precomputed embeddings."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.dim_:
            raise ModelError(f"embeddings must have shape (n, {self.dim_}), got {X.shape}")
        if len(X) == 0:
            return np.zeros((0, len(self.labels_)))
        return self.head_.predict_proba(X)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The frozen encoder's embeddings (n, dim) float32."""
        return self.encoder.encode(texts)

    def save(self, path: str | Path) -> None:
        """The head (joblib) and ``textal_model.json`` naming the encoder; the encoder's weights stay where they are."""
        self._check_fitted()
        path = Path(path)
        extra = {"encoder_fingerprint": self.encoder_fingerprint_, "dim": self.dim_}
        self._write_meta(path, self.get_params(), extra)
        joblib.dump(self.head_, path / HEAD_FILE)

    @classmethod
    def load(cls, path: str | Path) -> EmbedHeadClassifier:
        meta = read_meta(path)
        model = cls(**meta["params"])
        model._restore_labels(meta)
        model.encoder_fingerprint_ = meta.get("encoder_fingerprint")
        model.dim_ = int(meta["dim"])
        file = Path(path) / HEAD_FILE
        if not file.is_file():
            raise ModelError(f"{path}: the saved head ({HEAD_FILE}) is missing")
        model.head_ = joblib.load(file)
        return model
