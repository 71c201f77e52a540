"""The fast tier: a frozen encoder's (cached) embeddings under a logistic-regression head.

Refitting takes a fraction of a second once the pool is embedded, so the scores annotators see can
follow every batch of new labels. Callers that hold cached embeddings use ``fit_embeddings`` /
``predict_proba_embeddings`` and skip the encoder altogether.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from textal.errors import ModelError
from textal.models.classifier import LabelMixin, Labels, params_from_saved, read_meta, saved_params
from textal.models.encoder import Encoder
from textal.models.head import LogisticHead
from textal.models.hf import is_default_model, model_reference
from textal.models.precision import DEFAULT_PRECISION
from textal.models.saved_state import PickledModelError, has_state, read_state, write_state

HEAD_STATE = "head"  # head.json + head.npz: the logistic head as data
LEGACY_HEAD_FILE = "head.joblib"  # what textal wrote before: a pickle, never loaded (``textal store convert``)
ENCODER_DIR = "encoder"  # a local encoder's copy inside a saved model folder


class EmbedHeadClassifier(LabelMixin, BaseEstimator):
    """Frozen ``Encoder`` (mean-pooled, unit-length embeddings) + ``LogisticHead``.

    A saved model is self-contained: a local encoder folder (a fine-tuned encoder) is copied into
    it, the default encoder and hub ids are kept by name with their fingerprint, and ``cache_dir``
    (a machine-local folder) is not kept at all. Loading checks the encoder is unchanged. ``precision``
    is the encoder's (``textal.models.precision``: auto, fp32, bf16, int8).
    """

    kind = "embed-head"
    encoder_fingerprint_: str | None  # set by a fit or a load (None: the encoder could not be found from here)

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
        precision: str = DEFAULT_PRECISION,
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
        self.precision = precision

    def _encoder_settings(self) -> tuple[Any, ...]:
        return (self.model, self.max_length, self.batch_size, self.cache_dir, self.device, self.precision)

    @property
    def encoder(self) -> Encoder:
        """The frozen encoder for the current parameters (built on first use, and again after they change;
        checked against the fingerprint the head was fitted with)."""
        settings = self._encoder_settings()
        built = self.__dict__.get("_encoder")
        if built is None or built[0] != settings:
            enc = Encoder(*settings)
            expected = getattr(self, "encoder_fingerprint_", None)
            if expected is not None and enc.fingerprint != expected:
                raise ModelError(
                    f"the encoder {self.model!r} changed since this model was fitted "
                    f"(fingerprint {enc.fingerprint}, fitted with {expected}); retrain the model"
                )
            built = self.__dict__["_encoder"] = (settings, enc)
        return built[1]

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
        self.head_ = LogisticHead(
            C=self.C, class_weight=self.class_weight, random_state=self.random_state, n_classes=len(self.labels_)
        ).fit(X, y)
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
        """The head as data (``head.json`` + ``head.npz``), ``textal_model.json``, and a copy of a local encoder folder
        under ``encoder/``.

        Nothing written refers to a folder outside ``path``: ``cache_dir`` is left out, and a local
        encoder is recorded as the copy's name.
        """
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        params = saved_params(self)
        del params["cache_dir"]
        extra: dict[str, Any] = {"encoder_fingerprint": self.encoder_fingerprint_, "dim": self.dim_}
        source = local_encoder_dir(self.model)
        if source is None:
            params["model"] = model_reference(self.model)
        else:
            copy_encoder(source, path / ENCODER_DIR)
            params["model"] = extra["encoder_dir"] = ENCODER_DIR
        self._write_meta(path, params, extra)
        write_state(path, HEAD_STATE, {"head": self.head_})

    @classmethod
    def load(cls, path: str | Path, cache_dir: str | Path | None = None) -> EmbedHeadClassifier:
        """A saved model; its encoder is the copy inside ``path`` when there is one. ``cache_dir``: where
        this machine caches embeddings (not part of the saved model)."""
        path = Path(path)
        meta = read_meta(path)
        params = params_from_saved(cls, meta["params"])
        params["cache_dir"] = cache_dir  # models saved by older versions hold their writer's cache folder
        if meta.get("encoder_dir"):
            params["model"] = str((path / meta["encoder_dir"]).resolve())
        model = cls(**params)
        model._restore_labels(meta)
        model.encoder_fingerprint_ = meta.get("encoder_fingerprint")
        model.dim_ = int(meta["dim"])
        if not has_state(path, HEAD_STATE):
            if (path / LEGACY_HEAD_FILE).exists():
                raise PickledModelError(path, [LEGACY_HEAD_FILE])
            raise ModelError(f"{path}: the saved head ({HEAD_STATE}.json) is missing")
        head = read_state(path, HEAD_STATE).get("head")
        if not isinstance(head, LogisticHead):
            raise ModelError(f"{path}: {HEAD_STATE}.json does not hold a logistic head")
        model.head_ = head
        return model


def local_encoder_dir(model: str | Path | None) -> Path | None:
    """The folder ``model`` names when it is a local encoder (not the default, not a hub id), resolved."""
    if is_default_model(model):
        return None
    path = Path(str(model)).expanduser()
    return path.resolve() if path.is_dir() else None


def copy_encoder(source: Path, target: Path) -> None:
    """Copy the files of the encoder folder ``source`` (weights, config, tokenizer) into ``target``.

    Only top-level files: they are what the encoder loads from and what its fingerprint covers. On
    one file system the copy is a hard link (encoder files are written once and never changed in
    place), so a store of many versions over one fine-tuned encoder holds its weights once; a copy
    of the store folder elsewhere still gets the files themselves.
    """
    if target.resolve() == source.resolve():
        return
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for file in sorted(source.iterdir()):
        if file.is_file():
            try:
                os.link(file, target / file.name)
            except OSError:  # another file system, or links not allowed
                shutil.copy2(file, target / file.name)
