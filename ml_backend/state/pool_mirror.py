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
import threading
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


class _Snapshots:
    """The last known task list of each mirror file in this process, with the file's generation it shows: the next
    job of the project starts from it instead of reading the pool again, unless another process wrote since."""

    def __init__(self) -> None:
        self._by_path: dict[Path, tuple[int, dict[int, PoolTask]]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path, generation: int) -> dict[int, PoolTask] | None:
        with self._lock:
            known = self._by_path.get(path)
        return dict(known[1]) if known is not None and known[0] == generation else None

    def put(self, path: Path, generation: int, tasks: dict[int, PoolTask]) -> None:
        with self._lock:
            self._by_path[path] = (generation, dict(tasks))


_SNAPSHOTS = _Snapshots()


class PoolMirror:
    """Tasks of one project in a small SQLite file.

    ``tasks()`` is read once and then kept, with this object's own writes applied to the copy: a job reads a
    large pool once however many steps look at it. Every write of a task's fields counts up the file's
    generation, so a new mirror of the same file starts from this process's last copy when nobody else wrote
    since, and reads the file again otherwise.
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / POOL_FILE
        self._kept: dict[int, PoolTask] | None = None
        self._generation: int | None = None  # the generation ``_kept`` shows (None: unknown)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, text TEXT, eval INTEGER NOT NULL DEFAULT 0, "
                "scored TEXT, labelled INTEGER NOT NULL DEFAULT 0, "
                "trained INTEGER NOT NULL DEFAULT 0, annotations TEXT)"
            )
            db.execute("CREATE TABLE IF NOT EXISTS generation (n INTEGER NOT NULL)")
            db.execute("INSERT INTO generation (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM generation)")

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
            self._kept, self._generation = self._read()
        return list(self._kept.values())

    def _read(self) -> tuple[dict[int, PoolTask], int]:
        """The task list and the generation it shows: this process's last copy when still current, else the file."""
        db = self._db()
        try:
            generation = _generation(db)
            if (known := _SNAPSHOTS.get(self.path, generation)) is not None:
                return known, generation
            db.execute("BEGIN")  # the rows and the generation of one moment
            generation = _generation(db)
            rows = db.execute("SELECT id, text, eval, scored, labelled, trained FROM tasks ORDER BY id").fetchall()
            db.execute("COMMIT")
        finally:
            db.close()
        kept = {int(i): PoolTask(int(i), t, bool(e), s, bool(lab), bool(tr)) for i, t, e, s, lab, tr in rows}
        _SNAPSHOTS.put(self.path, generation, kept)
        return kept, generation

    def _wrote(self, generation: int) -> None:
        """After this mirror's write (applied to the kept copy) made ``generation``: share the copy if it shows
        exactly that, else forget which generation it shows."""
        if self._kept is not None and self._generation is not None and generation == self._generation + 1:
            self._generation = generation
            _SNAPSHOTS.put(self.path, generation, self._kept)
        else:
            self._generation = None

    def _amend(self, ids: Iterable[int], generation: int, **fields: Any) -> None:
        """Apply a write of these fields to the kept copy (if any)."""
        if self._kept is not None:
            for i in ids:
                if (task := self._kept.get(i)) is not None:
                    self._kept[i] = replace(task, **fields)
        self._wrote(generation)

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
            self._many(
                "INSERT INTO tasks (id, text, eval) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET text = excluded.text, eval = MAX(tasks.eval, excluded.eval)",
                rows,
            )
        return [r[0] for r in rows]

    def keep_only(self, ids: Iterable[int]) -> list[int]:
        """Drop tasks not in ``ids`` (deleted in Label Studio); returns the dropped ids."""
        keep = set(int(i) for i in ids)
        gone = [t.id for t in self.tasks() if t.id not in keep]
        if gone:
            generation = self._many("DELETE FROM tasks WHERE id = ?", [(i,) for i in gone])
            if self._kept is not None:
                for i in gone:
                    del self._kept[i]
            self._wrote(generation)
        return gone

    def set_eval(self, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        if ids:
            self._amend(ids, self._many("UPDATE tasks SET eval = 1 WHERE id = ?", [(i,) for i in ids]), eval=True)

    def set_scored(self, ids: Iterable[int], version: str | None) -> None:
        ids = [int(i) for i in ids]
        if ids:
            generation = self._many("UPDATE tasks SET scored = ? WHERE id = ?", [(version, i) for i in ids])
            self._amend(ids, generation, scored=version)

    def set_labelled(self, ids: Iterable[int]) -> None:
        """Record which tasks are labelled now (all others are not)."""
        now = {int(i) for i in ids}
        db = self._db()
        try:
            with db:
                db.execute("UPDATE tasks SET labelled = 0 WHERE labelled = 1")
                db.executemany("UPDATE tasks SET labelled = 1 WHERE id = ?", [(i,) for i in sorted(now)])
                generation = _count_up(db)
        finally:
            db.close()
        if self._kept is not None:
            for task in list(self._kept.values()):
                if task.labelled != (task.id in now):
                    self._kept[task.id] = replace(task, labelled=task.id in now)
        self._wrote(generation)

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
        if ids:
            self._amend(ids, self._many("UPDATE tasks SET trained = 1 WHERE id = ?", [(i,) for i in ids]), trained=True)

    def _many(self, sql: str, rows: list[tuple]) -> int:
        """Run ``sql`` for each row in one transaction that counts up the generation; the generation it made."""
        db = self._db()
        try:
            with db:
                db.executemany(sql, rows)
                return _count_up(db)
        finally:
            db.close()


def _generation(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT n FROM generation").fetchone()[0])


def _count_up(db: sqlite3.Connection) -> int:
    """Count up the file's generation inside the open write transaction; the new generation."""
    db.execute("UPDATE generation SET n = n + 1")
    return _generation(db)


def _slim(annotation: dict[str, Any]) -> dict[str, Any]:
    """What the worker keeps of an annotation."""
    return {k: annotation.get(k) for k in ("id", "updated_at", "was_cancelled", "result", "completed_by")}
