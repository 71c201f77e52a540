"""Uncertainty sampling: ask about the items the current model is least sure of.

Each reads ``Pool.proba`` (or, when only a committee is given, the committee's mean). For
multi-label pools the per-label figures are aggregated as ``textal.strategies.measures`` states:
least confidence averages over labels, margin takes the least sure label, entropy averages the
per-label binary entropies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from textal.strategies import measures
from textal.strategies.batch import BatchStrategy
from textal.strategies.registry import Pool, register


def pool_proba(pool: Pool) -> np.ndarray:
    """The pool's model probabilities, or the committee's consensus when only that is given."""
    if pool.proba is not None:
        return pool.proba
    assert pool.committee is not None
    return measures.consensus(pool.committee)


class UncertaintyStrategy(BatchStrategy):
    """Top-n by an uncertainty measure of the model's probabilities."""

    needs = frozenset({"proba"})
    cold_start = True
    measure: ClassVar[Callable[..., np.ndarray]]

    def _missing(self, pool: Pool) -> list[str]:
        return [] if pool.proba is not None or pool.committee is not None else ["proba"]

    def _scores(self, pool: Pool) -> np.ndarray:
        return type(self).measure(pool_proba(pool), pool.multi_label)


@register("least_confidence.v1")
class LeastConfidence(UncertaintyStrategy):
    description = "Uncertainty: 1 - probability of the predicted class (multi-label: mean over labels)."
    measure = staticmethod(measures.least_confidence)


@register("margin.v1")
class Margin(UncertaintyStrategy):
    description = (
        "Uncertainty, breaking ties: smallest gap between the two most likely classes (multi-label: least sure label)."
    )
    measure = staticmethod(measures.margin)


@register("entropy.v1")
class Entropy(UncertaintyStrategy):
    description = "Uncertainty: normalised entropy of the predicted distribution (multi-label: mean binary entropy)."
    measure = staticmethod(measures.entropy)
