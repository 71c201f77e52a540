"""`textal simulate --model two-tier`: the fast tier every round, the worker's fine-tune on its schedule (tiny BERT)."""

from __future__ import annotations

import numpy as np
import pytest

import textal.loop.two_tier as two_tier
from tests.support.spam_texts import spam_split
from textal.errors import TextalError
from textal.loop.learner_kinds import make_learner
from textal.loop.simulate import SimulationSettings, simulate
from textal.loop.two_tier import TwoTierLearner
from textal.models.encoder import Encoder
from textal.models.fine_tune_schedule import fine_tune_due
from textal.training.promotion import Promotion


@pytest.fixture
def split():
    return spam_split(10)


def learner_for(split, tiny_bert_dir, full_every=8, full_tier="contrastive"):
    train, test = split
    enc = Encoder(model=str(tiny_bert_dir))
    return TwoTierLearner(
        train.texts,
        test.texts,
        enc.encode(train.texts),
        enc.encode(test.texts),
        ["ham", "spam"],
        encoder=str(tiny_bert_dir),
        full_every=full_every,
        full_epochs=1,
        full_min_steps=2,
        full_tier=full_tier,
    )


def test_the_worker_rule_fine_tunes_once_every_so_many_new_labels():
    assert not fine_tune_due(7, 0, 8) and fine_tune_due(8, 0, 8) and not fine_tune_due(15, 8, 8)
    assert fine_tune_due(16, 8, 8) and not fine_tune_due(10_000, 0, 0)


def test_each_curve_fine_tunes_on_schedule_then_serves_and_selects_with_the_fine_tuned_encoder(split, tiny_bert_dir):
    train, test = split
    learner = learner_for(split, tiny_bert_dir)
    frozen = learner.embeddings().copy()
    settings = SimulationSettings(
        strategies=["margin", "random"], seed_size=4, batch=4, budget=16, repeats=1, eval_fraction=0.0
    )
    result = simulate(learner, train, test, settings)
    for name in ("margin", "random"):
        served = [(r.labels, r.full_tier_labels) for r in result.rounds if r.strategy == name]
        # Every curve starts on the frozen encoder, then serves the fine-tune made at 8 and at 16 labels.
        assert served == [(4, None), (8, 8), (12, 8), (16, 16)]
    tunes = result.info["fine_tunes"]
    assert [(t["strategy"], t["labels"], t["adopted"]) for t in tunes] == [
        ("margin", 8, True),
        ("margin", 16, True),
        ("random", 8, True),
        ("random", 16, True),
    ]
    assert not np.allclose(learner.embeddings(), frozen)  # the fast tier now sits on the fine-tuned encoder
    assert np.array_equal(learner.pretrained_embeddings(), frozen)  # the cold start still sees the frozen one
    assert result.info["model"]["model"] == "two-tier" and result.info["model"]["full_tier"]["every"] == 8
    assert result.info["model"]["full_tier"]["kind"] == "contrastive"  # the worker's default
    assert all(t["steps"] >= 1 for t in tunes)  # the contrastive tuner's record of its own training


def test_the_plain_full_tier_fine_tunes_end_to_end_when_asked(split, tiny_bert_dir):
    train, test = split
    learner = learner_for(split, tiny_bert_dir, full_tier="plain")
    settings = SimulationSettings(strategies=["margin"], seed_size=4, batch=4, budget=8, repeats=1, eval_fraction=0.0)
    result = simulate(learner, train, test, settings)
    assert result.info["model"]["full_tier"]["kind"] == "plain"
    assert [t["labels"] for t in result.info["fine_tunes"]] == [8] and "steps" not in result.info["fine_tunes"][0]


def test_a_fine_tune_that_loses_on_the_held_out_slice_is_not_adopted_and_waits_for_the_next_checkpoint(
    split, tiny_bert_dir, monkeypatch
):
    train, test = split
    learner = learner_for(split, tiny_bert_dir)
    seen = []

    def refuse(metrics, parent_metrics, **kwargs):
        seen.append((metrics, parent_metrics))
        return Promotion(
            False, "loses to the serving version", "macro_f1", metrics["macro_f1"], parent_metrics["macro_f1"], 0.02
        )

    monkeypatch.setattr(two_tier, "promotion", refuse)
    settings = SimulationSettings(strategies=["margin"], seed_size=4, batch=4, budget=12, repeats=1, eval_fraction=0.2)
    result = simulate(learner, train, test, settings)
    assert [r.full_tier_labels for r in result.rounds] == [None, None, None]
    assert [t["labels"] for t in result.info["fine_tunes"]] == [8]  # 12 is only 4 labels after the rejected one
    metrics, parent = seen[0]
    assert metrics["n"] == parent["n"] == 4  # judged on the held-out slice (20 % of 20), both on the same items


def test_full_every_is_refused_for_a_model_without_a_full_tier(split):
    train, test = split
    with pytest.raises(TextalError, match="--full-every applies to --model two-tier"):
        make_learner("embed-head", train.texts, test.texts, ["ham", "spam"], full_every=100)
    with pytest.raises(TextalError, match="at least 1"):
        make_learner("two-tier", train.texts, test.texts, ["ham", "spam"], full_every=0)
    with pytest.raises(TextalError, match="--full-tier applies to --model two-tier and must be contrastive or plain"):
        make_learner("embed-head", train.texts, test.texts, ["ham", "spam"], full_tier="plain")
    with pytest.raises(TextalError, match="must be contrastive or plain"):
        make_learner("two-tier", train.texts, test.texts, ["ham", "spam"], full_tier="setfit")
