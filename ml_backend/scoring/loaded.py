"""A published version loaded for scoring: the model, its card, thresholds and cluster centroids.

Version names reported to Label Studio (``model_version``): a project's own store serves its version
names as they are (``v0003``); the fallback store of ``textal serve --store`` serves them as
``base-v0001``, so a project's first own model never shares a name with the CLI-trained one (Label
Studio skips tasks that already hold a prediction of the current name). Use ``model_version_name``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_backend.scoring.clusters import ClusterAssigner, load_centroids
from textal.models import Classifier
from textal.store.model_store import MODEL_DIR, ModelStore

log = logging.getLogger("ml_backend.scoring")

BASE_PREFIX = "base-"


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


def load_version(store: ModelStore, version: str, base: bool, cache_dir: Path | None = None) -> LoadedModel:
    """Load ``version`` of ``store`` completely (model, card, centroids) and warm it up.

    ``cache_dir``: the data folder's embedding cache, for models that embed through one (a published
    version never names a cache of its own, so a store stays self-contained). A version is data only: one an
    older textal pickled is a StoreError naming the command that converts it, and is never unpickled.
    """
    started = time.perf_counter()
    model = store.load(version)
    if cache_dir is not None and "cache_dir" in getattr(model, "get_params", dict)():
        model.set_params(cache_dir=cache_dir)
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
        loaded.model_version,
        store.root,
        card.get("kind", "?"),
        len(loaded.labels),
        loaded.clusters.scheme,
        time.perf_counter() - started,
    )
    return loaded
