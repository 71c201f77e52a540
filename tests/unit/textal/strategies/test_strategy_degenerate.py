"""Degenerate pools and batch sizes: a defined result or one clear StrategyError, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from textal.errors import TextalError
from textal.strategies import Pool, StrategyError, get_strategy, list_strategies

NAMES = [name for name, _ in list_strategies()]
PROBA_NAMES = ["least_confidence.v1", "margin.v1", "entropy.v1", "badge.v1", "hybrid.v1"]
RNG = np.random.default_rng


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_pool_gives_an_empty_selection(name, pool_factory):
    for pool in (Pool(), pool_factory(0)):
        sel = get_strategy(name).select(pool, 10, RNG(0))
        assert len(sel.indices) == 0 and len(sel.scores) == 0
        assert len(get_strategy(name).scores(pool)) == 0


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_of_zero_selects_nothing_but_still_scores_the_pool(name, pool_factory):
    sel = get_strategy(name).select(pool_factory(25, seed=1), 0, RNG(0))
    assert len(sel.indices) == 0 and sel.scores.shape == (25,)


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_larger_than_the_pool_takes_every_selectable_item(name, pool_factory):
    pool = pool_factory(15, seed=2)
    sel = get_strategy(name).select(pool, 1000, RNG(0))
    assert sorted(sel.indices.tolist()) == np.flatnonzero(~pool.excluded).tolist()


@pytest.mark.parametrize("name", NAMES)
def test_a_pool_with_every_item_excluded_gives_an_empty_batch(name, pool_factory):
    pool = pool_factory(10, seed=3)
    pool.excluded = np.ones(10, dtype=bool)
    assert len(get_strategy(name).select(pool, 5, RNG(0)).indices) == 0


@pytest.mark.parametrize("name", NAMES)
def test_one_class_only_gives_a_defined_batch(name, pool_factory):
    pool = pool_factory(20, k=1, seed=4, excluded_fraction=0.0)
    sel = get_strategy(name).select(pool, 5, RNG(0))
    assert len(sel.indices) == 5 and np.isfinite(sel.scores).all()
    if name in ("least_confidence.v1", "margin.v1", "entropy.v1", "vote_entropy.v1", "kl_consensus.v1"):
        np.testing.assert_array_equal(sel.scores, np.zeros(20))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [-1, 2.5, "3", None, True])
def test_a_batch_size_that_is_not_a_whole_number_from_zero_up_is_refused(name, bad, pool_factory):
    with pytest.raises(StrategyError, match="batch size"):
        get_strategy(name).select(pool_factory(5), bad, RNG(0))


@pytest.mark.parametrize("name", PROBA_NAMES + ["vote_entropy.v1", "kl_consensus.v1"])
@pytest.mark.parametrize(
    "field, damage, message",
    [
        ("proba", lambda p: np.where(np.arange(p.size).reshape(p.shape) == 0, np.nan, p), "NaN"),
        ("proba", lambda p: p * 0.8, "sum to 1"),
        ("proba", lambda p: p - 0.3, r"\[0, 1\]"),
        ("proba", lambda p: p[:, :0], "no classes"),
        ("proba", lambda p: p[0], "2-d"),
        ("proba", lambda p: p[:-1], "disagree on the number of items"),
        ("committee", lambda c: c * 1.5, r"\[0, 1\]|sum to 1"),
        ("committee", lambda c: np.where(np.arange(c.size).reshape(c.shape) == 5, np.inf, c), "infinite"),
        ("committee", lambda c: c[..., :2] / c[..., :2].sum(axis=-1, keepdims=True), "committee has 2 classes"),
        ("embeddings", lambda x: np.where(np.arange(x.size).reshape(x.shape) == 0, np.nan, x), "NaN"),
        ("texts", lambda t: "one string", "not one string"),
        ("excluded", lambda e: np.zeros((3, 3)), "1-d boolean"),
    ],
)
def test_malformed_inputs_are_a_clear_strategy_error(name, field, damage, message, pool_factory):
    pool = pool_factory(12, k=4, seed=5, texts=True)
    setattr(pool, field, damage(getattr(pool, field)))
    with pytest.raises(StrategyError, match=message) as caught:
        get_strategy(name).select(pool, 3, RNG(0))
    assert isinstance(caught.value, TextalError)


def test_multi_label_rows_need_not_sum_to_one_but_must_stay_in_zero_one(pool_factory):
    pool = pool_factory(10, k=3, seed=6, multi_label=True)
    assert pool.proba.sum(axis=1).max() > 1.01
    assert len(get_strategy("entropy.v1").select(pool, 3, RNG(0)).indices) == 3
    pool.proba = pool.proba + 1.0
    with pytest.raises(StrategyError, match=r"\[0, 1\]"):
        get_strategy("entropy.v1").select(pool, 3, RNG(0))


@pytest.mark.parametrize(
    "name, missing, message",
    [
        ("vote_entropy.v1", "committee", "vote_entropy.v1 needs committee probabilities"),
        ("kl_consensus.v1", "committee", "kl_consensus.v1 needs committee probabilities"),
        ("kmeans.v1", "embeddings", "kmeans.v1 needs embeddings"),
        ("coreset.v1", "embeddings", "coreset.v1 needs embeddings"),
        ("badge.v1", "embeddings", "badge.v1 needs embeddings"),
        ("hybrid.v1", "embeddings", "hybrid.v1 needs embeddings"),
    ],
)
def test_a_strategy_missing_its_input_names_what_it_needs(name, missing, message, pool_factory):
    pool = pool_factory(10, seed=7)
    setattr(pool, missing, None)
    with pytest.raises(StrategyError, match=message):
        get_strategy(name).select(pool, 3, RNG(0))


@pytest.mark.parametrize("name", PROBA_NAMES + ["vote_entropy.v1", "kl_consensus.v1"])
def test_no_probabilities_and_no_embeddings_is_an_error_that_mentions_the_cold_start(name):
    pool = Pool(texts=["a", "b", "c"])
    with pytest.raises(StrategyError, match="cold start"):
        get_strategy(name).select(pool, 2, RNG(0))


def test_uncertainty_strategies_fall_back_to_the_committee_consensus(pool_factory):
    pool = pool_factory(15, seed=8)
    consensus = pool.committee.mean(axis=0)
    only_committee = Pool(committee=pool.committee)
    np.testing.assert_allclose(
        get_strategy("margin.v1").scores(only_committee), get_strategy("margin.v1").scores(Pool(proba=consensus))
    )


def test_lists_are_accepted_where_arrays_are_expected():
    pool = Pool(proba=[[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]], excluded=[0, 0, 1])
    sel = get_strategy("margin.v1", random_fraction=0).select(pool, 1, RNG(0))
    assert sel.indices.tolist() == [1]


@pytest.mark.parametrize("name", NAMES)
def test_a_class_with_no_labelled_example_yet_gives_a_defined_batch(name, pool_factory):
    pool = pool_factory(30, k=3, seed=9)
    pool.proba = np.hstack([pool.proba, np.zeros((30, 1))])  # the model never predicts class 4
    pool.committee = np.concatenate([pool.committee, np.zeros((3, 30, 1))], axis=2)
    sel = get_strategy(name).select(pool, 6, RNG(0))
    assert len(sel.indices) == 6 and np.isfinite(sel.scores).all()


@pytest.mark.parametrize("name", ["margin.v1", "least_confidence.v1", "vote_entropy.v1", "kl_consensus.v1"])
def test_an_unseen_class_column_leaves_order_free_measures_unchanged(name, pool_factory):
    pool = pool_factory(30, k=3, seed=10)
    wider = Pool(
        proba=np.hstack([pool.proba, np.zeros((30, 1))]),
        committee=np.concatenate([pool.committee, np.zeros((3, 30, 1))], axis=2),
    )
    np.testing.assert_allclose(get_strategy(name).scores(pool), get_strategy(name).scores(wider), atol=1e-12)
