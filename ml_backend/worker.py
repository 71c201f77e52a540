"""The retrain worker's jobs: ``retrain``, ``score_tasks``, ``finetune``, ``prune_predictions``.

These are the bodies ``ml_backend.jobs.Jobs`` runs under a project's lease (coalescing, backoff and
crash recovery live there and in ``ml_backend.coalesce``). One retrain:

1. reads the project from Label Studio: new or deleted tasks into the pool mirror, every annotation
   (paged, cancelled ones left out) into votes and a fingerprint of the label set;
2. sets the project up once (uncertainty sampling, views) and keeps the evaluation slice topped up;
3. if the labels (or the encoder) changed: resolves several annotations per task with
   ``textal.agreement``, keeps the evaluation slice out of training, refits the fast tier (a
   logistic head over cached embeddings), evaluates it and its parent on the slice, and publishes
   it with its card, promoted unless it is worse than the parent by more than the margin;
4. rescores the whole pool under the project's strategy and pushes the predictions of every
   unlabelled task to Label Studio in bulk under the new ``model_version``, THEN sets the project's
   ``model_version`` to it, so the label stream never mixes versions;
5. asks for a full fine-tune every ``full_every`` new labels (or on START_TRAINING).

``score_tasks`` (TASKS_CREATED) and a retrain that finds nothing new share step 4's path for the
tasks that have no prediction of the current version yet: new tasks are scored without waiting for
a retrain. ``finetune`` fine-tunes the transformer on all labels (minutes), keeps the encoder if it
does not lose to the current version on the slice, and asks for a retrain, which continues the
fast tier from the new encoder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ml_backend.annotations import LabelSnapshot, read_snapshot
from ml_backend.clusters import ClusterAssigner, fit_centroids, load_centroids, save_centroids
from ml_backend.lssetup import choose_eval_topup, ensure_ordering, mark_eval
from ml_backend.pool import PoolTask
from ml_backend.reconcile import FULL_CHECK
from ml_backend.projects import ProjectState
from ml_backend.refresh import PoolScorer, Row, chosen_labels, ls_scores, predictions
from ml_backend.serving import LoadedModel, load_version, model_version_name
from ml_backend.studio import ProjectInfo, Studio, after_id
from ml_backend.worker_context import WorkerContext, context
from ml_backend.workfiles import ProjectFiles
from textal import history
from textal.agreement import AgreementReport, resolve
from textal.errors import TextalError
from textal.store import MODEL_DIR, ModelStore

log = logging.getLogger("ml_backend.worker")

READ_SLACK_S = 5.0  # re-read tasks updated this long before the last read (commits that landed late)
COLD_START_VERSION = "textal-cold-start"  # model_version of the slice-first ordering before any model exists
TRAINING_FILE = "textal_training.json"  # task ids and labels a version was trained and evaluated on
STOP_SET_SIZE = 1000
CENTROIDS = 8
TEXTAL_VERSION_RE = re.compile(rf"^(base-)?v\d{{4,}}$|^{COLD_START_VERSION}$")


# -- the job bodies (called by ml_backend.jobs) --------------------------------------------------


def retrain(data_dir: str | Path, project_id: int, reason: str = "") -> dict[str, Any]:
    """Refresh the project from its Label Studio annotations; see the module docstring."""
    return ProjectRun(context(data_dir), project_id).retrain(reason)


def score_tasks(data_dir: str | Path, project_id: int, task_ids: list[int]) -> dict[str, Any]:
    """Give newly imported tasks (and any other task without one) a prediction of the current version."""
    return ProjectRun(context(data_dir), project_id).score_new(task_ids)


def finetune(data_dir: str | Path, project_id: int, reason: str = "") -> dict[str, Any]:
    """Fine-tune the transformer on the project's labels; the fast tier continues from its encoder."""
    return ProjectRun(context(data_dir), project_id).finetune(reason)


def prune_predictions(data_dir: str | Path, project_id: int) -> dict[str, Any]:
    """Delete Label Studio predictions of textal versions that are no longer among the last few pushed."""
    return ProjectRun(context(data_dir), project_id).prune()


# -- one job's view of a project -----------------------------------------------------------------


