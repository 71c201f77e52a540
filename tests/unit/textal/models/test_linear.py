"""LinearClassifier: TF-IDF + logistic regression under the Classifier protocol."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.spam_texts import labelled
from textal.errors import ModelError
from textal.models import load_classifier
from textal.models.classifier import Classifier
from textal.models.linear import LinearClassifier

TEXTS, LABELS = labelled(3)


def test_follows_the_classifier_protocol_and_sums_to_one():
    model = LinearClassifier(embed_dim=4).fit(TEXTS, LABELS)
    assert isinstance(model, Classifier)
    proba = model.predict_proba(["free cash prize", "see you at lunch"])
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.predict(["free cash prize", "see you at lunch"]) == ["spam", "ham"]


def test_declared_class_without_examples_gets_a_zero_column():
    model = LinearClassifier(classes=["ham", "phishing", "spam"], embed_dim=4).fit(TEXTS, LABELS)
    proba = model.predict_proba(["win a prize"])
    assert model.labels_ == ["ham", "phishing", "spam"]
    assert proba[0, 1] == 0.0 and proba[0].sum() == pytest.approx(1.0)


def test_a_single_class_gives_certain_predictions_instead_of_failing():
    model = LinearClassifier(embed_dim=2).fit(TEXTS[:4], ["ham"] * 4)
    assert model.predict_proba(["anything"]).tolist() == [[1.0]]


def test_multi_label_gives_independent_probabilities():
    labels = [("billing",), ("billing", "urgent"), ("urgent",), ("other",), ("billing",), ("other",)] * 3
    model = LinearClassifier(embed_dim=4).fit(TEXTS, labels)
    assert model.multi_label_ and model.labels_ == ["billing", "other", "urgent"]
    proba = model.predict_proba(TEXTS[:2])
    assert proba.shape == (2, 3)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert all(isinstance(p, tuple) for p in model.predict(TEXTS[:2]))


def test_save_and_load_round_trip_predicts_identically(tmp_path):
    model = LinearClassifier(embed_dim=4).fit(TEXTS, LABELS)
    model.save(tmp_path / "m")
    again = load_classifier(tmp_path / "m")
    assert isinstance(again, LinearClassifier)
    np.testing.assert_array_equal(again.predict_proba(TEXTS), model.predict_proba(TEXTS))
    np.testing.assert_array_equal(again.embed(TEXTS), model.embed(TEXTS))


def test_embed_gives_unit_vectors_of_the_asked_size():
    model = LinearClassifier(embed_dim=3).fit(TEXTS, LABELS)
    z = model.embed(TEXTS[:5])
    assert z.shape == (5, 3) and z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)


def test_unfitted_model_and_unknown_labels_are_clear_errors():
    with pytest.raises(ModelError, match="not fitted"):
        LinearClassifier().predict_proba(["x"])
    with pytest.raises(ModelError, match="not among the declared classes"):
        LinearClassifier(classes=["a"]).fit(["x", "y"], ["a", "b"])
    with pytest.raises(ModelError, match="zero labelled texts"):
        LinearClassifier().fit([], [])
