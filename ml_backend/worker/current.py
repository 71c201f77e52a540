"""Which model answers for a project now (its own promoted version, else the base store's), and its parent's view."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml_backend.scoring.clusters import load_centroids
from ml_backend.scoring.loaded import LoadedModel, load_version, model_version_name
from ml_backend.worker.project import Project
from textal.store import MODEL_DIR, ModelStore

log = logging.getLogger("ml_backend.worker")

TRAINING_FILE = "textal_training.json"  # task ids and labels a version was trained and evaluated on


@dataclass(frozen=True)
class Current:
    """The model that answers for a project now, as Label Studio must see it."""

    model_version: str
    own: bool  # a version of the project's own store (else the base store's)
    version: str
    model: Any
    loaded: LoadedModel | None = None  # base-store models: as the backend serves them
    centroids: np.ndarray | None = None
    training: dict[str, Any] | None = None  # task ids and labels of an own version
    card: dict[str, Any] | None = None


def current_model(project: Project) -> Current | None:
    """The model Label Studio should order by: the project's promoted version, else the base store's latest."""
    version = project.store.latest()
    if version is not None:
        model = project.load_own(version)
        path = project.store.path(version) / MODEL_DIR
        return Current(model_version_name(version), True, version, model, centroids=load_centroids(path),
                       training=read_training(path), card=project.store.card(version))
    if project.settings.store is None:
        return None
    base = ModelStore(project.settings.store)
    version = base.latest()
    if version is None:
        return None
    loaded = project.ctx.cached((str(base.root), version), lambda: load_version(base, version, base=True, cache_dir=project.ctx.embedder.cache_dir))
    return Current(loaded.model_version, False, version, loaded.model, loaded=loaded)


def read_training(model_dir: Path) -> dict[str, Any] | None:
    """The training record written beside an own version's model (None if absent or unreadable)."""
    try:
        value = json.loads((model_dir / TRAINING_FILE).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def parent_proba(project: Project, parent: str | None, eval_ids: list[int], X_eval: np.ndarray,
                 encoder: str) -> np.ndarray | None:
    """The serving version's probabilities on today's evaluation tasks (the slice grows: old figures do not compare)."""
    if parent is None:
        return None
    try:
        model = project.load_own(parent)
        fitted_with = getattr(model, "encoder_fingerprint_", None)
        if fitted_with:
            same_encoder = fitted_with == project.ctx.embedder.fingerprint(encoder)
        else:  # a head whose encoder could not be fingerprinted: compare the references
            same_encoder = getattr(model, "model", None) == encoder
        if callable(getattr(model, "predict_proba_embeddings", None)) and same_encoder:
            proba = model.predict_proba_embeddings(X_eval)  # the head over the embeddings already at hand
        else:
            text_of = {t.id: t.text for t in project.mirror.tasks()}
            proba = model.predict_proba([text_of[i] for i in eval_ids])
        if list(model.labels_) != list(project.schema.labels):
            return None  # the config's labels changed: no fair comparison
        return np.asarray(proba, dtype=np.float64)
    except Exception as exc:  # a parent that cannot be evaluated must not block the new version
        log.warning("project %s: could not evaluate parent %s: %s", project.id, parent, exc)
        return None
