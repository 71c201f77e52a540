"""Pools for the strategy tests, built from a seed so hypothesis can shrink to a small case."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from textal.strategies import Pool


def make_pool(
    size: int,
    k: int = 4,
    seed: int = 0,
    multi_label: bool = False,
    members: int = 3,
    dim: int = 6,
    excluded_fraction: float = 0.2,
    labelled: int = 3,
    texts: bool = False,
) -> Pool:
    """A pool holding every field: probabilities, a committee, embeddings, an excluded mask."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((size, dim))
    W = rng.standard_normal((dim, k)) * 2

    def proba(logits: np.ndarray) -> np.ndarray:
        if multi_label:
            return 1.0 / (1.0 + np.exp(-logits))
        z = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)

    logits = X @ W
    committee = np.stack([proba(logits + rng.standard_normal(logits.shape)) for _ in range(members)])
    return Pool(
        proba=proba(logits),
        embeddings=X,
        committee=committee,
        texts=[f"text number {i} {'x' * (i % 7)}" for i in range(size)] if texts else None,
        excluded=rng.random(size) < excluded_fraction,
        labelled_embeddings=rng.standard_normal((labelled, dim)),
        multi_label=multi_label,
    )


@pytest.fixture(scope="session")
def pool_factory() -> Callable[..., Pool]:
    return make_pool


def blobs(sizes: list[int], dim: int = 5, spread: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated clusters of the given sizes: (points, cluster id of each)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[: len(sizes)] * 10
    X = np.concatenate([c + spread * rng.standard_normal((s, dim)) for c, s in zip(centres, sizes)])
    return X, np.repeat(np.arange(len(sizes)), sizes)


@pytest.fixture(scope="session")
def blob_factory() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return blobs
