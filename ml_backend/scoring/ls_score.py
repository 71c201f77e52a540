"""Informativeness -> the ``score`` Label Studio sorts by (lowest first), the same for /predict and the worker's push.

- unlabelled evaluation-slice tasks: 0.0, so the slice is offered first;
- the strategy's next batch (only the worker, which sees the whole pool, knows it): in
  ``[0, BATCH_BAND)``, in the order the strategy chose them;
- every other task: ``BATCH_BAND + (1 - BATCH_BAND) * (1 - informativeness)``;
- unreadable tasks: ``UNREADABLE`` (last; Label Studio orders a missing score differently on SQLite
  and PostgreSQL, 1.0 is last on both).

Informativeness is on ``textal.scoring``'s absolute scale, so a score pushed by the worker and one
answered later by /predict for the same task and version are the same number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BATCH_BAND = 1e-3
UNREADABLE = 1.0
DEFAULT_THRESHOLD = 0.5


def ls_scores(
    informativeness: np.ndarray,
    batch: Sequence[int] | np.ndarray = (),
    held_out: np.ndarray | None = None,
) -> np.ndarray:
    """Label Studio scores for each row: ``batch`` (row indices, best first) and ``held_out`` rows as above."""
    inf = np.clip(np.asarray(informativeness, dtype=np.float64), 0.0, 1.0)
    scores = BATCH_BAND + (1.0 - BATCH_BAND) * (1.0 - inf)
    batch = np.asarray(batch, dtype=np.int64)
    if len(batch):
        scores[batch] = BATCH_BAND * (np.arange(len(batch)) + 1) / (len(batch) + 1)
    if held_out is not None:
        scores[np.asarray(held_out, dtype=bool)] = 0.0
    return scores


def chosen_labels(
    p: np.ndarray, labels: Sequence[str], multi_label: bool, thresholds: dict[str, float] | None = None
) -> list[str]:
    """The labels a prediction ticks: the most likely one, or every one over its threshold."""
    if multi_label:
        thresholds = thresholds or {}
        return [lab for lab, q in zip(labels, p) if q >= thresholds.get(lab, DEFAULT_THRESHOLD)]
    return [labels[int(np.argmax(p))]]
