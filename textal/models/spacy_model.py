"""spaCy text categoriser on a blank pipeline: no downloaded model, quick on a CPU."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from textal.errors import ModelError
from textal.models.classifier import LabelMixin, Labels, params_from_saved, read_meta, saved_params
from textal.models.metrics import score_predictions
from textal.models.validation import split_validation
from textal.runtime import progress


class SpacyClassifier(LabelMixin, BaseEstimator):
    """spaCy ``textcat`` (single-label) or ``textcat_multilabel`` on ``spacy.blank(lang)``.

    Trained with spaCy's default ensemble architecture (CNN tok2vec + bag of words), early-stopped
    on a validation slice. ``embed`` mean-pools the tok2vec output.
    """

    kind = "spacy"

    def __init__(
        self,
        classes: Sequence[str] | None = None,
        multi_label: bool | None = None,
        lang: str = "en",
        epochs: int = 10,
        batch_size: int = 32,
        dropout: float = 0.2,
        validation_fraction: float = 0.1,
        patience: int = 2,
        seed: int = 0,
    ) -> None:
        self.classes = classes
        self.multi_label = multi_label
        self.lang = lang
        self.epochs = epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.seed = seed

    @property
    def _pipe_name(self) -> str:
        return "textcat_multilabel" if self.multi_label_ else "textcat"

    def fit(self, texts: Sequence[str], labels: Labels) -> SpacyClassifier:
        """Train a fresh pipeline; keep the epoch that scored best on the validation slice."""
        import spacy
        from spacy.training import Example

        y = self._learn_labels(labels)
        texts = list(texts)
        try:
            nlp = spacy.blank(self.lang)
        except Exception as exc:  # spaCy raises ImportError / OSError for an unknown language code
            raise ModelError(f"spaCy has no language {self.lang!r} ({exc})") from None
        textcat = nlp.add_pipe(self._pipe_name)
        for label in self.labels_:
            textcat.add_label(label)

        train_idx, val_idx = split_validation(y, self.validation_fraction, self.seed)
        cats = [self._cats(y[i]) for i in range(len(texts))]
        examples = [Example.from_dict(nlp.make_doc(texts[i]), {"cats": cats[i]}) for i in train_idx]
        spacy.util.fix_random_seed(self.seed)
        optimizer = nlp.initialize(lambda: examples)
        order = random.Random(self.seed)

        best_score, best_bytes, stale = -1.0, None, 0
        with progress.task("Training spaCy textcat", total=self.epochs) as bar:
            for _ in range(self.epochs):
                order.shuffle(examples)
                for batch in spacy.util.minibatch(examples, size=self.batch_size):
                    nlp.update(batch, sgd=optimizer, drop=self.dropout)
                bar.advance()
                if len(val_idx) == 0:
                    continue
                self.nlp_ = nlp
                val_proba = self.predict_proba([texts[i] for i in val_idx])
                score = score_predictions(val_proba, y[val_idx], self.multi_label_)["macro_f1"]
                if score > best_score:
                    best_score, best_bytes, stale = score, nlp.to_bytes(), 0
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
        if best_bytes is not None:
            nlp.from_bytes(best_bytes)
        self.nlp_ = nlp
        self.validation_score_ = best_score if best_bytes is not None else None
        return self

    def _cats(self, encoded: np.ndarray) -> dict[str, float]:
        if self.multi_label_:
            return {lab: float(encoded[j]) for j, lab in enumerate(self.labels_)}
        return {lab: float(j == encoded) for j, lab in enumerate(self.labels_)}

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        out = np.zeros((len(texts), len(self.labels_)), dtype=np.float64)
        for i, doc in enumerate(self.nlp_.pipe(texts, batch_size=256)):
            out[i] = [doc.cats.get(lab, 0.0) for lab in self.labels_]
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-pooled tok2vec vectors of the trained textcat, L2-normalised (n, width)."""
        self._check_fitted()
        tok2vec = self.nlp_.get_pipe(self._pipe_name).model.get_ref("tok2vec")
        rows = []
        for start in range(0, len(texts), 256):
            docs = [self.nlp_.make_doc(t) for t in texts[start : start + 256]]
            for arr in tok2vec.predict(docs):
                arr = np.asarray(tok2vec.ops.to_numpy(arr))
                rows.append(arr.mean(axis=0) if len(arr) else np.zeros(arr.shape[1]))
        Z = np.vstack(rows).astype(np.float32)
        return Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)

    def save(self, path: str | Path) -> None:
        self._check_fitted()
        path = Path(path)
        self._write_meta(path, saved_params(self))
        self.nlp_.to_disk(path / "spacy")

    @classmethod
    def load(cls, path: str | Path) -> SpacyClassifier:
        import spacy

        meta = read_meta(path)
        model = cls(**params_from_saved(cls, meta["params"]))
        model._restore_labels(meta)
        model.nlp_ = spacy.load(Path(path) / "spacy")
        return model
