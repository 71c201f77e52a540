"""The worker's job bodies, injected into ``ml_backend.queue.jobs.Jobs``: ``retrain``, ``score_tasks``, ``finetune``,
``fill_predictions`` of a project (coalescing, leases, backoff and recovery live in ``ml_backend.queue``).

One retrain:

1. reads the project from Label Studio: new or deleted tasks into the pool mirror, the annotations
   of changed tasks into votes and a fingerprint of the label set (``sync``);
2. sets the project up once (uncertainty sampling, views) and keeps the evaluation slice topped up (``setup``);
3. if the labels (or the encoder) changed: resolves several annotations per task, keeps the slice
   out of training, refits the fast tier, judges it against its parent on the slice and publishes it
   (``fast_tier``);
4. pushes the serving version's predictions to the head of its order, THEN sets the project's
   ``model_version`` to it, and leaves the other open tasks to ``fill_predictions`` (``publisher``);
5. asks for a full fine-tune every ``full_every`` new labels, or on START_TRAINING (``finetune``).

A job of a project the worker gave up (``WorkerContext.given_up``: deleted in Label Studio, a
malformed URL, every token refused) returns at once without calling Label Studio, until a /setup
reconnects the project; ``gave_up`` is what the queue calls when a job fails that way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ml_backend.errors import HopelessError
from ml_backend.labelstudio.api import StudioAPI
from ml_backend.worker.base_rows import base_labels
from ml_backend.worker.context import WorkerContext
from ml_backend.worker.fast_tier import evaluate_serving, train_and_publish
from ml_backend.worker.finetune import finetune
from ml_backend.worker.labels import not_trainable, split_labels
from ml_backend.worker.project import Project
from ml_backend.worker.publisher import fill, refresh
from ml_backend.worker.setup import ensure_setup, mark_slice, warm_embeddings
from ml_backend.worker.sync import LabelSync
from ml_backend.worker.timing import Timer
from textal.training.full_tier import why_not_tunable

log = logging.getLogger("ml_backend.worker")

START_TRAINING = "START_TRAINING"  # the Label Studio event that also asks for a full fine-tune


class ProjectJobs:
    """Runs each job on a fresh view of its project (``studio_for`` replaces Label Studio, for tests)."""

    def __init__(self, ctx: WorkerContext, studio_for: Callable[[int], StudioAPI] | None = None) -> None:
        self.ctx = ctx
        self._studio_for = studio_for

    def project(self, project_id: int) -> Project:
        studio: StudioAPI | None = self._studio_for(project_id) if self._studio_for is not None else None
        return Project(self.ctx, project_id, studio=studio)

    def gave_up(self, project_id: int, job: str, error: HopelessError) -> None:
        """The queue's call when a job failed in a way waiting cannot fix: the worker gives the project up."""
        self.ctx.give_up(project_id, error, job)

    def _given_up(self, project_id: int, job: str) -> dict[str, Any] | None:
        """The answer of a job of a project given up (nothing is asked of Label Studio), or None: run it."""
        record = self.ctx.given_up(project_id)
        if record is None:
            return None
        log.info(
            "project %s: %s skipped: textal gave the project up at %s (%s)",
            project_id,
            job,
            record.get("at"),
            record.get("reason"),
        )
        return {"status": "given up", "reason": record.get("reason")}

    def retrain(self, project_id: int, reason: str = "", full: bool = False) -> dict[str, Any]:
        """Refresh the project from its Label Studio annotations (``full``: read every annotation again)."""
        if (held := self._given_up(project_id, "retrain")) is not None:
            return held
        p, timer = self.project(project_id), Timer()
        sync = LabelSync(p)
        with timer.phase("read"):
            info = p.info()
            sync.sync_pool()
            snapshot = sync.read_labels(full=full)
        with timer.phase("setup"):
            ensure_setup(p)
        if reason == START_TRAINING:
            self.ctx.jobs.enqueue_finetune(p.id, START_TRAINING)
        if snapshot.fingerprint == p.work.get("trained_fingerprint") and p.encoder == p.work.get("trained_encoder"):
            pushed = refresh(p, timer)
            mark_slice(p)
            p.save(last_counts=info.counts())
            log.info(
                "project %s (%s): labels unchanged; %d predictions pushed in %.2f s",
                p.id,
                reason,
                pushed,
                timer.total(),
            )
            return {"status": "unchanged", "pushed": pushed}
        split = split_labels(p, snapshot)
        waiting = not_trainable(split.train, p.schema.multi_label, base_labels(p))
        if waiting is not None:
            pushed = refresh(p, timer)
            mark_slice(p)
            evaluate_serving(p, split, timer)
            warm_embeddings(p, timer)
            p.save(last_counts=info.counts())
            log.info(
                "project %s (%s): %s; %d predictions pushed in %.2f s (%s)",
                p.id,
                reason,
                waiting,
                pushed,
                timer.total(),
                ", ".join(f"{k} {v:.2f} s" for k, v in timer.phases.items()),
            )
            return {"status": "waiting", "reason": waiting, "pushed": pushed}
        outcome = train_and_publish(p, reason, snapshot, split, timer)
        mark_slice(p)
        p.save(last_counts=info.counts())
        return outcome

    def score_tasks(self, project_id: int, task_ids: list[int]) -> dict[str, Any]:
        """Give newly imported tasks (and any other task without one) a prediction of the current version."""
        if (held := self._given_up(project_id, "score_tasks")) is not None:
            return held
        p, timer = self.project(project_id), Timer()
        sync = LabelSync(p)
        with timer.phase("read"):
            p.info()
            new = sync.sync_pool()
        with timer.phase("setup"):
            ensure_setup(p)
        pushed = refresh(p, timer)
        pushed += fill(p, timer)  # the new tasks now, best-ranked first (the rest of a large import in the background)
        mark_slice(p)
        warm_embeddings(p, timer)
        log.info(
            "project %s: scored new tasks (%d asked, %d new to the mirror): %d predictions pushed in %.2f s",
            p.id,
            len(task_ids),
            len(new),
            pushed,
            timer.total(),
        )
        return {"status": "scored", "pushed": pushed, "timings": timer.phases}

    def finetune(self, project_id: int, reason: str = "") -> dict[str, Any]:
        """Fine-tune the transformer on the project's labels; the fast tier continues from its encoder."""
        if (held := self._given_up(project_id, "finetune")) is not None:
            return held
        p, timer = self.project(project_id), Timer()
        sync = LabelSync(p)
        with timer.phase("read"):
            p.info()
            sync.sync_pool()
            snapshot = sync.read_labels()
        split = split_labels(p, snapshot)
        labels = list(split.train.values())
        waiting = not_trainable(split.train, p.schema.multi_label) or why_not_tunable(
            labels, p.schema.multi_label, p.settings.full_tier
        )
        if waiting is not None:
            log.info("project %s: no fine-tune (%s)", p.id, waiting)
            return {"status": "waiting", "reason": waiting}
        return finetune(p, reason, split, timer)

    def fill_predictions(self, project_id: int) -> dict[str, Any]:
        """Push the serving version's predictions to the next chunk of open tasks that lack them."""
        if (held := self._given_up(project_id, "fill_predictions")) is not None:
            return held
        p, timer = self.project(project_id), Timer()
        pushed = fill(p, timer)
        return {"status": "filled", "pushed": pushed, "seconds": round(timer.total(), 3)}
