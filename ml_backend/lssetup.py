"""What the worker sets up in a Label Studio project: ordering, Data Manager views, the evaluation slice.

- Sampling "Uncertainty sampling": Label Studio 1.23 Community then serves, among unlabelled tasks
  with a prediction of the project's ``model_version``, the least-solved ``cluster`` first and the
  lowest ``score`` within it (with no such prediction it serves at random).
- View "textal: most informative first": unlabelled tasks outside the evaluation slice, prediction
  score ascending, for people who browse. View "textal: evaluation slice": the slice.
- Evaluation slice: a random ``fraction`` of the readable tasks (at least ``minimum``, at most
  half), never labelled for training before, marked with ``textal_eval: 1`` in the task data. It
  is topped up as tasks are imported, so it stays that fraction of the pool. Marks are recorded in
  the worker's own state first (so a crash never lets a chosen task be trained on) and then written
  to Label Studio, one PATCH per task (~0.2 s each: Label Studio has no bulk update of task data).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ml_backend.pool import EVAL_KEY, PoolMirror
from ml_backend.studio import UNCERTAINTY_SAMPLING, Studio

log = logging.getLogger("ml_backend.lssetup")

INFORMATIVE_VIEW = "textal: most informative first"
EVAL_VIEW = "textal: evaluation slice"


def view_definitions() -> dict[str, dict[str, Any]]:
    """The Data Manager views textal creates, by title."""
    return {
        INFORMATIVE_VIEW: {
            "title": INFORMATIVE_VIEW,
            "ordering": ["tasks:predictions_score"],
            "filters": {
                "conjunction": "and",
                "items": [
                    {"filter": "filter:tasks:total_annotations", "operator": "equal", "type": "Number", "value": 0},
                    {"filter": f"filter:tasks:data.{EVAL_KEY}", "operator": "empty", "type": "Unknown", "value": True},
                ],
            },
        },
        EVAL_VIEW: {
            "title": EVAL_VIEW,
            "ordering": ["tasks:id"],
            "filters": {
                "conjunction": "and",
                "items": [{"filter": f"filter:tasks:data.{EVAL_KEY}", "operator": "equal", "type": "Number", "value": 1}],
            },
        },
    }


def ensure_ordering(studio: Studio, project_id: int, sampling: str | None) -> dict[str, int]:
    """Uncertainty sampling and textal's views in the project (idempotent); returns the views' ids by title."""
    if sampling != UNCERTAINTY_SAMPLING:
        studio.set_sampling(project_id, UNCERTAINTY_SAMPLING)
        log.info("project %s: sampling set to %r", project_id, UNCERTAINTY_SAMPLING)
    existing = studio.views(project_id)
    ids = {}
    for title, data in view_definitions().items():
        if title in existing:
            ids[title] = existing[title]
        else:
            ids[title] = studio.create_view(project_id, data)
            log.info("project %s: created view %r", project_id, title)
    return ids


def eval_target(n_tasks: int, fraction: float, minimum: int) -> int:
    """Size of the evaluation slice for a pool of ``n_tasks``: ``fraction`` of it, at least ``minimum``, at most half."""
    if n_tasks <= 1:
        return 0
    return min(max(math.ceil(fraction * n_tasks), minimum), n_tasks // 2)


def choose_eval_topup(mirror: PoolMirror, fraction: float, minimum: int, seed: int) -> list[int]:
    """Tasks to add to the evaluation slice (random, readable, neither labelled nor ever trained on) to reach its size."""
    tasks = [t for t in mirror.tasks() if t.text is not None]
    have = sum(t.eval for t in tasks)
    need = eval_target(len(tasks), fraction, minimum) - have
    if need <= 0:
        return []
    candidates = np.array([t.id for t in tasks if not (t.eval or t.labelled or t.trained)], dtype=np.int64)
    if len(candidates) == 0:
        return []
    rng = np.random.default_rng([seed, len(tasks)])
    return sorted(int(i) for i in rng.choice(candidates, size=min(need, len(candidates)), replace=False))


def mark_eval(studio: Studio, ids: list[int], data_of: Callable[[int], dict[str, Any]]) -> list[int]:
    """Write ``textal_eval: 1`` into each task's data in Label Studio; returns the ids done (stops at the first failure)."""
    done = []
    for tid in ids:
        data = dict(data_of(tid))
        if data.get(EVAL_KEY) != 1:
            data[EVAL_KEY] = 1
            studio.update_task_data(tid, data)
        done.append(tid)
    return done
