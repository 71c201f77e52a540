"""SpacyClassifier: real spaCy textcat on a blank pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.spam_texts import labelled
from textal.errors import ModelError
from textal.models import load_classifier
from textal.models.spacy_model import SpacyClassifier

TEXTS, LABELS = labelled(5)


@pytest.fixture(scope="module")
def fitted():
    return SpacyClassifier(epochs=4, seed=1).fit(TEXTS, LABELS)


def test_learns_a_separable_toy_task_and_rows_sum_to_one(fitted):
    proba = fitted.predict_proba(["free cash prize now", "see you at lunch"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert fitted.predict(["free cash prize now", "see you at lunch"]) == ["spam", "ham"]


def test_same_seed_gives_the_same_probabilities(fitted):
    again = SpacyClassifier(epochs=4, seed=1).fit(TEXTS, LABELS)
    np.testing.assert_allclose(again.predict_proba(TEXTS), fitted.predict_proba(TEXTS), rtol=1e-5)


def test_save_and_load_round_trip_predicts_identically(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    again = load_classifier(tmp_path / "m")
    np.testing.assert_allclose(again.predict_proba(TEXTS), fitted.predict_proba(TEXTS), rtol=1e-6)
    assert again.labels_ == fitted.labels_


def test_embed_gives_unit_vectors(fitted):
    z = fitted.embed(TEXTS[:4])
    assert z.shape[0] == 4 and z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)


def test_multi_label_uses_textcat_multilabel():
    labels = [("billing",), ("billing", "urgent"), ("urgent",), ("other",), ("billing",), ("other",)] * 5
    model = SpacyClassifier(epochs=2).fit(TEXTS, labels)
    assert "textcat_multilabel" in model.nlp_.pipe_names
    proba = model.predict_proba(TEXTS[:3])
    assert proba.shape == (3, 3) and ((proba >= 0) & (proba <= 1)).all()


def test_unknown_language_is_a_model_error():
    with pytest.raises(ModelError, match="no language 'xx-nope'"):
        SpacyClassifier(lang="xx-nope").fit(TEXTS, LABELS)
