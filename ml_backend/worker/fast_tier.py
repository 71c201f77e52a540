"""The fast tier of a live project: refit a head over cached embeddings, judge it on the evaluation slice against
its parent, publish it (promoted or not), then push its predictions and record the version in the history."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ml_backend.labelstudio.annotations import LabelSnapshot
from ml_backend.scoring.clusters import fit_centroids, save_centroids
from ml_backend.scoring.loaded import model_version_name
from ml_backend.state.pool_mirror import PoolTask
from ml_backend.worker.current import TRAINING_FILE, Current, Parent, serving_parent
from ml_backend.worker.judging import judge
from ml_backend.worker.labels import LabelSplit, label_counts
from ml_backend.worker.project import Project
from ml_backend.worker.publisher import push_head, refresh
from ml_backend.worker.review import held_for_review, review_training_labels
from ml_backend.worker.timing import Timer, now_iso
from textal.models.fine_tune_schedule import fine_tune_due
from textal.store import history
from textal.training.head_refit import (
    calibration_figures,
    fit_head,
    heldout_metrics,
    pool_uncertainty,
)

log = logging.getLogger("ml_backend.worker")

CENTROIDS = 8  # clusters of the pool's embeddings (Label Studio's least-solved-cluster-first order)


def train_and_publish(
    project: Project, reason: str, snapshot: LabelSnapshot, split: LabelSplit, timer: Timer
) -> dict[str, Any]:
    """Fit, evaluate and publish a fast-tier version on ``split``; push it if promoted; returns the job's summary."""
    p, settings = project, project.settings
    encoder = p.encoder
    classes, multi = list(p.schema.labels), p.schema.multi_label
    text_of = split.texts()
    train_ids, eval_ids = sorted(split.train), sorted(split.held)
    log.info(
        "project %s (%s): training the fast tier on %d labels (%d held out)",
        p.id,
        reason,
        len(train_ids),
        len(eval_ids),
    )
    with timer.phase("embed"):
        X_train = p.ctx.embedder.embed(encoder, [text_of[i] for i in train_ids])
        X_eval = p.ctx.embedder.embed(encoder, [text_of[i] for i in eval_ids])
    # --review-holdout: the labels the last review marked sit out until their label changes or a review clears them
    held = held_for_review(p.work, split.train) if settings.review_holdout else set()
    fit_rows = [k for k, tid in enumerate(train_ids) if tid not in held] if held else list(range(len(train_ids)))
    fit_ids = [train_ids[k] for k in fit_rows]
    with timer.phase("fit"):
        model = fit_head(
            X_train[fit_rows],
            [split.train[i] for i in fit_ids],
            classes,
            multi,
            encoder=encoder,
            seed=settings.seed,
            class_weight=settings.class_weight,
        )
    with timer.phase("evaluate"):
        eval_labels = [split.held[i] for i in eval_ids]
        proba_eval = model.predict_proba_embeddings(X_eval) if eval_ids else None
        metrics = heldout_metrics(proba_eval, eval_labels, classes, multi) if eval_ids else None
        calibration = calibration_figures(proba_eval, eval_labels, classes, multi) if eval_ids else None
        # labels held for review count as seen: leaving them out must not make the version look less informed
        judged = judge(p, metrics, proba_eval, eval_ids, eval_labels, X_eval, encoder, len(train_ids))
        parent, parent_metrics, decision = judged.parent, judged.parent_metrics, judged.decision
    training = {"train": {str(i): split.train[i] for i in fit_ids}, "eval": {str(i): split.held[i] for i in eval_ids}}
    with timer.phase("centroids"):
        centroids = pool_centroids(p, encoder, split.tasks)
    card = {
        "tier": "fast",
        "project": p.id,
        "reason": reason,
        "encoder": encoder,
        "strategy": p.strategy,
        "training_size": len(fit_ids),
        "held_for_review": len(held),
        "eval_size": len(eval_ids),
        "eval_source": "evaluation slice",
        "metrics": metrics,
        "parent_metrics": parent_metrics,
        "promotion": decision.as_dict(),
        "calibration": calibration,
        "agreement": split.report.summary() if split.report is not None else None,
        "label_counts": label_counts(split.train.values()),
        "labels_fingerprint": snapshot.fingerprint,
        "data_fingerprint": snapshot.fingerprint,
    }

    def write(m: Any, path: Path) -> None:
        m.save(path)
        if centroids is not None:
            save_centroids(path, centroids)
        (path / TRAINING_FILE).write_text(json.dumps(training, default=list))

    with timer.phase("publish"):
        version = p.store.publish(model, card, promote=decision.promote, write=write)
    p.mirror.set_trained(fit_ids)
    mv = model_version_name(version)
    stop_set = uncertainty = None
    if decision.promote:
        current = Current(mv, True, version, model, centroids=centroids, training=training, card=p.store.card(version))
        pushed, proba_by_id = push_head(p, current, timer)
        stop_set = stop_set_predictions(p, proba_by_id)
        open_ids = {t.id for t in p.mirror.tasks() if not t.labelled and not t.eval}
        open_rows = [q for tid, q in proba_by_id.items() if tid in open_ids]
        uncertainty = pool_uncertainty(np.array(open_rows), multi) if open_rows else None
    else:  # the serving version stays; tasks new since its push still get its predictions
        pushed = refresh(p, timer)
    # after the push: annotators get the new version first; the review costs seconds on thousands of labels
    review = review_training_labels(
        p,
        X_train,
        train_ids,
        [split.train[i] for i in train_ids],
        timer,
        snapshot,
        lambda ids: model.predict_proba_embeddings(p.ctx.embedder.embed(encoder, [text_of[i] for i in ids])),
    )
    p.save(trained_fingerprint=snapshot.fingerprint, trained_encoder=encoder)
    maybe_request_finetune(p, len(train_ids))
    if parent is not None and parent.base and parent_metrics is not None:
        record_base(p, parent, parent_metrics, len(train_ids) + len(eval_ids))
    history.append_record(
        p.files.history_path,
        {
            "version": version,
            "model_version": mv,
            "promoted": decision.promote,
            "reason": reason,
            "created_at": now_iso(),
            "train_size": len(fit_ids),
            "eval_size": len(eval_ids),
            "labels": len(train_ids) + len(eval_ids),
            "metrics": metrics,
            "parent": parent.model_version if parent is not None else None,
            "parent_metrics": parent_metrics,
            "promotion": decision.as_dict(),
            "agreement": card["agreement"],
            "label_counts": card["label_counts"],
            "encoder": encoder,
            "stop_set": stop_set,
            "uncertainty": uncertainty,
            "pushed": pushed,
            "review": review,
            "timings": timer.phases,
            "seconds": timer.total(),
        },
    )
    p.store.update_card(version, timings=timer.phases, pushed_predictions=pushed)
    summary = ", ".join(f"{k} {v:.3f}" for k, v in (metrics or {}).items() if k != "n")
    log.info(
        "project %s (%s): %s trained on %d labels (%d held out%s), %s; %d predictions pushed; %.2f s (%s)",
        p.id,
        reason,
        version,
        len(train_ids),
        len(eval_ids),
        f": {summary}" if summary else "",
        "promoted" if decision.promote else f"NOT promoted: {decision.reason}",
        pushed,
        timer.total(),
        ", ".join(f"{k} {v:.2f}" for k, v in timer.phases.items()),
    )
    return {
        "status": "published",
        "version": version,
        "promoted": decision.promote,
        "pushed": pushed,
        "metrics": metrics,
        "timings": timer.phases,
    }


