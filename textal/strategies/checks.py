"""Input checks shared by every strategy: a bad pool or batch size gets one clear StrategyError."""

from __future__ import annotations

from typing import Any

import numpy as np

from textal.data.corpus import duplicate_groups
from textal.strategies.registry import Pool, StrategyError

SUM_TOLERANCE = 1e-3  # single-label rows must sum to 1 within this


def check_n(n: Any) -> int:
    """The batch size as an int >= 0."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise StrategyError(f"batch size must be a whole number, not {n!r}")
    if n < 0:
        raise StrategyError(f"batch size must be 0 or more, not {n}")
    return int(n)


def as_rng(rng: Any) -> np.random.Generator:
    """A numpy Generator from a Generator, a seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise StrategyError(f"rng must be a numpy Generator or an integer seed, not {type(rng).__name__}")


def check_random_fraction(value: Any) -> float:
    """A fraction of random picks in [0, 1]."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise StrategyError(f"random_fraction must be a number in [0, 1], not {value!r}") from None
    if not 0.0 <= f <= 1.0:
        raise StrategyError(f"random_fraction must be in [0, 1], not {value!r}")
    return f


def check_pool(pool: Pool) -> int:
    """Check that every field the pool holds is well formed and agrees on the pool size; return it."""
    if not isinstance(pool, Pool):
        raise StrategyError(f"expected a Pool, got {type(pool).__name__}")
    sizes: dict[str, int] = {}
    if pool.proba is not None:
        pool.proba = _check_proba(pool.proba, "proba", pool.multi_label, ndim=2)
        sizes["proba"] = pool.proba.shape[0]
    if pool.committee is not None:
        pool.committee = _check_proba(pool.committee, "committee", pool.multi_label, ndim=3)
        sizes["committee"] = pool.committee.shape[1]
        if pool.proba is not None and pool.committee.shape[2] != pool.proba.shape[1]:
            raise StrategyError(f"committee has {pool.committee.shape[2]} classes but proba has {pool.proba.shape[1]}")
    if pool.embeddings is not None:
        pool.embeddings = _check_matrix(pool.embeddings, "embeddings")
        sizes["embeddings"] = pool.embeddings.shape[0]
    if pool.labelled_embeddings is not None:
        pool.labelled_embeddings = _check_matrix(pool.labelled_embeddings, "labelled_embeddings")
        if (
            pool.embeddings is not None
            and len(pool.labelled_embeddings)
            and (pool.labelled_embeddings.shape[1] != pool.embeddings.shape[1])
        ):
            raise StrategyError(
                f"labelled_embeddings have {pool.labelled_embeddings.shape[1]} dimensions, "
                f"the pool's embeddings {pool.embeddings.shape[1]}"
            )
    if pool.texts is not None:
        if isinstance(pool.texts, str):
            raise StrategyError("texts must be a sequence of strings, not one string")
        sizes["texts"] = len(pool.texts)
    if pool.excluded is not None:
        excluded = np.asarray(pool.excluded)
        if excluded.ndim != 1 or (excluded.dtype != bool and not np.isin(excluded, (0, 1)).all()):
            raise StrategyError("excluded must be a 1-d boolean mask over the pool")
        pool.excluded = excluded.astype(bool)
        sizes["excluded"] = len(excluded)
    if pool.groups is not None:
        groups = np.asarray(pool.groups)
        if groups.ndim != 1 or not np.issubdtype(groups.dtype, np.integer):
            raise StrategyError("groups must be a 1-d integer array (see textal.data.corpus.duplicate_groups)")
        sizes["groups"] = len(groups)
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} {size}" for name, size in sizes.items())
        raise StrategyError(f"pool fields disagree on the number of items: {listed}")
    return next(iter(sizes.values()), 0)


def selectable(pool: Pool, size: int) -> np.ndarray:
    """(n,) bool: rows a batch may take (not excluded)."""
    if pool.excluded is None:
        return np.ones(size, dtype=bool)
    return ~pool.excluded


def pool_groups(pool: Pool, size: int) -> np.ndarray:
    """(n,) int duplicate-group ids: items sharing an id are the same text up to normalisation."""
    if pool.groups is None:
        if pool.texts is None:
            return np.arange(size)
        pool.groups = np.asarray(duplicate_groups(list(pool.texts), near=True), dtype=np.int64)
    return np.asarray(pool.groups)


def _check_matrix(value: Any, name: str) -> np.ndarray:
    arr = _as_float(value, name)
    if arr.ndim != 2:
        raise StrategyError(f"{name} must be a 2-d array (items x dimensions), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise StrategyError(f"{name} hold NaN or infinite values")
    return arr


def _check_proba(value: Any, name: str, multi_label: bool, ndim: int) -> np.ndarray:
    arr = _as_float(value, name)
    what = "items x classes" if ndim == 2 else "members x items x classes"
    if arr.ndim != ndim:
        raise StrategyError(f"{name} must be a {ndim}-d array ({what}), got shape {arr.shape}")
    if arr.shape[-1] == 0:
        raise StrategyError(f"{name} has no classes")
    if ndim == 3 and arr.shape[0] == 0:
        raise StrategyError(f"{name} has no members")
    if arr.size == 0:
        return arr
    if not np.isfinite(arr).all():
        raise StrategyError(f"{name} hold NaN or infinite values")
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise StrategyError(f"{name} must lie in [0, 1]; found values from {arr.min():.4g} to {arr.max():.4g}")
    if not multi_label:
        sums = arr.sum(axis=-1)
        worst = np.abs(sums - 1.0).max()
        if worst > SUM_TOLERANCE:
            raise StrategyError(
                f"{name} rows must sum to 1 for a single-label task (one row sums to "
                f"{sums.flat[np.abs(sums - 1.0).argmax()]:.4g}); pass multi_label=True for independent labels"
            )
    return arr


def _as_float(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise StrategyError(f"{name} cannot be read as an array ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise StrategyError(f"{name} must hold numbers, not {arr.dtype}")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return arr
