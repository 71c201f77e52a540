"""Informativeness on one absolute scale, and a pool ranked by it.

Label Studio compares scores across separate requests and with the scores the worker pushes, and
``textal score`` prints the same figure, so the map from a strategy's raw score to [0, 1] must not
depend on the batch:

- Strategies that read only each item's probabilities (entropy, margin, least confidence, ...) are
  scaled by the two extremes for k labels: a one-hot row (least informative) maps to 0 and the
  uniform row (most informative; 0.5 everywhere for multi-label) maps to 1. For entropy this is
  exactly H / log k. The bounds depend only on the strategy and k, so they are absolute.
- Other strategies (committee, diversity, hybrid) have no known bound: their raw score u goes
  through the fixed monotone map 0.5 * (1 + u / (1 + |u|)), which keeps the order across calls.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from textal.errors import TextalError
from textal.strategies import Pool, Strategy, get_strategy

# Pool fields that one batch of texts can fill without the rest of the pool.
PER_BATCH_FIELDS = frozenset({"proba", "embeddings", "texts", "multi_label", "excluded"})
_PER_ITEM_FIELDS = frozenset({"proba", "multi_label", "excluded"})


def squash(raw: np.ndarray) -> np.ndarray:
    """Fixed monotone map of any real score onto (0, 1)."""
    raw = np.asarray(raw, dtype=np.float64)
    return 0.5 * (1.0 + raw / (1.0 + np.abs(raw)))


def finite(raw: np.ndarray) -> np.ndarray:
    """Raw strategy scores with NaN and infinities replaced by finite values."""
    return np.nan_to_num(np.asarray(raw, dtype=np.float64), nan=0.0, posinf=1e6, neginf=-1e6)


class Scorer:
    """One strategy's informativeness on the absolute [0, 1] scale; thread-safe, build once per strategy."""

    def __init__(self, name: str, strategy: Strategy | None = None) -> None:
        """``name`` is looked up in the strategy registry; ``strategy`` (an instance) is used as it is."""
        self.strategy: Strategy = strategy if strategy is not None else get_strategy(name)
        self.name = self.strategy.name or name
        self.needs = frozenset(self.strategy.needs)
        self.per_item = "proba" in self.needs and self.needs <= _PER_ITEM_FIELDS
        self._bounds: dict[tuple[int, bool], tuple[float, float] | None] = {}
        self._lock = threading.Lock()

    @property
    def per_batch(self) -> bool:
        """True when a batch of texts alone (no committee, no labelled set) is enough to score it."""
        return self.needs <= PER_BATCH_FIELDS

    def require_per_batch(self) -> Scorer:
        """Self, or a TextalError naming what the strategy needs beyond one batch of texts."""
        missing = self.needs - PER_BATCH_FIELDS
        if missing:
            raise TextalError(
                f"strategy {self.name!r} needs {', '.join(sorted(missing))}, which one batch of texts cannot provide; "
                "choose a strategy that reads probabilities or embeddings"
            )
        return self

    def informativeness(
        self,
        proba: np.ndarray,
        multi_label: bool,
        embeddings: np.ndarray | None = None,
        texts: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Informativeness in [0, 1] per row of one batch, higher = more informative, comparable across calls."""
        proba = np.asarray(proba, dtype=np.float64)
        return self.scale(self._raw(proba, multi_label, embeddings, texts), proba.shape[1], multi_label)

    def scale(self, raw: np.ndarray, k: int, multi_label: bool) -> np.ndarray:
        """Raw scores of this strategy (k labels) mapped onto the absolute [0, 1] scale."""
        raw = finite(raw)
        bounds = self._range(k, multi_label) if self.per_item else None
        if bounds is None:
            return np.clip(squash(raw), 0.0, 1.0)
        lo, hi = bounds
        return np.clip((raw - lo) / (hi - lo), 0.0, 1.0)

    def _raw(self, proba, multi_label, embeddings, texts) -> np.ndarray:
        pool = Pool(
            proba=proba,
            embeddings=embeddings if "embeddings" in self.needs else None,
            texts=list(texts) if texts is not None and "texts" in self.needs else None,
            multi_label=multi_label,
        )
        raw = np.asarray(self.strategy.scores(pool), dtype=np.float64).reshape(-1)
        if len(raw) != len(proba):
            raise TextalError(f"strategy {self.name!r} returned {len(raw)} scores for {len(proba)} items")
        return finite(raw)

    def _range(self, k: int, multi_label: bool) -> tuple[float, float] | None:
        """(least, most) informativeness the strategy gives for k labels, from the extreme rows."""
        key = (k, multi_label)
        with self._lock:
            if key in self._bounds:
                return self._bounds[key]
        if k < 1 or (k < 2 and not multi_label):
            bounds = None
        else:
            certain = np.zeros((1, k))
            certain[0, 0] = 1.0
            uniform = np.full((1, k), 0.5 if multi_label else 1.0 / k)
            lo = float(self._raw(certain, multi_label, None, None)[0])
            hi = float(self._raw(uniform, multi_label, None, None)[0])
            bounds = (lo, hi) if hi - lo > 1e-12 else None
        with self._lock:
            self._bounds[key] = bounds
        return bounds
