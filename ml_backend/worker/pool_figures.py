"""What a new fast-tier version records of the pool: k-means centroids of its embeddings (Label Studio's
least-solved-cluster-first order), its predictions on the fixed stop set and its uncertainty over the open tasks
(both for the stopping rules)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml_backend.scoring.clusters import fit_centroids
from ml_backend.state.pool_mirror import PoolTask
from ml_backend.worker.project import Project
from textal.training.head_refit import pool_uncertainty

CENTROIDS = 8  # clusters of the pool's embeddings (Label Studio's least-solved-cluster-first order)


def pool_centroids(project: Project, encoder: str, tasks: list[PoolTask]) -> np.ndarray | None:
    """k-means centroids of the pool's embeddings, refit when the encoder changes or the pool grows by a tenth."""
    readable = [t.text for t in tasks if t.text is not None]
    if len(readable) < 2:
        return None
    fingerprint = project.ctx.embedder.fingerprint(encoder)
    path = project.files.centroids_path
    known = project.work.get("centroids_for") or {}
    if known.get("encoder") == fingerprint and len(readable) <= 1.1 * int(known.get("n", 0)) and path.is_file():
        return np.load(path)
    X = project.embed(encoder, readable)
    centroids = fit_centroids(X, k=CENTROIDS, seed=project.settings.seed)
    np.save(path, centroids)
    project.save(centroids_for={"encoder": fingerprint, "n": len(readable)})
    return centroids


def stop_set_predictions(project: Project, proba_by_id: dict[int, np.ndarray]) -> dict[str, list] | None:
    """The version's predictions on the project's fixed stop set (for the stabilising-predictions rule)."""
    ids = [i for i in project.work.get("stop_set", []) if i in proba_by_id]
    if not ids:
        return None
    pred: list[Any]
    if project.schema.multi_label:
        pred = [[int(q >= 0.5) for q in proba_by_id[i]] for i in ids]
    else:
        pred = [int(np.argmax(proba_by_id[i])) for i in ids]
    return {"ids": ids, "pred": pred}


def open_uncertainty(project: Project, proba_by_id: dict[int, np.ndarray]) -> dict[str, Any] | None:
    """The version's uncertainty over the open tasks (neither labelled nor in the slice); None: no open task."""
    open_ids = {t.id for t in project.mirror.tasks() if not t.labelled and not t.eval}
    open_rows = [q for tid, q in proba_by_id.items() if tid in open_ids]
    return pool_uncertainty(np.array(open_rows), project.schema.multi_label) if open_rows else None
