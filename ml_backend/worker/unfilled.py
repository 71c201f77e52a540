"""The serving version's rows not yet pushed to Label Studio, per project, best-ranked first: what the background fill
takes its next chunk from. Process memory only: a new worker (or new tasks) scores what is left once again."""

from __future__ import annotations

import threading
from collections.abc import Collection

from ml_backend.worker.ranked_rows import RankedRows


class Unfilled:
    """Per project: the model_version and its rows still to push, in push order."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[str, RankedRows]] = {}
        self._lock = threading.Lock()

    def keep(self, project_id: int, model_version: str, rows: RankedRows) -> None:
        with self._lock:
            if len(rows):
                self._rows[project_id] = (model_version, rows)
            else:
                self._rows.pop(project_id, None)

    def rows(self, project_id: int, model_version: str, todo: Collection[int]) -> RankedRows | None:
        """The kept rows of ``todo`` (task ids still lacking ``model_version``), in order; None when some of them
        were never scored here (new tasks, another version, a fresh process)."""
        with self._lock:
            version, rows = self._rows.get(project_id, ("", RankedRows.of([])))
        if version != model_version:
            return None
        wanted = set(todo)
        kept = rows.only(wanted)
        return kept if len(kept) == len(wanted) else None
