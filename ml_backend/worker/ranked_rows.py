"""Open tasks' rows in push order (lowest score first, as Label Studio serves them), each made a ``Row`` only when
taken: a refresh of a large pool pushes its head at once and the rest chunk by chunk, so building a Python object
per task up front would cost more than the push itself."""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np

from ml_backend.labelstudio.predictions import Row

MakeRows = Callable[[np.ndarray], list[Row]]  # positions into the scored tasks -> their rows, in that order


class RankedRows:
    """``task_ids[order]`` in push order; ``make`` builds the rows of given positions."""

    def __init__(self, task_ids: np.ndarray, order: np.ndarray, make: MakeRows) -> None:
        self._ids = np.asarray(task_ids, dtype=np.int64)
        self._order = np.asarray(order, dtype=np.int64)
        self._make = make

    @classmethod
    def by_score(cls, task_ids: np.ndarray, scores: np.ndarray, make: MakeRows) -> RankedRows:
        """Tasks in ascending ``scores`` (ties keep the tasks' order)."""
        return cls(task_ids, np.argsort(np.asarray(scores, dtype=np.float64), kind="stable"), make)

    @classmethod
    def of(cls, rows: list[Row]) -> RankedRows:
        """Rows already built (a few, or before any model), put in push order."""
        ids = np.array([r.task_id for r in rows], dtype=np.int64)
        scores = np.array([r.score for r in rows], dtype=np.float64)
        return cls.by_score(ids, scores, lambda positions: [rows[i] for i in positions.tolist()])

    def __len__(self) -> int:
        return len(self._order)

    def task_ids(self) -> list[int]:
        """The tasks' ids, in push order."""
        return self._ids[self._order].tolist()

    def take(self, start: int, stop: int) -> list[Row]:
        """The rows from ``start`` to ``stop`` in push order."""
        return self._make(self._order[start:stop])

    def after(self, start: int) -> RankedRows:
        """The rows from ``start`` on."""
        return RankedRows(self._ids, self._order[start:], self._make)

    def only(self, task_ids: Collection[int]) -> RankedRows:
        """The rows of these tasks, in push order."""
        wanted = np.fromiter(task_ids, dtype=np.int64, count=len(task_ids))
        return RankedRows(self._ids, self._order[np.isin(self._ids[self._order], wanted)], self._make)
