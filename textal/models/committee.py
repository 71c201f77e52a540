"""Committees for query-by-committee: several models' probabilities for the same items, (m, n, k).

Three sources, chosen by configuration (``make_committee(source, size, ...)``):

* ``bootstrap`` (default, cheap): ``size`` LogisticHead members over cached embeddings, each fitted
  on a bootstrap resample of the labelled set. The resample first draws one example of every
  class that has one (multi-label: one positive and one negative of every label that has both),
  then fills up with replacement, so no member is blind to a labelled class; a blind member gives
  that class zero and fakes disagreement on every item of it, which is what sinks naive committees
  on many-class data. Inputs are embeddings.
* ``mc_dropout``: ``size`` forward passes of a fine-tuned TransformerClassifier with dropout on
  (``mc_dropout_proba``). Inputs are texts.
* ``mixed``: unlike models trained on the same labels, e.g. the embedding head, the TF-IDF linear
  model and spaCy (kinds ``embed-head``, ``linear``, ``spacy``). Inputs are texts.

Every committee answers over one label order (``labels_``), aligning members' columns by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

from textal.errors import ModelError
from textal.models.classifier import Classifier, LabelMixin, Labels
from textal.models.head import LogisticHead
from textal.runtime import progress

SOURCES = ("bootstrap", "mc_dropout", "mixed")
DEFAULT_KINDS = ("embed-head", "linear", "spacy")


class BootstrapCommittee(LabelMixin, BaseEstimator):
    """``size`` logistic heads on class-covering bootstrap resamples of (embeddings, labels)."""

    kind = "bootstrap-committee"

    def __init__(
        self,
        size: int = 5,
        classes: Sequence[str] | None = None,
        multi_label: bool | None = None,
        C: float = 10.0,
        class_weight: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.size = size
        self.classes = classes
        self.multi_label = multi_label
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(self, X: np.ndarray, labels: Labels) -> BootstrapCommittee:
        """Fit every member on its own resample of the rows of ``X`` and their ``labels``."""
        _check_size(self.size)
        X = _check_features(X)
        if len(X) != len(labels):
            raise ModelError(f"got {len(X)} embeddings but {len(labels)} labels")
        y = self._learn_labels(labels)
        rng = np.random.default_rng(self.random_state)
        self.members_ = []
        with progress.task(f"Fitting a committee of {self.size} heads", total=self.size) as bar:
            for i in range(self.size):
                rows = covering_bootstrap(y, self.multi_label_, rng)
                head = LogisticHead(
                    C=self.C,
                    class_weight=self.class_weight,
                    random_state=self.random_state + i,
                    n_classes=len(self.labels_),
                )
                self.members_.append(head.fit(X[rows], y[rows]))
                bar.advance()
        self.dim_ = X.shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Members' probabilities (size, n, k) for the rows of ``X``."""
        self._check_fitted()
        X = _check_features(X)
        if X.shape[1] != self.dim_:
            raise ModelError(f"embeddings must have {self.dim_} dimensions, got {X.shape[1]}")
        k = len(self.labels_)
        if len(X) == 0:
            return np.zeros((self.size, 0, k))
        return np.stack([member.predict_proba(X) for member in self.members_])

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise ModelError("this BootstrapCommittee is not fitted yet; call fit() first")


class MCDropoutCommittee(BaseEstimator):
    """A fine-tuned model's dropout left on: ``passes`` stochastic forward passes are the members.

    ``model`` may come fitted: then skip ``fit`` and it is used as it is. ``fit`` fine-tunes a clone
    (``model_``) and leaves ``model`` untouched.
    """

    def __init__(self, model: Any, passes: int = 10, seed: int = 0) -> None:
        self.model = model
        self.passes = passes
        self.seed = seed

    @property
    def _fitted(self) -> Any:
        return getattr(self, "model_", self.model)

    @property
    def labels_(self) -> list[str]:
        return list(self._fitted.labels_)

    def fit(self, texts: Sequence[str], labels: Labels) -> MCDropoutCommittee:
        """Fine-tune a clone of ``model`` (skip this when ``model`` is already fitted)."""
        self.model_ = clone(self.model, safe=False).fit(texts, labels)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(passes, n, k) probabilities from the model's ``mc_dropout_proba``."""
        _check_size(self.passes, "passes")
        model = self._fitted
        if not callable(getattr(model, "mc_dropout_proba", None)):
            raise ModelError(
                f"a {type(model).__name__} has no dropout to sample (mc_dropout_proba); "
                "use the transformer model, or the bootstrap or mixed committee"
            )
        out = np.asarray(model.mc_dropout_proba(list(texts), passes=self.passes, seed=self.seed))
        if out.ndim != 3 or out.shape[0] != self.passes or out.shape[1] != len(texts):
            raise ModelError(f"mc_dropout_proba returned shape {out.shape}, expected ({self.passes}, {len(texts)}, k)")
        return out


