"""Learned state saved as data (JSON + .npz, no pickle): exact round trips, and nothing but data read back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from textal.errors import ModelError
from textal.models import load_classifier
from textal.models.head import LogisticHead
from textal.models.linear import LinearClassifier
from textal.models.saved_state import read_state, state_files, write_state

SPAM = ["win cash prize now", "free money claim now", "urgent reward call now txt stop", "claim your free prize"]
HAM = ["meet for lunch tomorrow", "see you at home later", "thanks love see you tonight", "sorry going to sleep"]
TEXTS = (SPAM + HAM) * 2
LABELS = (["spam"] * 4 + ["ham"] * 4) * 2
OTHER = ["a prize for lunch", "call me later", "ünïcödé ✓ text", ""]


def same_state(a, b) -> None:
    """Equal learned state: the same attributes, types, dtypes and values, all the way down."""
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            same_state(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same_state(x, y)
    elif hasattr(a, "get_params"):
        assert a.get_params(deep=False) == b.get_params(deep=False)
        same_state(vars(a), vars(b))
    else:
        assert a == b or (a != a and b != b)


def assert_no_pickle_in(folder) -> None:
    for path in folder.rglob("*"):
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                for key in npz.files:
                    assert not npz[key].dtype.hasobject
        elif path.is_file():
            assert path.suffix == ".json", path


@pytest.mark.parametrize(
    "labels",
    [
        LABELS,
        [("spam", "money") if lab == "spam" else ("ham",) for lab in LABELS],  # multi-label
        [("spam",) if lab == "spam" else ("ham", "home") for lab in LABELS],  # a label with one value only
    ],
    ids=["single", "multi", "multi-constant"],
)
def test_a_linear_model_round_trips_exactly_as_data(tmp_path, labels):
    model = LinearClassifier(embed_dim=4).fit(TEXTS, labels)
    model.save(tmp_path / "m")
    assert_no_pickle_in(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_proba(TEXTS + OTHER), model.predict_proba(TEXTS + OTHER))
    np.testing.assert_array_equal(back.embed(TEXTS + OTHER), model.embed(TEXTS + OTHER))
    for part in ("word_vec_", "char_vec_", "head_", "svd_"):
        same_state(getattr(back, part), getattr(model, part))


def test_edge_cases_round_trip_exactly(tmp_path):
    for name, model in {
        "one-class": LinearClassifier(embed_dim=2).fit(TEXTS[:4], ["spam"] * 4),  # head_.model_ is an int
        "declared": LinearClassifier(
            classes=["ham", "other", "spam"], embed_dim=4, class_weight="balanced", word_ngrams=(1, 1), max_features=40
        ).fit(TEXTS, LABELS),
        "no-svd": LinearClassifier(embed_dim=1).fit(TEXTS[:2], ["spam", "ham"]),
    }.items():
        model.save(tmp_path / name)
        back = load_classifier(tmp_path / name)
        assert back.get_params() == model.get_params()
        np.testing.assert_array_equal(back.predict_proba(TEXTS + OTHER), model.predict_proba(TEXTS + OTHER))
        np.testing.assert_array_equal(back.embed(TEXTS + OTHER), model.embed(TEXTS + OTHER))
        same_state(back.head_, model.head_)


def test_a_vectorizer_with_python_int_columns_and_stop_words_round_trips(tmp_path):
    vec = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), dtype=np.float32).fit(TEXTS)
    vec.vocabulary_ = {term: int(col) for term, col in vec.vocabulary_.items()}
    vec.extra_ = {"a": {1, 2}, "b": frozenset({"x"}), (1, 2): [np.float32(0.5), None, True, float("nan")]}
    write_state(tmp_path, "v", {"vec": vec})
    back = read_state(tmp_path, "v")["vec"]
    same_state(back, vec)
    assert type(next(iter(back.vocabulary_.values()))) is int
    assert (back.transform(OTHER) != vec.transform(OTHER)).nnz == 0


def test_a_head_round_trips_in_every_shape(tmp_path):
    X = np.random.default_rng(0).normal(size=(16, 5)).astype(np.float32)
    heads = {
        "single": LogisticHead(n_classes=3).fit(X, np.array([0, 2] * 8)),
        "constant": LogisticHead(n_classes=2).fit(X, np.zeros(16, dtype=int)),
        "multi": LogisticHead().fit(X, np.array([[1, 0, 1], [0, 0, 1]] * 8)),
    }
    write_state(tmp_path, "heads", heads)
    back = read_state(tmp_path, "heads")
    for name, head in heads.items():
        same_state(back[name], head)
        np.testing.assert_array_equal(back[name].predict_proba(X), head.predict_proba(X))


def edit_state(folder, name, edit) -> None:
    meta_file = state_files(folder, name)[0]
    meta = json.loads(meta_file.read_text())
    edit(meta["parts"])
    meta_file.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda p: p["head"].update({"__estimator__": "builtins.eval"}), "not allowed"),
        (lambda p: p["head"].update({"__estimator__": "os.system"}), "not allowed"),
        (lambda p: p["head"]["state"].update({"__class__": None}), "malformed attribute"),
        (lambda p: p["head"]["params"].update({"evil": 1}), "no parameter 'evil'"),
        (lambda p: p["head"]["state"].update({"x_": {"__scalar__": "|O", "value": 1}}), "not plain data"),
        (lambda p: p["head"]["state"].update({"x_": {"__dtype__": "O"}}), "not plain data"),
        (lambda p: p["head"]["state"].update({"x_": {"__array__": "missing"}}), "not in its .npz"),
        (lambda p: p["head"]["state"].update({"x_": {"__code__": "print(1)"}}), "unknown entry"),
        (lambda p: p.update({"head": {"__tuple__": 5}}), "malformed"),
    ],
    ids=["eval", "os.system", "dunder", "param", "object-scalar", "object-dtype", "array", "tag", "shape"],
)
def test_a_tampered_state_is_refused_with_a_model_error(tmp_path, edit, reason):
    write_state(tmp_path, "s", {"head": LogisticHead().fit(np.eye(4), np.array([0, 1, 0, 1]))})
    edit_state(tmp_path, "s", edit)
    with pytest.raises(ModelError, match=reason):
        read_state(tmp_path, "s")


def test_arrays_that_would_need_pickle_and_broken_files_are_refused(tmp_path):
    write_state(tmp_path, "s", {"a": np.arange(3)})
    meta_file, arrays_file = state_files(tmp_path, "s")
    with open(arrays_file, "wb") as fh:
        np.savez(fh, a0=np.array([{"x": 1}], dtype=object))  # an object array is pickled inside the .npz
    with pytest.raises(ModelError, match="unreadable"):
        read_state(tmp_path, "s")
    arrays_file.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(ModelError, match="unreadable"):
        read_state(tmp_path, "s")
    for text in ("{not json", "[]", json.dumps({"format": "other", "parts": {}})):
        meta_file.write_text(text)
        with pytest.raises(ModelError):
            read_state(tmp_path, "s")
    meta_file.unlink()
    with pytest.raises(ModelError, match="missing"):
        read_state(tmp_path, "s")


def test_saving_anything_but_data_is_refused(tmp_path):
    for value in (lambda: 0, object(), np.array([object()]), {1, (2, object())}):
        with pytest.raises(ModelError, match="cannot save"):
            write_state(tmp_path, "s", {"x": value})
