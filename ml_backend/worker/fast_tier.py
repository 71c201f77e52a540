"""The fast tier of a live project: refit a head over cached embeddings, judge it on the evaluation slice against
its parent, publish it (promoted or not), then push its predictions and record the version in the history."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml_backend.labelstudio.annotations import LabelSnapshot
from ml_backend.scoring.clusters import save_centroids
from ml_backend.scoring.loaded import model_version_name
from ml_backend.worker.base_rows import BaseRows, base_rows
from ml_backend.worker.current import TRAINING_FILE, Current, Parent, serving_parent
from ml_backend.worker.judging import TrainingEvidence, judge
from ml_backend.worker.labels import LabelSplit, label_counts
from ml_backend.worker.pool_figures import open_uncertainty, pool_centroids, stop_set_predictions
from ml_backend.worker.project import Project
from ml_backend.worker.publisher import push_head, refresh
from ml_backend.worker.review import held_for_review, review_training_labels
from ml_backend.worker.timing import Timer, now_iso
from textal.models.embed_head import EmbedHeadClassifier
from textal.models.fine_tune_schedule import fine_tune_due
from textal.store import history
from textal.training.head_refit import calibration_figures, fit_head, heldout_metrics
from textal.training.promotion import Promotion

log = logging.getLogger("ml_backend.worker")


def train_and_publish(
    project: Project, reason: str, snapshot: LabelSnapshot, split: LabelSplit, timer: Timer
) -> dict[str, Any]:
    """Fit, evaluate and publish a fast-tier version on ``split``; push it if promoted; returns the job's summary."""
    p = project
    data = embed_labels(p, reason, split, timer)
    model = fit(p, data, timer)
    judged = evaluate(p, model, data, timer)
    with timer.phase("centroids"):
        centroids = pool_centroids(p, data.encoder, split.tasks)
    card, training = version_card(p, reason, snapshot, split, data, judged), data.training
    with timer.phase("publish"):
        version = publish(p, model, card, centroids, training, judged.decision.promote)
    p.mirror.set_trained(data.fit_ids)
    pushed = push(p, version, model, centroids, training, judged.decision.promote, timer)
    # after the push: annotators get the new version first; the review costs seconds on thousands of labels
    review = review_labels(p, model, data, snapshot, timer)
    p.save(trained_fingerprint=snapshot.fingerprint, trained_encoder=data.encoder)
    maybe_request_finetune(p, len(data.train_ids))
    parent, parent_metrics = judged.parent, judged.parent_metrics
    if parent is not None and parent.base and parent_metrics is not None:
        record_base(p, parent, parent_metrics, len(data.train_ids) + len(data.eval_ids))
    record_version(p, reason, version, data, judged, card, pushed, review, timer)
    p.store.update_card(version, timings=timer.phases, pushed_predictions=pushed.count)
    log_version(p, reason, version, data, judged, pushed.count, timer)
    return {
        "status": "published",
        "version": version,
        "promoted": judged.decision.promote,
        "pushed": pushed.count,
        "metrics": judged.metrics,
        "timings": timer.phases,
    }


# -- train_and_publish, step by step -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelData:
    """A split's labelled tasks embedded by the project's encoder: every training task (``train_ids``, rows of
    ``X_train``), those the head is fitted on (``fit_rows`` of them: the labels held for review sit out), and the
    evaluation slice's (``eval_ids``, rows of ``X_eval``)."""

    split: LabelSplit
    encoder: str
    text_of: dict[int, str]
    train_ids: list[int]
    eval_ids: list[int]
    X_train: np.ndarray
    X_eval: np.ndarray
    held: set[int]
    fit_rows: list[int]
    base: BaseRows | None  # the base model's training rows, learnt from beside the project's labels

    @property
    def fit_ids(self) -> list[int]:
        """The training tasks the head is fitted on."""
        return [self.train_ids[k] for k in self.fit_rows]

    @property
    def eval_labels(self) -> list[Any]:
        """The evaluation slice's labels, row for row with ``X_eval``."""
        return [self.split.held[i] for i in self.eval_ids]

    @property
    def training(self) -> dict[str, dict[str, Any]]:
        """What a version keeps of its labels (``TRAINING_FILE``): those fitted on, and the slice's."""
        split = self.split
        return {
            "train": {str(i): split.train[i] for i in self.fit_ids},
            "eval": {str(i): split.held[i] for i in self.eval_ids},
        }


@dataclass(frozen=True)
class Evaluation:
    """A new version on the evaluation slice (None: the slice is empty), and its judgement against the serving one."""

    metrics: dict[str, float] | None
    calibration: dict[str, Any] | None
    parent: Parent | None
    parent_metrics: dict[str, float] | None
    decision: Promotion


@dataclass(frozen=True)
class Pushed:
    """What publishing a version did in Label Studio: predictions pushed, and (promoted only) the figures of its
    predictions that the stopping rules read."""

    count: int
    stop_set: dict[str, list] | None = None
    uncertainty: dict[str, Any] | None = None


