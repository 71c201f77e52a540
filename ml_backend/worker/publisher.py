"""Predictions into Label Studio: the current version's scores for every unlabelled task, pushed in bulk, THEN the
project switched to that ``model_version``, so the label stream never mixes versions.

Before any model exists, the open evaluation-slice tasks get score 0 under ``COLD_START_VERSION`` so
they are offered first. A refresh pushes only what Label Studio lacks: every task when the project
is not on the current version yet (after deleting any partial set of it), else the tasks new since.
"""

from __future__ import annotations

import logging

import numpy as np

from ml_backend.labelstudio.predictions import Row, predictions
from ml_backend.worker.current import Current, current_model
from ml_backend.worker.project import COLD_START_VERSION, Project
from ml_backend.worker.rows import score_rows
from ml_backend.worker.timing import Timer

log = logging.getLogger("ml_backend.worker")

PUSHED_HISTORY = 20  # pushed versions remembered for pruning


def refresh(project: Project, timer: Timer) -> int:
    """Push predictions of the current version where Label Studio lacks them; returns how many were pushed."""
    current = current_model(project)
    expected = current.model_version if current is not None else COLD_START_VERSION
    if project.info().model_version != expected or project.work.get("pushed_version") != expected:
        if current is None:
            return push_cold_start(project, timer)
        return push_all(project, current, timer)[0]
    tasks = [t for t in project.mirror.tasks() if not t.labelled and t.scored != expected]
    if not tasks:
        return 0
    if current is None:
        rows = [Row(t.id, None, 0.0, None, True) for t in tasks if t.eval]
        return push(project, rows, expected, timer, set_version=False)
    rows, _ = score_rows(project, current, only={t.id for t in tasks}, timer=timer)
    return push(project, rows, expected, timer, set_version=False)


def push_all(project: Project, current: Current, timer: Timer) -> tuple[int, dict[int, np.ndarray]]:
    """Predictions for every unlabelled task under ``current``, pushed in bulk, then the project switched to it."""
    mv = current.model_version
    with timer.phase("push"):
        if project.studio.model_versions(project.id).get(mv, 0):
            # an interrupted push left some: start that version over rather than duplicate
            project.studio.delete_model_version(project.id, mv)
    rows, proba_by_id = score_rows(project, current, only=None, timer=timer)
    return push(project, rows, mv, timer, set_version=True), proba_by_id


def push_cold_start(project: Project, timer: Timer) -> int:
    """Before any model: the open evaluation-slice tasks, score 0, so they are offered first (others at random)."""
    rows = [Row(t.id, None, 0.0, None, True) for t in project.mirror.tasks() if t.eval and not t.labelled]
    if not rows:
        return 0
    with timer.phase("push"):
        if project.studio.model_versions(project.id).get(COLD_START_VERSION, 0):
            project.studio.delete_model_version(project.id, COLD_START_VERSION)
    return push(project, rows, COLD_START_VERSION, timer, set_version=True)


def push(project: Project, rows: list[Row], mv: str, timer: Timer, set_version: bool) -> int:
    """Import ``rows`` as predictions of ``mv``; with ``set_version``, switch the project to it and ask for pruning."""
    settings = project.settings
    with timer.phase("push"):
        items = predictions(rows, project.schema, mv)
        project.studio.import_predictions(project.id, items, chunk=settings.push_chunk)
        project.mirror.set_scored([r.task_id for r in rows], mv)
        if set_version:
            project.studio.set_model_version(project.id, mv)
            pushed = [v for v in project.work.get("pushed_versions", []) if v != mv] + [mv]
            project.save(pushed_version=mv, pushed_versions=pushed[-PUSHED_HISTORY:])
    if set_version and settings.keep_prediction_versions > 0:
        stale = project.work.get("pushed_versions", [])[: -settings.keep_prediction_versions]
        if stale:
            project.ctx.jobs.enqueue_prune(project.id, len(stale))
    return len(items)
