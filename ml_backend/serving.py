"""Which model answers a request: one slot per model store, hot-swapped when a newer version is published.

A slot loads the version the store's ``LATEST`` names in a background thread, warms it up, and only
then swaps its reference under a lock; a request holds the reference it took for its whole run, so
no request is ever served by a half-loaded model, and the old one keeps serving while the new loads.

Version names reported to Label Studio (``model_version``): a project's own store serves its version
names as they are (``v0003``); the fallback store of ``textal serve --store`` serves them as
``base-v0001``, so a project's first own model never shares a name with the CLI-trained one (Label
Studio skips tasks that already hold a prediction of the current name). Use ``model_version_name``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_backend.clusters import ClusterAssigner, load_centroids
from textal.models import Classifier
from textal.store import MODEL_DIR, ModelStore

log = logging.getLogger("ml_backend.serving")

BASE_PREFIX = "base-"
NO_MODEL_VERSION = "no-model"
RETRY_FAILED_S = 60.0  # a version that failed to load is retried after this long


def model_version_name(version: str, base: bool = False) -> str:
    """The ``model_version`` Label Studio sees for store version ``version``."""
    return f"{BASE_PREFIX}{version}" if base else version


@dataclass(frozen=True)
class LoadedModel:
    """A fully loaded, warmed-up version; never mutated after it is built."""

    version: str  # store version name, e.g. v0003
    model_version: str  # the name Label Studio sees
    model: Classifier
    clusters: ClusterAssigner
    card: dict[str, Any]
    store_root: Path
    thresholds: dict[str, float] = field(default_factory=dict)
    # one batch at a time through the model: concurrent requests interleave by batch instead of
    # oversubscribing the cores (torch already uses all of them for one batch)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def labels(self) -> list[str]:
        return list(self.model.labels_)

    @property
    def multi_label(self) -> bool:
        return bool(getattr(self.model, "multi_label_", False))


def load_version(store: ModelStore, version: str, base: bool) -> LoadedModel:
    """Load ``version`` of ``store`` completely (model, card, centroids) and warm it up."""
    started = time.perf_counter()
    model = store.load(version)
    card = store.card(version)
    centroids = load_centroids(store.path(version) / MODEL_DIR)
    raw_thresholds = card.get("thresholds") or getattr(model, "thresholds_", None) or {}
    thresholds = {str(k): float(v) for k, v in dict(raw_thresholds).items()} if isinstance(raw_thresholds, dict) else {}
    model.predict_proba(["warm up"])  # pay lazy initialisation here, not in the first request
    loaded = LoadedModel(
        version=version,
        model_version=model_version_name(version, base),
        model=model,
        clusters=ClusterAssigner(centroids),
        card=card,
        store_root=store.root,
        thresholds=thresholds,
    )
    log.info(
        "loaded %s from %s (%s, %d labels, clusters: %s) in %.2f s",
        loaded.model_version, store.root, card.get("kind", "?"), len(loaded.labels), loaded.clusters.scheme,
        time.perf_counter() - started,
    )
    return loaded


class ModelSlot:
    """The served model of one store, swapped to the store's latest version without a restart."""

    def __init__(self, store_root: str | Path, base: bool = False) -> None:
        self.store = ModelStore(store_root)
        self.base = base
        self._cond = threading.Condition()
        self._current: LoadedModel | None = None
        self._loading: str | None = None
        self._failed: dict[str, float] = {}

    def current(self) -> LoadedModel | None:
        """The model serving now (None before the first load); never blocks on a load."""
        return self._current

    def latest(self) -> str | None:
        """The version the store names as latest (a small file read)."""
        return self.store.latest()

    def get(self, wait: float = 0.0) -> LoadedModel | None:
        """The model to serve with, starting a load when the store has a newer latest version.

        Waits up to ``wait`` seconds for that load; past that, the previous model answers.
        """
        latest = self.latest()
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                current = self._current
                if latest is None or (current is not None and current.version == latest):
                    return current
                failed_at = self._failed.get(latest)
                if failed_at is not None and time.monotonic() - failed_at < RETRY_FAILED_S:
                    return current
                if self._loading is None:
                    self._loading = latest
                    threading.Thread(target=self._load, args=(latest,), name=f"textal-load-{latest}", daemon=True).start()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return current
                self._cond.wait(remaining)

    def _load(self, version: str) -> None:
        try:
            loaded = load_version(self.store, version, self.base)
        except Exception as exc:  # a broken version must not take the server down
            log.error("could not load %s from %s: %s: %s", version, self.store.root, type(exc).__name__, exc)
            with self._cond:
                self._failed[version] = time.monotonic()
                self._loading = None
                self._cond.notify_all()
            return
        with self._cond:
            self._current = loaded  # the swap: one reference, replaced whole
            self._failed.pop(version, None)
            self._loading = None
            self._cond.notify_all()


class ModelCatalog:
    """A project's own store first, the ``--store`` fallback second."""

    def __init__(self, base_store: str | Path, project_store_path: Callable[[int], Path]) -> None:
        self.base = ModelSlot(base_store, base=True)
        self._project_store_path = project_store_path  # callable: project id -> Path
        self._slots: dict[int, ModelSlot] = {}
        self._lock = threading.Lock()

    def slot(self, project_id: int) -> ModelSlot:
        with self._lock:
            slot = self._slots.get(project_id)
            if slot is None:
                slot = self._slots[project_id] = ModelSlot(self._project_store_path(project_id))
            return slot

    def for_project(self, project_id: int | None, wait: float = 0.0) -> LoadedModel | None:
        """The model that answers for ``project_id`` (None: no model anywhere yet)."""
        if project_id is not None:
            own = self.slot(project_id)
            if own.latest() is not None:
                loaded = own.get(wait)
                if loaded is not None:
                    return loaded
        return self.base.get(wait)

    def published(self, project_id: int | None) -> list[str]:
        """Every published version that can answer for ``project_id``, as Label Studio names them."""
        names = [model_version_name(v, base=True) for v in self.base.store.versions()]
        if project_id is not None:
            names += self.slot(project_id).store.versions()
        return names
