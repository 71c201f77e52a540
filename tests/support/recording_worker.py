"""A worker process over a real queue whose job bodies only record when they ran: the queue, its leases, coalescing
and the reconciler's recovery are the real ones; the minutes of ML a real job spends are a sleep.

``python -m tests.support.recording_worker DATA_DIR QUEUE_URL LOG SECONDS`` consumes the queue with two threads and
the reconciler (every second), as ``textal worker`` does, and appends one JSON line per job start and end to LOG
(and a ``ready`` line once it consumes).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
NOBODY = "http://127.0.0.1:9"  # the projects' Label Studio: nothing answers, so reconciliation only recovers


class RecordingRunner:
    """Job bodies that take ``seconds`` and append what ran, where and when to ``log``."""

    def __init__(self, log: Path, seconds: float) -> None:
        self.log, self.seconds = log, seconds

    def _run(self, job: str, project_id: int) -> dict[str, Any]:
        self._write({"event": "start", "job": job, "project": project_id})
        time.sleep(self.seconds)
        self._write({"event": "end", "job": job, "project": project_id})
        return {"status": "done"}

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps({**record, "pid": os.getpid(), "at": time.time()}) + "\n"
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())  # one write of one line: whole between processes
        finally:
            os.close(fd)

    def retrain(self, project_id: int, reason: str, full: bool) -> Any:
        return self._run("retrain", project_id)

    def score_tasks(self, project_id: int, task_ids: list[int]) -> Any:
        return self._run("score_tasks", project_id)

    def finetune(self, project_id: int, reason: str) -> Any:
        return self._run("finetune", project_id)

    def fill_predictions(self, project_id: int) -> Any:
        return self._run("fill_predictions", project_id)

    def gave_up(self, project_id: int, job: str, error: Exception) -> None:
        self._write({"event": "gave_up", "job": job, "project": project_id})


def register_projects(data_dir: Path, project_ids: list[int]) -> None:
    """Connect the projects in the data folder's registry, as /setup does (both workers read the same folder)."""
    from ml_backend.state.projects import ProjectRef, ProjectRegistry

    registry = ProjectRegistry(data_dir)
    for pid in project_ids:
        registry.setup(ProjectRef(pid, 1717000000), CONFIG, hostname=NOBODY, access_token="t" * 40)


def main(argv: list[str]) -> None:
    import logging

    from ml_backend.config import WorkerSettings
    from ml_backend.queue.factory import make_huey
    from ml_backend.queue.jobs import Jobs
    from ml_backend.worker.context import WorkerContext
    from ml_backend.worker.reconcile import Reconciler

    data_dir, url, log, seconds = Path(argv[0]), argv[1], Path(argv[2]), float(argv[3])
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(process)d %(name)s: %(message)s")
    huey = make_huey(data_dir, url)
    runner = RecordingRunner(log, seconds)
    jobs = Jobs(huey, runner)
    ctx = WorkerContext(WorkerSettings(data_dir=data_dir, queue_url=url, reconcile_s=1.0), jobs)
    reconciler = Reconciler(ctx)
    reconciler.recover()
    stop = threading.Event()
    threading.Thread(target=reconciler.run, args=(stop,), daemon=True).start()
    consumer = huey.create_consumer(
        workers=2, worker_type="thread", initial_delay=0.05, backoff=1.15, max_delay=0.5, periodic=False
    )
    runner._write({"event": "ready", "job": None, "project": None})
    consumer.run()


if __name__ == "__main__":
    main(sys.argv[1:])