class MixedCommittee(BaseEstimator):
    """Different classifiers trained on the same labels; members are built from ``kinds`` unless given.

    Given ``members`` are templates: ``fit`` trains clones of them (``members_``).
    """

    def __init__(
        self,
        kinds: Sequence[str] = DEFAULT_KINDS,
        classes: Sequence[str] | None = None,
        multi_label: bool | None = None,
        members: Sequence[Classifier] | None = None,
        member_params: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.kinds = kinds
        self.classes = classes
        self.multi_label = multi_label
        self.members = members
        self.member_params = member_params

    def fit(self, texts: Sequence[str], labels: Labels) -> MixedCommittee:
        """Fit every member on ``texts`` and ``labels``."""
        from textal.models import make_classifier

        if self.members is not None:
            members = [clone(member, safe=False) for member in self.members]
        else:
            params = self.member_params or {}
            members = [
                make_classifier(kind, classes=self.classes, multi_label=self.multi_label, **params.get(kind, {}))
                for kind in self.kinds
            ]
        if len(members) < 2:
            raise ModelError("a mixed committee needs at least two members")
        for member in progress.track(members, f"Fitting a committee of {len(members)} models"):
            member.fit(texts, labels)
        self.members_ = members
        self.labels_ = _union_labels(members, self.classes)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Members' probabilities (m, n, k), columns aligned on ``labels_``."""
        if not hasattr(self, "members_"):
            raise ModelError("this MixedCommittee is not fitted yet; call fit() first")
        texts = list(texts)
        return np.stack([align_columns(m.predict_proba(texts), m.labels_, self.labels_) for m in self.members_])


def make_committee(source: str = "bootstrap", size: int | None = None, **params: Any):
    """A committee from configuration: ``source`` in bootstrap, mc_dropout, mixed; ``size`` members.

    ``mc_dropout`` needs ``model=`` (a fitted TransformerClassifier); ``mixed`` takes ``kinds=`` and
    has one member per kind (``size``, when given, must match).
    """
    if source == "bootstrap":
        return BootstrapCommittee(size=5 if size is None else size, **params)
    if source == "mc_dropout":
        if "model" not in params:
            raise ModelError("an mc_dropout committee needs model= (a fine-tuned transformer)")
        return MCDropoutCommittee(passes=10 if size is None else size, **params)
    if source == "mixed":
        kinds = tuple(params.pop("kinds", DEFAULT_KINDS))
        if size is not None and size != len(kinds):
            raise ModelError(f"a mixed committee has one member per kind: size {size} but kinds {list(kinds)}")
        return MixedCommittee(kinds=kinds, **params)
    raise ModelError(f"unknown committee source {source!r}; choose one of {', '.join(SOURCES)}")


def covering_bootstrap(y: np.ndarray, multi_label: bool, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a bootstrap resample (same size as ``y``) holding every labelled class.

    Single-label ``y`` holds class indices; multi-label ``y`` is a 0/1 matrix, and the resample
    holds a positive and a negative of every label that has both.
    """
    n = len(y)
    must: list[int] = []
    if multi_label:
        for j in range(y.shape[1]):
            col = y[:, j] > 0
            if col.any() and not col.all():
                must.append(int(rng.choice(np.flatnonzero(col))))
                must.append(int(rng.choice(np.flatnonzero(~col))))
    else:
        for c in np.unique(y):
            must.append(int(rng.choice(np.flatnonzero(y == c))))
    rest = rng.integers(0, n, size=max(n - len(must), 0))
    return np.concatenate([np.asarray(must, dtype=np.int64), rest])


def align_columns(proba: np.ndarray, member_labels: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """``proba`` (n, k_member) re-ordered onto ``labels``; a label the member lacks gets 0."""
    proba = np.asarray(proba, dtype=np.float64)
    out = np.zeros((proba.shape[0], len(labels)))
    where = {lab: i for i, lab in enumerate(labels)}
    for j, lab in enumerate(member_labels):
        if lab not in where:
            raise ModelError(f"committee member predicts label {lab!r}, which the committee does not know")
        out[:, where[lab]] = proba[:, j]
    return out


def _union_labels(members: Sequence[Classifier], classes: Sequence[str] | None) -> list[str]:
    if classes is not None:
        return list(classes)
    seen: set[str] = set()
    for member in members:
        seen.update(member.labels_)
    return sorted(seen)


def _check_size(size: Any, what: str = "size") -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ModelError(f"committee {what} must be a whole number >= 1, not {size!r}")


def _check_features(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ModelError(f"embeddings must be a 2-d array (n, dim), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ModelError("embeddings hold NaN or infinite values")
    return X
