"""What one worker process shares between jobs: settings, the queue (for follow-up jobs), projects, embeddings, models.

It also keeps the projects the worker gave up (``give_up``, ``given_up``): a job failed with a
``HopelessError`` (the project deleted in Label Studio, a malformed URL, every token refused), so the
worker records ``gave_up`` in the project's work state (``textal status`` shows it), skips its jobs
and leaves it out of reconciliation, until the project is set up again (the ``RESUME`` flag a /setup
raises) or the way to reach it changes (the hostname or token /setup sent, the worker's override).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from ml_backend.config import WorkerSettings
from ml_backend.errors import HopelessError
from ml_backend.labelstudio.api import StudioAPI
from ml_backend.labelstudio.client import Studio
from ml_backend.queue.jobs import RESUME, Jobs
from ml_backend.state.layout import DataLayout
from ml_backend.state.projects import ProjectRegistry
from ml_backend.state.workfiles import ProjectFiles
from ml_backend.worker.duplicates import PoolDuplicates
from ml_backend.worker.embeddings import PoolEmbedder
from ml_backend.worker.unfilled import Unfilled

log = logging.getLogger("ml_backend.worker")

T = TypeVar("T")
MODEL_CACHE = 16  # loaded model versions kept per process


@dataclass
class WorkerContext:
    """Built once by ``textal worker`` (or a test) and handed to every job explicitly: no hidden global state."""

    settings: WorkerSettings
    jobs: Jobs
    registry: ProjectRegistry = field(init=False)
    embedder: Any = field(init=False)  # a PoolEmbedder, or a test's stand-in with the same embed/fingerprint
    unfilled: Unfilled = field(default_factory=Unfilled, init=False)  # what the background fill pushes next
    duplicates: PoolDuplicates = field(default_factory=PoolDuplicates, init=False)  # each pool's duplicate groups
    _models: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)
    _studios: dict[tuple[str | None, str | None], Studio] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.registry = ProjectRegistry(self.settings.data_dir)
        self.embedder = PoolEmbedder(DataLayout(self.settings.data_dir).embeddings, precision=self.settings.precision)

    def studio(self, hostname: str | None, token: str | None) -> StudioAPI:
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

    # -- projects given up ------------------------------------------------------------------

    def connection(self, project_id: int) -> str:
        """A fingerprint (no secret in it) of how the worker reaches the project's Label Studio: the hostname and
        token /setup sent, the worker's override. A project given up on one connection is tried on another."""
        state = self.registry.get(project_id)
        override = self.settings.label_studio
        parts = [
            state.hostname if state else None,
            self.registry.access_token(project_id),
            override.url,
            override.api_key,
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

    def give_up(self, project_id: int, error: HopelessError, job: str) -> dict[str, Any]:
        """Stop working on the project: record why in its work state and say so in one line (once per reason)."""
        files = ProjectFiles(self.registry, project_id)
        record = {
            "reason": str(error),
            "action": error.action,
            "error": type(error).__name__,
            "job": job,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "connection": self.connection(project_id),
        }
        self.jobs.gate.take_flag(RESUME, project_id)  # a /setup made before this failure does not resume it
        previous = files.state().get("gave_up")
        files.update_state(gave_up=record)
        if not isinstance(previous, dict) or previous.get("reason") != record["reason"]:
            log.error("project %s: %s; textal stops working on it. %s.", project_id, error, error.action)
        return record

    def given_up(self, project_id: int) -> dict[str, Any] | None:
        """The project's ``gave_up`` record while it holds, else None. One that no longer holds (the project was set
        up again, or its connection changed) is cleared here, so the next job or reconciliation works on it again."""
        files = ProjectFiles(self.registry, project_id)
        record = files.state().get("gave_up")
        if not isinstance(record, dict):
            return None
        reconnected = self.jobs.gate.has_flag(RESUME, project_id)
        if not reconnected and record.get("connection") == self.connection(project_id):
            return record
        self.jobs.gate.take_flag(RESUME, project_id)
        files.update_state(gave_up=None)
        log.warning(
            "project %s: %s since textal gave it up (%s); working on it again",
            project_id,
            "set up again" if reconnected else "its Label Studio connection changed",
            record.get("reason"),
        )
        return None
