"""The evaluation slice: a random ``fraction`` of the readable tasks (at least ``minimum``, at most half),
never labelled for training before. It is topped up as tasks are imported, so it stays that fraction
of the pool. Choices are recorded in the worker's own state first (so a crash never lets a chosen
task be trained on) and then marked in Label Studio (``ml_backend.labelstudio.ordering.mark_eval``).
"""

from __future__ import annotations

import math

import numpy as np

from ml_backend.state.pool_mirror import PoolMirror


def eval_target(n_tasks: int, fraction: float, minimum: int) -> int:
    """The evaluation slice's size for a pool of ``n_tasks``: ``fraction`` of it, at least ``minimum``, at most half."""
    if n_tasks <= 1:
        return 0
    return min(max(math.ceil(fraction * n_tasks), minimum), n_tasks // 2)


def choose_eval_topup(mirror: PoolMirror, fraction: float, minimum: int, seed: int) -> list[int]:
    """Tasks to add to the evaluation slice (random, readable, never labelled nor trained on) to reach its size."""
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
