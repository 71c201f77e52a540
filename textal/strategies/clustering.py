"""Fast geometry for the diversity strategies: k-means++ seeding, Lloyd k-means, greedy k-center.

Sized for pools of 100,000 x 384 on two CPU cores. D^2 sampling keeps stale distances as upper
bounds and corrects them only for proposed points (rejection sampling, which still draws exactly
from the D^2 distribution), and greedy k-center refreshes only the points that could be the
farthest; both avoid a full pass over the pool per pick.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

from textal.runtime.threads import single_blas_thread

DistFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows, centres) -> squared distances
CHUNK = 8192  # rows per block in the pool-wide distance passes


def euclidean_dist_fn(X: np.ndarray, sqnorms: np.ndarray | None = None) -> DistFn:
    """Squared Euclidean distances between rows ``X[i]`` and centres ``X[c]``."""
    sq = (X * X).sum(axis=1) if sqnorms is None else sqnorms

    def dist(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
        d = sq[rows, None] + sq[None, centres] - 2.0 * (X[rows] @ X[centres].T)
        return np.maximum(d, 0.0)

    return dist


def d2_sample(
    size: int,
    k: int,
    dist: DistFn,
    rng: np.random.Generator,
    first: int,
    allowed: np.ndarray,
    weights: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    proposals: int = 64,
) -> list[int]:
    """k-means++ seeding: ``first``, then points drawn with probability ~ weight x D^2.

    ``allowed`` masks the candidates; a picked point's whole duplicate ``group`` leaves the
    candidates. Stops early when no allowed point has a positive D^2 (the rest coincide with a
    centre). D^2 is kept as an upper bound per point; ``proposals`` points at a time are drawn
    from the bounds, brought up to date, and accepted with probability (true D^2) / (bound at
    draw time). Each accepted point is thus an exact D^2 draw, and one pass over the pool serves
    many proposals.
    """
    allowed = allowed.copy()
    w = np.ones(size) if weights is None else np.asarray(weights, dtype=np.float64)
    centres = [first]
    _drop(allowed, first, groups)
    bound = _full_min_dist(np.arange(size), np.array([first]), dist)
    fresh = np.ones(size, dtype=np.int64)  # how many centres each bound accounts for
    with single_blas_thread():  # many tiny products: threads only cost here
        _d2_loop(k, dist, rng, allowed, w, groups, proposals, centres, bound, fresh)
    return centres


def _d2_loop(k, dist, rng, allowed, w, groups, proposals, centres, bound, fresh) -> None:
    size = len(bound)
    while len(centres) < k:
        mass = np.where(allowed, bound * w, 0.0)
        cum = np.cumsum(mass)
        total = cum[-1] if size else 0.0
        if not total > 0.0:
            break
        drawn = np.minimum(np.searchsorted(cum, rng.random(proposals) * total, side="right"), size - 1)
        at_draw = bound[drawn].copy()
        coins = rng.random(proposals)
        _refresh(np.unique(drawn), bound, fresh, centres, dist)
        for i, old, coin in zip(drawn.tolist(), at_draw.tolist(), coins.tolist()):
            if not allowed[i]:
                continue  # picked (or a duplicate of a pick) earlier in this round: D^2 is 0
            if fresh[i] < len(centres):
                _refresh(np.array([i]), bound, fresh, centres, dist)
            if coin * old < bound[i]:
                centres.append(i)
                _drop(allowed, i, groups)
                if len(centres) == k:
                    break


def _refresh(rows: np.ndarray, bound: np.ndarray, fresh: np.ndarray, centres: list[int], dist: DistFn) -> None:
    """Bring the D^2 bounds of ``rows`` up to date with every centre."""
    stale = rows[fresh[rows] < len(centres)]
    if len(stale):
        since = int(fresh[stale].min())
        d = dist(stale, np.asarray(centres[since:])).min(axis=1)
        bound[stale] = np.minimum(bound[stale], d)
        fresh[stale] = len(centres)


def lloyd(
    X: np.ndarray, centres: np.ndarray, weights: np.ndarray | None = None, max_iter: int = 10, tol: float = 1e-4
) -> np.ndarray:
    """Refine ``centres`` (k, d) by weighted Lloyd iterations over ``X``; an empty cluster keeps its centre."""
    centres = centres.astype(np.float64, copy=True)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    k = len(centres)
    for _ in range(max_iter):
        labels, _ = assign(X, centres)
        mass = np.bincount(labels, weights=w, minlength=k)
        member = sparse.csr_matrix((w, (labels, np.arange(len(X)))), shape=(k, len(X)))
        sums = np.asarray(member @ X, dtype=np.float64)
        moved = mass > 0
        new = centres.copy()
        new[moved] = sums[moved] / mass[moved, None]
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if shift <= tol * max(float((centres**2).sum()), 1e-12):
            break
    return centres


def assign(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every row and the squared distance to it, in blocks."""
    c = centres.astype(X.dtype, copy=False)
    csq = (c * c).sum(axis=1)
    labels = np.empty(len(X), dtype=np.int64)
    dists = np.empty(len(X), dtype=np.float64)
    for start in range(0, len(X), CHUNK):
        block = X[start : start + CHUNK]
        d = (block * block).sum(axis=1)[:, None] + csq[None, :] - 2.0 * (block @ c.T)
        labels[start : start + CHUNK] = d.argmin(axis=1)
        dists[start : start + CHUNK] = np.maximum(d[np.arange(len(block)), labels[start : start + CHUNK]], 0.0)
    return labels, dists


