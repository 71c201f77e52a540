"""The worker's mirror of a project's tasks: id, text, evaluation-slice flag, version last scored under, annotations.

Rescoring the whole pool after every retrain must not mean downloading every task from Label
Studio each time, so the worker keeps the pool in ``worker/pool.sqlite3`` and syncs it: tasks with
ids above the highest known one are fetched (Label Studio ids only grow), and when the counts still
differ (tasks were deleted) the id list is read again and the missing ones dropped.

Annotations are mirrored too (id, updated_at, cancelled, result, annotator per annotation), because reading
every labelled task costs Label Studio ~6 ms a task: a retrain reads only the tasks updated since
its last read, and reads them all only when the project's counts disagree with the mirror.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ml_backend.labelstudio.schema import TaskSchema
from ml_backend.labelstudio.tasks import is_eval, task_text
from ml_backend.state.layout import POOL_FILE


@dataclass(frozen=True)
class PoolTask:
    id: int
    text: str | None  # None: unreadable (no text under the config's key, empty, too long)
    eval: bool  # in the evaluation slice
    scored: str | None  # model_version this task was last pushed under
    labelled: bool  # had an annotation (not cancelled) when labels were last read
    trained: bool  # was in the training set of some version (never moves into the evaluation slice)


class PoolMirror:
    """Tasks of one project in a small SQLite file.

    ``tasks()`` is read from the file once and then kept, with this object's own writes applied to the copy:
    a job reads a large pool once however many steps look at it. A job's mirror is its own (one job of a
    project at a time), so make a new one to see another process's writes.
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / POOL_FILE
        self._kept: dict[int, PoolTask] | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, text TEXT, eval INTEGER NOT NULL DEFAULT 0, "
                "scored TEXT, labelled INTEGER NOT NULL DEFAULT 0, "
                "trained INTEGER NOT NULL DEFAULT 0, annotations TEXT)"
            )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30.0)

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        db = self._db()
        try:
            with db:
                return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def tasks(self) -> list[PoolTask]:
        """Every task, by id."""
        if self._kept is None:
            rows = self._run("SELECT id, text, eval, scored, labelled, trained FROM tasks ORDER BY id")
            self._kept = {int(i): PoolTask(int(i), t, bool(e), s, bool(lab), bool(tr)) for i, t, e, s, lab, tr in rows}
        return list(self._kept.values())

    def _amend(self, ids: Iterable[int], **fields: Any) -> None:
        """Apply a write of these fields to the kept copy (if any)."""
        if self._kept is not None:
            for i in ids:
                if (task := self._kept.get(i)) is not None:
                    self._kept[i] = replace(task, **fields)

    def max_id(self) -> int:
        return int(self._run("SELECT COALESCE(MAX(id), 0) FROM tasks")[0][0])

    def __len__(self) -> int:
        return int(self._run("SELECT COUNT(*) FROM tasks")[0][0])

    def add(self, tasks: Iterable[dict[str, Any]], schema: TaskSchema, max_chars: int) -> list[int]:
        """Insert or refresh tasks given as ``{"id", "data"}``; returns their ids."""
        rows = []
        for task in tasks:
            raw = task.get("data")
            data = raw if isinstance(raw, dict) else {}
            rows.append((int(task["id"]), task_text(task, schema, max_chars).text, int(is_eval(data))))
        if rows:
            self._kept = None  # new tasks: read again, in id order
            db = self._db()
            try:
                with db:
                    db.executemany(
                        "INSERT INTO tasks (id, text, eval) VALUES (?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET text = excluded.text, eval = MAX(tasks.eval, excluded.eval)",
                        rows,
                    )
            finally:
                db.close()
        return [r[0] for r in rows]

    def keep_only(self, ids: Iterable[int]) -> list[int]:
        """Drop tasks not in ``ids`` (deleted in Label Studio); returns the dropped ids."""
        keep = set(int(i) for i in ids)
        gone = [t.id for t in self.tasks() if t.id not in keep]
        self._many("DELETE FROM tasks WHERE id = ?", [(i,) for i in gone])
        if self._kept is not None:
            for i in gone:
                del self._kept[i]
        return gone

    def set_eval(self, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        self._many("UPDATE tasks SET eval = 1 WHERE id = ?", [(i,) for i in ids])
        self._amend(ids, eval=True)

    def set_scored(self, ids: Iterable[int], version: str | None) -> None:
        ids = [int(i) for i in ids]
        self._many("UPDATE tasks SET scored = ? WHERE id = ?", [(version, i) for i in ids])
        self._amend(ids, scored=version)

    def set_labelled(self, ids: Iterable[int]) -> None:
        """Record which tasks are labelled now (all others are not)."""
        now = {int(i) for i in ids}
        db = self._db()
        try:
            with db:
                db.execute("UPDATE tasks SET labelled = 0 WHERE labelled = 1")
                db.executemany("UPDATE tasks SET labelled = 1 WHERE id = ?", [(i,) for i in sorted(now)])
        finally:
            db.close()
        if self._kept is not None:
            for task in list(self._kept.values()):
                if task.labelled != (task.id in now):
                    self._kept[task.id] = replace(task, labelled=task.id in now)

    def set_annotations(self, by_task: Mapping[int, Sequence[dict[str, Any]]], replace_all: bool = False) -> None:
        """Store the annotations of these tasks (an empty list: none any more); ``replace_all`` clears every other
        task's."""
        rows = [(json.dumps([_slim(a) for a in anns]) if anns else None, int(tid)) for tid, anns in by_task.items()]
        db = self._db()
        try:
            with db:
                if replace_all:
                    db.execute("UPDATE tasks SET annotations = NULL WHERE annotations IS NOT NULL")
                db.executemany("UPDATE tasks SET annotations = ? WHERE id = ?", rows)
        finally:
            db.close()

    def annotated(self) -> list[dict[str, Any]]:
        """Tasks with mirrored annotations, as ``{"id", "annotations"}`` (what ``read_snapshot`` takes)."""
        rows = self._run("SELECT id, annotations FROM tasks WHERE annotations IS NOT NULL ORDER BY id")
        return [{"id": int(i), "annotations": json.loads(a)} for i, a in rows]

    def set_trained(self, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        self._many("UPDATE tasks SET trained = 1 WHERE id = ?", [(i,) for i in ids])
        self._amend(ids, trained=True)

    def _many(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        db = self._db()
        try:
            with db:
                db.executemany(sql, rows)
        finally:
            db.close()


def _slim(annotation: dict[str, Any]) -> dict[str, Any]:
    """What the worker keeps of an annotation."""
    return {k: annotation.get(k) for k in ("id", "updated_at", "was_cancelled", "result", "completed_by")}
