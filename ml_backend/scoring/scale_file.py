"""Each project's current score scale on disk (``worker/score_scale.json``): written by the worker when it pushes a
version, read by /predict, so both score a task the same way under that version."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ml_backend.scoring.ls_score import ScoreScale
from ml_backend.state.layout import DataLayout
from textal.runtime.fsutil import atomic_write_text


class ScaleFile:
    """The scale of one project's data folder, cached until the file changes."""

    def __init__(self, data_dir: str | Path, project_id: int) -> None:
        self.path = DataLayout(Path(data_dir)).score_scale(project_id)
        self._cache: tuple[int, str, ScoreScale] | None = None
        self._lock = threading.Lock()

    def write(self, model_version: str, scale: ScoreScale) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"model_version": model_version, **scale.to_dict()}))

    def read(self, model_version: str) -> ScoreScale | None:
        """The scale pushed with ``model_version``, or None (another version's, none, or unreadable)."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            return None
        with self._lock:
            cached = self._cache
        if cached is None or cached[0] != stamp:
            try:
                data = json.loads(self.path.read_text())
                cached = (stamp, str(data.get("model_version")), ScoreScale.from_dict(data))
            except (OSError, ValueError, TypeError, AttributeError):
                return None
            with self._lock:
                self._cache = cached
        return cached[2] if cached[1] == model_version else None