def cluster_rank_scores(
    X: np.ndarray,
    k: int,
    rng: np.random.Generator,
    fit_mask: np.ndarray,
    weights: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    max_fit: int = 10_000,
    max_iter: int = 10,
) -> np.ndarray:
    """Coverage ordering from k-means: 1 for the member nearest each centroid, 1/2 for the next, ...

    Fits weighted k-means (k-means++ seeding, Lloyd) on the ``fit_mask`` rows, at most ``max_fit``
    of them drawn at random, then ranks every row within its cluster by distance to the centroid
    (rank r, scaled distance t in [0, 1) -> 1 / (1 + r + t)). Taking the top k scores thus takes one
    typical member per cluster: a batch that covers the pool instead of piling up in one region.
    """
    size = len(X)
    scores = np.zeros(size)
    fit_idx = np.flatnonzero(fit_mask)
    if size == 0 or len(fit_idx) == 0 or k <= 0:
        return scores
    if len(fit_idx) > max_fit:
        fit_idx = np.sort(rng.choice(fit_idx, size=max_fit, replace=False))
    Xf = X[fit_idx]
    wf = None if weights is None else np.asarray(weights, dtype=np.float64)[fit_idx]
    k = min(k, len(fit_idx))
    dist = euclidean_dist_fn(Xf)
    first = int(rng.choice(len(fit_idx), p=None if wf is None or wf.sum() <= 0 else wf / wf.sum()))
    seeds = d2_sample(
        len(fit_idx),
        k,
        dist,
        rng,
        first,
        np.ones(len(fit_idx), dtype=bool),
        wf,
        None if groups is None else np.asarray(groups)[fit_idx],
    )
    centres = lloyd(Xf, Xf[seeds].astype(np.float64), wf, max_iter=max_iter)
    labels, d2 = assign(X, centres)
    # rank within cluster among the rows the fit could pick, by distance; other rows rank after them
    order = np.lexsort((d2, ~fit_mask, labels))
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = np.empty(size, dtype=np.float64)
    rank[order] = np.arange(size) - starts
    scale = np.sqrt(d2)
    frac = scale / (scale.max() + 1e-12) * 0.999
    scores = 1.0 / (1.0 + rank + frac)
    return scores


def greedy_k_center(
    X: np.ndarray,
    n: int,
    allowed: np.ndarray,
    centres: np.ndarray | None,
    groups: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray]:
    """Farthest-first traversal: ``n`` allowed rows, each the farthest from the centres so far.

    ``centres`` (l, d) are the labelled items; without them the first pick is the row nearest the
    mean of the allowed rows. Returns the picks and the starting distance of every row to the
    nearest centre (its coverage gap). Distances are kept as upper bounds and brought up to date
    only for the row that currently looks farthest, which is exact and touches few rows per pick.
    """
    size = len(X)
    sq = (X * X).sum(axis=1)
    picks: list[int] = []
    if centres is not None and len(centres):
        gap = _min_dist_to(X, sq, np.asarray(centres, dtype=X.dtype))
    else:
        idx = np.flatnonzero(allowed)
        if len(idx) == 0:
            return picks, np.zeros(size)
        mean = X[idx].mean(axis=0)
        first = int(idx[np.argmin(((X[idx] - mean) ** 2).sum(axis=1))])
        gap = _min_dist_to(X, sq, X[[first]])
        picks.append(first)
    bound = np.where(allowed, gap, -np.inf)
    for i in picks:
        _drop_bound(bound, i, groups)
    chosen = np.empty((max(n, 1) + 1, X.shape[1]), dtype=X.dtype)  # picked rows, in order
    chosen_sq = np.empty(len(chosen))
    for j, i in enumerate(picks):
        chosen[j], chosen_sq[j] = X[i], sq[i]
    fresh = np.full(size, len(picks), dtype=np.int64)
    with single_blas_thread():  # one small product per step: threads only cost here
        _k_center_loop(X, sq, n, groups, picks, bound, fresh, chosen, chosen_sq)
    return picks, np.sqrt(np.maximum(gap, 0.0))


def _k_center_loop(X, sq, n, groups, picks, bound, fresh, chosen, chosen_sq) -> None:
    while len(picks) < n:
        i = int(np.argmax(bound))
        if bound[i] == -np.inf:
            break
        count = len(picks)
        if fresh[i] < count:
            since = int(fresh[i])
            d = sq[i] + chosen_sq[since:count] - 2.0 * (chosen[since:count] @ X[i])
            bound[i] = min(bound[i], max(float(d.min()), 0.0))
            fresh[i] = count
            continue
        chosen[count], chosen_sq[count] = X[i], sq[i]
        picks.append(i)
        _drop_bound(bound, i, groups)


def _min_dist_to(X: np.ndarray, sq: np.ndarray, C: np.ndarray) -> np.ndarray:
    csq = (C * C).sum(axis=1)
    out = np.empty(len(X), dtype=np.float64)
    for start in range(0, len(X), CHUNK):
        block = X[start : start + CHUNK]
        d = sq[start : start + CHUNK, None] + csq[None, :] - 2.0 * (block @ C.T)
        out[start : start + CHUNK] = np.maximum(d.min(axis=1), 0.0)
    return out


def _full_min_dist(rows: np.ndarray, centres: np.ndarray, dist: DistFn) -> np.ndarray:
    out = np.empty(len(rows), dtype=np.float64)
    for start in range(0, len(rows), CHUNK):
        out[start : start + CHUNK] = dist(rows[start : start + CHUNK], centres).min(axis=1)
    return out


def _drop(allowed: np.ndarray, i: int, groups: np.ndarray | None) -> None:
    if groups is None:
        allowed[i] = False
    else:
        allowed[groups == groups[i]] = False


def _drop_bound(bound: np.ndarray, i: int, groups: np.ndarray | None) -> None:
    if groups is None:
        bound[i] = -np.inf
    else:
        bound[groups == groups[i]] = -np.inf
