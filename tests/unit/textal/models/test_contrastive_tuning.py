"""The contrastive full tier on a tiny BERT (tests/conftest.py::tiny_bert_dir), read back through the fast tier's
Encoder as the worker reads it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textal.errors import ModelError
from textal.models.contrastive_tuning import (
    BalancedBatches,
    ContrastiveEncoder,
    label_matrix,
    supervised_contrastive_loss,
)
from textal.models.encoder import Encoder
from textal.training.full_tier import tune_encoder

SPAM = ["win cash prize now", "free money claim now", "urgent reward call now txt stop", "claim your free prize"]
HAM = ["meet for lunch tomorrow", "see you at home later", "thanks love see you tonight", "sorry going to sleep"]
TEXTS = SPAM + HAM
LABELS = ["spam"] * 4 + ["ham"] * 4


def separation(X: np.ndarray) -> float:
    """Mean cosine within a label minus across labels (rows: TEXTS)."""
    sims = X @ X.T
    same = np.equal.outer(LABELS, LABELS) & ~np.eye(len(LABELS), dtype=bool)
    return float(sims[same].mean() - sims[~np.equal.outer(LABELS, LABELS)].mean())


def test_tuning_embeds_texts_sharing_a_label_closer_and_the_saved_folder_reads_back_as_an_encoder(
    tiny_bert_dir, tmp_path
):
    before = Encoder(model=str(tiny_bert_dir)).encode(TEXTS)
    model = ContrastiveEncoder(model=str(tiny_bert_dir), steps=40, batch_size=8, learning_rate=1e-3, seed=0)
    model.fit(TEXTS, LABELS)
    model.save(tmp_path / "tuned")
    after = Encoder(model=str(tmp_path / "tuned")).encode(TEXTS)
    assert separation(after) > separation(before) + 0.1
    assert model.steps_done_ == 40 and model.stopped_ is None
    meta = json.loads((tmp_path / "tuned" / "textal_model.json").read_text())
    assert meta["kind"] == "contrastive-encoder" and meta["steps_done"] == 40
    assert not list((tmp_path / "tuned").glob("*.bin")) and list((tmp_path / "tuned").glob("*.safetensors"))


def test_a_spent_time_budget_stops_tuning_and_says_so(tiny_bert_dir):
    model = ContrastiveEncoder(model=str(tiny_bert_dir), steps=50, batch_size=8, time_budget=0.0).fit(TEXTS, LABELS)
    assert model.steps_done_ == 0
    assert model.stopped_ == "time budget of 0 s spent after 0 of 50 steps"


def test_steps_follow_the_labels_between_the_least_and_the_most():
    model = ContrastiveEncoder(passes=6, batch_size=32, min_steps=30, max_steps=150)
    assert [model.planned_steps(n) for n in (10, 500, 5000)] == [30, 94, 150]
    assert ContrastiveEncoder(steps=7).planned_steps(5000) == 7


def test_tuning_refuses_labels_without_a_pair_and_bad_settings(tiny_bert_dir):
    with pytest.raises(ModelError, match="needs two texts sharing a label"):
        ContrastiveEncoder(model=str(tiny_bert_dir)).fit(["win cash", "see you"], ["spam", "ham"])
    with pytest.raises(ModelError, match="temperature must be positive"):
        ContrastiveEncoder(model=str(tiny_bert_dir), temperature=0).fit(TEXTS, LABELS)
    with pytest.raises(ModelError, match="unknown full tier 'deep': choose contrastive or plain"):
        tune_encoder(TEXTS, LABELS, ["ham", "spam"], False, full_tier="deep")


def test_every_text_of_a_balanced_batch_has_another_of_its_label_there():
    rng = np.random.default_rng(0)
    y = rng.choice(7, size=200, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.04, 0.01])
    members = label_matrix(y, 7, False)
    batches = BalancedBatches(members, 16, np.random.default_rng(1))
    for _ in range(50):
        rows = batches.draw()
        assert len(set(rows.tolist())) == len(rows) <= 16
        counts = np.bincount(y[rows], minlength=7)
        assert all(counts[y[r]] >= 2 for r in rows)


def test_the_loss_is_lower_when_texts_sharing_a_label_point_the_same_way():
    members = torch.as_tensor(label_matrix(np.array([0, 0, 1, 1]), 2, False))
    together = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0]]), dim=1)
    mixed = together[[0, 2, 1, 3]]
    assert supervised_contrastive_loss(together, members, 0.1) < supervised_contrastive_loss(mixed, members, 0.1)


def test_multi_label_texts_sharing_any_label_are_positives():
    members = torch.as_tensor(label_matrix(np.array([[1, 0], [1, 1], [0, 1]]), 2, True))
    emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.7, 0.7], [0.0, 1.0]]), dim=1)
    far = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [-0.7, -0.7], [0.0, 1.0]]), dim=1)
    assert supervised_contrastive_loss(emb, members, 0.1) < supervised_contrastive_loss(far, members, 0.1)


@pytest.mark.parametrize(
    ("asked", "native", "auto_bf16", "runs"),
    [
        ("bf16", True, False, "bf16"),
        ("bf16", False, False, "fp32"),  # no native bf16: emulated bf16 is slower than fp32, so fp32 runs
        ("auto", True, False, "fp32"),  # auto tunes in bf16 only once the side-by-side says so
        ("auto", True, True, "bf16"),
        ("int8", True, False, "fp32"),  # int8 is for predictions
        ("fp32", True, True, "fp32"),
    ],
)
def test_tuning_runs_in_the_precision_asked_where_the_cpu_has_it_and_says_which(
    tiny_bert_dir, tmp_path, monkeypatch, asked, native, auto_bf16, runs
):
    from textal.models import precision_runtime

    monkeypatch.setattr(precision_runtime, "cpu_bf16_flags", lambda: ("avx512_bf16",) if native else ())
    monkeypatch.setattr(precision_runtime, "AUTO_TUNES_IN_BF16", auto_bf16)
    model = ContrastiveEncoder(model=str(tiny_bert_dir), steps=3, batch_size=8, seed=0, precision=asked)
    model.fit(TEXTS, LABELS).save(tmp_path / "tuned")
    assert model.precision_ == runs and all(np.isfinite(model.loss_))
    assert json.loads((tmp_path / "tuned" / "textal_model.json").read_text())["precision"] == runs
    assert next(model.model_.parameters()).dtype == torch.float32  # the weights stay fp32 either way
