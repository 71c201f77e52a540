"""Simulation learners that refit a text classifier each round (--model linear / transformer)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.spam_texts import spam_split
from textal.errors import TextalError
from textal.loop.learner_kinds import make_learner
from textal.loop.learners import ClassifierLearner
from textal.loop.simulate import SimulationSettings, simulate


@pytest.fixture
def split():
    return spam_split(8)


def test_linear_learner_runs_a_simulation_round_by_round(split):
    train, test = split
    learner = ClassifierLearner("linear", train.texts, test.texts, ["ham", "spam"], params={"embed_dim": 4})
    settings = SimulationSettings(strategies=["margin", "kmeans"], seed_size=4, batch=4, budget=12, repeats=1)
    result = simulate(learner, train, test, settings)
    assert [r.labels for r in result.rounds if r.strategy == "kmeans"] == [4, 8, 12]
    assert learner.embeddings().shape == (16, 4)


def test_linear_learner_has_no_committee_and_says_so(split):
    train, test = split
    learner = ClassifierLearner("linear", train.texts, test.texts, ["ham", "spam"], params={"embed_dim": 4})
    learner.fit(np.arange(6), learner.encode(train.labels[:6]))
    with pytest.raises(TextalError, match="no committee"):
        learner.committee()


def test_transformer_learner_fine_tunes_and_gives_an_mc_dropout_committee(split, tiny_bert_dir):
    train, test = split
    learner = ClassifierLearner(
        "transformer",
        train.texts,
        test.texts,
        ["ham", "spam"],
        params={"model": str(tiny_bert_dir), "epochs": 1, "min_steps": 1, "seed": 0},
        mc_passes=3,
    )
    idx = np.arange(len(train.texts))
    learner.fit(idx, learner.encode(train.labels))
    assert learner.proba_pool().shape == (16, 2)
    assert learner.proba_test().shape == (4, 2)
    assert learner.committee().shape == (3, 16, 2)


@pytest.mark.parametrize("model", ["spacy", "transformer"])
def test_class_weights_are_refused_for_models_without_a_logistic_head(model):
    with pytest.raises(TextalError, match=f"--class-weight applies to embed-head and linear, not {model}"):
        make_learner(model, ["a b"], ["c d"], ["x", "y"], class_weight="balanced")


def test_a_linear_learner_weighs_classes_as_asked_and_by_default_as_the_worker():
    weighted = make_learner("linear", ["a b", "c d"], ["e"], ["x", "y"])
    plain = make_learner("linear", ["a b", "c d"], ["e"], ["x", "y"], class_weight="none")
    assert "'class_weight': 'balanced'" in str(weighted.describe()) and "'class_weight': None" in str(plain.describe())


def test_a_mixed_committee_votes_with_one_member_per_kind_and_drives_a_committee_strategy(split):
    train, test = split
    learner = make_learner("linear", train.texts, test.texts, ["ham", "spam"], committee="mixed")
    learner.kinds = ("linear", "spacy")  # two unlike members, no transformer needed
    learner.fit(np.arange(8), learner.encode(train.labels[:8]))
    votes = learner.committee()
    assert votes.shape == (2, 16, 2)
    assert np.allclose(votes.sum(axis=2), 1.0)
    settings = SimulationSettings(strategies=["vote_entropy"], seed_size=4, batch=4, budget=8, repeats=1)
    result = simulate(learner, train, test, settings)
    assert [r.labels for r in result.rounds] == [4, 8]
    assert result.info["model"]["committee"] == "mixed: linear, spacy"


@pytest.mark.parametrize(
    ("model", "committee", "needs"),
    [("linear", "bootstrap", "embed-head or two-tier"), ("embed-head", "mc-dropout", "transformer")],
)
def test_a_committee_the_model_cannot_have_is_refused_before_any_text_is_embedded(model, committee, needs):
    with pytest.raises(TextalError, match=f"--committee {committee} needs --model {needs}, not {model}"):
        make_learner(model, ["a b"], ["c d"], ["x", "y"], committee=committee)
