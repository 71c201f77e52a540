"""Whole-pool scores under a project's strategy, turned into the predictions the worker pushes to Label Studio.

The worker holds the whole pool, so every strategy works here, committee and diversity ones
included (a /predict batch has no committee). Scores Label Studio sorts by (lowest first):

- unlabelled evaluation-slice tasks: 0.0 and an empty result, so the slice is offered first and
  the annotator sees no guess to anchor on;
- the strategy's next batch (``select``: diverse, duplicate-free, its share of random picks): in
  ``[0, BATCH_BAND)``, in the order the strategy chose them;
- every other task: ``BATCH_BAND + (1 - BATCH_BAND) * (1 - informativeness)``, i.e. textal's
  ``1 - informativeness`` squeezed by at most ``BATCH_BAND``. Informativeness is normalised as
  ``/predict`` does it (``ml_backend.scoring``): absolute bounds for per-item strategies, the fixed
  squash for the others, so scores pushed now and served later by /predict stay comparable;
- unreadable tasks: 1.0, empty result (last).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_backend.labelconfig import TaskSchema
from ml_backend.scoring import Scorer, squash
from textal.loop import select_batch
from textal.strategies import Strategy, get_strategy

log = logging.getLogger("ml_backend.refresh")

BATCH_BAND = 1e-3
DEFAULT_THRESHOLD = 0.5
_PER_ITEM = frozenset({"proba", "multi_label", "excluded"})


class PoolScorer:
    """A project's strategy over a whole pool: normalised informativeness and the next batch."""

    def __init__(self, name: str) -> None:
        self.strategy: Strategy = get_strategy(name)
        self.name = self.strategy.name or name
        needs = frozenset(self.strategy.needs)
        self.per_item = "proba" in needs and needs <= _PER_ITEM
        self._scorer = Scorer(name) if self.per_item else None

    @property
    def needs_committee(self) -> bool:
        return "committee" in self.strategy.needs or getattr(self.strategy, "measure", None) in ("vote_entropy", "kl_consensus")

    def score(
        self,
        *,
        proba: np.ndarray,
        embeddings: np.ndarray,
        texts: Sequence[str],
        labelled: np.ndarray,
        held_out: np.ndarray,
        multi_label: bool,
        committee: np.ndarray | None = None,
        batch: int = 0,
        seed: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(informativeness in [0, 1] for every row, indices of the next ``batch`` rows to ask, best first)."""
        selection = select_batch(
            self.strategy, max(int(batch), 0), np.random.default_rng(seed),
            labelled=labelled, held_out=held_out, proba=proba, embeddings=embeddings,
            committee=committee, texts=list(texts), multi_label=multi_label,
        )
        if self._scorer is not None:
            informativeness = self._scorer.informativeness(proba, multi_label)
        else:
            raw = np.nan_to_num(np.asarray(selection.scores, dtype=np.float64), nan=0.0, posinf=1e6, neginf=-1e6)
            informativeness = np.clip(squash(raw), 0.0, 1.0)
        return informativeness, np.asarray(selection.indices, dtype=np.int64)


def ls_scores(informativeness: np.ndarray, batch: np.ndarray, eval_open: np.ndarray) -> np.ndarray:
    """Label Studio scores for each row (see the module docstring for the bands)."""
    inf = np.clip(np.asarray(informativeness, dtype=np.float64), 0.0, 1.0)
    scores = BATCH_BAND + (1.0 - BATCH_BAND) * (1.0 - inf)
    if len(batch):
        scores[batch] = BATCH_BAND * (np.arange(len(batch)) + 1) / (len(batch) + 1)
    scores[np.asarray(eval_open, dtype=bool)] = 0.0
    return scores


def chosen_labels(p: np.ndarray, labels: Sequence[str], multi_label: bool, thresholds: dict[str, float] | None = None) -> list[str]:
    """The labels a prediction ticks: the most likely one, or every one over its threshold."""
    if multi_label:
        thresholds = thresholds or {}
        return [lab for lab, q in zip(labels, p) if q >= thresholds.get(lab, DEFAULT_THRESHOLD)]
    return [labels[int(np.argmax(p))]]


@dataclass(frozen=True)
class Row:
    """One task to push: the labels to pre-fill (None: none), its score and cluster, and whether it is held out."""

    task_id: int
    choices: list[str] | None
    score: float
    cluster: int | None
    held_out: bool


def predictions(rows: Sequence[Row], schema: TaskSchema, model_version: str) -> list[dict[str, Any]]:
    """Label Studio prediction dicts for ``import_predictions``; held-out tasks get no pre-filled choice."""
    known = set(schema.labels)
    out = []
    for row in rows:
        result: list[dict[str, Any]] = []
        if row.choices and not row.held_out:
            chosen = [c for c in row.choices if c in known]
            result = [schema.choices_result(chosen)] if chosen else []
        item: dict[str, Any] = {"task": int(row.task_id), "result": result, "score": float(row.score), "model_version": model_version}
        if row.cluster is not None:
            item["cluster"] = int(row.cluster)
        out.append(item)
    return out
