"""k-means, core-set and BADGE batches spread over the pool."""

from __future__ import annotations

import numpy as np
import pytest

from textal.strategies import Pool, StrategyError, get_strategy


def test_kmeans_takes_one_item_per_region_however_small(blob_factory):
    X, region = blob_factory([300, 6, 6, 40])
    sel = get_strategy("kmeans.v1", random_fraction=0).select(Pool(embeddings=X), 4, np.random.default_rng(0))
    assert sorted(region[sel.indices].tolist()) == [0, 1, 2, 3]


def test_kmeans_refuses_nonsense_settings():
    with pytest.raises(StrategyError, match="n_clusters"):
        get_strategy("kmeans.v1", n_clusters=0)
    with pytest.raises(StrategyError, match="max_fit"):
        get_strategy("kmeans.v1", max_fit=-3)


def test_coreset_asks_first_about_the_regions_farthest_from_the_labelled_items(blob_factory):
    X, region = blob_factory([50, 50, 50, 50])
    labelled = X[region == 0][:3]
    pool = Pool(embeddings=X, labelled_embeddings=labelled, excluded=region == 0)
    sel = get_strategy("coreset.v1", random_fraction=0).select(pool, 3, np.random.default_rng(0))
    assert sorted(region[sel.indices].tolist()) == [1, 2, 3]
    gap = np.sqrt(((X[:, None] - labelled[None]) ** 2).sum(-1).min(axis=1))
    np.testing.assert_allclose(sel.scores, gap, atol=1e-6)


def test_badge_starts_from_the_largest_gradient_and_spreads_over_regions(blob_factory):
    X, region = blob_factory([40, 40, 40])
    proba = np.full((120, 2), 0.5)  # equally unsure everywhere: the direction decides
    proba[5] = [0.52, 0.48]
    proba[:5] = [0.99, 0.01]
    pool = Pool(proba=proba, embeddings=X)
    badge = get_strategy("badge.v1", random_fraction=0)
    sel = badge.select(pool, 3, np.random.default_rng(0))
    assert sorted(region[sel.indices].tolist()) == [0, 1, 2]
    scores = badge.scores(pool)
    assert scores[:5].max() < scores[5] < scores[6:].min()


def test_badge_on_a_pool_the_model_is_sure_of_still_fills_the_batch(blob_factory):
    X, _ = blob_factory([20, 20])
    proba = np.zeros((40, 3))
    proba[:, 1] = 1.0
    sel = get_strategy("badge.v1").select(Pool(proba=proba, embeddings=X), 7, np.random.default_rng(0))
    assert len(set(sel.indices.tolist())) == 7


def test_badge_multi_label_gradient_is_largest_for_labels_at_one_half():
    X = np.ones((3, 2))
    proba = np.array([[0.5, 0.0], [0.9, 0.1], [0.0, 1.0]])
    scores = get_strategy("badge.v1").scores(Pool(proba=proba, embeddings=X, multi_label=True))
    assert scores[0] > scores[1] > scores[2] == 0.0