def evaluate_serving(project: Project, split: LabelSplit, timer: Timer) -> None:
    """While no version can be trained yet, the base model's figures on the slice, recorded when the slice grew."""
    eval_ids = sorted(split.held)
    if not eval_ids or project.work.get("base_evaluated_on") == len(eval_ids):
        return
    text_of = split.texts()
    with timer.phase("evaluate"):
        X_eval = project.ctx.embedder.embed(project.encoder, [text_of[i] for i in eval_ids])
        parent = serving_parent(project, eval_ids, X_eval, project.encoder)
        if parent is None or not parent.base or parent.proba is None:
            return
        labels = [split.held[i] for i in eval_ids]
        metrics = heldout_metrics(parent.proba, labels, list(project.schema.labels), project.schema.multi_label)
    if metrics is not None:
        record_base(project, parent, metrics, len(split.train) + len(eval_ids))
        project.save(base_evaluated_on=len(eval_ids))


def record_base(project: Project, parent: Parent, metrics: dict[str, float], labels: int) -> None:
    """A history record of the base model's figures on today's evaluation slice (the learning curve's starting point)."""
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


def pool_centroids(project: Project, encoder: str, tasks: list[PoolTask]) -> np.ndarray | None:
    """k-means centroids of the pool's embeddings, refit when the encoder changes or the pool grows by a tenth."""
    readable = [t.text for t in tasks if t.text is not None]
    if len(readable) < 2:
        return None
    fingerprint = project.ctx.embedder.fingerprint(encoder)
    path = project.files.centroids_path
    known = project.work.get("centroids_for") or {}
    if known.get("encoder") == fingerprint and len(readable) <= 1.1 * int(known.get("n", 0)) and path.is_file():
        return np.load(path)
    X = project.ctx.embedder.embed(encoder, readable)
    centroids = fit_centroids(X, k=CENTROIDS, seed=project.settings.seed)
    np.save(path, centroids)
    project.save(centroids_for={"encoder": fingerprint, "n": len(readable)})
    return centroids


def stop_set_predictions(project: Project, proba_by_id: dict[int, np.ndarray]) -> dict[str, list] | None:
    """The version's predictions on the project's fixed stop set (for the stabilising-predictions rule)."""
    ids = [i for i in project.work.get("stop_set", []) if i in proba_by_id]
    if not ids:
        return None
    if project.schema.multi_label:
        pred = [[int(q >= 0.5) for q in proba_by_id[i]] for i in ids]
    else:
        pred = [int(np.argmax(proba_by_id[i])) for i in ids]
    return {"ids": ids, "pred": pred}


def maybe_request_finetune(project: Project, train_size: int) -> None:
    """Ask for a full fine-tune once ``full_every`` labels have arrived since the last one (unless one is on its way)."""
    every = project.settings.full_every
    base = int(project.work.get("labels_at_finetune", 0))
    if not fine_tune_due(train_size, base, every):
        return
    gate = project.ctx.jobs.gate
    busy = gate.pending("finetune", project.id) is not None or gate.lease("finetune", project.id) is not None
    if not busy:
        project.ctx.jobs.enqueue_finetune(project.id, f"{train_size - base} new labels since the last fine-tune")
