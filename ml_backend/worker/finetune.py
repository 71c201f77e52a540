"""The full tier: tune the transformer on every label (``--full-tier``, minutes), adopt the new encoder only if its
head does not lose to the serving version on the evaluation slice, then ask for a retrain that continues the fast tier
from it."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from ml_backend.worker.judging import judge
from ml_backend.worker.labels import LabelSplit
from ml_backend.worker.project import Project
from ml_backend.worker.timing import Timer, now_iso
from textal.runtime.fsutil import pid_alive
from textal.training.head_refit import fit_head, heldout_metrics

log = logging.getLogger("ml_backend.worker")


def finetune(project: Project, reason: str, split: LabelSplit, timer: Timer) -> dict[str, Any]:
    """Fine-tune on ``split``'s training labels; returns the job's summary (adopted or rejected, and why)."""
    from textal.training.full_tier import tune_encoder, tuning_summary  # torch's training stack: only when tuning

    p, settings = project, project.settings
    classes, multi = list(p.schema.labels), p.schema.multi_label
    text_of = split.texts()
    train_ids, eval_ids = sorted(split.train), sorted(split.held)
    encoders = p.files.encoders_dir
    encoders.mkdir(parents=True, exist_ok=True)
    sweep_staging(encoders)
    stage = encoders / f".staging-{os.getpid()}-{secrets.token_hex(4)}"
    log.info("project %s (%s): tuning the encoder (%s) on %d labels", p.id, reason, settings.full_tier, len(train_ids))
    try:
        with timer.phase("finetune"):
            model = tune_encoder(
                [text_of[i] for i in train_ids],
                [split.train[i] for i in train_ids],
                classes,
                multi,
                full_tier=settings.full_tier,
                encoder=settings.encoder,
                epochs=settings.full_epochs,
                min_steps=settings.full_min_steps,
                seed=settings.seed,
                precision=settings.precision,
            )
            model.save(stage)
        tuning = {"full_tier": settings.full_tier, **tuning_summary(model)}
        if "stopped" in tuning:
            log.warning("project %s: the full tier stopped early: %s", p.id, tuning["stopped"])
        target = encoders / next_encoder_name(encoders)
        os.rename(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    encoder = str(target)
    embed = p.embed
    with timer.phase("evaluate"):
        X_train = embed(encoder, [text_of[i] for i in train_ids])
        X_eval = embed(encoder, [text_of[i] for i in eval_ids])
        head = fit_head(
            X_train,
            [split.train[i] for i in train_ids],
            classes,
            multi,
            encoder=encoder,
            seed=settings.seed,
            class_weight=settings.class_weight,
            precision=settings.precision,
        )
        eval_labels = [split.held[i] for i in eval_ids]
        proba_eval = head.predict_proba_embeddings(X_eval)
        metrics = heldout_metrics(proba_eval, eval_labels, classes, multi) if eval_ids else None
        old_encoder = p.encoder
        decision = judge(
            p,
            metrics,
            proba_eval,
            eval_ids,
            eval_labels,
            embed(old_encoder, [text_of[i] for i in eval_ids]),
            old_encoder,
            len(train_ids),
        ).decision
    if not decision.promote:
        shutil.rmtree(target, ignore_errors=True)
        p.save(
            labels_at_finetune=len(train_ids),
            last_finetune={"at": now_iso(), "adopted": False, "reason": decision.reason, **tuning},
        )
        log.info("project %s: fine-tuned encoder not adopted (%s)", p.id, decision.reason)
        return {"status": "rejected", "reason": decision.reason, "timings": timer.phases}
    with timer.phase("embed pool"):
        embed(encoder, p.readable_texts())
    p.save(
        encoder=encoder,
        labels_at_finetune=len(train_ids),
        last_finetune={
            "at": now_iso(),
            "adopted": True,
            **tuning,
            "encoder": encoder,
            "metrics": metrics,
            "seconds": timer.total(),
        },
    )
    log.info(
        "project %s: fine-tuned encoder %s adopted in %.1f s (%s)", p.id, target.name, timer.total(), decision.reason
    )
    p.ctx.jobs.enqueue_retrain(p.id, "finetune")
    return {"status": "adopted", "encoder": encoder, "metrics": metrics, "timings": timer.phases}


def next_encoder_name(folder: Path) -> str:
    """The next free ``eNNNN`` folder name."""
    numbers = [int(q.name[1:]) for q in folder.iterdir() if re.fullmatch(r"e\d{4,}", q.name)]
    return f"e{(max(numbers) if numbers else 0) + 1:04d}"


def sweep_staging(folder: Path) -> None:
    """Remove encoder staging folders whose writer is gone (a fine-tune killed mid-way)."""
    for stage in folder.glob(".staging-*"):
        parts = stage.name.split("-")
        pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if pid != os.getpid() and (pid is None or not pid_alive(pid)):
            shutil.rmtree(stage, ignore_errors=True)
