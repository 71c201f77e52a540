"""Embedding cluster ids for predictions, stable across requests for a given model version.

Label Studio's uncertainty sampling serves the least-solved ``cluster`` first, so a task must keep
its cluster id from one /predict call to the next. Two schemes, both fixed per model version:

1. Centroids shipped with the version: whoever publishes a model and has the pool at hand (the
   retrain worker) fits ``fit_centroids`` on the pool's embeddings and writes them with
   ``save_centroids`` into the version's model folder (inside ``ModelStore.publish(write=...)``, so
   they appear atomically with the model). A task's cluster is its nearest centroid (cosine).
2. Otherwise, random-hyperplane hashing: the signs of the embedding's projections on ``LSH_BITS``
   directions drawn from a fixed seed give one of ``2**LSH_BITS`` buckets. Needs no data and is
   the same for every request (and every version sharing an embedding space).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CENTROIDS_FILE = "textal_clusters.npy"
LSH_BITS = 3
LSH_SEED = 1_722_000_000


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit_centroids(embeddings: np.ndarray, k: int = 8, seed: int = 0) -> np.ndarray:
    """k-means centroids (k, d) of L2-normalised ``embeddings``; fewer when there are fewer distinct rows."""
    from sklearn.cluster import KMeans

    X = _unit(embeddings)
    k = max(1, min(int(k), len(np.unique(X.round(6), axis=0))))
    model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(X)
    return _unit(model.cluster_centers_).astype(np.float32)


def save_centroids(model_dir: str | Path, centroids: np.ndarray) -> None:
    """Write centroids into a model folder (call it inside the store's publish ``write`` hook)."""
    np.save(Path(model_dir) / CENTROIDS_FILE, np.asarray(centroids, dtype=np.float32))


def load_centroids(model_dir: str | Path) -> np.ndarray | None:
    """Centroids shipped with a model, or None."""
    path = Path(model_dir) / CENTROIDS_FILE
    if not path.is_file():
        return None
    centroids = np.load(path)
    return centroids if centroids.ndim == 2 and len(centroids) else None


class ClusterAssigner:
    """Maps embeddings to cluster ids with one version's scheme; immutable once built."""

    def __init__(self, centroids: np.ndarray | None = None) -> None:
        self.centroids = None if centroids is None else _unit(centroids).astype(np.float32)
        self._planes: dict[int, np.ndarray] = {}

    @property
    def scheme(self) -> str:
        return "centroids" if self.centroids is not None else f"lsh-{LSH_BITS}"

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        """Cluster id (int) per row of ``embeddings``: the nearest centroid by cosine, or the side of each
        hyperplane. Neither depends on a row's length, so rows are not normalised."""
        X = np.asarray(embeddings, dtype=np.float32)
        if self.centroids is not None and self.centroids.shape[1] == X.shape[1]:
            return (X @ self.centroids.T).argmax(axis=1).astype(int)
        planes = self._hyperplanes(X.shape[1])
        bits = (X @ planes) > 0
        return (bits * (1 << np.arange(LSH_BITS))).sum(axis=1).astype(int)

    def _hyperplanes(self, dim: int) -> np.ndarray:
        planes = self._planes.get(dim)
        if planes is None:
            planes = np.random.default_rng(LSH_SEED).standard_normal((dim, LSH_BITS)).astype(np.float32)
            self._planes[dim] = planes
        return planes
