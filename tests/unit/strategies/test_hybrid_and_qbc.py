"""Hybrid (uncertain, then diverse) and the committee strategies' weighting."""

from __future__ import annotations

import numpy as np
import pytest

from textal.strategies import Pool, StrategyError, get_strategy
from textal.strategies import measures


def two_region_pool(blob_factory) -> tuple[Pool, np.ndarray]:
    X, region = blob_factory([100, 100, 100])
    rng = np.random.default_rng(0)
    margin_gap = np.where(region == 2, 0.9, rng.uniform(0.0, 0.3, len(X)))  # region 2 is sure
    p1 = (1 + margin_gap) / 2
    proba = np.stack([p1, 1 - p1], axis=1)
    return Pool(proba=proba, embeddings=X), region


def test_hybrid_picks_only_among_the_most_uncertain_and_spreads_over_their_regions(blob_factory):
    pool, region = two_region_pool(blob_factory)
    n, factor = 10, 5
    margin = get_strategy("margin.v1").scores(pool)
    top = set(np.argsort(-margin)[: n * factor].tolist())
    sel = get_strategy("hybrid.v1", random_fraction=0, factor=factor).select(pool, n, np.random.default_rng(0))
    assert set(sel.indices.tolist()) <= top
    counts = np.bincount(region[sel.indices], minlength=3)
    assert counts[2] == 0 and counts[0] >= 3 and counts[1] >= 3
    np.testing.assert_allclose(sel.scores, margin)


def test_hybrid_with_factor_one_is_plain_uncertainty_sampling(pool_factory):
    pool = pool_factory(80, seed=1, excluded_fraction=0.0)
    hybrid = get_strategy("hybrid.v1", random_fraction=0, factor=1).select(pool, 8, np.random.default_rng(0))
    margin = get_strategy("margin.v1", random_fraction=0).select(pool, 8, np.random.default_rng(0))
    assert set(hybrid.indices.tolist()) == set(margin.indices.tolist())


def test_hybrid_can_rank_by_committee_dispute_and_then_needs_a_committee(pool_factory):
    pool = pool_factory(40, seed=2)
    hybrid = get_strategy("hybrid.v1", measure="vote_entropy")
    np.testing.assert_allclose(hybrid.scores(pool), measures.vote_entropy(pool.committee))
    pool.committee = None
    with pytest.raises(StrategyError, match="needs committee"):
        hybrid.select(pool, 3, np.random.default_rng(0))


@pytest.mark.parametrize("params, message", [({"measure": "vibes"}, "measure"), ({"factor": 0.5}, "factor"), ({"factor": "x"}, "factor")])
def test_hybrid_refuses_nonsense_settings(params, message):
    with pytest.raises(StrategyError, match=message):
        get_strategy("hybrid.v1", **params)


def committee_pool() -> Pool:
    agree_sure = [[0.95, 0.05], [0.9, 0.1], [0.97, 0.03]]
    agree_unsure = [[0.55, 0.45], [0.6, 0.4], [0.52, 0.48]]
    dispute_boundary = [[0.55, 0.45], [0.45, 0.55], [0.6, 0.4]]
    dispute_confident = [[0.99, 0.01], [0.01, 0.99], [0.98, 0.02]]
    committee = np.array([agree_sure, agree_unsure, dispute_boundary, dispute_confident]).transpose(1, 0, 2)
    return Pool(committee=committee)


def test_vote_entropy_puts_boundary_disputes_first_then_undisputed_items_by_consensus_margin():
    sel = get_strategy("vote_entropy.v1", random_fraction=0).select(committee_pool(), 4, np.random.default_rng(0))
    assert sel.indices.tolist() == [2, 3, 1, 0]
    assert sel.scores[0] == sel.scores[1] == 0.0


def test_kl_consensus_weighting_lowers_a_dispute_the_consensus_has_already_settled():
    pool = committee_pool()
    weighted = get_strategy("kl_consensus.v1").scores(pool)
    plain = get_strategy("kl_consensus.v1", weighting="none").scores(pool)
    unsure = measures.margin(pool.committee.mean(axis=0))
    np.testing.assert_allclose(weighted, plain * unsure)
    sel = get_strategy("kl_consensus.v1", random_fraction=0).select(pool, 4, np.random.default_rng(0))
    assert sel.indices.tolist()[-1] == 0


def test_weighting_none_gives_the_plain_figure():
    pool = committee_pool()
    plain = get_strategy("vote_entropy.v1", weighting="none").scores(pool)
    np.testing.assert_allclose(plain, measures.vote_entropy(pool.committee))
    kl = get_strategy("kl_consensus.v1", weighting="none").scores(pool)
    np.testing.assert_allclose(kl, measures.kl_to_consensus(pool.committee))
    assert kl.argmax() == 3  # the confident dispute wins without the weighting


def test_committee_weighting_must_be_known():
    with pytest.raises(StrategyError, match="weighting"):
        get_strategy("vote_entropy.v1", weighting="magic")
