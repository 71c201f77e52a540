"""Predictions into Label Studio, in a cost that does not grow with the project.

A new version's predictions go first to the head of its order (the ``head`` best-ranked open tasks,
the band among them), THEN the project is switched to that ``model_version``. Label Studio's label
stream serves only tasks holding a prediction of the current version, lowest score first, so the
annotators' next tasks are the new version's best within one small push, however many tasks the
project has. The other open tasks follow in the background (``fill``: chunks for up to ``FILL_STEP_S`` a step,
best-ranked first, in quiet moments: while labels flow, Label Studio's database is written only for heads).
A push never deletes a prediction: an editor Label Studio has open may hold its id and send it back on Submit.
Each push adds predictions under a label of its own (``push_labels``), and a replaced label's predictions are
deleted whole once no editor can still hold them (``--keep-replaced``); the chunk bounds how long Label Studio's
write lock is held.

Meanwhile the Data Manager's "most informative first" view lists the tasks that hold a current
prediction first, by score, and the others after them with no score: Label Studio averages only the
current version's scores and sorts missing ones last, so no task shows a stale score as current.

Before any model exists, the open tasks are ordered by coverage (k-means over the embeddings), the
band first with the evaluation slice interleaved, no guesses, under ``COLD_START_VERSION``; new tasks
then start that order over. While the serving version stays (no model yet, or a new one not
promoted), annotators follow the band down; once it is labelled the band is placed again (a push of its own:
a new label, the head first); tasks imported meanwhile are ranked into the label's order by the fill.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ml_backend.labelstudio.predictions import COLD_START_VERSION, Row, predictions
from ml_backend.labelstudio.server_env import BATCHED_PREDICTION_IMPORT
from ml_backend.scoring.scale_file import ScaleFile
from ml_backend.state.pool_mirror import PoolTask
from ml_backend.worker.current import Current, current_model
from ml_backend.worker.project import Project
from ml_backend.worker.push_labels import labels_after_push, next_label, retire, version_of
from ml_backend.worker.ranked_rows import RankedRows
from ml_backend.worker.rows import score_rows
from ml_backend.worker.timing import Timer

log = logging.getLogger("ml_backend.worker")
SLOW_IMPORT_S = 5.0  # an import of one chunk slower than this: Label Studio is recounting the whole project
# A fill step imports chunk after chunk for this long (the fill runs only when no label came for a while, and stops
# between chunks when one does): a large pool fills in seconds, not a scheduler tick per chunk.
FILL_STEP_S = 2.0
_slow_import_told = False


def refresh(project: Project, timer: Timer) -> int:
    """Make Label Studio order by the current version: a new version's head and the switch, or a stale band placed
    again (a new push), and the fill asked for while open tasks lack the version (new ones among them); then retire
    the replaced labels whose time is up. Returns how many predictions were pushed."""
    pushed = _order(project, timer)
    with timer.phase("push"):
        retire(project)
    return pushed


def _order(project: Project, timer: Timer) -> int:
    current = current_model(project)
    expected = current.model_version if current is not None else COLD_START_VERSION
    label = project.work.get("pushed_version")
    open_tasks = [t for t in project.mirror.tasks() if not t.labelled]  # read once: a large pool is a large read
    if not open_tasks:
        return 0  # nothing to order (new tasks bring a push of their own)
    if project.info().model_version != label or version_of(label) != expected:
        return push_head(project, current, timer)[0]
    if current is None and project.mirror.max_id() != project.work.get("band_max_id"):
        return push_head(project, None, timer)[0]  # tasks came before any model: the coverage order starts over
    if _band_spent(project, open_tasks):
        return push_head(project, current, timer)[0]  # the band was labelled: placed again
    if project.mirror.max_id() != project.work.get("band_max_id"):
        project.save(band_max_id=project.mirror.max_id())  # tasks came: the fill ranks them into the label's order
    if any(t.scored != label for t in open_tasks):
        project.ctx.jobs.enqueue_fill(project.id)  # new tasks among them: in a quiet moment, best-ranked first
    return 0


def _band_spent(project: Project, open_tasks: list[PoolTask]) -> bool:
    """Whether the band holds no open task any more (while the version serving stays, the band is followed
    down, as a batch is: placed again after every label, it would serve the same kind of task over and over)."""
    return not {t.id for t in open_tasks} & set(project.work.get("band", []))


def push_head(project: Project, current: Current | None, timer: Timer) -> tuple[int, dict[int, np.ndarray]]:
    """Score every open task under ``current`` (None: the cold-start order), push the head under a new label, switch
    Label Studio to it, and leave the rest to the fill; returns how many were pushed, and the probabilities of every
    readable task."""
    mv = current.model_version if current is not None else COLD_START_VERSION
    label = next_label(project.work, mv)
    scored = score_rows(project, current, only=None, timer=timer)
    ScaleFile(project.settings.data_dir, project.id).write(mv, scored.scale)  # /predict asks by version
    head, rest = scored.rows.take(0, project.settings.head), scored.rows.after(project.settings.head)
    pushed = push(project, head, label, timer, band=scored.band)
    with timer.phase("push"):
        if pushed:  # Label Studio refuses a model_version that has no predictions (every task labelled)
            project.studio.set_model_version(project.id, label)
        project.save(**labels_after_push(project.work, mv, label))
    project.ctx.unfilled.keep(project.id, label, rest)
    if len(rest):
        project.ctx.jobs.enqueue_fill(project.id, head_pushed=True)
    return pushed, scored.proba


def fill(project: Project, timer: Timer) -> int:
    """Push the serving label to the open tasks lacking it, best-ranked first, a ``push_chunk`` per import for up to
    ``FILL_STEP_S`` (or until a retrain waits), and ask for another step while some remain; then retire the replaced
    labels whose time is up. Returns how many were pushed."""
    pushed = _fill_step(project, timer)
    with timer.phase("push"):
        retire(project)
    return pushed


def _fill_step(project: Project, timer: Timer) -> int:
    current = current_model(project)
    mv = current.model_version if current is not None else COLD_START_VERSION
    label: str | None = project.work.get("pushed_version")
    if label is None or version_of(label) != mv:  # None: nothing pushed yet
        return 0  # a new version: its retrain pushes the head first
    todo = [t.id for t in project.mirror.tasks() if not t.labelled and t.scored != label]
    rows = project.ctx.unfilled.rows(project.id, label, todo) if todo else RankedRows.of([])
    if rows is None:  # tasks came, or a new process: score what is left once, on the last push's scale
        scale = ScaleFile(project.settings.data_dir, project.id).read(mv)
        wanted = set(todo)
        rows = score_rows(project, current, only=wanted, timer=timer, scale=scale).rows.only(wanted)
    chunk, started, done, pushed = project.settings.push_chunk, time.monotonic(), 0, 0
    while done < len(rows):  # one import per chunk; chunks for FILL_STEP_S unless labels arrive meanwhile
        pushed += push(project, rows.take(done, done + chunk), label, timer)
        done += chunk
        if time.monotonic() - started >= FILL_STEP_S or project.ctx.jobs.gate.pending("retrain", project.id):
            break
    project.ctx.unfilled.keep(project.id, label, rows.after(done))
    if len(rows) > done:
        project.ctx.jobs.enqueue_fill(project.id)
    return pushed


def push(project: Project, rows: list[Row], label: str, timer: Timer, band: list[int] | None = None) -> int:
    """Add predictions of ``rows``' tasks under ``label``, ``push_chunk`` per import, deleting none (an open editor
    may hold one); ``band``: the band these rows place (remembered for the next move)."""
    with timer.phase("push"):
        items = predictions(rows, project.schema, label)
        chunk = project.settings.push_chunk
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            started = time.monotonic()
            project.studio.import_predictions(project.id, part, chunk=chunk)
            _tell_if_slow(project.id, len(part), time.monotonic() - started)
        pushed_ids = [r.task_id for r in rows if r.task_id is not None]  # every one: predictions() needs the id
        project.mirror.set_scored(pushed_ids, label)
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
    log.warning(
        "project %s: Label Studio took %.1f s to import %d predictions; its default import recounts every task "
        "of the project. Start Label Studio with %s=true in its environment (README, 'Big projects')",
        project_id,
        seconds,
        count,
        flag,
    )
