"""Driving a real huey queue by hand in tests: run the next job, make scheduled jobs due."""

from __future__ import annotations

import datetime

from huey import Huey

FAR_FUTURE = datetime.datetime(2100, 1, 1)  # a time by which every scheduled job is due


def run_next(huey: Huey, now: datetime.datetime | None = FAR_FUTURE) -> bool:
    """Run the next queued job as a consumer thread would at ``now`` (by default: its time come; None: the real
    time, so a job whose time has not come is scheduled again); False when the queue is empty."""
    task = huey.dequeue()
    if task is None:
        return False
    huey.execute(task, now)
    return True


def due(huey: Huey) -> None:
    """Move every scheduled job back onto the queue, as if its time had come."""
    for task in huey.read_schedule(FAR_FUTURE):
        task.eta = None
        huey.enqueue(task)