def embed_labels(project: Project, reason: str, split: LabelSplit, timer: Timer) -> LabelData:
    """The split's training and evaluation tasks embedded, and (``--review-holdout``) the labels held for review."""
    encoder = project.encoder
    text_of = split.texts()
    train_ids, eval_ids = sorted(split.train), sorted(split.held)
    log.info(
        "project %s (%s): training the fast tier on %d labels (%d held out)",
        project.id,
        reason,
        len(train_ids),
        len(eval_ids),
    )
    with timer.phase("embed"):
        X_train = project.embed(encoder, [text_of[i] for i in train_ids])
        X_eval = project.embed(encoder, [text_of[i] for i in eval_ids])
    # --review-holdout: the labels the last review marked sit out until their label changes or a review clears them
    held = held_for_review(project.work, split.train) if project.settings.review_holdout else set()
    fit_rows = [k for k, tid in enumerate(train_ids) if tid not in held] if held else list(range(len(train_ids)))
    with timer.phase("embed"):
        base = base_rows(project, encoder)
    return LabelData(split, encoder, text_of, train_ids, eval_ids, X_train, X_eval, held, fit_rows, base)


def fit(project: Project, data: LabelData, timer: Timer) -> EmbedHeadClassifier:
    """The fast tier's head fitted on the training labels not held for review, and the base model's rows."""
    settings = project.settings
    X, labels = data.X_train[data.fit_rows], [data.split.train[i] for i in data.fit_ids]
    if data.base is not None:
        X, labels = np.concatenate([X, data.base.X]), labels + data.base.labels
    with timer.phase("fit"):
        return fit_head(
            X,
            labels,
            list(project.schema.labels),
            project.schema.multi_label,
            encoder=data.encoder,
            seed=settings.seed,
            class_weight=settings.class_weight,
            precision=settings.precision,
        )


def evaluate(project: Project, model: EmbedHeadClassifier, data: LabelData, timer: Timer) -> Evaluation:
    """The new version's figures on the evaluation slice, and whether it replaces the serving version."""
    classes, multi = list(project.schema.labels), project.schema.multi_label
    eval_ids, eval_labels = data.eval_ids, data.eval_labels
    with timer.phase("evaluate"):
        proba_eval = model.predict_proba_embeddings(data.X_eval) if eval_ids else None
        metrics = calibration = None
        if proba_eval is not None:
            metrics = heldout_metrics(proba_eval, eval_labels, classes, multi)
            calibration = calibration_figures(proba_eval, eval_labels, classes, multi)
        # labels held for review count as seen: leaving them out must not make the version look less informed
        settings = project.settings
        evidence = TrainingEvidence(
            data.X_train[data.fit_rows],
            data.fit_ids,
            [data.split.train[i] for i in data.fit_ids],
            data.base,
            settings.class_weight,
            settings.seed,
        )
        # project labels only: a base model's rows do not make a handful of labels a better judge of the base
        size = len(data.train_ids)
        judged = judge(project, metrics, proba_eval, eval_ids, eval_labels, data.X_eval, data.encoder, size, evidence)
    return Evaluation(metrics, calibration, judged.parent, judged.parent_metrics, judged.decision)


def version_card(
    project: Project, reason: str, snapshot: LabelSnapshot, split: LabelSplit, data: LabelData, judged: Evaluation
) -> dict[str, Any]:
    """The new version's card: how and on what it was trained, and how it was judged."""
    return {
        "tier": "fast",
        "project": project.id,
        "reason": reason,
        "encoder": data.encoder,
        "strategy": project.strategy,
        "training_size": len(data.fit_rows),
        "held_for_review": len(data.held),
        "base_rows": {"version": data.base.version, "rows": len(data.base)} if data.base is not None else None,
        "eval_size": len(data.eval_ids),
        "eval_source": "evaluation slice",
        "metrics": judged.metrics,
        "parent_metrics": judged.parent_metrics,
        "promotion": judged.decision.as_dict(),
        "calibration": judged.calibration,
        "agreement": split.report.summary() if split.report is not None else None,
        "label_counts": label_counts(split.train.values()),
        "labels_fingerprint": snapshot.fingerprint,
        "data_fingerprint": snapshot.fingerprint,
    }


def publish(
    project: Project,
    model: EmbedHeadClassifier,
    card: dict[str, Any],
    centroids: np.ndarray | None,
    training: dict[str, Any],
    promote: bool,
) -> str:
    """Write the version into the project's store (with its centroids and labels), promoted or not; its name."""

    def write(m: Any, path: Path) -> None:
        m.save(path)
        if centroids is not None:
            save_centroids(path, centroids)
        (path / TRAINING_FILE).write_text(json.dumps(training, default=list))

    return project.store.publish(model, card, promote=promote, write=write)


def push(
    project: Project,
    version: str,
    model: EmbedHeadClassifier,
    centroids: np.ndarray | None,
    training: dict[str, Any],
    promote: bool,
    timer: Timer,
) -> Pushed:
    """A promoted version's head pushed to Label Studio (and its stop-set and pool figures); else the serving version
    stays, and tasks new since its push still get its predictions."""
    if not promote:
        return Pushed(refresh(project, timer))
    card = project.store.card(version)
    current = Current(
        model_version_name(version), True, version, model, centroids=centroids, training=training, card=card
    )
    count, proba_by_id = push_head(project, current, timer)
    return Pushed(count, stop_set_predictions(project, proba_by_id), open_uncertainty(project, proba_by_id))


