"""Models an older textal pickled (linear.joblib, head.joblib): refused unread, converted only when trusted."""

from __future__ import annotations

import os
import shlex

import joblib
import numpy as np
import pytest

from tests.support.spam_texts import labelled
from textal.errors import ModelError
from textal.models import load_classifier
from textal.models.embed_head import EmbedHeadClassifier
from textal.models.legacy import convert_pickled_model, pickled_files
from textal.models.linear import LinearClassifier
from textal.models.saved_state import PickledModelError, state_files

TEXTS, LABELS = labelled(3)


class Planted:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def save_like_older_textal(model, path) -> None:
    """What textal wrote before its models were data: the same textal_model.json, the learned parts pickled."""
    model.save(path)
    if isinstance(model, LinearClassifier):
        for file in state_files(path, "linear"):
            file.unlink()
        joblib.dump(
            {"word": model.word_vec_, "char": model.char_vec_, "head": model.head_, "svd": model.svd_},
            path / "linear.joblib",
        )
    else:
        for file in state_files(path, "head"):
            file.unlink()
        joblib.dump(model.head_, path / "head.joblib")


@pytest.fixture(scope="module")
def linear():
    return LinearClassifier(embed_dim=4).fit(TEXTS, LABELS)


def test_a_pickled_model_is_refused_without_being_read(tmp_path, linear):
    marker = tmp_path / "ran"
    save_like_older_textal(linear, tmp_path / "m")
    joblib.dump(Planted(marker), tmp_path / "m" / "linear.joblib")
    with pytest.raises(PickledModelError, match="linear.joblib is a pickle from an older textal") as caught:
        load_classifier(tmp_path / "m")
    assert "textal store convert --trust-pickles" in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.files == ["linear.joblib"] and pickled_files(tmp_path / "m") == ["linear.joblib"]
    assert not marker.exists()


def test_a_pickle_beside_the_data_is_never_read(tmp_path, linear):
    marker = tmp_path / "ran"
    linear.save(tmp_path / "m")
    for name in ("linear.joblib", "extra.pkl", "head.joblib"):
        joblib.dump(Planted(marker), tmp_path / "m" / name)
    np.testing.assert_array_equal(load_classifier(tmp_path / "m").predict_proba(TEXTS), linear.predict_proba(TEXTS))
    assert not marker.exists()


def test_a_model_without_its_state_says_what_is_missing(tmp_path, linear):
    linear.save(tmp_path / "m")
    for file in state_files(tmp_path / "m", "linear"):
        file.unlink()
    with pytest.raises(ModelError, match=r"linear\.json\) is missing"):
        load_classifier(tmp_path / "m")


def test_converting_a_linear_model_keeps_its_predictions_and_removes_the_pickle(tmp_path, linear):
    save_like_older_textal(linear, tmp_path / "m")
    assert convert_pickled_model(tmp_path / "m") == ["linear.joblib"]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["linear.json", "linear.npz", "textal_model.json"]
    back = load_classifier(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_proba(TEXTS), linear.predict_proba(TEXTS))
    np.testing.assert_array_equal(back.embed(TEXTS), linear.embed(TEXTS))
    assert convert_pickled_model(tmp_path / "m") == []  # a second run has nothing to do


def test_converting_an_embed_head_keeps_its_predictions(tmp_path, tiny_bert_dir):
    model = EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, LABELS)
    save_like_older_textal(model, tmp_path / "m")
    with pytest.raises(PickledModelError, match="head.joblib"):
        load_classifier(tmp_path / "m")
    assert convert_pickled_model(tmp_path / "m") == ["head.joblib"]
    assert not (tmp_path / "m" / "head.joblib").exists()
    np.testing.assert_array_equal(load_classifier(tmp_path / "m").predict_proba(TEXTS), model.predict_proba(TEXTS))


def test_a_pickle_that_cannot_be_converted_is_left_as_it_was(tmp_path, linear):
    save_like_older_textal(linear, tmp_path / "m")
    (tmp_path / "m" / "linear.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ModelError, match="cannot be read"):
        convert_pickled_model(tmp_path / "m")
    joblib.dump({"word": object()}, tmp_path / "m" / "linear.joblib")
    with pytest.raises(ModelError, match="cannot be converted"):
        convert_pickled_model(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["linear.joblib", "textal_model.json"]
