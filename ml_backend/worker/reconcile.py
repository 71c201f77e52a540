"""Periodic reconciliation: a missed webhook delays a retrain, never loses it; a killed worker's job runs again.

Label Studio sends each webhook once, with a 1-second timeout and no retry. So every
``reconcile_s`` the worker compares each project's task and annotation counts with those its last
retrain saw, and asks for a retrain (coalesced, so at most one more waits) when they differ. The
retrain reads the tasks updated since its last read (an edit or a deletion updates its task too)
and checks the mirrored counts against Label Studio's. Every ``deep_reconcile_s`` (30 min by
default) it asks for a retrain that reads every annotation again, in case anything slipped by.

Before that, ``recover`` breaks leases left by dead workers (same host: their pid is gone; any
host: no heartbeat for a minute) and re-requests their job, and drops pending marks whose job is
nowhere in the queue (a worker killed between taking a job and starting it).

A project the worker gave up (``WorkerContext.given_up``) is left alone: nothing is asked of Label
Studio and nothing queued for it until it is set up again. A check that finds the project gone, its
URL malformed or every token refused gives it up too (``WorkerContext.give_up``).
"""

from __future__ import annotations

import logging
import threading
import time

from ml_backend.errors import HopelessError
from ml_backend.labelstudio.client import StudioError, StudioUnavailable
from ml_backend.queue.gate import GHOST_S
from ml_backend.queue.jobs import COALESCED, PROJECT_LEASE
from ml_backend.state.workfiles import ProjectFiles
from ml_backend.worker.context import WorkerContext

log = logging.getLogger("ml_backend.worker")

LEASED_JOBS = ((PROJECT_LEASE, "retrain"), ("finetune", "finetune"))
FULL_CHECK = "reconcile: periodic full check"  # the reason of the retrain that reads every annotation again


class Reconciler:
    """Checks every project of a worker context against Label Studio and the queue."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.jobs = ctx.jobs
        self.gate = ctx.jobs.gate
        self._last_deep: dict[int, float] = {}
        self._warned: dict[int, str] = {}

    def recover(self) -> list[tuple[str, int]]:
        """Break stale leases and ghost pending marks; returns the (job, project) pairs requested again."""
        requested = []
        known_jobs: set[str] | None = None
        for pid in self.ctx.registry.ids():
            given_up = self.ctx.given_up(pid) is not None  # its leases and marks are cleaned up, no job requested
            for lease_kind, job in LEASED_JOBS:
                lease = self.gate.lease(lease_kind, pid)
                if lease is not None and self.gate.is_stale(lease) and self.gate.break_lease(lease_kind, pid, lease):
                    log.warning(
                        "project %s: %s lease of a dead worker (pid %s on %s) broken; %s",
                        pid,
                        lease_kind,
                        lease.get("pid"),
                        lease.get("host"),
                        "the project is given up" if given_up else f"{job} requested again",
                    )
                    if not given_up:
                        self.jobs.request(job, pid, "recovered after a worker died")
                        requested.append((job, pid))
            for kind in COALESCED:
                mark = self.gate.pending(kind, pid)
                if mark is None or time.time() - float(mark.get("at", 0.0)) < GHOST_S:
                    continue
                if known_jobs is None:
                    known_jobs = self.jobs.known_job_ids()
                running = {(self.gate.lease(k, pid) or {}).get("job") for k, _ in LEASED_JOBS}
                if mark.get("job") not in known_jobs and mark.get("job") not in running:
                    if self.gate.clear_pending(kind, pid, mark.get("job")) and not given_up:
                        log.warning(
                            "project %s: pending %s %s is not in the queue; requested again", pid, kind, mark.get("job")
                        )
                        self.jobs.request(kind, pid, "lost job requested again")
                        requested.append((kind, pid))
        return requested

    def check(self, project_id: int, now: float | None = None) -> str | None:
        """Ask for a retrain of the project if Label Studio changed since its last one; returns the reason, or None."""
        now = time.monotonic() if now is None else now
        state = self.ctx.registry.get(project_id)
        if state is None or self.ctx.given_up(project_id) is not None:
            return None
        studio = self.ctx.studio(state.hostname, self.ctx.registry.access_token(project_id))
        info = studio.project(project_id)
        seen = ProjectFiles(self.ctx.registry, project_id).state().get("last_counts")
        reason = None
        if seen != info.counts():
            reason = "reconcile: tasks or annotations changed"
        elif now - self._last_deep.get(project_id, now) >= self.ctx.settings.deep_reconcile_s:
            reason = FULL_CHECK
        self._last_deep.setdefault(project_id, now)
        if reason is not None:
            if reason == FULL_CHECK:
                self._last_deep[project_id] = now
            self.jobs.request("retrain", project_id, reason, full=reason == FULL_CHECK)
        return reason

    def run_once(self) -> None:
        try:
            self.recover()
        except Exception:
            log.exception("recovery pass failed")
        for pid in self.ctx.registry.ids():
            try:
                self.check(pid)
                self._warned.pop(pid, None)
            except HopelessError as exc:  # the project deleted, its URL malformed, every token refused
                self.ctx.give_up(pid, exc, "reconciliation")
            except (StudioError, StudioUnavailable) as exc:
                if self._warned.get(pid) != str(exc):  # once per distinct problem, not every pass
                    log.warning("project %s: reconciliation skipped: %s", pid, exc)
                    self._warned[pid] = str(exc)
            except Exception:
                log.exception("project %s: reconciliation failed", pid)

    def run(self, stop: threading.Event) -> None:
        """Reconcile every ``reconcile_s`` until ``stop`` is set (the first pass at once)."""
        while not stop.is_set():
            self.run_once()
            stop.wait(self.ctx.settings.reconcile_s)
