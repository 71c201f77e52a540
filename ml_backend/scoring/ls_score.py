"""Informativeness -> the ``score`` Label Studio sorts by (lowest first), the same for /predict and the worker's push.

Scores are ranks, spread over [0, 1] so that Label Studio's rounding (three decimals in the Data
Manager, a percentage in the task view) keeps them apart:

- the band, first: the strategy's next batch with, interleaved, one evaluation-slice task in every
  ``eval_every`` served (``interleave``), evenly inside ``[0, band)`` in that order. Only the
  worker, which sees the whole pool, knows the band;
- every other task: ``band + (1 - band) * (1 - F(informativeness))``, where ``F`` is the share of the
  pool's open tasks no more informative than it when the version was pushed (``ScoreScale``): 0.25
  means a quarter of the pool would be asked before this task. Evaluation-slice tasks outside the
  band are scored the same way but never carry a guess;
- unreadable tasks: ``UNREADABLE`` (last; Label Studio orders a missing score differently on SQLite
  and PostgreSQL, 1.0 is last on both).

The worker writes each version's scale into the data folder and /predict reads it, so a score the
worker pushed and one /predict answers later for the same task and version are the same number.
Without a scale (a version the worker has not pushed), ``F`` is informativeness itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_backend.config import PREFILL_MARGIN

BATCH_BAND = 1e-3  # the narrowest band: with no scale, and for tiny bands
UNREADABLE = 1.0
DEFAULT_THRESHOLD = 0.5
SCALE_POINTS = 201  # quantiles kept of the pool's informativeness
MAX_BAND = 0.5


@dataclass(frozen=True)
class ScoreScale:
    """The pool's informativeness when a version was pushed (sorted quantiles) and the width of the band."""

    quantiles: tuple[float, ...] = ()
    band: float = BATCH_BAND

    @classmethod
    def from_pool(cls, informativeness: Sequence[float] | np.ndarray, band_size: int) -> ScoreScale:
        """The scale of an open pool with ``informativeness`` per task, ``band_size`` of them in the band."""
        inf = np.asarray(informativeness, dtype=np.float64)
        if len(inf) == 0:
            return cls((), BATCH_BAND)
        quantiles = np.quantile(inf, np.linspace(0.0, 1.0, SCALE_POINTS))
        band = min(max(BATCH_BAND, band_size / len(inf)), MAX_BAND)
        return cls(tuple(float(q) for q in quantiles), float(band))

    def rank(self, informativeness: np.ndarray) -> np.ndarray:
        """F: the share of the pool no more informative than each value (informativeness itself without quantiles)."""
        inf = np.clip(np.asarray(informativeness, dtype=np.float64), 0.0, 1.0)
        if len(self.quantiles) < 2:
            return inf
        q = np.asarray(self.quantiles)
        return np.clip(np.interp(inf, q, np.linspace(0.0, 1.0, len(q))), 0.0, 1.0)  # linear between quantiles

    def scores(self, informativeness: np.ndarray) -> np.ndarray:
        """Scores of tasks outside the band: in ``[band, 1]``, lowest for the most informative."""
        return self.band + (1.0 - self.band) * (1.0 - self.rank(informativeness))

    def band_scores(self, n: int) -> np.ndarray:
        """The scores of a band of ``n`` tasks, in its order: evenly inside ``(0, band)``."""
        return self.band * (np.arange(n) + 1) / (n + 1)

    def to_dict(self) -> dict[str, Any]:
        return {"quantiles": list(self.quantiles), "band": self.band}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreScale:
        quantiles = tuple(float(q) for q in data.get("quantiles") or ())
        if any(b < a for a, b in zip(quantiles, quantiles[1:])):
            return cls()  # not sorted: not a scale this module wrote
        return cls(quantiles, float(min(max(float(data.get("band", BATCH_BAND)), BATCH_BAND), MAX_BAND)))


def guesses(
    proba: np.ndarray,
    labels: Sequence[str],
    multi_label: bool,
    thresholds: dict[str, float] | None = None,
    margin: float = PREFILL_MARGIN,
) -> list[tuple[list[str], float | None]]:
    """Per row of ``proba``: the labels a prediction ticks and how sure the model is of them.

    Multi-label: every label over its threshold, sure as its least sure decision. Single-label: the most
    likely label, unless it leads the runner-up by less than ``margin`` (a coin-flip guess pre-filled anchors
    the annotator on it, so the task is shown without one), sure as its probability."""
    p = np.asarray(proba, dtype=np.float64).reshape(len(proba), len(labels))
    if not len(labels):
        return [([], None)] * len(p)
    if multi_label:
        thresholds = thresholds or {}
        cut = np.array([thresholds.get(lab, DEFAULT_THRESHOLD) for lab in labels])
        sure = np.min(np.maximum(p, 1.0 - p), axis=1).tolist()
        return [([lab for lab, on in zip(labels, row) if on], c) for row, c in zip((p >= cut).tolist(), sure)]
    top = p.argmax(axis=1)
    lead = p[np.arange(len(p)), top]
    runner_up = np.partition(p, -2, axis=1)[:, -2] if p.shape[1] > 1 else np.zeros(len(p))
    sure = (lead - runner_up >= margin).tolist()  # plain Python values: a pool's rows are many
    return [([labels[t]], q) if ok else ([], None) for t, q, ok in zip(top.tolist(), lead.tolist(), sure)]


def chosen_labels(
    p: np.ndarray,
    labels: Sequence[str],
    multi_label: bool,
    thresholds: dict[str, float] | None = None,
    margin: float = PREFILL_MARGIN,
) -> list[str]:
    """The labels one prediction ticks (see :func:`guesses`)."""
    return guesses(np.asarray(p)[None, :], labels, multi_label, thresholds, margin)[0][0]


def interleave(
    batch: Sequence[int], slice_rows: Sequence[int], labelled: int, slice_labelled: int, every: int
) -> list[int]:
    """The band's order: the strategy's ``batch`` with an evaluation-slice row wherever the slice falls behind
    one label in every ``every`` (counted from the project's ``labelled`` tasks, ``slice_labelled`` of them
    in the slice). ``every`` 0 puts the whole open slice first (the slice-first order of earlier versions).
    The band ends with the batch, so the rest of the slice waits for later refreshes."""
    batch, pending = list(batch), list(slice_rows)
    if every <= 0:
        return pending + batch
    order: list[int] = []
    total, in_slice = int(labelled), int(slice_labelled)
    for row in batch:
        while pending and in_slice < (total + 1) // every:
            order.append(pending.pop(0))
            total, in_slice = total + 1, in_slice + 1
        order.append(row)
        total += 1
    return order
