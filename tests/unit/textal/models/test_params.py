"""scikit-learn manners of every model: parameters come from ``__init__``, ``set_params``/``clone`` work,
and ``fit`` leaves the parameters as they were given."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from textal.errors import ModelError
from textal.models.committee import BootstrapCommittee, MCDropoutCommittee, MixedCommittee
from textal.models.embed_head import EmbedHeadClassifier
from textal.models.embedding_cache import CACHE_FILE
from textal.models.encoder import Encoder
from textal.models.head import LogisticHead
from textal.models.linear import LinearClassifier
from textal.models.spacy_model import SpacyClassifier
from textal.models.transformer import TransformerClassifier

SPAM = ["win cash prize now", "free money claim now", "urgent reward call now txt stop", "claim your free prize"]
HAM = ["meet for lunch tomorrow", "see you at home later", "thanks love see you tonight", "sorry going to sleep"]
TEXTS = (SPAM + HAM) * 2
LABELS = (["spam"] * 4 + ["ham"] * 4) * 2


def features() -> np.ndarray:
    """Stand-in embeddings of TEXTS: noise, with the first dimension telling spam from ham."""
    X = np.random.default_rng(0).normal(size=(len(TEXTS), 6)).astype(np.float32)
    X[:, 0] += np.where(np.array(LABELS) == "spam", 2.0, -2.0)
    return X


X = features()


def tiny_transformer(bert: Path) -> TransformerClassifier:
    return TransformerClassifier(
        classes=["ham", "spam"], model=str(bert), epochs=1, min_steps=0, batch_size=8, device="cpu"
    )


# name -> (build from the tiny BERT folder, fit the built model)
MODELS: dict[str, tuple[Callable[[Path], Any], Callable[[Any], Any]]] = {
    "linear": (
        lambda bert: LinearClassifier(classes=["ham", "spam"], word_ngrams=(1, 1), embed_dim=4),
        lambda m: m.fit(TEXTS, LABELS),
    ),
    "spacy": (lambda bert: SpacyClassifier(classes=["ham", "spam"], epochs=1), lambda m: m.fit(TEXTS, LABELS)),
    "transformer": (tiny_transformer, lambda m: m.fit(TEXTS, LABELS)),
    "embed-head": (
        lambda bert: EmbedHeadClassifier(classes=["ham", "spam", "other"], model=str(bert)),
        lambda m: m.fit(TEXTS, LABELS),
    ),
    "logistic-head": (lambda bert: LogisticHead(C=1.0, n_classes=3), lambda m: m.fit(X, np.array([0, 1] * 8))),
    "bootstrap-committee": (
        lambda bert: BootstrapCommittee(size=3, classes=["ham", "spam"]),
        lambda m: m.fit(X, LABELS),
    ),
    "mixed-committee": (
        lambda bert: MixedCommittee(members=[LinearClassifier(embed_dim=2), SpacyClassifier(epochs=1)]),
        lambda m: m.fit(TEXTS, LABELS),
    ),
    "mc-dropout-committee": (
        lambda bert: MCDropoutCommittee(tiny_transformer(bert), passes=2),
        lambda m: m.fit(TEXTS, LABELS),
    ),
    "encoder": (lambda bert: Encoder(model=str(bert), max_length=16), lambda m: m.encode(TEXTS)),
}


NEW_VALUES = {"C": 7.0, "max_length": 7, "size": 7, "passes": 7, "epochs": 7, "multi_label": True}


def init_names(model: Any) -> list[str]:
    return [name for name in inspect.signature(type(model).__init__).parameters if name != "self"]


def plain(value: Any) -> Any:
    """``value`` with every estimator in it replaced by its class name and parameters, to compare by value."""
    if hasattr(value, "get_params"):
        return type(value).__name__, plain(value.get_params(deep=False))
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    return value


@pytest.mark.parametrize("name", MODELS)
def test_get_params_names_every_init_parameter_stored_unchanged(name, tiny_bert_dir):
    model = MODELS[name][0](tiny_bert_dir)
    params = model.get_params(deep=False)
    assert list(params) == sorted(init_names(model))
    for key, value in params.items():
        assert getattr(model, key) is value


@pytest.mark.parametrize("name", MODELS)
def test_set_params_and_clone_round_trip_the_parameters(name, tiny_bert_dir):
    model = MODELS[name][0](tiny_bert_dir)
    params = model.get_params(deep=False)
    copy = clone(model)
    assert copy is not model and plain(copy) == plain(model)
    assert plain(type(model)(**params)) == plain(model)
    key, value = next((k, v) for k, v in NEW_VALUES.items() if k in params)
    assert model.set_params(**{key: value}) is model
    assert model.get_params()[key] == value and getattr(model, key) == value
    model.set_params(**params)
    assert model.get_params(deep=False) == params


@pytest.mark.parametrize("name", MODELS)
def test_fit_leaves_the_parameters_as_given_and_a_clone_starts_unfitted(name, tiny_bert_dir):
    build, fit = MODELS[name]
    model = build(tiny_bert_dir)
    before = model.get_params(deep=False)
    digest = joblib.hash(before)
    fit(model)
    after = model.get_params(deep=False)
    assert joblib.hash(after) == digest
    assert all(after[key] is value for key, value in before.items())
    learned = [key for key in vars(clone(model)) if key.endswith("_") and not key.startswith("_")]
    assert learned == []


def test_a_changed_cache_dir_takes_effect_on_an_embed_head_already_in_use(tiny_bert_dir, tmp_path):
    model = EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, LABELS)
    expected = model.predict_proba(TEXTS)
    np.testing.assert_allclose(model.set_params(cache_dir=tmp_path / "cache").predict_proba(TEXTS), expected, atol=1e-6)
    assert (tmp_path / "cache" / CACHE_FILE).is_file()


def test_an_encoder_with_new_parameters_drops_the_weights_it_loaded(tiny_bert_dir):
    encoder = Encoder(model=str(tiny_bert_dir))
    full = encoder.encode(["win cash prize now " * 10])
    assert encoder.model_ is not None
    encoder.set_params(max_length=4)
    assert "model_" not in vars(encoder)
    assert not np.allclose(encoder.encode(["win cash prize now " * 10]), full)


def test_logistic_head_reads_the_task_from_the_labels_and_answers_over_n_classes():
    single = LogisticHead(n_classes=4).fit(X, np.array([0, 2] * 8))
    assert not single.multi_label_ and single.predict_proba(X).shape == (16, 4)
    multi = LogisticHead().fit(X, np.array([[1, 0, 1], [0, 1, 1]] * 8))
    assert multi.multi_label_ and multi.n_classes_ == 3 and multi.n_classes is None
    with pytest.raises(ModelError, match="n_classes=2"):
        LogisticHead(n_classes=2).fit(X, np.array([0, 2] * 8))
    with pytest.raises(ModelError, match="n_classes=2"):
        LogisticHead(n_classes=2).fit(X, np.array([[1, 0, 1]] * 16))


def test_a_logistic_head_pickled_before_n_classes_was_a_parameter_still_answers():
    head = LogisticHead(n_classes=3).fit(X, np.array([0, 1] * 8))
    state = {k: v for k, v in vars(head).items() if k != "n_classes"}  # what older versions pickled
    old = LogisticHead.__new__(LogisticHead)
    old.__setstate__(state)
    assert old.get_params()["n_classes"] == 3
    np.testing.assert_array_equal(old.predict_proba(X), head.predict_proba(X))
