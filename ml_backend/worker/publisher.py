"""Predictions into Label Studio, in a cost that does not grow with the project.

A new version's predictions go first to the head of its order (the ``head`` best-ranked open tasks,
the band among them), THEN the project is switched to that ``model_version``. Label Studio's label
stream serves only tasks holding a prediction of the current version, lowest score first, so the
annotators' next tasks are the new version's best within one small push, however many tasks the
project has. The other open tasks follow in the background (``fill``: a chunk per step, best-ranked
first, in quiet moments: while labels flow, Label Studio's database is written only for heads).
Every push replaces a task's predictions (deletes, then imports), so an open task holds one
prediction at most, old versions need no separate pruning, and the database does not grow by a copy
per version; the chunk bounds how long Label Studio's write lock is held.

Meanwhile the Data Manager's "most informative first" view lists the tasks that hold a current
prediction first, by score, and the others after them with no score: Label Studio averages only the
current version's scores and sorts missing ones last, so no task shows a stale score as current.

Before any model exists, the open tasks are ordered by coverage (k-means over the embeddings), the
band first with the evaluation slice interleaved, no guesses, under ``COLD_START_VERSION``; new tasks
then start that order over. While the serving version stays (no model yet, or a new one not
promoted), annotators follow the band down; once it is labelled, or when tasks are imported, the band
is placed again.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ml_backend.labelstudio.predictions import COLD_START_VERSION, Row, predictions
from ml_backend.labelstudio.server_env import BATCHED_PREDICTION_IMPORT
from ml_backend.scoring.ls_score import ScoreScale
from ml_backend.scoring.scale_file import ScaleFile
from ml_backend.state.pool import PoolTask
from ml_backend.worker.current import Current, current_model
from ml_backend.worker.project import Project
from ml_backend.worker.rows import score_rows
from ml_backend.worker.timing import Timer

log = logging.getLogger("ml_backend.worker")
SLOW_IMPORT_S = 5.0  # an import of one chunk slower than this: Label Studio is recounting the whole project
_slow_import_told = False

def refresh(project: Project, timer: Timer) -> int:
    """Make Label Studio order by the current version: a new version's head and the switch, or a stale band placed
    again, and the fill asked for while open tasks lack the version (new ones among them); returns how many
    predictions were pushed."""
    current = current_model(project)
    expected = current.model_version if current is not None else COLD_START_VERSION
    open_tasks = [t for t in project.mirror.tasks() if not t.labelled]  # read once: a large pool is a large read
    behind = project.info().model_version != expected and bool(open_tasks)
    if behind or project.work.get("pushed_version") != expected:
        return push_head(project, current, timer)[0]
    if current is None and project.mirror.max_id() != project.work.get("band_max_id"):
        return push_head(project, None, timer)[0]  # tasks came before any model: the coverage order starts over
    pushed = 0
    if _band_spent(project, open_tasks) or project.mirror.max_id() != project.work.get("band_max_id"):
        scale = ScaleFile(project.settings.data_dir, project.id).read(expected)
        pushed += replace_band(project, current, expected, scale, timer)  # the band was labelled, or tasks came
    if any(t.scored != expected for t in open_tasks):
        project.ctx.jobs.enqueue_fill(project.id)  # new tasks among them: in a quiet moment, best-ranked first
    return pushed


def _band_spent(project: Project, open_tasks: list[PoolTask]) -> bool:
    """Whether the band holds no open task any more (while the version serving stays, the band is followed
    down, as a batch is: placed again after every label, it would serve the same kind of task over and over)."""
    return not {t.id for t in open_tasks} & set(project.work.get("band", []))


def push_head(project: Project, current: Current | None, timer: Timer) -> tuple[int, dict[int, np.ndarray]]:
    """Score every open task under ``current`` (None: the cold-start order), push the head, switch Label Studio
    to the version, and leave the rest to the fill; returns how many were pushed, and the probabilities of every
    readable task."""
    mv = current.model_version if current is not None else COLD_START_VERSION
    scored = score_rows(project, current, only=None, timer=timer)
    ScaleFile(project.settings.data_dir, project.id).write(mv, scored.scale)
    ordered = sorted(scored.rows, key=lambda r: r.score)  # Label Studio serves the lowest score first
    head, rest = ordered[: project.settings.head], ordered[project.settings.head :]
    pushed = push(project, head, mv, timer, band=scored.band)
    with timer.phase("push"):
        if pushed:  # Label Studio refuses a model_version that has no predictions (every task labelled)
            project.studio.set_model_version(project.id, mv)
        project.save(pushed_version=mv)
    project.ctx.unfilled.keep(project.id, mv, rest)
    if rest:
        project.ctx.jobs.enqueue_fill(project.id, head_pushed=True)
    return pushed, scored.proba


def fill(project: Project, timer: Timer) -> int:
    """Push the serving version to the next ``push_chunk`` open tasks lacking it, best-ranked first, and ask for
    another step while some remain; returns how many were pushed."""
    current = current_model(project)
    mv = current.model_version if current is not None else COLD_START_VERSION
    if project.work.get("pushed_version") != mv:
        return 0  # a new version: its retrain pushes the head first
    todo = [t.id for t in project.mirror.tasks() if not t.labelled and t.scored != mv]
    rows = project.ctx.unfilled.rows(project.id, mv, todo) if todo else []
    if rows is None:  # tasks came, or a new process: score what is left once, on the version's scale
        scale = ScaleFile(project.settings.data_dir, project.id).read(mv)
        wanted = set(todo)
        scored = score_rows(project, current, only=wanted, timer=timer, scale=scale)
        rows = sorted((r for r in scored.rows if r.task_id in wanted), key=lambda r: r.score)
    chunk = project.settings.push_chunk
    pushed = push(project, rows[:chunk], mv, timer) if rows else 0
    project.ctx.unfilled.keep(project.id, mv, rows[chunk:])
    if len(rows) > chunk:
        project.ctx.jobs.enqueue_fill(project.id)
    return pushed


def replace_band(project: Project, current: Current | None, mv: str, scale: ScoreScale | None, timer: Timer) -> int:
    """Place the band again under the serving version: the tasks of the old and the new band get new predictions."""
    scored = score_rows(project, current, only=None, timer=timer, scale=scale)
    touched = set(scored.band) | set(project.work.get("band", []))
    open_ids = {t.id for t in project.mirror.tasks() if not t.labelled}
    rows = [r for r in scored.rows if r.task_id in touched and r.task_id in open_ids]
    return push(project, rows, mv, timer, band=scored.band)


def push(project: Project, rows: list[Row], mv: str, timer: Timer, band: list[int] | None = None) -> int:
    """Replace the predictions of ``rows``' tasks with ``mv``'s, ``push_chunk`` tasks per deletion and import;
    ``band``: the band these rows place (remembered for the next move)."""
    with timer.phase("push"):
        items = predictions(rows, project.schema, mv)
        chunk = project.settings.push_chunk
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            project.studio.delete_task_predictions(project.id, [item["task"] for item in part])
            started = time.monotonic()
            project.studio.import_predictions(project.id, part, chunk=chunk)
            _tell_if_slow(project.id, len(part), time.monotonic() - started)
        project.mirror.set_scored([r.task_id for r in rows], mv)
        if band is not None:
            project.save(band=list(band), band_max_id=project.mirror.max_id())
    return len(items)


def _tell_if_slow(project_id: int, count: int, seconds: float) -> None:
    """Say once per process how to make Label Studio's prediction import cost what it imports, not the project."""
    global _slow_import_told
    if seconds < SLOW_IMPORT_S or _slow_import_told:
        return
    _slow_import_told = True
    flag = next(iter(BATCHED_PREDICTION_IMPORT))
    log.warning("project %s: Label Studio took %.1f s to import %d predictions; its default import recounts every task "
                "of the project. Start Label Studio with %s=true in its environment (README, 'Big projects')",
                project_id, seconds, count, flag)
