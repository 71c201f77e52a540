"""A project's one-time and topped-up set-up: ordering and views, the evaluation slice, the stop set."""

from __future__ import annotations

import logging

from ml_backend.labelstudio.ordering import ensure_ordering, mark_eval, view_definitions
from ml_backend.worker.eval_slice import choose_eval_topup
from ml_backend.worker.project import Project
from ml_backend.worker.timing import Timer, now_iso
from textal.quality.stopping import choose_stop_set

log = logging.getLogger("ml_backend.worker")

STOP_SET_SIZE = 1000  # fixed tasks whose predictions the stabilising-predictions rule compares


def ensure_setup(project: Project) -> None:
    """Sampling and views once; the evaluation slice topped up to its share of the pool; the stop set chosen.

    The slice is held out in the mirror at once; its marks in Label Studio come after the predictions
    (``mark_slice``), so that a new project is ordered as early as possible.
    """
    p, settings = project, project.settings
    if set(p.work.get("views") or ()) != set(view_definitions()):  # new, or set up before a view was added
        views = ensure_ordering(p.studio, p.id, p.info().sampling)
        p.save(views=views, setup_at=now_iso())
    chosen = choose_eval_topup(p.mirror, settings.eval_fraction, settings.eval_min, settings.seed + p.id)
    if chosen:
        p.mirror.set_eval(chosen)  # held out from here on, whatever happens to the Label Studio marks
        p.save(eval_to_mark=sorted(set(p.work.get("eval_to_mark", [])) | set(chosen)))
        log.info("project %s: %d tasks join the evaluation slice", p.id, len(chosen))
    if not p.work.get("stop_set"):
        candidates = [t.id for t in p.mirror.tasks() if t.text is not None and not t.eval]
        if candidates:
            picked = choose_stop_set(len(candidates), STOP_SET_SIZE, settings.seed + p.id)
            p.save(stop_set=sorted(int(candidates[i]) for i in picked))


def mark_slice(project: Project) -> int:
    """Mark the slice tasks not marked yet with ``textal_eval: 1`` in Label Studio (one request); returns how many."""
    known = {t.id for t in project.mirror.tasks()}
    to_mark = [tid for tid in project.work.get("eval_to_mark", []) if tid in known]
    if to_mark:
        mark_eval(project.studio, project.id, to_mark)
    if project.work.get("eval_to_mark"):
        project.save(eval_to_mark=[])
    return len(to_mark)


def warm_embeddings(project: Project, timer: Timer) -> None:
    """Embed the whole pool with the fast tier's encoder now, so the first retrain after a label is quick."""
    with timer.phase("embed pool"):
        project.embed(project.encoder, project.readable_texts())
