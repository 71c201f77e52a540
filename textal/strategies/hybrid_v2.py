"""Hybrid with a schedule: diversity while the model knows little per class, uncertainty after.

``hybrid.v1`` takes the top ``factor x n`` items by margin and clusters them into n groups; the
factor sets the balance between diversity (large) and uncertainty (small). No single factor is
best: on a validation split of BANKING77's training data (77 classes; protocol seed 100, batch
100), a factor of 30 led up to ~8 labels per class and a factor of 3 from ~20 labels per class
on, with 10 between. The schedule reads the labels per class off the pool, so it adapts to the
number of classes: with 2 classes (SMS spam) it is past the early stage after 16 labels, and it
scored the same as hybrid.v1 there.
"""

from __future__ import annotations

import numpy as np

from textal.strategies.batch import BatchStrategy
from textal.strategies.hybrid_v1 import Hybrid, check_factor, check_measure
from textal.strategies.registry import Pool, StrategyError, register


@register("hybrid.v2")
class ScheduledHybrid(Hybrid):
    """hybrid.v1 whose factor falls as labels per class grow: ``factors[i]`` below ``per_class[i]``.

    The factor is chosen for each pool as it is selected from; the strategy keeps no state between calls.
    """

    description = "hybrid.v1 scheduled: top 30n, 10n, then 3n by margin as labels per class pass 8 and 20."

    def __init__(
        self,
        random_fraction: float = 0.1,
        measure: str = "margin",
        factors: tuple[float, ...] = (30.0, 10.0, 3.0),
        per_class: tuple[float, ...] = (8.0, 20.0),
    ) -> None:
        factors, per_class = tuple(float(f) for f in factors), tuple(float(p) for p in per_class)
        if len(factors) != len(per_class) + 1:
            raise StrategyError("factors needs exactly one more entry than per_class")
        if list(per_class) != sorted(per_class):
            raise StrategyError("per_class thresholds must increase")
        BatchStrategy.__init__(self, random_fraction)
        self.measure = check_measure(measure)
        self.factors = tuple(check_factor(f) for f in factors)  # each must be valid for hybrid.v1 too
        self.per_class = per_class

    def factor_for(self, pool: Pool) -> float:
        """The factor for this pool's labels per class (``pool.trained_on`` counts for a model trained elsewhere)."""
        if pool.proba is not None:
            width = pool.proba.shape[1]
        else:
            assert pool.committee is not None
            width = pool.committee.shape[2]
        labelled = 0 if pool.labelled_embeddings is None else len(pool.labelled_embeddings)
        if pool.trained_on is not None:
            labelled = max(labelled, int(pool.trained_on))
        stage = int(np.searchsorted(self.per_class, labelled / max(width, 1), side="right"))
        return self.factors[stage]

    def _pick(self, pool, n, allowed, groups, rng):
        return self._pick_among_top(pool, n, allowed, groups, rng, self.factor_for(pool))
