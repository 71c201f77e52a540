"""The live fast tier: a head refit over embeddings, held-out figures, calibration, pool uncertainty."""

from __future__ import annotations

import numpy as np

from textal.models.classifier import softmax
from textal.training.head_refit import calibration_figures, committee_proba, fit_head, heldout_metrics, pool_uncertainty


def blobs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-1.5, 1, (n, 16)), rng.normal(1.5, 1, (n, 16))]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, ["ham"] * n + ["spam"] * n


def test_a_head_fit_on_embeddings_separates_what_it_was_shown_and_names_its_encoder(tiny_bert_dir):
    X, y = blobs(40)
    model = fit_head(X, y, ["ham", "spam", "other"], False, encoder=str(tiny_bert_dir))
    assert model.labels_ == ["ham", "spam", "other"] and model.model == str(tiny_bert_dir)
    X_test, y_test = blobs(30, seed=1)
    metrics = heldout_metrics(model.predict_proba_embeddings(X_test), y_test, model.labels_, False)
    assert metrics["accuracy"] > 0.9 and metrics["n"] == 60
    assert heldout_metrics(np.zeros((0, 3)), [], model.labels_, False) is None


def test_the_committee_gives_one_probability_table_per_member():
    X, y = blobs(20)
    members = committee_proba(X, y, ["ham", "spam"], False, X[:7], size=3)
    assert members.shape == (3, 7, 2) and np.allclose(members.sum(axis=2), 1.0)


def test_calibration_needs_enough_held_out_labels():
    _, y = blobs(30)
    p = np.column_stack([np.full(60, 0.5), np.full(60, 0.5)])
    assert calibration_figures(p[:10], y[:10], ["ham", "spam"], False) is None
    assert calibration_figures(p, y, ["ham", "spam"], False)["items"] == 60


def test_calibration_softens_an_over_confident_model_and_cuts_its_ece():
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 1.0, (400, 3))
    truth = [rng.choice(3, p=row) for row in softmax(logits)]  # labels drawn from the calibrated probabilities
    classes = ["a", "b", "c"]
    report = calibration_figures(softmax(3.0 * logits), [classes[i] for i in truth], classes, False)  # 3x too sharp
    assert 2.0 < report["temperature"] < 5.0
    assert report["ece_before"] > 0.15 and report["ece_after"] < report["ece_before"] - 0.1
    assert report["nll_after"] < report["nll_before"] - 0.2


def test_pool_uncertainty_gives_both_stopping_verdicts():
    sure = np.tile([[0.99, 0.01]], (50, 1))
    verdicts = pool_uncertainty(sure, False)
    assert verdicts["overall_uncertainty"]["stop"] and verdicts["max_uncertainty"]["stop"]
    assert not pool_uncertainty(np.tile([[0.5, 0.5]], (5, 1)), False)["overall_uncertainty"]["stop"]
    assert pool_uncertainty(np.zeros((0, 2)), False) is None


def test_the_live_head_weighs_classes_so_skewed_labels_do_not_drown_the_rare_one():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(-0.5, 1, (54, 16)), rng.normal(0.5, 1, (6, 16))]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = ["spam"] * 54 + ["ham"] * 6  # what uncertainty sampling under a spam-shy base model asked
    test = np.vstack([rng.normal(-0.5, 1, (200, 16)), rng.normal(0.5, 1, (200, 16))]).astype(np.float32)
    test /= np.linalg.norm(test, axis=1, keepdims=True)
    truth = ["spam"] * 200 + ["ham"] * 200
    weighted = fit_head(X, y, ["ham", "spam"], False, encoder="none")
    plain = fit_head(X, y, ["ham", "spam"], False, encoder="none", class_weight=None)
    f1 = {
        name: heldout_metrics(m.predict_proba_embeddings(test), truth, ["ham", "spam"], False)["macro_f1"]
        for name, m in (("weighted", weighted), ("plain", plain))
    }
    assert f1["weighted"] > f1["plain"] + 0.1, f1
