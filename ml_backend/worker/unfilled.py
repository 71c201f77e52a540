"""The serving version's rows not yet pushed to Label Studio, per project, best-ranked first: what the background fill
takes its next chunk from. Process memory only: a new worker (or new tasks) scores what is left once again."""

from __future__ import annotations

import threading
from collections.abc import Collection

from ml_backend.labelstudio.predictions import Row


class Unfilled:
    """Per project: the model_version and its rows still to push, in push order."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[str, list[Row]]] = {}
        self._lock = threading.Lock()

    def keep(self, project_id: int, model_version: str, rows: list[Row]) -> None:
        with self._lock:
            if rows:
                self._rows[project_id] = (model_version, list(rows))
            else:
                self._rows.pop(project_id, None)

    def rows(self, project_id: int, model_version: str, todo: Collection[int]) -> list[Row] | None:
        """The kept rows of ``todo`` (task ids still lacking ``model_version``), in order; None when some of them
        were never scored here (new tasks, another version, a fresh process)."""
        with self._lock:
            version, rows = self._rows.get(project_id, ("", []))
        if version != model_version:
            return None
        wanted = set(todo)
        kept = [r for r in rows if r.task_id in wanted]
        return kept if len(kept) == len(wanted) else None
