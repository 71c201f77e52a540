"""Random sampling: the baseline every other strategy is measured against."""

from __future__ import annotations

import numpy as np

from textal.strategies.batch import BatchStrategy
from textal.strategies.registry import Pool, register


@register("random.v1")
class RandomSampling(BatchStrategy):
    """Uniform picks among the selectable items, still one per duplicate group; all scores are 0."""

    description = "Baseline: uniform random picks (no item is more informative than another)."

    def _scores(self, pool: Pool) -> np.ndarray:
        return np.zeros(len(pool))

    def _pick(self, pool, n, allowed, groups, rng):
        return np.zeros(0, dtype=np.int64), self._scores(pool)
