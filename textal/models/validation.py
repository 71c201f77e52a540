"""Hold out a validation slice from training data for early stopping, stratified when possible."""

from __future__ import annotations

import numpy as np


def split_validation(y: np.ndarray, fraction: float, seed: int, min_train: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) for encoded labels ``y`` (indices, or a 0/1 matrix if multi-label).

    Stratified on the class (single-label) or on the first label (multi-label); a class with a single
    example stays in training. Returns an empty validation slice when ``fraction`` is 0 or too few rows.
    """
    n = len(y)
    rng = np.random.default_rng(seed)
    n_val = int(round(n * fraction))
    if fraction <= 0 or n_val < 1 or n - n_val < min_train:
        return rng.permutation(n), np.array([], dtype=np.int64)
    strata = y if y.ndim == 1 else np.where(y.any(axis=1), y.argmax(axis=1), -1)
    val: list[int] = []
    for cls in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == cls))
        if len(members) < 2:
            continue
        take = max(1, int(round(len(members) * fraction)))
        val.extend(members[: min(take, len(members) - 1)].tolist())
    val_idx = np.sort(np.array(val, dtype=np.int64))
    train_idx = np.setdiff1d(np.arange(n), val_idx)
    return rng.permutation(train_idx), val_idx