class Timer:
    """Named phase durations for logs, cards and the benchmark."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.phases: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - started, 3)

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 3)


@dataclass(frozen=True)
class Current:
    """The model that answers for a project now, as Label Studio must see it."""

    model_version: str
    own: bool  # a version of the project's own store (else the base store's)
    version: str
    model: Any
    loaded: LoadedModel | None = None  # base-store models: as the backend serves them
    centroids: np.ndarray | None = None
    training: dict[str, Any] | None = None  # task ids and labels of an own version
    card: dict[str, Any] | None = None


class ProjectRun:
    """A job's view of one project: its state, pool mirror, store, and Label Studio."""

    def __init__(self, ctx: WorkerContext, project_id: int) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.project_id = int(project_id)
        state = ctx.registry.get(self.project_id)
        if state is None:
            raise TextalError(
                f"project {self.project_id} has no state in {ctx.registry.data_dir}: connect `textal serve` "
                "(same --data-dir) to it in Label Studio first"
            )
        self.state: ProjectState = state
        self.schema = state.schema
        self.strategy = state.strategy or self.settings.strategy
        self.files = ProjectFiles(ctx.registry, self.project_id)
        self.mirror = self.files.mirror()
        self.store = ModelStore(self.files.store_path)
        self.studio = Studio.for_project(state.hostname, ctx.registry.access_token(self.project_id))
        self.work = self.files.state()
        self._info: ProjectInfo | None = None
        self._fresh_data: dict[int, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"ProjectRun({self.project_id})"

    # -- reading Label Studio ------------------------------------------------------------------

    def info(self, refresh: bool = False) -> ProjectInfo:
        if self._info is None or refresh:
            self._info = self.studio.project(self.project_id)
        return self._info

    def sync_pool(self) -> list[int]:
        """Bring the mirror up to Label Studio's task list; returns the ids of tasks new to it."""
        info = self.info()
        fresh = list(self.studio.iter_tasks(self.project_id, items=[after_id(self.mirror.max_id())]))
        self._fresh_data.update({t["id"]: t["data"] for t in fresh})
        new = self.mirror.add(fresh, self.schema, self.settings.max_text_chars)
        if len(self.mirror) != info.task_number:  # tasks were deleted (or the mirror lost some): full listing
            everything = list(self.studio.iter_tasks(self.project_id))
            known = {t.id for t in self.mirror.tasks()}
            self._fresh_data.update({t["id"]: t["data"] for t in everything if t["id"] not in known})
            new += self.mirror.add([t for t in everything if t["id"] not in known], self.schema, self.settings.max_text_chars)
            gone = self.mirror.keep_only(t["id"] for t in everything)
            if gone:
                log.info("project %s: %d tasks deleted in Label Studio", self.project_id, len(gone))
        if new:
            log.info("project %s: %d new tasks", self.project_id, len(new))
        return sorted(set(new))

    def read_labels(self, full: bool = False) -> LabelSnapshot:
        """Every annotation of the project, as a snapshot; read from Label Studio only where tasks changed.

        Tasks updated since the last read (less a few seconds, for late commits) are read and merged
        into the mirror, and the mirror's counts are compared with the project's, read just before. When
        they differ (labels arriving meanwhile, or an update missed) the step is repeated a few times;
        then, or with ``full``, every labelled task is read again.
        """
        cursor = self.work.get("annotations_read_until")
        for _ in range(0 if full or not cursor else 3):
            info = self.studio.project(self.project_id)  # a fresh look; the job's own `info` stays as it began
            since = _stamp(_parse_stamp(cursor) - timedelta(seconds=READ_SLACK_S))
            tasks = self.studio.tasks_updated_since(self.project_id, since)
            self._store_annotations(tasks)
            cursor = self._advance_cursor(tasks, cursor)
            snapshot = read_snapshot(self.mirror.annotated(), self.schema)
            kept = [a for t in self.mirror.annotated() for a in t["annotations"]]
            mine = [len(snapshot.annotated), sum(not a.get("was_cancelled") for a in kept),
                    sum(bool(a.get("was_cancelled")) for a in kept)]
            if mine == [info.tasks_with_annotations, info.total_annotations, info.skipped_annotations]:
                return self._labelled(snapshot)
        if cursor and not full:
            log.info("project %s: mirrored annotations disagree with Label Studio's counts; reading them all", self.project_id)
        tasks = self.studio.labelled_tasks(self.project_id)
        self._store_annotations(tasks, replace_all=True)
        self._advance_cursor(tasks, cursor)
        return self._labelled(read_snapshot(self.mirror.annotated(), self.schema))

    def _store_annotations(self, tasks: list[dict[str, Any]], replace_all: bool = False) -> None:
        """Mirror these tasks' annotations (syncing the pool first if a task is new to it)."""
        known = {t.id for t in self.mirror.tasks()}
        if any(t["id"] not in known for t in tasks):  # imported after this job synced the pool
            self.info(refresh=True)
            self.sync_pool()
            known = {t.id for t in self.mirror.tasks()}
        self.mirror.set_annotations({t["id"]: t["annotations"] for t in tasks if t["id"] in known}, replace_all=replace_all)

    def _advance_cursor(self, tasks: list[dict[str, Any]], cursor: str | None) -> str | None:
        stamps = [_parse_stamp(t["updated_at"]) for t in tasks if t.get("updated_at")] + (
            [_parse_stamp(cursor)] if cursor else [])
        if not stamps:
            return cursor
        cursor = _stamp(max(stamps))
        self._save(annotations_read_until=cursor)
        return cursor

    def _labelled(self, snapshot: LabelSnapshot) -> LabelSnapshot:
        self.mirror.set_labelled(snapshot.annotated)
        if snapshot.unknown_labels:
            log.warning("project %s: annotations use choices the config no longer has: %s", self.project_id,
                        dict(snapshot.unknown_labels))
        return snapshot

    def _task_data(self, task_id: int) -> dict[str, Any]:
        data = self._fresh_data.get(task_id)
        if data is None:
            with self.studio._calling(f"reading task {task_id}"):
                data = self.studio.sdk.tasks.get(id=task_id).data or {}
        return data

    # -- set-up --------------------------------------------------------------------------------

    def ensure_setup(self) -> None:
        """Sampling and views once; the evaluation slice topped up to its share of the pool; the stop set chosen."""
        if not self.work.get("views"):
            views = ensure_ordering(self.studio, self.project_id, self.info().sampling)
            self._save(views=views, setup_at=_now())
        chosen = choose_eval_topup(self.mirror, self.settings.eval_fraction, self.settings.eval_min,
                                   self.settings.seed + self.project_id)
        to_mark = sorted(set(self.work.get("eval_to_mark", [])) | set(chosen))
        if chosen:
            self.mirror.set_eval(chosen)  # held out from here on, whatever happens to the Label Studio marks
            self._save(eval_to_mark=to_mark)
            log.info("project %s: %d tasks join the evaluation slice", self.project_id, len(chosen))
        if to_mark:
            done = mark_eval(self.studio, to_mark, self._task_data)
            self._save(eval_to_mark=sorted(set(to_mark) - set(done)))
        if not self.work.get("stop_set"):
            candidates = [t.id for t in self.mirror.tasks() if t.text is not None and not t.eval]
            if candidates:
                rng = np.random.default_rng(self.settings.seed + self.project_id)
                picked = rng.choice(candidates, size=min(STOP_SET_SIZE, len(candidates)), replace=False)
                self._save(stop_set=sorted(int(i) for i in picked))

    def warm_embeddings(self, timer: Timer) -> None:
        """Embed the whole pool with the fast tier's encoder now, so the first retrain after a label is quick."""
        encoder = self.work.get("encoder") or self.settings.encoder
        texts = [t.text for t in self.mirror.tasks() if t.text is not None]
        with timer.phase("embed pool"):
            self.ctx.embedder.embed(encoder, texts)

    def _save(self, **fields: Any) -> None:
        """Update these fields of the state file (re-read under a lock: a fine-tune may write it meanwhile)."""
        self.work = self.files.update_state(**fields)

    # -- the jobs ------------------------------------------------------------------------------

    def retrain(self, reason: str) -> dict[str, Any]:
        timer = Timer()
        with timer.phase("read"):
            info = self.info()
            self.sync_pool()
            snapshot = self.read_labels(full=reason == FULL_CHECK)
        with timer.phase("setup"):
            self.ensure_setup()
        if reason == "START_TRAINING" and self.ctx.jobs is not None:
            self.ctx.jobs.enqueue_finetune(self.project_id, "START_TRAINING")
        encoder = self.work.get("encoder") or self.settings.encoder
        if snapshot.fingerprint == self.work.get("trained_fingerprint") and encoder == self.work.get("trained_encoder"):
            pushed = self.refresh(timer)
            self._save(last_counts=info.counts())
            log.info("project %s (%s): labels unchanged; %d predictions pushed in %.2f s",
                     self.project_id, reason, pushed, timer.total())
            return {"status": "unchanged", "pushed": pushed}
        outcome = self._train_and_publish(reason, snapshot, encoder, timer)
        self._save(last_counts=info.counts())
        return outcome

    def score_new(self, task_ids: list[int]) -> dict[str, Any]:
        timer = Timer()
        with timer.phase("read"):
            self.info()
            new = self.sync_pool()
        with timer.phase("setup"):
            self.ensure_setup()
        pushed = self.refresh(timer)
        self.warm_embeddings(timer)
        log.info("project %s: scored new tasks (%d asked, %d new to the mirror): %d predictions pushed in %.2f s",
                 self.project_id, len(task_ids), len(new), pushed, timer.total())
        return {"status": "scored", "pushed": pushed, "timings": timer.phases}

    # -- training -------------------------------------------------------------------------------

    def _split(self, snapshot: LabelSnapshot) -> tuple[AgreementReport, dict[int, Any], dict[int, Any], list[PoolTask]]:
        report = resolve(snapshot.votes, self.settings.agreement_threshold, multi_label=self.schema.multi_label,
                         label_set=list(self.schema.labels)) if snapshot.votes else None
        labels = report.training_labels() if report is not None else {}
        tasks = self.mirror.tasks()
        readable = {t.id: t for t in tasks if t.text is not None}
        train = {tid: lab for tid, lab in labels.items() if tid in readable and not readable[tid].eval}
        held = {tid: lab for tid, lab in labels.items() if tid in readable and readable[tid].eval}
        return report, train, held, tasks

    def _trainable(self, train: dict[int, Any]) -> str | None:
        """Why these labels cannot make a model yet, or None."""
        if not train:
            return "no training labels yet"
        if not self.schema.multi_label and len(set(train.values())) < 2:
            return f"all {len(train)} training labels are {next(iter(train.values()))!r}; a second class is needed"
        return None

    def _train_and_publish(self, reason: str, snapshot: LabelSnapshot, encoder: str, timer: Timer) -> dict[str, Any]:
        from textal.fast_tier import (
            calibration_figures,
            fit_head,
            heldout_metrics,
            net_worse_items,
            pool_uncertainty,
            promotion,
        )

        report, train, held, tasks = self._split(snapshot)
        waiting = self._trainable(train)
        if waiting is not None:
            pushed = self.refresh(timer)
            self.warm_embeddings(timer)
            log.info("project %s (%s): %s; %d predictions pushed", self.project_id, reason, waiting, pushed)
            return {"status": "waiting", "reason": waiting, "pushed": pushed}
        classes = list(self.schema.labels)
        multi = self.schema.multi_label
        text_of = {t.id: t.text for t in tasks}
        train_ids, eval_ids = sorted(train), sorted(held)
        log.info("project %s (%s): training the fast tier on %d labels (%d held out)", self.project_id, reason,
                 len(train_ids), len(eval_ids))
        with timer.phase("embed"):
            X_train = self.ctx.embedder.embed(encoder, [text_of[i] for i in train_ids])
            X_eval = self.ctx.embedder.embed(encoder, [text_of[i] for i in eval_ids])
        with timer.phase("fit"):
            model = fit_head(X_train, [train[i] for i in train_ids], classes, multi, encoder=encoder,
                             cache_dir=self.ctx.embedder.cache_dir, seed=self.settings.seed)
        with timer.phase("evaluate"):
            eval_labels = [held[i] for i in eval_ids]
            proba_eval = model.predict_proba_embeddings(X_eval) if eval_ids else None
            metrics = heldout_metrics(proba_eval, eval_labels, classes, multi) if eval_ids else None
            calibration = calibration_figures(proba_eval, eval_labels, classes, multi) if eval_ids else None
            parent = self.store.latest()
            parent_proba = self._parent_proba(parent, eval_ids, X_eval, encoder) if eval_ids else None
            parent_metrics = heldout_metrics(parent_proba, eval_labels, classes, multi) if parent_proba is not None else None
            worse = net_worse_items(proba_eval, parent_proba, eval_labels, classes, multi) if parent_proba is not None else None
            decision = promotion(metrics, parent_metrics, margin=self.settings.promote_margin,
                                 min_eval=self.settings.min_eval, worse_items=worse)
        training = {"train": {str(i): train[i] for i in train_ids}, "eval": {str(i): held[i] for i in eval_ids}}
        with timer.phase("centroids"):
            centroids = self._centroids(encoder, tasks)
        card = {
            "tier": "fast",
            "project": self.project_id,
            "reason": reason,
            "encoder": encoder,
            "strategy": self.strategy,
            "training_size": len(train_ids),
            "eval_size": len(eval_ids),
            "eval_source": "evaluation slice",
            "metrics": metrics,
            "parent_metrics": parent_metrics,
            "promotion": decision.as_dict(),
            "calibration": calibration,
            "agreement": report.summary() if report is not None else None,
            "label_counts": _label_counts(train.values()),
            "labels_fingerprint": snapshot.fingerprint,
            "data_fingerprint": snapshot.fingerprint,
        }

        def write(m, path: Path) -> None:
            m.save(path)
            if centroids is not None:
                save_centroids(path, centroids)
            (path / TRAINING_FILE).write_text(json.dumps(training, default=list))

        with timer.phase("publish"):
            version = self.store.publish(model, card, promote=decision.promote, write=write)
        self.mirror.set_trained(train_ids)
        mv = model_version_name(version)
        pushed = 0
        stop_set = uncertainty = None
        if decision.promote:
            current = Current(mv, True, version, model, centroids=centroids, training=training, card=self.store.card(version))
            pushed, proba_by_id = self._push_all(current, timer)
            stop_set = self._stop_set_predictions(proba_by_id)
            open_ids = {t.id for t in self.mirror.tasks() if not t.labelled and not t.eval}
            open_rows = [p for tid, p in proba_by_id.items() if tid in open_ids]
            uncertainty = pool_uncertainty(np.array(open_rows), multi) if open_rows else None
        else:  # the serving version stays; tasks new since its push still get its predictions
            pushed = self.refresh(timer)
        self._save(trained_fingerprint=snapshot.fingerprint, trained_encoder=encoder)
        labels_now = len(train_ids) + len(eval_ids)
        self._maybe_request_finetune(len(train_ids))
        history.append_record(self.files.history_path, {
            "version": version, "model_version": mv, "promoted": decision.promote, "reason": reason,
            "created_at": _now(), "train_size": len(train_ids), "eval_size": len(eval_ids), "labels": labels_now,
            "metrics": metrics, "parent": parent, "parent_metrics": parent_metrics, "promotion": decision.as_dict(),
            "agreement": card["agreement"], "label_counts": card["label_counts"], "encoder": encoder,
            "stop_set": stop_set, "uncertainty": uncertainty, "pushed": pushed, "timings": timer.phases,
            "seconds": timer.total(),
        })
        self.store.update_card(version, timings=timer.phases, pushed_predictions=pushed)
        summary = ", ".join(f"{k} {v:.3f}" for k, v in (metrics or {}).items() if k != "n")
        log.info(
            "project %s (%s): %s trained on %d labels (%d held out%s), %s; %d predictions pushed; %.2f s (%s)",
            self.project_id, reason, version, len(train_ids), len(eval_ids), f": {summary}" if summary else "",
            "promoted" if decision.promote else f"NOT promoted: {decision.reason}", pushed, timer.total(),
            ", ".join(f"{k} {v:.2f}" for k, v in timer.phases.items()),
        )
        return {"status": "published", "version": version, "promoted": decision.promote, "pushed": pushed,
                "metrics": metrics, "timings": timer.phases}

    def _parent_proba(self, parent: str | None, eval_ids: list[int], X_eval: np.ndarray, encoder: str) -> np.ndarray | None:
        """The serving version's probabilities on today's evaluation tasks (the slice grows: old figures do not compare)."""
        if parent is None:
            return None
        try:
            model = self._load_own(parent)
            if getattr(model, "kind", "") == "embed-head" and getattr(model, "model", None) == encoder:
                proba = model.predict_proba_embeddings(X_eval)
            else:
                text_of = {t.id: t.text for t in self.mirror.tasks()}
                proba = model.predict_proba([text_of[i] for i in eval_ids])
            if list(model.labels_) != list(self.schema.labels):
                return None  # the config's labels changed: no fair comparison
            return np.asarray(proba, dtype=np.float64)
        except Exception as exc:  # a parent that cannot be evaluated must not block the new version
            log.warning("project %s: could not evaluate parent %s: %s", self.project_id, parent, exc)
            return None

    def _load_own(self, version: str):
        return self.ctx.cached((str(self.store.root), version), lambda: self.store.load(version))

    def _centroids(self, encoder: str, tasks: list[PoolTask]) -> np.ndarray | None:
        """k-means centroids of the pool's embeddings, refit when the encoder changes or the pool grows by a tenth."""
        readable = [t.text for t in tasks if t.text is not None]
        if len(readable) < 2:
            return None
        fingerprint = self.ctx.embedder.fingerprint(encoder)
        path = self.files.folder / "centroids.npy"
        known = self.work.get("centroids_for") or {}
        if known.get("encoder") == fingerprint and len(readable) <= 1.1 * int(known.get("n", 0)) and path.is_file():
            return np.load(path)
        X = self.ctx.embedder.embed(encoder, readable)
        centroids = fit_centroids(X, k=CENTROIDS, seed=self.settings.seed)
        np.save(path, centroids)
        self._save(centroids_for={"encoder": fingerprint, "n": len(readable)})
        return centroids

    def _maybe_request_finetune(self, train_size: int) -> None:
        every = self.settings.full_every
        if every <= 0 or self.ctx.jobs is None:
            return
        base = int(self.work.get("labels_at_finetune", 0))
        gate = self.ctx.jobs.gate
        busy = gate.pending("finetune", self.project_id) is not None or gate.lease("finetune", self.project_id) is not None
        if train_size - base >= every and not busy:
            self.ctx.jobs.enqueue_finetune(self.project_id, f"{train_size - base} new labels since the last fine-tune")

    # -- scoring and pushing --------------------------------------------------------------------

    def current(self) -> Current | None:
        """The model Label Studio should order by: the project's promoted version, else the base store's latest."""
        version = self.store.latest()
        if version is not None:
            model = self._load_own(version)
            path = self.store.path(version) / MODEL_DIR
            training = _read_json(path / TRAINING_FILE)
            return Current(model_version_name(version), True, version, model, centroids=load_centroids(path),
                           training=training, card=self.store.card(version))
        if self.settings.store is None:
            return None
        base = ModelStore(self.settings.store)
        version = base.latest()
        if version is None:
            return None
        loaded = self.ctx.cached((str(base.root), version), lambda: load_version(base, version, base=True))
        return Current(loaded.model_version, False, version, loaded.model, loaded=loaded)

    def refresh(self, timer: Timer) -> int:
        """Push predictions of the current version where Label Studio lacks them; returns how many were pushed.

        If the project's ``model_version`` is not the current one (a version published but not yet
        pushed, an interrupted push), every unlabelled task gets one, after deleting any partial set.
        """
        current = self.current()
        expected = current.model_version if current is not None else COLD_START_VERSION
        info = self.info()
        if info.model_version != expected or self.work.get("pushed_version") != expected:
            if current is None:
                return self._push_cold_start(timer)
            return self._push_all(current, timer)[0]
        tasks = [t for t in self.mirror.tasks() if not t.labelled and t.scored != expected]
        if not tasks:
            return 0
        if current is None:
            rows = [Row(t.id, None, 0.0, None, True) for t in tasks if t.eval]
            return self._push(rows, expected, timer, set_version=False)
        rows, _ = self._rows(current, only={t.id for t in tasks}, timer=timer)
        return self._push(rows, expected, timer, set_version=False)

    def _push_all(self, current: Current, timer: Timer) -> tuple[int, dict[int, np.ndarray]]:
        """Predictions for every unlabelled task under ``current``, pushed in bulk, then the project switched to it."""
        mv = current.model_version
        with timer.phase("push"):
            existing = self.studio.model_versions(self.project_id).get(mv, 0)
            if existing:  # an interrupted push left some: start that version over rather than duplicate
                self.studio.delete_model_version(self.project_id, mv)
        rows, proba_by_id = self._rows(current, only=None, timer=timer)
        pushed = self._push(rows, mv, timer, set_version=True)
        return pushed, proba_by_id

    def _push_cold_start(self, timer: Timer) -> int:
        """Before any model: the open evaluation-slice tasks, score 0, so they are offered first (others at random)."""
        rows = [Row(t.id, None, 0.0, None, True) for t in self.mirror.tasks() if t.eval and not t.labelled]
        if not rows:
            return 0
        with timer.phase("push"):
            if self.studio.model_versions(self.project_id).get(COLD_START_VERSION, 0):
                self.studio.delete_model_version(self.project_id, COLD_START_VERSION)
        return self._push(rows, COLD_START_VERSION, timer, set_version=True)

    def _push(self, rows: list[Row], mv: str, timer: Timer, set_version: bool) -> int:
        with timer.phase("push"):
            items = predictions(rows, self.schema, mv)
            self.studio.import_predictions(self.project_id, items, chunk=self.settings.push_chunk)
            self.mirror.set_scored([r.task_id for r in rows], mv)
            if set_version:
                self.studio.set_model_version(self.project_id, mv)
                pushed = [v for v in self.work.get("pushed_versions", []) if v != mv] + [mv]
                self._save(pushed_version=mv, pushed_versions=pushed[-20:])
        if set_version and self.ctx.jobs is not None and self.settings.keep_prediction_versions > 0:
            stale = self.work.get("pushed_versions", [])[: -self.settings.keep_prediction_versions]
            if stale:
                self.ctx.jobs.enqueue_prune(self.project_id, len(stale))
        return len(items)

    def _rows(self, current: Current, only: set[int] | None, timer: Timer) -> tuple[list[Row], dict[int, np.ndarray]]:
        """Rows to push for unlabelled tasks (``only`` these ids, when given) and the probabilities of every readable task."""
        tasks = self.mirror.tasks()
        targets = [t for t in tasks if not t.labelled and (only is None or t.id in only)]
        if not current.own:
            return self._rows_base(current, targets, timer), {}
        readable = [t for t in tasks if t.text is not None]
        model = current.model
        labels = list(model.labels_)
        texts = [t.text for t in readable]
        encoder = (current.card or {}).get("encoder") or getattr(model, "model", None)
        with timer.phase("score"):
            if not readable:
                X, proba = np.zeros((0, 1), dtype=np.float32), np.zeros((0, len(labels)))
            elif callable(getattr(model, "predict_proba_embeddings", None)) and isinstance(encoder, str):
                X = self.ctx.embedder.embed(encoder, texts)
                proba = model.predict_proba_embeddings(X)
            else:
                X, proba = np.asarray(model.embed(texts), dtype=np.float32), model.predict_proba(texts)
            labelled = np.array([t.labelled for t in readable], dtype=bool)
            held_out = np.array([t.eval for t in readable], dtype=bool)
            scorer = PoolScorer(self.strategy)
            committee = None
            train = (current.training or {}).get("train") or {}
            if scorer.needs_committee and train:
                from textal.fast_tier import committee_proba

                row_of = {t.id: i for i, t in enumerate(readable)}
                ids = [int(k) for k in train if int(k) in row_of]
                if ids:
                    committee = committee_proba(
                        X[[row_of[i] for i in ids]], [_as_label(train[str(i)]) for i in ids], labels,
                        self.schema.multi_label, X, size=self.settings.committee_size, seed=self.settings.seed,
                    )
            informativeness, batch = scorer.score(
                proba=proba, embeddings=X, texts=texts, labelled=labelled, held_out=held_out,
                multi_label=self.schema.multi_label, committee=committee,
                batch=self.settings.batch if only is None else 0, seed=self.settings.seed,
            )
            scores = ls_scores(informativeness, batch, held_out & ~labelled)
            clusters = ClusterAssigner(current.centroids).assign(X) if len(readable) else np.zeros(0, dtype=int)
        by_id = {t.id: i for i, t in enumerate(readable)}
        multi = self.schema.multi_label
        thresholds = (current.card or {}).get("thresholds") or {}
        rows = []
        for t in targets:
            i = by_id.get(t.id)
            if i is None:
                rows.append(Row(t.id, None, 1.0, None, t.eval))
            else:
                choices = chosen_labels(proba[i], labels, multi, thresholds)
                rows.append(Row(t.id, choices, float(scores[i]), int(clusters[i]), t.eval))
        return rows, {t.id: proba[i] for t in readable for i in (by_id[t.id],)}

    def _rows_base(self, current: Current, targets: list[PoolTask], timer: Timer) -> list[Row]:
        """Rows scored by a base-store model exactly as `textal serve` answers /predict."""
        from ml_backend.predict import predict_tasks
        from ml_backend.scoring import Scorer

        try:
            scorer = Scorer(self.strategy)
        except TextalError:
            log.info("project %s: strategy %s needs the project's own model; the base model is scored by entropy",
                     self.project_id, self.strategy)
            scorer = Scorer("entropy")
        readable = [t for t in targets if t.text is not None]
        with timer.phase("score"):
            results = predict_tasks(
                [{"id": t.id, "data": {self.schema.text_key: t.text}} for t in readable], self.schema, current.loaded,
                scorer, max_chars=self.settings.max_text_chars,
            ) if readable else []
        rows = []
        result_of = {t.id: r for t, r in zip(readable, results)}
        for t in targets:
            r = result_of.get(t.id)
            if r is None or "skipped" in r:  # unreadable: last
                rows.append(Row(t.id, None, 1.0, None, t.eval))
                continue
            choices = [c for region in r["result"] for c in (region.get("value") or {}).get("choices") or []]
            rows.append(Row(t.id, choices, 0.0 if t.eval else float(r["score"]), r.get("cluster"), t.eval))
        return rows

    def _stop_set_predictions(self, proba_by_id: dict[int, np.ndarray]) -> dict[str, list] | None:
        ids = [i for i in self.work.get("stop_set", []) if i in proba_by_id]
        if not ids:
            return None
        if self.schema.multi_label:
            pred = [[int(q >= 0.5) for q in proba_by_id[i]] for i in ids]
        else:
            pred = [int(np.argmax(proba_by_id[i])) for i in ids]
        return {"ids": ids, "pred": pred}

    # -- the full tier -----------------------------------------------------------------------------

    def finetune(self, reason: str) -> dict[str, Any]:
        from textal.fast_tier import fit_head, heldout_metrics, net_worse_items, promotion
        from textal.models.transformer import TransformerClassifier

        timer = Timer()
        with timer.phase("read"):
            self.info()
            self.sync_pool()
            snapshot = self.read_labels()
        report, train, held, tasks = self._split(snapshot)
        waiting = self._trainable(train)
        if waiting is not None:
            log.info("project %s: no fine-tune (%s)", self.project_id, waiting)
            return {"status": "waiting", "reason": waiting}
        classes, multi = list(self.schema.labels), self.schema.multi_label
        text_of = {t.id: t.text for t in tasks}
        train_ids, eval_ids = sorted(train), sorted(held)
        self.files.encoders_dir.mkdir(parents=True, exist_ok=True)
        _sweep_staging(self.files.encoders_dir)
        stage = self.files.encoders_dir / f".staging-{os.getpid()}-{secrets.token_hex(4)}"
        log.info("project %s (%s): fine-tuning the encoder on %d labels", self.project_id, reason, len(train_ids))
        try:
            with timer.phase("finetune"):
                model = TransformerClassifier(
                    classes=classes, multi_label=multi, model=self.settings.encoder, epochs=self.settings.full_epochs,
                    min_steps=self.settings.full_min_steps, seed=self.settings.seed,
                )
                model.fit([text_of[i] for i in train_ids], [train[i] for i in train_ids])
                model.save(stage)
            target = self.files.encoders_dir / _next_encoder_name(self.files.encoders_dir)
            os.rename(stage, target)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        encoder = str(target)
        with timer.phase("evaluate"):
            X_train = self.ctx.embedder.embed(encoder, [text_of[i] for i in train_ids])
            X_eval = self.ctx.embedder.embed(encoder, [text_of[i] for i in eval_ids])
            head = fit_head(X_train, [train[i] for i in train_ids], classes, multi, encoder=encoder, seed=self.settings.seed)
            eval_labels = [held[i] for i in eval_ids]
            metrics = heldout_metrics(head.predict_proba_embeddings(X_eval), eval_labels, classes, multi) if eval_ids else None
            current = self.store.latest()
            old_encoder = self.work.get("encoder") or self.settings.encoder
            parent_proba = self._parent_proba(current, eval_ids, self.ctx.embedder.embed(old_encoder, [
                text_of[i] for i in eval_ids]), old_encoder) if eval_ids else None
            parent_metrics = heldout_metrics(parent_proba, eval_labels, classes, multi) if parent_proba is not None else None
            proba_eval = head.predict_proba_embeddings(X_eval)
            worse = net_worse_items(proba_eval, parent_proba, eval_labels, classes, multi) if parent_proba is not None else None
            decision = promotion(metrics, parent_metrics, margin=self.settings.promote_margin,
                                 min_eval=self.settings.min_eval, worse_items=worse)
        if not decision.promote:
            shutil.rmtree(target, ignore_errors=True)
            self._save(labels_at_finetune=len(train_ids), last_finetune={"at": _now(), "adopted": False, "reason": decision.reason})
            log.info("project %s: fine-tuned encoder not adopted (%s)", self.project_id, decision.reason)
            return {"status": "rejected", "reason": decision.reason, "timings": timer.phases}
        with timer.phase("embed pool"):
            self.ctx.embedder.embed(encoder, [t.text for t in tasks if t.text is not None])
        self._save(encoder=encoder, labels_at_finetune=len(train_ids),
                   last_finetune={"at": _now(), "adopted": True, "encoder": encoder, "metrics": metrics,
                                  "seconds": timer.total()})
        log.info("project %s: fine-tuned encoder %s adopted in %.1f s (%s)", self.project_id, target.name, timer.total(),
                 decision.reason)
        if self.ctx.jobs is not None:
            self.ctx.jobs.enqueue_retrain(self.project_id, "finetune")
        return {"status": "adopted", "encoder": encoder, "metrics": metrics, "timings": timer.phases}

    # -- housekeeping --------------------------------------------------------------------------

    def prune(self) -> dict[str, Any]:
        """Delete the predictions of textal's oldest version beyond the last ``keep_prediction_versions`` pushed
        (one version per run: ~3.5 s per 1,000 predictions in Label Studio); ask again while more remain."""
        pushed = self.work.get("pushed_versions", [])
        keep = set(pushed[-max(self.settings.keep_prediction_versions, 1):])
        keep.add(self.info().model_version or "")
        present = self.studio.model_versions(self.project_id)
        stale = [v for v in present if v not in keep and TEXTAL_VERSION_RE.match(v)]
        stale.sort(key=lambda v: (pushed.index(v) if v in pushed else -1, v))  # oldest pushed first
        deleted = {}
        if stale:
            deleted[stale[0]] = self.studio.delete_model_version(self.project_id, stale[0])
            log.info("project %s: deleted the %d predictions of %s (%d stale versions left)", self.project_id,
                     deleted[stale[0]], stale[0], len(stale) - 1)
        self._save(pushed_versions=[v for v in pushed if v in keep or v in stale[1:]])
        if len(stale) > 1 and self.ctx.jobs is not None:
            self.ctx.jobs.enqueue_prune(self.project_id, len(stale) - 1, pushed=False)
        return {"status": "pruned", "deleted": deleted}


# -- helpers ------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _parse_stamp(value: Any) -> datetime:
    """A Label Studio timestamp (datetime or ISO text) as an aware UTC datetime."""
    if isinstance(value, datetime):
        stamp = value
    else:
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _stamp(value: datetime) -> str:
    """The form Label Studio's Datetime filters accept."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _label_counts(labels) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for label in labels:
        for lab in (label if isinstance(label, (tuple, list)) else [label]):
            counts[str(lab)] += 1
    return dict(sorted(counts.items()))


def _as_label(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _next_encoder_name(folder: Path) -> str:
    numbers = [int(p.name[1:]) for p in folder.iterdir() if re.fullmatch(r"e\d{4,}", p.name)]
    return f"e{(max(numbers) if numbers else 0) + 1:04d}"


def _sweep_staging(folder: Path) -> None:
    """Remove encoder staging folders whose writer is gone (a fine-tune killed mid-way)."""
    from textal.fsutil import pid_alive

    for stage in folder.glob(".staging-*"):
        parts = stage.name.split("-")
        pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if pid is None or pid == os.getpid() or not pid_alive(pid):
            if pid != os.getpid():
                shutil.rmtree(stage, ignore_errors=True)


def iter_projects(ctx: WorkerContext) -> Iterator[int]:
    """Ids of the projects the data folder knows (set up through `textal serve`)."""
    yield from ctx.registry.ids()