def review_labels(
    project: Project, model: EmbedHeadClassifier, data: LabelData, snapshot: LabelSnapshot, timer: Timer
) -> dict[str, Any] | None:
    """The label review over every training label (those held for review too), the new head answering for the
    tasks outside training."""
    encoder, text_of = data.encoder, data.text_of
    return review_training_labels(
        project,
        data.X_train,
        data.train_ids,
        [data.split.train[i] for i in data.train_ids],
        timer,
        snapshot,
        lambda ids: model.predict_proba_embeddings(project.embed(encoder, [text_of[i] for i in ids])),
    )


def record_version(
    project: Project,
    reason: str,
    version: str,
    data: LabelData,
    judged: Evaluation,
    card: dict[str, Any],
    pushed: Pushed,
    review: dict[str, Any] | None,
    timer: Timer,
) -> None:
    """The version's record in the project's history (``textal status`` and the stopping rules read it)."""
    history.append_record(
        project.files.history_path,
        {
            "version": version,
            "model_version": model_version_name(version),
            "promoted": judged.decision.promote,
            "reason": reason,
            "created_at": now_iso(),
            "train_size": len(data.fit_rows),
            "eval_size": len(data.eval_ids),
            "labels": len(data.train_ids) + len(data.eval_ids),
            "metrics": judged.metrics,
            "parent": judged.parent.model_version if judged.parent is not None else None,
            "parent_metrics": judged.parent_metrics,
            "promotion": judged.decision.as_dict(),
            "agreement": card["agreement"],
            "label_counts": card["label_counts"],
            "encoder": data.encoder,
            "stop_set": pushed.stop_set,
            "uncertainty": pushed.uncertainty,
            "pushed": pushed.count,
            "review": review,
            "timings": timer.phases,
            "seconds": timer.total(),
        },
    )


def log_version(
    project: Project, reason: str, version: str, data: LabelData, judged: Evaluation, pushed: int, timer: Timer
) -> None:
    """One line: the version, its figures, whether it was promoted, what was pushed and where the time went."""
    decision = judged.decision
    summary = ", ".join(f"{k} {v:.3f}" for k, v in (judged.metrics or {}).items() if k != "n")
    log.info(
        "project %s (%s): %s trained on %d labels (%d held out%s), %s; %d predictions pushed; %.2f s (%s)",
        project.id,
        reason,
        version,
        len(data.train_ids),
        len(data.eval_ids),
        f": {summary}" if summary else "",
        "promoted" if decision.promote else f"NOT promoted: {decision.reason}",
        pushed,
        timer.total(),
        ", ".join(f"{k} {v:.2f}" for k, v in timer.phases.items()),
    )


def evaluate_serving(project: Project, split: LabelSplit, timer: Timer) -> None:
    """While no version can be trained yet, the base model's figures on the slice, recorded when the slice grew."""
    eval_ids = sorted(split.held)
    if not eval_ids or project.work.get("base_evaluated_on") == len(eval_ids):
        return
    text_of = split.texts()
    with timer.phase("evaluate"):
        X_eval = project.embed(project.encoder, [text_of[i] for i in eval_ids])
        parent = serving_parent(project, eval_ids, X_eval, project.encoder)
        if parent is None or not parent.base or parent.proba is None:
            return
        labels = [split.held[i] for i in eval_ids]
        metrics = heldout_metrics(parent.proba, labels, list(project.schema.labels), project.schema.multi_label)
    if metrics is not None:
        record_base(project, parent, metrics, len(split.train) + len(eval_ids))
        project.save(base_evaluated_on=len(eval_ids))


def record_base(project: Project, parent: Parent, metrics: dict[str, float], labels: int) -> None:
    """A history record of the base model's figures on today's evaluation slice (the learning curve's starting
    point)."""
    history.append_record(
        project.files.history_path,
        {
            "version": parent.model_version,
            "model_version": parent.model_version,
            "base": True,
            "promoted": True,
            "reason": "the base model on the evaluation slice",
            "created_at": now_iso(),
            "train_size": 0,
            "base_train_size": parent.train_size,
            "eval_size": int(metrics.get("n", 0)),
            "labels": labels,
            "metrics": metrics,
        },
    )


def maybe_request_finetune(project: Project, train_size: int) -> None:
    """Ask for a full fine-tune once ``full_every`` labels have arrived since the last one (unless one is on its
    way)."""
    every = project.settings.full_every
    base = int(project.work.get("labels_at_finetune", 0))
    if not fine_tune_due(train_size, base, every):
        return
    gate = project.ctx.jobs.gate
    busy = gate.pending("finetune", project.id) is not None or gate.lease("finetune", project.id) is not None
    if not busy:
        project.ctx.jobs.enqueue_finetune(project.id, f"{train_size - base} new labels since the last fine-tune")
