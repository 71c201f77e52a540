"""The worker's files for one project (``DATA/projects/<id>/worker/``, see ``ml_backend.state.layout``)."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

from ml_backend.state.layout import (
    CENTROIDS_FILE,
    ENCODERS_DIR,
    HISTORY_FILE,
    WORK_STATE_FILE,
)
from ml_backend.state.pool_mirror import PoolMirror
from ml_backend.state.projects import ProjectRegistry
from textal.runtime.fsutil import atomic_write_text


class ProjectFiles:
    """Paths and the JSON state of one project's worker folder."""

    def __init__(self, registry: ProjectRegistry, project_id: int) -> None:
        self.project_id = int(project_id)
        self.folder = registry.layout.worker(project_id)
        self.store_path = registry.store_path(project_id)

    @property
    def history_path(self) -> Path:
        return self.folder / HISTORY_FILE

    @property
    def centroids_path(self) -> Path:
        return self.folder / CENTROIDS_FILE

    @property
    def encoders_dir(self) -> Path:
        return self.folder / ENCODERS_DIR

    def mirror(self) -> PoolMirror:
        return PoolMirror(self.folder)

    def state(self) -> dict[str, Any]:
        try:
            value = json.loads((self.folder / WORK_STATE_FILE).read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable: start over (set-up steps are idempotent)
        return value if isinstance(value, dict) else {}

    def save_state(self, state: dict[str, Any]) -> None:
        """Replace the state file atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / WORK_STATE_FILE, json.dumps(state, indent=1, sort_keys=True))

    def update_state(self, **fields: Any) -> dict[str, Any]:
        """Set ``fields`` in the state file and return the whole state; read-modify-write under a file lock,
        so jobs of one project that run at once (a retrain and a fine-tune) never undo each other's writes."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".state.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self.state()
                state.update(fields)
                self.save_state(state)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return state
