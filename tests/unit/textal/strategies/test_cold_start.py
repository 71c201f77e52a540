"""Cold start: with no model yet, the first batch covers the pool instead of sampling it at random."""

from __future__ import annotations

import numpy as np
import pytest

from textal.strategies import Pool, get_strategy

COLD = ["least_confidence.v1", "margin.v1", "entropy.v1", "vote_entropy.v1", "kl_consensus.v1", "badge.v1", "hybrid.v1"]


@pytest.mark.parametrize("name", COLD)
def test_without_probabilities_the_first_batch_takes_one_item_from_every_region(name, blob_factory):
    # one big region and four small ones: a random batch of 5 would mostly hit the big one
    X, region = blob_factory([400, 8, 8, 8, 8])
    pool = Pool(embeddings=X)
    for seed in range(3):
        sel = get_strategy(name, random_fraction=0).select(pool, 5, np.random.default_rng(seed))
        assert sorted(region[sel.indices].tolist()) == [0, 1, 2, 3, 4]


def test_the_cold_start_picks_the_most_typical_member_of_each_region(blob_factory):
    X, region = blob_factory([50, 50])
    X[0] = X[1:50].mean(axis=0)  # a member sitting exactly on its region's centre
    sel = get_strategy("entropy.v1", random_fraction=0).select(Pool(embeddings=X), 2, np.random.default_rng(0))
    assert 0 in sel.indices.tolist()


def test_cold_start_respects_excluded_items_and_scores_cover_the_pool(blob_factory):
    X, region = blob_factory([30, 30, 30])
    excluded = region == 2
    sel = get_strategy("margin.v1", random_fraction=0).select(Pool(embeddings=X, excluded=excluded), 3, 0)
    assert not excluded[sel.indices].any() and len(sel.indices) == 3
    assert sel.scores.shape == (90,)


def test_cold_start_scores_alone_put_one_typical_item_per_cluster_first(blob_factory):
    # scores() has no batch size: it orders by 50 clusters, the nearest member of each scoring above 1/2
    X, region = blob_factory([200, 200, 10])
    scores = get_strategy("entropy.v1").scores(Pool(embeddings=X))
    first = np.flatnonzero(scores > 0.5)
    assert len(first) == 50
    assert set(region[first].tolist()) == {0, 1, 2}
