"""A new version judged against the version serving (the base model included): on the same evaluation-slice labels
once the slice holds ``--min-eval`` of them, before that on paired out-of-fold estimates over the training labels
(``textal.training.out_of_fold_judging``), and with too few labels for either by the labels each was trained on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ml_backend.worker.base_rows import MAX_JUDGING_ROWS, BaseRows
from ml_backend.worker.current import Parent, serving_parent
from ml_backend.worker.project import Project
from textal.models.class_weights import class_weight_param
from textal.training.head_refit import heldout_metrics
from textal.training.out_of_fold_judging import paired_out_of_fold
from textal.training.promotion import Promotion, net_worse_items, promotion


@dataclass(frozen=True)
class TrainingEvidence:
    """What the new version was fitted on: training tasks embedded (``X``, row for row with ``ids`` and
    ``labels``), the base model's rows it learnt from too, and the head's settings."""

    X: np.ndarray
    ids: list[int]
    labels: list[Any]
    base: BaseRows | None
    class_weight: str | None
    seed: int


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
    evidence: TrainingEvidence | None = None,
) -> Judgement:
    """Judge a version with ``metrics`` (``proba_eval`` on ``eval_ids``) trained on ``train_size`` labels.

    ``X_eval_serving``: the evaluation tasks embedded by the serving version's encoder. ``evidence``: what the
    version was fitted on, for the out-of-fold comparison while the slice is too small.
    """
    classes, multi = list(project.schema.labels), project.schema.multi_label
    settings = project.settings
    small_slice = metrics is None or int(metrics.get("n", 0)) < settings.min_eval
    ids = evidence.ids if evidence is not None and small_slice else []
    X_train = evidence.X if evidence is not None and small_slice else None
    parent = serving_parent(project, eval_ids, X_eval_serving, serving_encoder, ids, X_train)
    if parent is not None and evidence is not None and small_slice:
        early = out_of_fold_judgement(project, parent, evidence)
        if early is not None:
            parent_metrics = (
                heldout_metrics(parent.proba, eval_labels, classes, multi) if parent.proba is not None else None
            )
            return Judgement(parent, parent_metrics, early)
    old = parent.proba if parent is not None else None
    parent_metrics = heldout_metrics(old, eval_labels, classes, multi) if old is not None else None
    worse = (
        net_worse_items(proba_eval, old, eval_labels, classes, multi)
        if old is not None and proba_eval is not None
        else None
    )
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


def out_of_fold_judgement(project: Project, parent: Parent, evidence: TrainingEvidence) -> Promotion | None:
    """The promotion rule over paired out-of-fold estimates on the training labels (None: too few labels, or a
    parent that cannot answer for the labels it never saw)."""
    classes, multi = list(project.schema.labels), project.schema.multi_label
    saw = np.array([tid in parent.saw for tid in evidence.ids], dtype=bool)
    if (~saw).any() and parent.unseen_proba is None:
        return None
    base = evidence.base.sample(MAX_JUDGING_ROWS) if evidence.base is not None else None
    estimate = paired_out_of_fold(
        evidence.X,
        evidence.labels,
        classes,
        multi,
        saw,
        parent.unseen_proba,
        extra_X=base.X if base is not None else None,
        extra_labels=base.labels if base is not None else (),
        class_weight=class_weight_param(evidence.class_weight),
        seed=evidence.seed,
    )
    if estimate is None:
        return None
    new = heldout_metrics(estimate.proba, estimate.labels, classes, multi)
    old = heldout_metrics(estimate.parent_proba, estimate.labels, classes, multi)
    worse = net_worse_items(estimate.proba, estimate.parent_proba, estimate.labels, classes, multi)
    settings = project.settings
    decision = promotion(new, old, margin=settings.promote_margin, min_eval=0, worse_items=worse)
    return replace(decision, reason=f"out of fold on {len(estimate.labels)} training labels: {decision.reason}")
