"""Turning scores into a batch: the best rows, one per duplicate group, and random top-ups."""

from __future__ import annotations

import numpy as np


def top_distinct(
    scores: np.ndarray,
    n: int,
    allowed: np.ndarray,
    groups: np.ndarray,
    rng: np.random.Generator,
    secondary: np.ndarray | None = None,
) -> np.ndarray:
    """The ``n`` best allowed rows by ``scores`` (then ``secondary``), one per duplicate group.

    Exact ties are broken at random (reproducible under the generator's seed).
    """
    idx = np.flatnonzero(allowed)
    if n <= 0 or len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    keys = [rng.random(len(idx))]
    if secondary is not None:
        keys.append(-np.asarray(secondary)[idx])
    keys.append(-np.asarray(scores)[idx])
    order = idx[np.lexsort(keys)]
    return _first_per_group(order, groups, n)


def fill_random(
    batch: np.ndarray, take: int, allowed: np.ndarray, groups: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``batch`` topped up to ``take`` rows with random allowed rows of groups not yet in it."""
    need = take - len(batch)
    if need <= 0:
        return batch[:take]
    free = allowed & ~np.isin(groups, groups[batch])
    perm = rng.permutation(np.flatnonzero(free))
    return np.concatenate([batch, _first_per_group(perm, groups, need)]).astype(np.int64)


def _first_per_group(order: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """The first row of each group along ``order``, in that order, at most ``n``."""
    _, first = np.unique(groups[order], return_index=True)
    first.sort()
    return order[first[:n]].astype(np.int64)
