"""The jobs the backend puts on the queue: ``retrain`` a project, ``score_tasks`` of a project.

The webhook handler only enqueues (a row in SQLite or a Redis push, milliseconds); the bodies run in
the retrain worker (``textal worker``), which builds the same ``Jobs`` over the same queue and data
folder and calls ``ml_backend.worker.retrain`` / ``ml_backend.worker.score_tasks``.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from huey.api import Huey

log = logging.getLogger("ml_backend.jobs")

RETRIES = 3
RETRY_DELAY_S = 10


def _call_worker(name: str, **kwargs: Any) -> Any:
    """Run ``ml_backend.worker.<name>(**kwargs)``; a clear error while the worker is not written yet."""
    try:
        worker = importlib.import_module("ml_backend.worker")
    except ModuleNotFoundError as exc:
        if exc.name != "ml_backend.worker":
            raise
        raise NotImplementedError(
            f"job {name!r} needs ml_backend.worker.{name}, which is not written yet (the retrain worker issue)"
        ) from None
    func = getattr(worker, name, None)
    if func is None:
        raise NotImplementedError(f"ml_backend.worker has no {name}() yet (the retrain worker issue)")
    return func(**kwargs)


class Jobs:
    """The two jobs, registered once on ``huey`` and bound to the data folder the worker reads."""

    def __init__(self, huey: Huey, data_dir: str | Path) -> None:
        self.huey = huey
        self.data_dir = Path(data_dir)

        def retrain(project_id: int, reason: str = "") -> Any:
            """Retrain ``project_id`` from its Label Studio annotations (body: ml_backend.worker)."""
            return _call_worker("retrain", data_dir=self.data_dir, project_id=project_id, reason=reason)

        def score_tasks(project_id: int, task_ids: list[int]) -> Any:
            """Predict and push scores for newly imported tasks (body: ml_backend.worker)."""
            return _call_worker("score_tasks", data_dir=self.data_dir, project_id=project_id, task_ids=task_ids)

        self.retrain = huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_S, name="retrain")(retrain)
        self.score_tasks = huey.task(retries=RETRIES, retry_delay=RETRY_DELAY_S, name="score_tasks")(score_tasks)

    def enqueue_retrain(self, project_id: int, reason: str) -> str:
        """Put one retrain of ``project_id`` on the queue; returns the job id."""
        result = self.retrain(int(project_id), reason=reason)
        log.info("queued retrain of project %s (%s) as %s", project_id, reason, result.id)
        return result.id

    def enqueue_score(self, project_id: int, task_ids: list[int]) -> str:
        """Put scoring of ``task_ids`` of ``project_id`` on the queue; returns the job id."""
        result = self.score_tasks(int(project_id), [int(t) for t in task_ids])
        log.info("queued scoring of %d new tasks of project %s as %s", len(task_ids), project_id, result.id)
        return result.id

    def pending(self) -> list[dict[str, Any]]:
        """The jobs waiting in the queue, as ``{"id", "name", "args", "kwargs"}`` (for tests and status)."""
        out = []
        for task in self.huey.pending():
            out.append({"id": task.id, "name": task.name, "args": list(task.args), "kwargs": dict(task.kwargs)})
        return out
