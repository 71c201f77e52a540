"""Classifiers behind one protocol: transformer, linear (TF-IDF), spaCy, and the fast embed-head tier.

Kinds are imported lazily: asking for the linear model must not pay for importing torch.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from textal.errors import ModelError
from textal.models.classifier import Classifier, read_meta

# kind -> (module, class)
MODEL_KINDS: dict[str, tuple[str, str]] = {
    "transformer": ("textal.models.transformer", "TransformerClassifier"),
    "linear": ("textal.models.linear", "LinearClassifier"),
    "spacy": ("textal.models.spacy_model", "SpacyClassifier"),
    "embed-head": ("textal.models.embed_head", "EmbedHeadClassifier"),
}

__all__ = ["Classifier", "MODEL_KINDS", "classifier_class", "make_classifier", "load_classifier"]


def classifier_class(kind: str) -> type[Classifier]:
    """The class behind a model kind name."""
    if kind not in MODEL_KINDS:
        raise ModelError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    module, name = MODEL_KINDS[kind]
    return getattr(importlib.import_module(module), name)


def make_classifier(kind: str, **params: Any) -> Classifier:
    """A new, unfitted classifier of ``kind`` with ``params``."""
    cls = classifier_class(kind)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ModelError(f"model {kind!r}: {exc}") from None


def load_classifier(path: str | Path, cache_dir: str | Path | None = None) -> Classifier:
    """Load any saved textal classifier from its directory.

    ``cache_dir``: this machine's embedding cache, for a kind that has one (saved models never name one).
    """
    model = classifier_class(read_meta(path)["kind"]).load(path)
    if cache_dir is not None and "cache_dir" in model.get_params(deep=False):
        model.set_params(cache_dir=cache_dir)
    return model
