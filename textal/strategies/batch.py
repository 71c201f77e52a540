"""The shared ``select``: checks, cold start, a duplicate-free batch and its share of random picks.

Every concrete strategy only says how to score the pool and how to pick its informed share; this
class does the rest the same way for all of them:

* ``random_fraction`` (default 0.1) of the batch, rounded down, is drawn uniformly at random from
  what remains selectable, to keep the labelled set grounded in the real distribution.
* No two items of one batch share a duplicate group (same text up to ``textal.data.corpus.normalise_text``);
  a batch is therefore ``min(n, number of selectable distinct texts)`` items long.
* Excluded rows (held-out slice, already labelled) are never picked; ``scores`` still cover them.
* Cold start: a strategy that reads model probabilities, given a pool without any (no labels, so
  no model yet) but with embeddings, picks coverage-first instead (``textal.strategies.cold_start``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from textal.strategies.checks import as_rng, check_n, check_pool, check_random_fraction, pool_groups, selectable
from textal.strategies.cold_start import cold_start_pick, cold_start_scores
from textal.strategies.picking import fill_random, top_distinct
from textal.strategies.registry import Pool, Selection, Strategy, StrategyError

FIELD_NAMES = {
    "proba": "model probabilities (Pool.proba)",
    "committee": "committee probabilities (Pool.committee; see textal.models.committee)",
    "embeddings": "embeddings (Pool.embeddings)",
}


class BatchStrategy(Strategy):
    """A strategy with the common batch rules; subclasses give ``_scores`` and ``_pick``."""

    cold_start: ClassVar[bool] = False  # True: falls back to coverage-first without probabilities

    def __init__(self, random_fraction: float = 0.1) -> None:
        self.random_fraction = check_random_fraction(random_fraction)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"

    # -- what subclasses provide -------------------------------------------------------------

    def _scores(self, pool: Pool) -> np.ndarray:
        """Informativeness of every row; the pool is checked and holds what ``needs`` names."""
        raise NotImplementedError

    def _pick(
        self, pool: Pool, n: int, allowed: np.ndarray, groups: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``n`` allowed rows of distinct groups, best first, and the pool's scores."""
        scores = self._scores(pool)
        return top_distinct(scores, n, allowed, groups, rng), scores

    def _missing(self, pool: Pool) -> list[str]:
        return [name for name in sorted(self.needs) if getattr(pool, name) is None]

    # -- the contract --------------------------------------------------------------------------

    def scores(self, pool: Pool) -> np.ndarray:
        """Informativeness of every pool item (n,), higher first."""
        size = check_pool(pool)
        if size == 0:
            return np.zeros(0)
        if self._is_cold(pool):
            return cold_start_scores(pool, size, None, np.random.default_rng(0), selectable(pool, size))
        self._require(pool)
        return self._scores(pool)

    def select(self, pool: Pool, n: int, rng: Any) -> Selection:
        """A batch of ``n`` (or every selectable distinct item when fewer) and the pool's scores."""
        n = check_n(n)
        rng = as_rng(rng)
        size = check_pool(pool)
        if size == 0:
            return Selection(np.zeros(0, dtype=np.int64), np.zeros(0))
        cold = self._is_cold(pool)
        if not cold:
            self._require(pool)
        allowed = selectable(pool, size)
        groups = pool_groups(pool, size)
        take = min(n, len(np.unique(groups[allowed])))
        if take == 0:
            return Selection(np.zeros(0, dtype=np.int64), self.scores(pool))
        n_random = int(take * self.random_fraction)
        n_main = take - n_random
        if cold:
            main, scores = cold_start_pick(pool, size, n_main, allowed, groups, rng)
        else:
            main, scores = self._pick(pool, n_main, allowed, groups, rng)
        batch = fill_random(np.asarray(main, dtype=np.int64)[:n_main], take, allowed, groups, rng)
        return Selection(batch, np.asarray(scores, dtype=np.float64))

    def _is_cold(self, pool: Pool) -> bool:
        if not self.cold_start or pool.proba is not None or pool.committee is not None:
            return False
        if pool.embeddings is None:
            raise StrategyError(
                f"{self.name or type(self).__name__} needs model probabilities; a pool without any "
                "(no labels yet) needs embeddings for the coverage-first cold start"
            )
        return True

    def _require(self, pool: Pool) -> None:
        missing = self._missing(pool)
        if missing:
            what = " and ".join(FIELD_NAMES.get(name, name) for name in missing)
            raise StrategyError(f"{self.name or type(self).__name__} needs {what} in the pool")
