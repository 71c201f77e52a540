"""Scored rows for a project's unlabelled tasks under the current model: the worker's side of the one scoring path.

An own version is scored over the whole pool (cached embeddings, every strategy, the next batch put
first); a base-store model is scored exactly as /predict scores it (``ml_backend.scoring.predict``).
Both map informativeness to Label Studio's score with ``ml_backend.scoring.ls_score``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ml_backend.config import DEFAULT_STRATEGY
from ml_backend.labelstudio.predictions import Row
from ml_backend.labelstudio.tasks import EVAL_KEY
from ml_backend.scoring.clusters import ClusterAssigner
from ml_backend.scoring.ls_score import UNREADABLE, chosen_labels, ls_scores
from ml_backend.scoring.pool import PoolScorer
from ml_backend.scoring.predict import predict_rows
from ml_backend.state.pool import PoolTask
from ml_backend.worker.current import Current
from ml_backend.worker.project import Project
from ml_backend.worker.timing import Timer
from textal.errors import TextalError
from textal.fast_tier import committee_proba
from textal.scoring import Scorer

log = logging.getLogger("ml_backend.worker")


def score_rows(project: Project, current: Current, only: set[int] | None,
               timer: Timer) -> tuple[list[Row], dict[int, np.ndarray]]:
    """Rows to push for unlabelled tasks (``only`` these ids, when given) and the probabilities of every readable task."""
    tasks = project.mirror.tasks()
    targets = [t for t in tasks if not t.labelled and (only is None or t.id in only)]
    if not current.own:
        return base_rows(project, current, targets, timer), {}
    return own_rows(project, current, tasks, targets, batch=project.settings.batch if only is None else 0, timer=timer)


def own_rows(project: Project, current: Current, tasks: list[PoolTask], targets: list[PoolTask], batch: int,
             timer: Timer) -> tuple[list[Row], dict[int, np.ndarray]]:
    """Whole-pool scores of an own version; the strategy's next ``batch`` goes first."""
    settings = project.settings
    readable = [t for t in tasks if t.text is not None]
    model = current.model
    labels = list(model.labels_)
    texts = [t.text for t in readable]
    encoder = (current.card or {}).get("encoder") or getattr(model, "model", None)
    multi = project.schema.multi_label
    with timer.phase("score"):
        if not readable:
            X, proba = np.zeros((0, 1), dtype=np.float32), np.zeros((0, len(labels)))
        elif callable(getattr(model, "predict_proba_embeddings", None)) and isinstance(encoder, str):
            X = project.ctx.embedder.embed(encoder, texts)
            proba = model.predict_proba_embeddings(X)
        else:
            X, proba = np.asarray(model.embed(texts), dtype=np.float32), model.predict_proba(texts)
        labelled = np.array([t.labelled for t in readable], dtype=bool)
        held_out = np.array([t.eval for t in readable], dtype=bool)
        scorer = PoolScorer(project.strategy)
        committee = _committee(project, current, readable, X, labels) if scorer.needs_committee else None
        informativeness, chosen = scorer.score(
            proba=proba, embeddings=X, texts=texts, labelled=labelled, held_out=held_out, multi_label=multi,
            committee=committee, batch=batch, seed=settings.seed,
        )
        scores = ls_scores(informativeness, chosen, held_out & ~labelled)
        clusters = ClusterAssigner(current.centroids).assign(X) if readable else np.zeros(0, dtype=int)
    row_of = {t.id: i for i, t in enumerate(readable)}
    thresholds = (current.card or {}).get("thresholds") or {}
    rows = []
    for t in targets:
        i = row_of.get(t.id)
        if i is None:
            rows.append(Row(t.id, None, UNREADABLE, None, t.eval))
        else:
            choices = chosen_labels(proba[i], labels, multi, thresholds)
            rows.append(Row(t.id, choices, float(scores[i]), int(clusters[i]), t.eval))
    return rows, {t.id: proba[i] for t, i in ((t, row_of[t.id]) for t in readable)}


def _committee(project: Project, current: Current, readable: list[PoolTask], X: np.ndarray,
               labels: list[str]) -> np.ndarray | None:
    """Bootstrap committee probabilities over the pool, fitted on the version's own training labels."""
    train = (current.training or {}).get("train") or {}
    row_of = {t.id: i for i, t in enumerate(readable)}
    ids = [int(k) for k in train if int(k) in row_of]
    if not ids:
        return None
    settings = project.settings
    return committee_proba(
        X[[row_of[i] for i in ids]], [as_label(train[str(i)]) for i in ids], labels, project.schema.multi_label, X,
        size=settings.committee_size, seed=settings.seed,
    )


def base_rows(project: Project, current: Current, targets: list[PoolTask], timer: Timer) -> list[Row]:
    """Rows scored by a base-store model exactly as `textal serve` answers /predict."""
    try:
        scorer = Scorer(project.strategy).require_per_batch()
    except TextalError:
        log.info("project %s: strategy %s needs the project's own model; the base model is scored by %s",
                 project.id, project.strategy, DEFAULT_STRATEGY)
        scorer = Scorer(DEFAULT_STRATEGY)
    readable = [t for t in targets if t.text is not None]
    key = project.schema.text_key
    with timer.phase("score"):
        scored = predict_rows(
            [{"id": t.id, "data": {key: t.text, **({EVAL_KEY: 1} if t.eval else {})}} for t in readable],
            project.schema, current.loaded, scorer, max_chars=project.settings.max_text_chars,
        ) if readable else []
    row_of = {row.task_id: row for row in scored}
    return [row_of.get(t.id) or Row(t.id, None, UNREADABLE, None, t.eval) for t in targets]


def as_label(value: Any) -> Any:
    """A label read back from JSON: lists (multi-label) become tuples again."""
    return tuple(value) if isinstance(value, list) else value
