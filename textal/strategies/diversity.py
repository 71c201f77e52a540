"""Diversity sampling: batches that cover the embedding space instead of piling up in one region."""

from __future__ import annotations

import numpy as np

from textal.strategies.batch import BatchStrategy
from textal.strategies.checks import pool_groups, selectable
from textal.strategies.clustering import cluster_rank_scores, d2_sample, greedy_k_center
from textal.strategies.cold_start import DEFAULT_CLUSTERS
from textal.strategies.picking import top_distinct
from textal.strategies.registry import Pool, StrategyError, register
from textal.strategies.uncertainty import pool_proba


@register("kmeans.v1")
class KMeansSampling(BatchStrategy):
    """k-means over the pool's embeddings with one cluster per pick; the member nearest each centroid.

    Scores rank every item within its cluster (1 for the nearest member, 1/2 for the next, ...),
    so ordering by score walks round the clusters. k-means is fitted on at most ``max_fit``
    selectable items drawn at random, then every item is assigned. ``scores`` alone (no batch
    size) uses ``n_clusters`` clusters (default 50) and a fixed seed.
    """

    description = "Diversity: k-means over embeddings, the member nearest each centroid (one per cluster)."
    needs = frozenset({"embeddings"})

    def __init__(self, random_fraction: float = 0.1, n_clusters: int | None = None, max_fit: int = 10_000) -> None:
        super().__init__(random_fraction)
        if n_clusters is not None and (not isinstance(n_clusters, int) or n_clusters < 1):
            raise StrategyError(f"n_clusters must be a positive whole number, not {n_clusters!r}")
        if not isinstance(max_fit, int) or max_fit < 1:
            raise StrategyError(f"max_fit must be a positive whole number, not {max_fit!r}")
        self.n_clusters = n_clusters
        self.max_fit = max_fit

    def _cluster_scores(self, pool: Pool, k: int, rng: np.random.Generator, allowed, groups) -> np.ndarray:
        assert pool.embeddings is not None
        return cluster_rank_scores(pool.embeddings, k, rng, allowed, groups=groups, max_fit=self.max_fit)

    def _scores(self, pool: Pool) -> np.ndarray:
        assert pool.embeddings is not None
        size = len(pool.embeddings)
        k = self.n_clusters or DEFAULT_CLUSTERS
        return self._cluster_scores(pool, k, np.random.default_rng(0), selectable(pool, size), pool_groups(pool, size))

    def _pick(self, pool, n, allowed, groups, rng):
        scores = self._cluster_scores(pool, max(n, 1), rng, allowed, groups)
        return top_distinct(scores, n, allowed, groups, rng), scores


@register("coreset.v1")
class Coreset(BatchStrategy):
    """Greedy k-center (Sener & Savarese): each pick is the item farthest from everything labelled or picked.

    Scores are each item's distance to its nearest labelled item (its coverage gap); before any
    label, to the most central item, which is also the first pick. Reads ``labelled_embeddings``.
    """

    description = "Diversity: greedy k-center, each pick farthest from all labelled and picked items."
    needs = frozenset({"embeddings"})

    def _scores(self, pool: Pool) -> np.ndarray:
        assert pool.embeddings is not None
        size = len(pool.embeddings)
        _, gap = greedy_k_center(
            pool.embeddings, 0, selectable(pool, size), pool.labelled_embeddings, pool_groups(pool, size)
        )
        return gap

    def _pick(self, pool, n, allowed, groups, rng):
        picks, gap = greedy_k_center(pool.embeddings, n, allowed, pool.labelled_embeddings, groups)
        return np.asarray(picks[:n], dtype=np.int64), gap


@register("badge.v1")
class Badge(BatchStrategy):
    """BADGE (Ash et al.): k-means++ seeding over gradient embeddings.

    The gradient embedding of an item is (p - y_hat) (x) x: the last-layer loss gradient were the
    predicted label y_hat true (multi-label: y_hat = p > 0.5 per label). Its length grows with
    uncertainty and its direction with the item's features, so D^2 sampling picks items that are
    both uncertain and different. Distances are computed from the factors
    (||g_i - g_j||^2 = |a_i|^2|x_i|^2 + |a_j|^2|x_j|^2 - 2 (a_i.a_j)(x_i.x_j)), never forming the
    k x d vectors. Scores are the gradient lengths.
    """

    description = "Uncertainty + diversity: k-means++ over gradient embeddings (BADGE)."
    needs = frozenset({"proba", "embeddings"})
    cold_start = True

    def _missing(self, pool: Pool) -> list[str]:
        missing = [] if pool.proba is not None or pool.committee is not None else ["proba"]
        return missing + ([] if pool.embeddings is not None else ["embeddings"])

    def _factors(self, pool: Pool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = pool_proba(pool)
        if pool.multi_label:
            a = p - (p > 0.5)
        else:
            a = p.copy()
            a[np.arange(len(p)), p.argmax(axis=1)] -= 1.0
        x = pool.embeddings
        assert x is not None
        g2 = np.einsum("ij,ij->i", a, a, dtype=np.float64) * np.einsum("ij,ij->i", x, x, dtype=np.float64)
        return a, x, g2

    def _scores(self, pool: Pool) -> np.ndarray:
        return np.sqrt(self._factors(pool)[2])

    def _pick(self, pool, n, allowed, groups, rng):
        a, x, g2 = self._factors(pool)
        scores = np.sqrt(g2)
        if n <= 0:
            return np.zeros(0, dtype=np.int64), scores

        def dist(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
            cross = (a[rows] @ a[centres].T) * (x[rows] @ x[centres].T)
            return np.maximum(g2[rows, None] + g2[None, centres] - 2.0 * cross, 0.0)

        first = top_distinct(scores, 1, allowed, groups, rng)
        picks = d2_sample(len(scores), n, dist, rng, int(first[0]), allowed, groups=groups)
        return np.asarray(picks, dtype=np.int64), scores
