"""The Classifier protocol every textal model follows, and the label bookkeeping they share.

A model saves itself into a directory with a ``textal_model.json`` naming its kind, so that
``load_classifier(dir)`` can bring back any of them without being told which.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

import numpy as np

from textal.errors import ModelError

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

MODEL_FILE = "textal_model.json"

Labels = Sequence[str] | Sequence[Sequence[str]]


@runtime_checkable
class Classifier(Protocol):
    """What the strategies, the store and the backend need of a model."""

    kind: str
    labels_: list[str]
    multi_label_: bool

    def fit(self, texts: Sequence[str], labels: Labels) -> Classifier: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def decode(self, proba: np.ndarray, threshold: float = 0.5) -> list[str] | list[tuple[str, ...]]: ...

    # sklearn's BaseEstimator: the ``__init__`` parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Any: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> Classifier: ...


class _TextModel(Protocol):
    """What ``LabelMixin.predict`` needs of the class it is mixed into: probabilities for texts."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def decode(self, proba: np.ndarray, threshold: float = 0.5) -> list[str] | list[tuple[str, ...]]: ...


class LabelMixin:
    """Label encoding, prediction and metadata shared by the concrete classifiers.

    ``classes`` (an ``__init__`` parameter of each model) declares the full label set up front, so
    a class with no labelled example yet still gets a column in ``predict_proba``. The classifiers
    also inherit ``sklearn.base.BaseEstimator``: ``get_params``/``set_params`` come from ``__init__``.
    """

    kind: str = ""
    classes: Sequence[str] | None
    multi_label: bool | None
    labels_: list[str]
    multi_label_: bool

    def _learn_labels(self, labels: Labels) -> np.ndarray:
        """Set ``labels_``/``multi_label_`` from the training labels; return them encoded.

        Single-label gives class indices (n,); multi-label a 0/1 matrix (n, k).
        """
        if len(labels) == 0:
            raise ModelError("cannot fit on zero labelled texts")
        multi = self.multi_label
        if multi is None:
            multi = not isinstance(labels[0], str)
        seen: set[str] = set()
        for item in labels:
            if multi:
                if isinstance(item, str):
                    raise ModelError("multi-label training needs a list of labels per text, got a string")
                seen.update(item)
            else:
                if not isinstance(item, str):
                    raise ModelError("single-label training needs one string label per text; pass multi_label=True")
                seen.add(item)
        if self.classes is not None:
            declared = list(self.classes)
            if len(set(declared)) != len(declared):
                raise ModelError("classes lists a label twice")
            unknown = sorted(seen - set(declared))
            if unknown:
                raise ModelError(f"labels {unknown} are not among the declared classes {declared}")
            self.labels_ = declared
        else:
            self.labels_ = sorted(seen)
        self.multi_label_ = bool(multi)
        return self.encode_labels(labels)

    def encode_labels(self, labels: Labels) -> np.ndarray:
        """Labels as indices into ``labels_`` (single) or a 0/1 matrix (multi)."""
        return encode_labels(labels, self.labels_, self.multi_label_)

    def predict(self: _TextModel, texts: Sequence[str], threshold: float = 0.5) -> list[str] | list[tuple[str, ...]]:
        """The top label per text, or every label above ``threshold`` for multi-label."""
        return self.decode(self.predict_proba(texts), threshold)

    def decode(self, proba: np.ndarray, threshold: float = 0.5) -> list[str] | list[tuple[str, ...]]:
        """Turn probabilities into labels, as ``predict`` does."""
        if self.multi_label_:
            return [tuple(self.labels_[j] for j in np.flatnonzero(row >= threshold)) for row in proba]
        return [self.labels_[j] for j in proba.argmax(axis=1)]

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise ModelError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def _write_meta(self, path: Path, params: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "kind": self.kind,
            "params": params,
            "labels": self.labels_,
            "multi_label": self.multi_label_,
            **(extra or {}),
        }
        (path / MODEL_FILE).write_text(json.dumps(meta, indent=2))

    def _restore_labels(self, meta: dict[str, Any]) -> None:
        self.labels_ = list(meta["labels"])
        self.multi_label_ = bool(meta["multi_label"])


def saved_params(estimator: BaseEstimator) -> dict[str, Any]:
    """The estimator's ``__init__`` parameters as JSON values (tuples as lists, paths as strings), for saving."""
    return {name: _json_value(value) for name, value in estimator.get_params(deep=False).items()}


def params_from_saved(cls: type[Any], params: dict[str, Any]) -> dict[str, Any]:
    """Saved parameters as ``cls.__init__`` takes them: a list where the default is a tuple becomes a tuple again."""
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}
    if "int8" in params and "int8" not in defaults:  # saved before ``precision`` replaced the int8 switch
        params = {k: v for k, v in params.items() if k != "int8"} | ({"precision": "int8"} if params["int8"] else {})
    return {
        name: tuple(value) if isinstance(value, list) and isinstance(defaults.get(name), tuple) else value
        for name, value in params.items()
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (tuple, list)):
        return [_json_value(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode_labels(labels: Labels, label_names: Sequence[str], multi_label: bool = False) -> np.ndarray:
    """String labels as indices into ``label_names`` (single-label) or a 0/1 float32 matrix (multi-label).

    A label outside ``label_names`` is a ModelError naming it.
    """
    index = {name: i for i, name in enumerate(label_names)}
    try:
        if multi_label:
            out = np.zeros((len(labels), len(label_names)), dtype=np.float32)
            for row, item in enumerate(labels):
                out[row, [index[lab] for lab in item]] = 1.0
            return out
        return np.array([index[lab] for lab in cast(Sequence[str], labels)], dtype=np.int64)  # one str each
    except KeyError as exc:
        raise ModelError(f"label {exc.args[0]!r} is not one the model knows ({list(label_names)})") from None


def read_meta(path: str | Path) -> dict[str, Any]:
    """The ``textal_model.json`` of a saved model directory."""
    file = Path(path) / MODEL_FILE
    if not file.is_file():
        raise ModelError(f"{path}: not a saved textal model (no {MODEL_FILE})")
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{file}: unreadable ({exc.msg})") from None


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax."""
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)
