"""A new version judged against the version serving (the base model included): on the same evaluation-slice labels
once the slice holds ``--min-eval`` of them, before that on paired out-of-fold estimates over the training labels
(``textal.training.out_of_fold_judging``), and with too few labels for either by the labels each was trained on.
A base model is the floor on the same evidence: no version serves without more of those labels right than it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ml_backend.worker.base_rows import MAX_JUDGING_ROWS, BaseRows
from ml_backend.worker.current import Parent, as_parent, base_model, serving_parent
from ml_backend.worker.project import Project
from textal.models.class_weights import class_weight_param
from textal.training.head_refit import heldout_metrics
from textal.training.out_of_fold_judging import PairedEstimate, paired_out_of_fold
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
    version was fitted on, for the out-of-fold comparison while the slice is too small. Where the project has a
    base model, it is the floor: a version serves only with more of the same labels right than the base.
    """
    classes, multi = list(project.schema.labels), project.schema.multi_label
    settings = project.settings
    small_slice = metrics is None or int(metrics.get("n", 0)) < settings.min_eval
    ids = evidence.ids if evidence is not None and small_slice else []
    X_train = evidence.X if evidence is not None and small_slice else None
    parent = serving_parent(project, eval_ids, X_eval_serving, serving_encoder, ids, X_train)
    parent_metrics = (
        heldout_metrics(parent.proba, eval_labels, classes, multi) if parent and parent.proba is not None else None
    )
    estimate = None
    if parent is not None and evidence is not None and small_slice:
        estimate = paired_estimate(project, parent, evidence)
    if estimate is not None:
        decision = out_of_fold_judgement(project, estimate)
    else:
        worse = (
            net_worse_items(proba_eval, parent.proba, eval_labels, classes, multi)
            if parent is not None and parent.proba is not None and proba_eval is not None
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
    if decision.promote and parent is not None and settings.promote_margin != math.inf:  # inf: always promote
        base = (
            parent if parent.base else base_as_parent(project, eval_ids, X_eval_serving, serving_encoder, ids, X_train)
        )
        if base is not None:
            decision = base_floor(project, decision, base, small_slice, proba_eval, eval_labels, evidence, estimate)
    return Judgement(parent, parent_metrics, decision)


def paired_estimate(project: Project, parent: Parent, evidence: TrainingEvidence) -> PairedEstimate | None:
    """Paired out-of-fold estimates of the new version and ``parent`` on the training labels (None: too few labels,
    or a parent that cannot answer for the labels it never saw)."""
    saw = np.array([tid in parent.saw for tid in evidence.ids], dtype=bool)
    if (~saw).any() and parent.unseen_proba is None:
        return None
    base = evidence.base.sample(MAX_JUDGING_ROWS) if evidence.base is not None else None
    return paired_out_of_fold(
        evidence.X,
        evidence.labels,
        list(project.schema.labels),
        project.schema.multi_label,
        saw,
        parent.unseen_proba,
        extra_X=base.X if base is not None else None,
        extra_labels=base.labels if base is not None else (),
        class_weight=class_weight_param(evidence.class_weight),
        seed=evidence.seed,
    )


def out_of_fold_judgement(project: Project, estimate: PairedEstimate) -> Promotion:
    """The promotion rule over paired out-of-fold estimates on the training labels."""
    classes, multi = list(project.schema.labels), project.schema.multi_label
    new = heldout_metrics(estimate.proba, estimate.labels, classes, multi)
    old = heldout_metrics(estimate.parent_proba, estimate.labels, classes, multi)
    worse = net_worse_items(estimate.proba, estimate.parent_proba, estimate.labels, classes, multi)
    decision = promotion(new, old, margin=project.settings.promote_margin, min_eval=0, worse_items=worse)
    return replace(decision, reason=f"out of fold on {len(estimate.labels)} training labels: {decision.reason}")


def base_as_parent(
    project: Project,
    eval_ids: list[int],
    X_eval: np.ndarray,
    encoder: str,
    train_ids: list[int],
    X_train: np.ndarray | None,
) -> Parent | None:
    """The project's base model as a version to judge against (None: the project has none)."""
    base = base_model(project)
    return as_parent(project, base, eval_ids, X_eval, encoder, train_ids, X_train) if base is not None else None


def base_floor(
    project: Project,
    decision: Promotion,
    base: Parent,
    small_slice: bool,
    proba_eval: np.ndarray | None,
    eval_labels: list[Any],
    evidence: TrainingEvidence | None,
    estimate: PairedEstimate | None,
) -> Promotion:
    """``decision`` unless the new version fails to get more of the same labels right than the base model: on the
    slice once it can judge, else on the training labels out of fold (the base never saw them)."""
    classes, multi = list(project.schema.labels), project.schema.multi_label
    if not small_slice and proba_eval is not None and base.proba is not None:
        ahead = -net_worse_items(proba_eval, base.proba, eval_labels, classes, multi)
        where = f"the {len(eval_labels)} evaluation-slice labels"
    elif evidence is not None and estimate is not None and base.unseen_proba is not None and not base.saw:
        ahead = -net_worse_items(estimate.proba, base.unseen_proba, evidence.labels, classes, multi)
        where = f"the {len(evidence.labels)} training labels, out of fold"
    else:
        return replace(decision, promote=False, reason="too few labels yet to show it beats the base model")
    if ahead >= 1:
        return decision
    return replace(
        decision,
        promote=False,
        reason=f"not ahead of the base model {base.model_version} on {where} ({ahead:+d} items right)",
    )
