"""Hybrid: the most uncertain (or disputed) items first, then a diverse batch among them.

After Zhdanov (2019), "Diverse mini-batch active learning": the top ``factor x n`` items by an
informativeness measure are clustered by k-means weighted by that informativeness into n
clusters, and the member nearest each centroid is asked. A large factor leans to diversity, a
factor of 1 is plain uncertainty sampling. Scores are the measure's: margin (default), entropy or
least confidence of the model's probabilities, or the score of the committee strategy
(``vote_entropy``, ``kl_consensus``) as ``textal.strategies.disagreement`` computes it.
"""

from __future__ import annotations

import math

import numpy as np

from textal.strategies import measures
from textal.strategies.batch import BatchStrategy
from textal.strategies.clustering import cluster_rank_scores
from textal.strategies.disagreement import KLConsensus, VoteEntropy
from textal.strategies.picking import top_distinct
from textal.strategies.registry import Pool, StrategyError, register
from textal.strategies.uncertainty import pool_proba

HYBRID_MEASURES = ("margin", "entropy", "least_confidence", "vote_entropy", "kl_consensus")


@register("hybrid.v1")
class Hybrid(BatchStrategy):
    """Top ``factor x n`` by ``measure``, then one item per cluster of an informativeness-weighted k-means."""

    description = (
        "Uncertainty then diversity: top 10n by margin, weighted k-means into n clusters, nearest each centroid."
    )
    needs = frozenset({"proba", "embeddings"})  # committee instead of proba for the committee measures
    cold_start = True

    def __init__(self, random_fraction: float = 0.1, measure: str = "margin", factor: float = 10.0) -> None:
        super().__init__(random_fraction)
        self.measure = check_measure(measure)
        self.factor = check_factor(factor)

    def _missing(self, pool: Pool) -> list[str]:
        missing = [] if pool.embeddings is not None else ["embeddings"]
        if self.measure in measures.COMMITTEE_MEASURES:
            return missing + ([] if pool.committee is not None else ["committee"])
        return missing + ([] if pool.proba is not None or pool.committee is not None else ["proba"])

    def _scores(self, pool: Pool) -> np.ndarray:
        if self.measure in measures.COMMITTEE_MEASURES:
            # the committee strategy's own score: class-ranked dispute x consensus uncertainty
            committee_strategy = VoteEntropy() if self.measure == "vote_entropy" else KLConsensus()
            return committee_strategy._scores(pool)
        return measures.MEASURES[self.measure](pool_proba(pool), pool.multi_label)

    def _pick(self, pool, n, allowed, groups, rng):
        return self._pick_among_top(pool, n, allowed, groups, rng, self.factor)

    def _pick_among_top(self, pool, n, allowed, groups, rng, factor: float):
        """The batch from the top ``factor x n`` items: one per informativeness-weighted k-means cluster."""
        scores = self._scores(pool)
        if n <= 0:
            return np.zeros(0, dtype=np.int64), scores
        candidates = top_distinct(scores, max(n, math.ceil(factor * n)), allowed, groups, rng)
        if len(candidates) <= n:
            return candidates, scores
        informative = scores[candidates]
        weights = informative + 1e-6 * max(float(informative.max()), 1e-12)
        ranked = cluster_rank_scores(
            pool.embeddings[candidates],
            n,
            rng,
            np.ones(len(candidates), dtype=bool),
            weights=weights,
            groups=groups[candidates],
        )
        local = top_distinct(ranked, n, np.ones(len(candidates), dtype=bool), groups[candidates], rng)
        return candidates[local], scores


def check_measure(measure: str) -> str:
    """``measure`` if hybrid strategies know it, else a StrategyError."""
    if measure not in HYBRID_MEASURES:
        raise StrategyError(f"measure must be one of {', '.join(HYBRID_MEASURES)}, not {measure!r}")
    return measure


def check_factor(factor: float) -> float:
    """``factor`` as a float >= 1, else a StrategyError."""
    try:
        factor = float(factor)
    except (TypeError, ValueError):
        factor = float("nan")
    if not factor >= 1.0:
        raise StrategyError(f"factor must be a number >= 1, not {factor!r}")
    return factor
