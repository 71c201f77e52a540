"""What one worker process shares between jobs: settings, the queue (for follow-up jobs), projects, embeddings, models."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ml_backend.config import WorkerSettings
from ml_backend.labelstudio.client import Studio
from ml_backend.queue.jobs import Jobs
from ml_backend.state.layout import DataLayout
from ml_backend.state.projects import ProjectRegistry
from ml_backend.worker.embeddings import PoolEmbedder

T = TypeVar("T")
MODEL_CACHE = 16  # loaded model versions kept per process


@dataclass
class WorkerContext:
    """Built once by ``textal worker`` (or a test) and handed to every job explicitly: no hidden global state."""

    settings: WorkerSettings
    jobs: Jobs
    registry: ProjectRegistry = field(init=False)
    embedder: Any = field(init=False)  # a PoolEmbedder, or a test's stand-in with the same embed/fingerprint
    _models: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)
    _studios: dict[tuple[str | None, str | None], Studio] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.registry = ProjectRegistry(self.settings.data_dir)
        self.embedder = PoolEmbedder(DataLayout(self.settings.data_dir).embeddings)

    def studio(self, hostname: str | None, token: str | None) -> Studio:
        """The Label Studio a project's /setup named, with a key it accepts (checked once per process)."""
        key = (hostname, token)
        with self._lock:
            known = self._studios.get(key)
        if known is not None:
            return known
        studio = Studio.for_project(hostname, token, self.settings.label_studio).with_working_key()
        with self._lock:
            self._studios[key] = studio
        return studio

    def cached(self, key: tuple[str, str], load: Callable[[], T]) -> T:
        """The value loaded once for ``key`` (a store and a version), kept for later jobs."""
        with self._lock:
            if key in self._models:
                return self._models[key]
        value = load()
        with self._lock:
            if len(self._models) > MODEL_CACHE:
                self._models.clear()
            self._models[key] = value
        return value
