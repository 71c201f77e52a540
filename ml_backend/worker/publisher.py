"""Predictions into Label Studio: the current version's scores for every unlabelled task, pushed in bulk, THEN the
project switched to that ``model_version``, so the label stream never mixes versions.

Before any model exists, every task is pushed in coverage order (k-means over the embeddings), the
band first with the evaluation slice interleaved, no guesses, under ``COLD_START_VERSION``; new
tasks then start that order over. A refresh pushes only what Label Studio
lacks: every task when the project is not on the current version yet (after deleting any partial
set of it), else the tasks new since. While the serving version stays (no model yet, or a new one
not promoted), annotators follow the band down; once it is labelled, or when tasks are imported, the
band is placed again: its old and new tasks get their predictions replaced in two requests.
"""

from __future__ import annotations

import logging

import numpy as np

from ml_backend.labelstudio.predictions import Row, predictions
from ml_backend.scoring.ls_score import ScoreScale
from ml_backend.scoring.scale_file import ScaleFile
from ml_backend.worker.current import Current, current_model
from ml_backend.labelstudio.predictions import COLD_START_VERSION
from ml_backend.worker.project import Project
from ml_backend.worker.rows import score_rows
from ml_backend.worker.timing import Timer

log = logging.getLogger("ml_backend.worker")

PUSHED_HISTORY = 20  # pushed versions remembered for pruning


def refresh(project: Project, timer: Timer) -> int:
    """Push predictions of the current version where Label Studio lacks them, and re-place a stale band;
    returns how many predictions were pushed."""
    current = current_model(project)
    expected = current.model_version if current is not None else COLD_START_VERSION
    behind = project.info().model_version != expected and any(not t.labelled for t in project.mirror.tasks())
    if behind or project.work.get("pushed_version") != expected:
        return push_all(project, current, timer)[0]
    if current is None and project.mirror.max_id() != project.work.get("band_max_id"):
        return push_all(project, None, timer)[0]  # tasks came before any model: the coverage order starts over
    pushed = 0
    scale = ScaleFile(project.settings.data_dir, project.id).read(expected)
    new = [t for t in project.mirror.tasks() if not t.labelled and t.scored != expected] if current is not None else []
    if new:
        scored = score_rows(project, current, only={t.id for t in new}, timer=timer, scale=scale)
        pushed += push(project, scored.rows, expected, timer)
    if _band_spent(project) or project.mirror.max_id() != project.work.get("band_max_id"):
        pushed += replace_band(project, current, expected, scale, timer)  # the band was labelled, or tasks came
    return pushed


def _band_spent(project: Project) -> bool:
    """Whether the band holds no open task any more (while the version serving stays, the band is followed
    down, as a batch is: placed again after every label, it would serve the same kind of task over and over)."""
    open_ids = {t.id for t in project.mirror.tasks() if not t.labelled}
    return not open_ids & set(project.work.get("band", []))


def push_all(project: Project, current: Current | None, timer: Timer) -> tuple[int, dict[int, np.ndarray]]:
    """Predictions for every unlabelled task under ``current`` (None: the cold-start order), pushed in bulk, then
    the project switched to it; returns how many, and the probabilities of every readable task."""
    mv = current.model_version if current is not None else COLD_START_VERSION
    with timer.phase("push"):
        if project.studio.model_versions(project.id).get(mv, 0):
            # an interrupted push (or an earlier cold start) left some: start that version over rather than duplicate
            project.studio.delete_model_version(project.id, mv)
    scored = score_rows(project, current, only=None, timer=timer)
    ScaleFile(project.settings.data_dir, project.id).write(mv, scored.scale)
    pushed = push(project, scored.rows, mv, timer, band=scored.band)
    with timer.phase("push"):
        if pushed:  # Label Studio refuses a model_version that has no predictions (every task labelled)
            project.studio.set_model_version(project.id, mv)
        versions = [v for v in project.work.get("pushed_versions", []) if v != mv] + [mv]
        project.save(pushed_version=mv, pushed_versions=versions[-PUSHED_HISTORY:])
    keep = project.settings.keep_prediction_versions
    stale = project.work.get("pushed_versions", [])[:-keep] if keep > 0 else []
    if stale:
        project.ctx.jobs.enqueue_prune(project.id, len(stale))
    return pushed, scored.proba


def replace_band(project: Project, current: Current | None, mv: str, scale: ScoreScale | None, timer: Timer) -> int:
    """Place the band again under the serving version: the tasks of the old and the new band get new predictions."""
    scored = score_rows(project, current, only=None, timer=timer, scale=scale)
    touched = set(scored.band) | set(project.work.get("band", []))
    open_ids = {t.id for t in project.mirror.tasks() if not t.labelled}
    rows = [r for r in scored.rows if r.task_id in touched and r.task_id in open_ids]
    with timer.phase("push"):
        project.studio.delete_task_predictions(project.id, sorted(touched & open_ids))
    return push(project, rows, mv, timer, band=scored.band)


def push(project: Project, rows: list[Row], mv: str, timer: Timer, band: list[int] | None = None) -> int:
    """Import ``rows`` as predictions of ``mv``; ``band``: the band these rows place (remembered for the next move)."""
    with timer.phase("push"):
        items = predictions(rows, project.schema, mv)
        project.studio.import_predictions(project.id, items, chunk=project.settings.push_chunk)
        project.mirror.set_scored([r.task_id for r in rows], mv)
        if band is not None:
            project.save(band=list(band), band_max_id=project.mirror.max_id())
    return len(items)
