"""Which model answers for a project now (its own promoted version, else the base store's), and its parent's view."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml_backend.scoring.clusters import load_centroids
from ml_backend.scoring.loaded import LoadedModel, load_version, model_version_name
from ml_backend.worker.project import Project
from textal.store.model_store import MODEL_DIR, ModelStore

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
        return Current(
            model_version_name(version),
            True,
            version,
            model,
            centroids=load_centroids(path),
            training=read_training(path),
            card=project.store.card(version),
        )
    return base_model(project)


def base_model(project: Project) -> Current | None:
    """The base store's latest version, as the backend serves it (None: no base store, or an empty one)."""
    if project.settings.store is None:
        return None
    base = ModelStore(project.settings.store)
    version = base.latest()
    if version is None:
        return None
    loaded = project.ctx.cached(
        (str(base.root), version),
        lambda: load_version(base, version, base=True, cache_dir=project.ctx.embedder.cache_dir),
    )
    return Current(loaded.model_version, False, version, loaded.model, loaded=loaded)


def read_training(model_dir: Path) -> dict[str, Any] | None:
    """The training record written beside an own version's model (None if absent or unreadable)."""
    try:
        value = json.loads((model_dir / TRAINING_FILE).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Parent:
    """The version serving now, which a new one must not be worse than: its name, size and held-out view."""

    model_version: str
    version: str  # the store's name (own versions) or the base store's
    base: bool
    train_size: int | None
    proba: np.ndarray | None  # on the evaluation tasks asked for, columns in the config's label order
    saw: frozenset[int] = frozenset()  # the training tasks of an own version (a base model saw none of the project's)
    unseen_proba: np.ndarray | None = None  # on the training tasks asked for that it never saw, in their order


def serving_parent(
    project: Project,
    eval_ids: list[int],
    X_eval: np.ndarray,
    encoder: str,
    train_ids: Sequence[int] = (),
    X_train: np.ndarray | None = None,
) -> Parent | None:
    """The serving version as a parent: the project's promoted version, else the base store's (None: neither).
    With ``train_ids`` (embedded as ``X_train``), also its answers on those of them it was not trained on."""
    current = current_model(project)
    return as_parent(project, current, eval_ids, X_eval, encoder, train_ids, X_train) if current is not None else None


def as_parent(
    project: Project,
    current: Current,
    eval_ids: list[int],
    X_eval: np.ndarray,
    encoder: str,
    train_ids: Sequence[int] = (),
    X_train: np.ndarray | None = None,
) -> Parent:
    """``current`` as a version a new one is judged against: its size, and its answers on the tasks asked for."""
    if current.own:
        card = current.card
    else:
        assert current.loaded is not None  # a base-store model is served loaded
        card = current.loaded.card
    size = card.get("training_size") if isinstance(card, dict) else None
    proba = _proba_on(project, current, eval_ids, X_eval, encoder) if eval_ids else None
    trained = (current.training or {}).get("train", {}) if current.own else {}
    saw = frozenset(int(i) for i in trained) if isinstance(trained, dict) else frozenset()
    unseen = [k for k, tid in enumerate(train_ids) if tid not in saw]
    unseen_proba = None
    if unseen and X_train is not None:
        unseen_proba = _proba_on(project, current, [train_ids[k] for k in unseen], X_train[unseen], encoder)
    return Parent(
        current.model_version,
        current.version,
        not current.own,
        size if isinstance(size, int) else None,
        proba,
        saw,
        unseen_proba,
    )


def _proba_on(
    project: Project, current: Current, eval_ids: list[int], X_eval: np.ndarray, encoder: str
) -> np.ndarray | None:
    """``current``'s probabilities on the evaluation tasks, in the config's label order (None: not comparable)."""
    model = current.model
    try:
        fitted_with = getattr(model, "encoder_fingerprint_", None)
        if fitted_with:
            same_encoder = fitted_with == project.ctx.embedder.fingerprint(encoder)
        else:  # a head whose encoder could not be fingerprinted: compare the references
            same_encoder = getattr(model, "model", None) == encoder
        if current.own and callable(getattr(model, "predict_proba_embeddings", None)) and same_encoder:
            proba = model.predict_proba_embeddings(X_eval)  # the head over the embeddings already at hand
        else:
            text_of = {t.id: t.text for t in project.mirror.tasks()}
            proba = model.predict_proba([text_of[i] for i in eval_ids])
        return align_columns(
            np.asarray(proba, dtype=np.float64),
            list(model.labels_),
            list(project.schema.labels),
            project.schema.multi_label,
        )
    except Exception as exc:  # a parent that cannot be evaluated must not block the new version
        log.warning(
            "project %s: could not evaluate %s on the evaluation slice: %s", project.id, current.model_version, exc
        )
        return None


def align_columns(proba: np.ndarray, labels: list[str], wanted: list[str], multi_label: bool) -> np.ndarray | None:
    """``proba`` with one column per ``wanted`` label (0 for labels the model lacks); None when none is shared."""
    index = {label: j for j, label in enumerate(labels)}
    if not any(label in index for label in wanted):
        return None
    out = np.zeros((len(proba), len(wanted)))
    for k, label in enumerate(wanted):
        if label in index:
            out[:, k] = proba[:, index[label]]
    if not multi_label:
        out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-12)
    return out
