"""Cold start: with no labels yet there is no model to be unsure, so the first batch covers the pool.

Coverage-first means k-means over the pretrained encoder's embeddings with one cluster per pick,
taking the member nearest each centroid: every region of the pool gets asked about once, where a
random first batch would sample the big regions again and again and miss the small ones.
"""

from __future__ import annotations

import numpy as np

from textal.strategies.clustering import cluster_rank_scores
from textal.strategies.picking import top_distinct
from textal.strategies.registry import Pool

DEFAULT_CLUSTERS = 50  # clusters behind the stand-alone ordering (``scores`` without a batch size)


def cold_start_scores(
    pool: Pool,
    size: int,
    k: int | None,
    rng: np.random.Generator,
    allowed: np.ndarray,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Coverage ordering: 1 for the item nearest each of ``k`` centroids, 1/2 for the next, ..."""
    assert pool.embeddings is not None
    k = DEFAULT_CLUSTERS if k is None else k
    return cluster_rank_scores(pool.embeddings, min(k, size), rng, allowed, groups=groups)


def cold_start_pick(
    pool: Pool, size: int, n: int, allowed: np.ndarray, groups: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` items, one per k-means cluster (k = n), and the coverage scores behind them."""
    scores = cold_start_scores(pool, size, max(n, 1), rng, allowed, groups)
    return top_distinct(scores, n, allowed, groups, rng), scores
