"""Hybrid (uncertain, then diverse) and the committee strategies' weighting."""

from __future__ import annotations

import numpy as np
import pytest

from textal.strategies import Pool, StrategyError, get_strategy, measures
from textal.strategies.disagreement import rank_within_predicted_class


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
    np.testing.assert_allclose(hybrid.scores(pool), get_strategy("vote_entropy.v1").scores(pool))
    pool.committee = None
    with pytest.raises(StrategyError, match="needs committee"):
        hybrid.select(pool, 3, np.random.default_rng(0))


@pytest.mark.parametrize(
    "params, message", [({"measure": "vibes"}, "measure"), ({"factor": 0.5}, "factor"), ({"factor": "x"}, "factor")]
)
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


def test_consensus_weighting_multiplies_the_plain_dispute_by_consensus_uncertainty():
    pool = committee_pool()
    weighted = get_strategy("kl_consensus.v1", weighting="consensus").scores(pool)
    plain = get_strategy("kl_consensus.v1", weighting="none").scores(pool)
    unsure = measures.margin(pool.committee.mean(axis=0))
    np.testing.assert_allclose(weighted, plain * unsure)
    sel = get_strategy("kl_consensus.v1", random_fraction=0).select(pool, 4, np.random.default_rng(0))
    assert sel.indices.tolist()[-1] == 0


def test_rank_within_predicted_class_gives_percentiles_per_class_and_keeps_zero():
    values = np.array([0.1, 0.5, 0.3, 0.0, 0.9])
    consensus = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 1.0]])
    np.testing.assert_allclose(rank_within_predicted_class(values, consensus, False), [0.5, 1.0, 2 / 3, 0.0, 1.0])


@pytest.mark.parametrize("name", ["vote_entropy.v1", "kl_consensus.v1"])
def test_class_ranking_stops_one_loud_class_from_filling_the_batch(name):
    # class 0's items are disputed far more loudly than the other classes' items, as happens to a
    # class that already has several labels under bootstrap resampling: for vote entropy the votes
    # split 2/1/1 instead of 3/1; for KL the same 3/1 split is made with far more confident members
    rng = np.random.default_rng(0)
    k, per = 5, 40
    committee = np.zeros((4, k * per, k))
    for i in range(k * per):
        c = i // per
        if name == "vote_entropy.v1":
            votes, low, high = ([0, 0, 1, 2] if c == 0 else [c, c, c, (c + 1) % k]), 0.6, 0.8
        else:
            votes, (low, high) = [c, c, c, (c + 1) % k], ((0.9, 0.97) if c == 0 else (0.35, 0.45))
        for m, v in enumerate(votes):
            strength = rng.uniform(low, high)
            committee[m, i] = (1 - strength) / (k - 1)
            committee[m, i, v] = strength
    pool = Pool(committee=committee)
    plain = get_strategy(name, weighting="none", random_fraction=0).select(pool, 10, np.random.default_rng(0))
    ranked = get_strategy(name, random_fraction=0).select(pool, 10, np.random.default_rng(0))
    predicted = pool.committee.mean(axis=0).argmax(axis=1)
    assert set(predicted[plain.indices].tolist()) == {0}
    assert len(set(predicted[ranked.indices].tolist())) >= 3


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
