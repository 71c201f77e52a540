"""Informativeness under a project's strategy, normalised to [0, 1] the same way for every request.

Label Studio compares ``score`` across separate /predict calls (and with scores the worker pushes),
so the mapping from a strategy's raw informativeness to [0, 1] must not depend on the batch:

- Strategies that read only each item's probabilities (entropy, margin, least confidence, ...) are
  calibrated on the two extremes for k labels: a one-hot row (least informative) maps to 0 and the
  uniform row (most informative; 0.5 everywhere for multi-label) maps to 1. For entropy this is
  exactly H / log k. The bounds depend only on the strategy and k, so they are absolute.
- Other strategies (committee, diversity, hybrid) have no known bound: their raw score u goes
  through the fixed monotone map 0.5 * (1 + u / (1 + |u|)), which keeps the order across requests.

Label Studio shows the LOWEST score first, so a prediction's score is ``1 - informativeness``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence

import numpy as np

from textal.errors import TextalError

log = logging.getLogger("ml_backend.scoring")

# Pool fields the backend can fill from one /predict batch.
PROVIDED = frozenset({"proba", "embeddings", "texts", "multi_label", "excluded"})
_PER_ITEM = frozenset({"proba", "multi_label", "excluded"})
BUILTIN_ENTROPY = "entropy (built-in)"


def _strategies():
    """The strategies registry: ``textal.strategies`` once it registers strategies, else its base."""
    try:
        module = importlib.import_module("textal.strategies")
    except ImportError:
        module = None
    if module is None or not hasattr(module, "get_strategy"):
        module = importlib.import_module("textal.strategies.base")
    return module


def normalised_entropy(proba: np.ndarray, multi_label: bool) -> np.ndarray:
    """Entropy / its maximum: H / log k for one label, mean binary entropy / log 2 for multi-label."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)
    if multi_label:
        q = np.clip(1.0 - p, 1e-12, 1.0)
        h = -(p * np.log(p) + q * np.log(q)) / np.log(2.0)
        return h.mean(axis=1) if h.shape[1] else np.zeros(len(h))
    k = p.shape[1]
    if k < 2:
        return np.zeros(len(p))
    return -(p * np.log(p)).sum(axis=1) / np.log(k)


def squash(raw: np.ndarray) -> np.ndarray:
    """Fixed monotone map of any real score onto (0, 1)."""
    raw = np.asarray(raw, dtype=np.float64)
    return 0.5 * (1.0 + raw / (1.0 + np.abs(raw)))


class Scorer:
    """One strategy, ready to score /predict batches; thread-safe, build once per strategy name."""

    def __init__(self, name: str, strategy=None) -> None:
        """``name`` is looked up in textal's strategy registry; ``strategy`` (an instance) bypasses it."""
        self.requested = name
        try:
            self.strategy = strategy if strategy is not None else _strategies().get_strategy(name)
            self.name = self.strategy.name or name
        except TextalError:
            if name.split(".v")[0] != "entropy":
                raise
            # textal.strategies registers nothing yet: entropy is computed here until it does.
            self.strategy = None
            self.name = BUILTIN_ENTROPY
            log.info("strategy %r is not registered; using the built-in normalised entropy", name)
            return
        missing = set(self.strategy.needs) - PROVIDED
        if missing:
            raise TextalError(
                f"strategy {self.name!r} needs {', '.join(sorted(missing))}, which a /predict batch cannot provide; "
                "choose a strategy that reads probabilities or embeddings"
            )
        self.needs = frozenset(self.strategy.needs)
        self.per_item = "proba" in self.needs and self.needs <= _PER_ITEM
        self._bounds: dict[tuple[int, bool], tuple[float, float] | None] = {}
        self._lock = threading.Lock()

    @property
    def needs_embeddings(self) -> bool:
        return self.strategy is not None and "embeddings" in self.needs

    def informativeness(
        self,
        proba: np.ndarray,
        multi_label: bool,
        embeddings: np.ndarray | None = None,
        texts: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Informativeness in [0, 1] per row, higher = more informative, comparable across calls."""
        proba = np.asarray(proba, dtype=np.float64)
        if self.strategy is None:
            return np.clip(normalised_entropy(proba, multi_label), 0.0, 1.0)
        raw = self._raw(proba, multi_label, embeddings, texts)
        bounds = self._range(proba.shape[1], multi_label) if self.per_item else None
        if bounds is None:
            return np.clip(squash(raw), 0.0, 1.0)
        lo, hi = bounds
        return np.clip((raw - lo) / (hi - lo), 0.0, 1.0)

    def _raw(self, proba, multi_label, embeddings, texts) -> np.ndarray:
        from textal.strategies.base import Pool

        pool = Pool(
            proba=proba,
            embeddings=embeddings if "embeddings" in self.needs else None,
            texts=list(texts) if texts is not None and "texts" in self.needs else None,
            multi_label=multi_label,
        )
        raw = np.asarray(self.strategy.scores(pool), dtype=np.float64).reshape(-1)
        if len(raw) != len(proba):
            raise TextalError(f"strategy {self.name!r} returned {len(raw)} scores for {len(proba)} items")
        return np.nan_to_num(raw, nan=0.0, posinf=1e6, neginf=-1e6)

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


def ls_score(informativeness: np.ndarray) -> np.ndarray:
    """Label Studio's prediction score: lowest first = most informative first."""
    return 1.0 - np.asarray(informativeness, dtype=np.float64)
