"""The base model's training rows under the project's encoder: what the fast tier learns from beside the
project's own labels, so that a project starts from its base model instead of from nothing.

``textal train`` keeps a version's training rows (``textal.store.training_rows``); a base store's latest
version that kept none (or one the worker cannot read) leaves the project learning from its labels alone.
Rows whose labels the project's label config lacks are left out, and at most ``MAX_FIT_ROWS`` join a fit (a
stratified sample), which bounds what they add to every refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_backend.worker.project import Project
from textal.errors import StoreError
from textal.store.model_store import MODEL_DIR, ModelStore
from textal.store.training_rows import TrainingRows, load_training_rows, sample_rows

log = logging.getLogger("ml_backend.worker")

MAX_FIT_ROWS = 5_000  # base rows in one fit of the head
MAX_JUDGING_ROWS = 1_000  # base rows in each fold of the out-of-fold judging (ten fits a refresh)


@dataclass(frozen=True)
class BaseRows:
    """A base version's training rows the project can use: embeddings and labels, row for row."""

    version: str
    X: np.ndarray
    labels: list[Any]

    def __len__(self) -> int:
        return len(self.labels)

    def sample(self, rows: int) -> BaseRows:
        """At most ``rows`` of them, every class in proportion (all when they fit)."""
        keep = sample_rows(self.labels, rows)
        return (
            self
            if len(keep) == len(self.labels)
            else BaseRows(self.version, self.X[keep], [self.labels[i] for i in keep])
        )


def base_rows(project: Project, encoder: str) -> BaseRows | None:
    """The base store's latest version's rows, embedded by ``encoder`` (None: no base store, or no rows)."""
    found = _usable_rows(project)
    if found is None:
        return None
    version, texts, labels = found
    return BaseRows(version, project.embed(encoder, texts), labels)


def base_labels(project: Project) -> list[Any]:
    """The labels of the base rows the project can use (none embedded): what the project knows before its labels."""
    found = _usable_rows(project)
    return found[2] if found is not None else []


def _usable_rows(project: Project) -> tuple[str, list[str], list[Any]] | None:
    if project.settings.store is None:
        return None
    store = ModelStore(project.settings.store)
    version = store.latest()
    if version is None:
        return None
    rows = project.ctx.cached(("base rows", f"{store.root}:{version}"), lambda: _read(store, version))
    if rows is None:
        return None
    texts, labels = usable(rows, project.schema.labels, project.schema.multi_label)
    keep = sample_rows(labels, MAX_FIT_ROWS)
    return (version, [texts[i] for i in keep], [labels[i] for i in keep]) if labels else None


def usable(rows: TrainingRows, classes: Sequence[str], multi_label: bool) -> tuple[list[str], list[Any]]:
    """The rows whose labels the project knows (multi-label: the known labels of each row, rows with none left
    out); single-label rows cannot serve a multi-label project nor the reverse."""
    known = set(classes)
    texts: list[str] = []
    labels: list[Any] = []
    for text, label in zip(rows.texts, rows.labels):
        if multi_label and isinstance(label, tuple):
            kept = tuple(lab for lab in label if lab in known)
            if kept:
                texts.append(text)
                labels.append(kept)
        elif not multi_label and isinstance(label, str) and label in known:
            texts.append(text)
            labels.append(label)
    return texts, labels


def _read(store: ModelStore, version: str) -> TrainingRows | None:
    try:
        return load_training_rows(store.path(version) / MODEL_DIR)
    except StoreError as exc:
        log.warning(
            "base model %s: its training rows cannot be used (%s); learning from the labels alone", version, exc
        )
        return None
