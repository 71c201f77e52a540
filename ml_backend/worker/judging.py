"""A new version judged against the version serving (the base model included) on the same evaluation-slice labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_backend.worker.current import Parent, serving_parent
from ml_backend.worker.project import Project
from textal.training.head_refit import heldout_metrics
from textal.training.promotion import Promotion, net_worse_items, promotion


@dataclass(frozen=True)
class Judgement:
    """The serving version as the parent, its figures on the slice, and whether the new version replaces it."""

    parent: Parent | None
    parent_metrics: dict[str, float] | None
    decision: Promotion


def judge(
    project: Project,
    metrics: dict[str, float] | None,
    proba_eval: np.ndarray | None,
    eval_ids: list[int],
    eval_labels: list[Any],
    X_eval_serving: np.ndarray,
    serving_encoder: str,
    train_size: int,
) -> Judgement:
    """Judge a version with ``metrics`` (``proba_eval`` on ``eval_ids``) trained on ``train_size`` labels.

    ``X_eval_serving``: the evaluation tasks embedded by the serving version's encoder.
    """
    classes, multi = list(project.schema.labels), project.schema.multi_label
    parent = serving_parent(project, eval_ids, X_eval_serving, serving_encoder)
    old = parent.proba if parent is not None else None
    parent_metrics = heldout_metrics(old, eval_labels, classes, multi) if old is not None else None
    worse = (
        net_worse_items(proba_eval, old, eval_labels, classes, multi)
        if old is not None and proba_eval is not None
        else None
    )
    settings = project.settings
    decision = promotion(
        metrics,
        parent_metrics,
        margin=settings.promote_margin,
        min_eval=settings.min_eval,
        worse_items=worse,
        train_size=train_size,
        parent_train_size=parent.train_size if parent is not None else None,
    )
    return Judgement(parent, parent_metrics, decision)
