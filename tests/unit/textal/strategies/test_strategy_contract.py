"""Every registered strategy keeps the contract: a valid batch, scores over the whole pool, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textal.strategies import Pool, Selection, StrategyError, get_strategy, list_strategies, resolve_name

NAMES = [name for name, _ in list_strategies()]
FAST = settings(max_examples=12, deadline=None)


def test_the_registry_holds_every_promised_strategy_under_a_versioned_name():
    expected = {
        "least_confidence.v1",
        "margin.v1",
        "entropy.v1",
        "vote_entropy.v1",
        "kl_consensus.v1",
        "kmeans.v1",
        "coreset.v1",
        "badge.v1",
        "hybrid.v1",
        "random.v1",
    }
    assert expected <= set(NAMES)
    assert all(name.rsplit(".v", 1)[1].isdigit() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_strategy_has_a_one_line_description(name):
    description = dict(list_strategies())[name]
    assert description.strip() and "\n" not in description and len(description) < 120


def test_a_bare_name_means_the_newest_version_and_an_unknown_name_is_a_clear_error():
    assert resolve_name("entropy") == "entropy.v1"
    assert get_strategy("margin").name == "margin.v1"
    with pytest.raises(StrategyError, match="unknown strategy 'nope'.*entropy.v1"):
        get_strategy("nope")


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(
    size=st.integers(1, 40),
    k=st.integers(1, 6),
    n=st.integers(0, 50),
    seed=st.integers(0, 2**16),
    multi=st.booleans(),
)
def test_selection_is_unique_inside_the_pool_of_the_asked_size_and_never_excluded(
    pool_factory, name, size, k, n, seed, multi
):
    pool = pool_factory(size, k=k, seed=seed, multi_label=multi)
    selectable = int((~pool.excluded).sum())
    sel = get_strategy(name).select(pool, n, np.random.default_rng(seed))
    assert isinstance(sel, Selection)
    idx = sel.indices
    assert idx.dtype.kind == "i"
    assert len(idx) == min(n, selectable)
    assert len(set(idx.tolist())) == len(idx)
    assert ((idx >= 0) & (idx < size)).all()
    assert not pool.excluded[idx].any()
    assert sel.scores.shape == (size,) and np.isfinite(sel.scores).all()


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(size=st.integers(1, 40), n=st.integers(1, 20), seed=st.integers(0, 2**16))
def test_the_same_seed_gives_the_same_selection(pool_factory, name, size, n, seed):
    a = get_strategy(name).select(pool_factory(size, seed=seed), n, np.random.default_rng(seed))
    b = get_strategy(name).select(pool_factory(size, seed=seed), n, np.random.default_rng(seed))
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.scores, b.scores)


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(size=st.integers(2, 30), k=st.integers(2, 6), seed=st.integers(0, 2**16), multi=st.booleans())
def test_scores_do_not_depend_on_the_order_of_classes(pool_factory, name, size, k, seed, multi):
    pool = pool_factory(size, k=k, seed=seed, multi_label=multi)
    perm = np.random.default_rng(seed).permutation(k)
    shuffled = Pool(
        proba=pool.proba[:, perm],
        embeddings=pool.embeddings,
        committee=pool.committee[:, :, perm],
        excluded=pool.excluded,
        labelled_embeddings=pool.labelled_embeddings,
        multi_label=multi,
    )
    strategy = get_strategy(name)
    np.testing.assert_allclose(strategy.scores(pool), strategy.scores(shuffled), atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_scores_alone_match_the_contract_and_are_deterministic(pool_factory, name):
    pool = pool_factory(30, seed=3)
    a, b = get_strategy(name).scores(pool), get_strategy(name).scores(pool)
    assert a.shape == (30,)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_random_fraction_must_lie_between_zero_and_one(name):
    for bad in (-0.1, 1.5, "lots", None):
        with pytest.raises(StrategyError, match="random_fraction"):
            get_strategy(name, random_fraction=bad)


def test_the_informed_share_comes_first_and_the_random_share_is_rounded_down(pool_factory):
    pool = pool_factory(200, k=5, seed=1, excluded_fraction=0.0)
    order = np.argsort(-get_strategy("margin.v1").scores(pool), kind="stable")
    sel = get_strategy("margin.v1", random_fraction=0.25).select(pool, 10, np.random.default_rng(0))
    # 10 x 0.25 = 2.5 -> 2 random picks; the first 8 are the 8 highest margins
    assert set(sel.indices[:8].tolist()) == set(order[:8].tolist())
    assert len(sel.indices) == 10


def test_random_fraction_one_makes_any_strategy_a_random_draw(pool_factory):
    pool = pool_factory(300, k=5, seed=2, excluded_fraction=0.0)
    top = set(np.argsort(-get_strategy("entropy.v1").scores(pool))[:20].tolist())
    picks = get_strategy("entropy.v1", random_fraction=1.0).select(pool, 20, np.random.default_rng(5)).indices
    assert len(top & set(picks.tolist())) < 10


def test_default_random_fraction_is_a_tenth():
    assert get_strategy("entropy.v1").random_fraction == 0.1


def test_rng_may_be_an_integer_seed_but_not_anything_else(pool_factory):
    pool = pool_factory(20, seed=0)
    a = get_strategy("margin.v1").select(pool, 5, 7)
    b = get_strategy("margin.v1").select(pool, 5, np.random.default_rng(7))
    np.testing.assert_array_equal(a.indices, b.indices)
    with pytest.raises(StrategyError, match="rng"):
        get_strategy("margin.v1").select(pool, 5, "seven")
