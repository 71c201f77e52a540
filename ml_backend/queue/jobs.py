"""The jobs on the queue: ``retrain``, ``score_tasks``, ``finetune`` and ``fill_predictions`` of a project.

The webhook handler only enqueues (a row in SQLite or a Redis push, milliseconds); the bodies run in
the retrain worker (``textal worker``), which builds the same ``Jobs`` over the same queue with a
``JobRunner`` (``ml_backend.worker.runner``) injected: this module knows nothing of what the jobs do.

Coalescing (``ml_backend.queue.gate``): however many retrain requests arrive, one retrain per project
waits and one runs; a request made while one runs queues exactly one more. Scoring new tasks
(``TASKS_CREATED``) is merged the same way: the waiting ``score_tasks`` job gathers the ids of every
webhook that joins it, at most ``MAX_SCORE_IDS`` of them kept (past that, only that there were more:
the job reads the whole pool anyway, a full sync). ``retrain``,
``score_tasks`` and ``fill_predictions`` of a project share the project's lease (they all write
that project's predictions), ``finetune`` (minutes) has its own, so fast refreshes go on meanwhile.
A job that finds its lease taken, or its project in backoff, reschedules itself. Failures are
retried with backoff (5 s doubling to 10 min, ``MAX_FAILURES`` in a row for a non-transient one);
nothing is dropped on the first error, except what waiting cannot fix: a ``HopelessError`` (the
project deleted in Label Studio, a malformed URL, every token refused) is not retried at all, the
runner's ``gave_up`` records it and the worker leaves the project alone until a /setup (whose
retrain raises the ``RESUME`` flag) reconnects it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from huey.api import Huey
from huey.exceptions import RetryTask

from ml_backend.errors import HopelessError, TransientError
from ml_backend.queue.gate import ProjectGate
from textal.errors import TextalError
from textal.runtime import logs

log = logging.getLogger("ml_backend.queue")

DEFER_S = 1.0  # a job whose lease is held elsewhere looks again after this long
FILL_QUIET_S = 5.0  # the fill waits until no head was pushed for this long: while labels flow, only heads are written
FILL_GAP_S = 0.5  # between two fill steps: room for the annotations and webhooks a step held up (Label Studio's lock)
MAX_FAILURES = 6  # consecutive non-transient failures of a job kind before it waits for a new request
PROJECT_LEASE = "project"
COALESCED = ("retrain", "finetune", "fill_predictions", "score_tasks")
MAX_SCORE_IDS = 2_000  # task ids a project's waiting score_tasks job keeps; past it, a full sync without them
SCORE_REASON = "TASKS_CREATED"
FULL_READ = "full_read"  # flag: the next retrain of the project reads every annotation again
SETUP = "SETUP"  # the reason of the retrain Label Studio's /setup asks for (the project connected again)
RESUME = "resume"  # flag: the project was set up again, so a project given up is worked on again


class JobRunner(Protocol):
    """What runs the jobs' bodies (the worker's ``ml_backend.worker.runner.ProjectJobs``); each returns a summary."""

    def retrain(self, project_id: int, reason: str, full: bool) -> Any: ...

    def score_tasks(self, project_id: int, task_ids: list[int]) -> Any: ...

    def finetune(self, project_id: int, reason: str) -> Any: ...

    def fill_predictions(self, project_id: int) -> Any: ...

    def gave_up(self, project_id: int, job: str, error: HopelessError) -> None:
        """A job of the project failed in a way waiting cannot fix: record it, say it once, stop working on it."""
        ...


class NoRunner:
    """The runner of a process that only enqueues (the HTTP backend, the CLI): running a job there is a bug."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"this process only enqueues jobs; {name} runs in `textal worker`")

        return refuse


class Jobs:
    """The jobs, registered once on ``huey``; their bodies are ``runner``'s methods (set it before consuming)."""

    def __init__(self, huey: Huey, runner: JobRunner | None = None) -> None:
        self.huey = huey
        self.gate = ProjectGate(huey)
        self._ids_lock = threading.Lock()  # the server's threads add ids to a waiting job one at a time
        self.runner: JobRunner = runner if runner is not None else NoRunner()

        # a waiting retrain goes before waiting scoring jobs: it scores every new task too
        self.retrain = self._register(self._retrain, "retrain", priority=20)
        self.score_tasks = self._register(self._score_tasks, "score_tasks", priority=10)
        self.finetune = self._register(self._finetune, "finetune")
        self.fill_predictions = self._register(self._fill_predictions, "fill_predictions", priority=-10)
        self._wrappers = {
            "retrain": self.retrain,
            "finetune": self.finetune,
            "score_tasks": self.score_tasks,
            "fill_predictions": self.fill_predictions,
        }

    def _register(self, body: Callable[..., Any], name: str, priority: int = 0) -> Any:
        """``body`` as the huey task ``name`` (no retries of huey's own: failures go through ``_retry_later``)."""
        return self.huey.task(retries=0, context=True, name=name, priority=priority)(body)

    # -- the jobs' bodies (``task``: huey's, for its id) ------------------------------------------------------------

    def _retrain(self, project_id: int, reason: str = "", full: bool = False, task: Any = None) -> Any:
        """Retrain ``project_id`` from its Label Studio annotations (``full``: read every annotation again)."""
        return self._exclusive(
            "retrain",
            PROJECT_LEASE,
            project_id,
            task,
            lambda: self.runner.retrain(project_id, reason, full or self.gate.take_flag(FULL_READ, project_id)),
        )

    def _score_tasks(
        self, project_id: int, task_ids: list[int] | None = None, reason: str = "", task: Any = None
    ) -> Any:
        """Predict and push scores for newly imported tasks (``task_ids`` and those of the webhooks that joined)."""
        return self._exclusive(
            "score_tasks",
            PROJECT_LEASE,
            project_id,
            task,
            lambda: self.runner.score_tasks(project_id, self._take_score_ids(project_id, task_ids or [])),
        )

    def _finetune(self, project_id: int, reason: str = "", task: Any = None) -> Any:
        """Fine-tune the project's encoder on its labels, then refresh the fast tier."""
        return self._exclusive(
            "finetune", "finetune", project_id, task, lambda: self.runner.finetune(project_id, reason)
        )

    def _fill_predictions(self, project_id: int, reason: str = "", task: Any = None) -> Any:
        """Push the serving version's predictions to the next chunk of open tasks that lack them (after a new
        version's head); a retrain waiting goes first, as it pushes a newer head."""
        if self.gate.pending("retrain", project_id) is not None:
            raise RetryTask(delay=FILL_QUIET_S)
        quiet_for = time.time() - self.head_pushed_at(project_id)
        if quiet_for < FILL_QUIET_S:  # Label Studio's writes go to heads while labels flow
            raise RetryTask(delay=FILL_QUIET_S - quiet_for)
        return self._exclusive(
            "fill_predictions", PROJECT_LEASE, project_id, task, lambda: self.runner.fill_predictions(project_id)
        )

    # -- enqueueing ---------------------------------------------------------------------------

    def request(
        self,
        kind: str,
        project_id: int,
        reason: str,
        delay: float | None = None,
        full: bool = False,
        args: tuple[Any, ...] = (),
    ) -> str:
        """Queue a ``retrain`` or ``finetune`` of the project unless one is already waiting; returns the waiting
        job's id.

        ``full`` (retrain only): the retrain reads every annotation again; a waiting retrain that this
        request joins reads them all too. ``args``: the job's arguments after the project id, when this
        request queues it.
        """
        return self._request(kind, project_id, reason, delay, full, args)[0]

    def _request(
        self, kind: str, project_id: int, reason: str, delay: float | None, full: bool, args: tuple[Any, ...]
    ) -> tuple[str, bool]:
        """:meth:`request`'s job id, and whether this request queued it (else it joined the waiting one)."""
        if kind not in COALESCED:
            raise ValueError(f"{kind!r} is not a coalesced job; use one of {', '.join(COALESCED)}")
        project_id = int(project_id)
        if full:
            if kind != "retrain":
                raise ValueError("only a retrain reads every annotation again")
            self.gate.set_flag(FULL_READ, project_id)
        if kind == "retrain" and reason == SETUP:
            self.gate.set_flag(RESUME, project_id)  # raised before the request, so a retrain it joins sees it
        wrapper = self._wrappers[kind]
        for _ in range(3):  # the mark may vanish between a failed claim and the read of its owner
            task = (
                wrapper.s(project_id, *args, reason=reason, delay=delay)
                if delay
                else wrapper.s(project_id, *args, reason=reason)
            )
            existing = self.gate.claim_pending(kind, project_id, task.id, reason)
            if existing is None and self.gate.pending(kind, project_id) is not None:
                try:
                    self.huey.enqueue(task)
                except BaseException:
                    self.gate.clear_pending(kind, project_id, task.id)  # no mark may name a job that is not queued
                    raise
                log.log(
                    logging.DEBUG if kind == "fill_predictions" else logging.INFO,  # a step each half second
                    "queued %s of project %s (%s) as %s%s",
                    kind,
                    project_id,
                    reason,
                    task.id,
                    f" in {delay:.1f} s" if delay else "",
                )
                return task.id, True
            if existing is not None:  # a webhook flood joins one job: said once a minute, not per webhook
                logs.limited(
                    log,
                    logging.INFO,
                    ("joins", kind, project_id),
                    "%s of project %s (%s) joins the waiting job %s",
                    kind,
                    project_id,
                    reason,
                    existing,
                )
                return existing, False
        raise RuntimeError(f"could not queue a {kind} of project {project_id}")

    def enqueue_retrain(self, project_id: int, reason: str, full: bool = False) -> str:
        """Put one retrain of ``project_id`` on the queue, or join the one already waiting; returns its job id."""
        return self.request("retrain", project_id, reason, full=full)

    def enqueue_finetune(self, project_id: int, reason: str) -> str:
        """Ask for a full fine-tune of the project's encoder (coalesced like retrains); returns the job id."""
        return self.request("finetune", project_id, reason)

    def enqueue_score(self, project_id: int, task_ids: list[int], delay: float | None = None) -> str:
        """Ask (coalesced) for scoring of ``task_ids`` of ``project_id``; returns the id of the job that will score
        them.

        The job queued carries the ids (at most ``MAX_SCORE_IDS``); a request that joins a waiting job adds
        its ids to the project's kept ones, up to the same cap, past which only a full sync is asked for."""
        project_id = int(project_id)
        ids = [int(t) for t in task_ids]
        carried = ids if len(ids) <= MAX_SCORE_IDS else []
        if not carried and ids:
            self._keep_score_ids(project_id, ids)  # too many to carry: the job syncs the whole pool
        job, queued = self._request("score_tasks", project_id, SCORE_REASON, delay, False, (carried,))
        if carried and not queued:
            self._keep_score_ids(project_id, carried)
        return job

    def _ids_key(self, project_id: int) -> str:
        return f"textal:ids:score_tasks:{int(project_id)}"

    def _keep_score_ids(self, project_id: int, ids: list[int]) -> None:
        """Add ``ids`` to those the project's waiting score_tasks job takes, up to ``MAX_SCORE_IDS``."""
        key = self._ids_key(project_id)
        with self._ids_lock:
            kept = self.huey.get(key, peek=True)
            kept = kept if isinstance(kept, dict) else {"ids": [], "full": False, "count": 0}
            count = int(kept.get("count", 0)) + len(ids)
            full = bool(kept.get("full")) or count > MAX_SCORE_IDS
            record = {"ids": [] if full else list(kept.get("ids", [])) + ids, "full": full, "count": count}
            self.huey.storage.put_data(key, self.huey.serializer.serialize(record))

    def _take_score_ids(self, project_id: int, carried: list[int]) -> list[int]:
        """The ids a starting score_tasks job scores: its own and those kept for it (taken); past the cap, none
        (the job syncs the whole pool either way)."""
        kept = self.huey.get(self._ids_key(project_id))  # taken: ids added from here on wait for the next job
        kept = kept if isinstance(kept, dict) else {"ids": [], "full": False, "count": 0}
        ids = list(dict.fromkeys([*carried, *kept.get("ids", [])]))
        if kept.get("full") or len(ids) > MAX_SCORE_IDS:
            log.info(
                "scoring of project %s: %d new task ids, more than the %d kept: a full sync",
                project_id,
                len(carried) + int(kept.get("count", 0)),
                MAX_SCORE_IDS,
            )
            return []
        return ids

    def enqueue_fill(self, project_id: int, head_pushed: bool = False) -> str:
        """Ask (coalesced) for the next step of pushing the serving version to the open tasks that lack it;
        ``head_pushed``: a new version's head was just pushed (the fill waits for a quiet moment again)."""
        if head_pushed:
            self.huey.storage.put_data(f"textal:head:{int(project_id)}", str(time.time()).encode())
        return self.request(
            "fill_predictions",
            project_id,
            "open tasks without the serving version",
            delay=FILL_QUIET_S if head_pushed else FILL_GAP_S,
        )

    def head_pushed_at(self, project_id: int) -> float:
        """When the project's last head was pushed (0: never, as far as the queue knows)."""
        raw = self.huey.storage.peek_data(f"textal:head:{int(project_id)}")
        try:
            return float(bytes(raw).decode())
        except (TypeError, ValueError):
            return 0.0

    # -- running ------------------------------------------------------------------------------

    def _exclusive(self, kind: str | None, lease_kind: str, project_id: int, task: Any, body: Callable[[], Any]) -> Any:
        """Run ``body`` holding the project's ``lease_kind`` lease; ``kind`` names the coalesced job it satisfies."""
        project_id = int(project_id)
        job_id = task.id if task is not None else "local"
        name = kind or str(getattr(task, "name", "job"))
        wait = self.gate.wait_before_run(lease_kind if kind is None else kind, project_id)
        if wait > 0:
            raise RetryTask(delay=wait)
        lease = self.gate.acquire(lease_kind, project_id, job_id)
        if lease is None:
            raise RetryTask(delay=DEFER_S)
        try:
            if kind is not None:
                # Only now: a request from here on queues one more run; one before it is seen by this run.
                self.gate.clear_pending(kind, project_id)
            with lease.beating():
                result = body()
        except TransientError as exc:
            self._retry_later(kind, name, project_id, task, f"{type(exc).__name__}: {exc}", transient=True)
            return {"status": "retrying", "reason": str(exc)}
        except HopelessError as exc:  # no retry: the runner records it and says what a person must do
            self.gate.succeeded(kind or lease_kind, project_id)  # no backoff left for when it is reconnected
            try:
                self.runner.gave_up(project_id, name, exc)
            except Exception:
                log.exception("%s of project %s: giving the project up failed", name, project_id)
            return {"status": "gave up", "reason": str(exc)}
        except TextalError as exc:  # a person has to act (a 400, a key refused with another to try): one line
            log.warning("%s of project %s failed: %s", name, project_id, exc)
            self._retry_later(kind, name, project_id, task, f"{type(exc).__name__}: {exc}", transient=False)
            return {"status": "failed", "reason": str(exc)}
        except Exception as exc:
            log.exception("%s of project %s failed", name, project_id)
            self._retry_later(kind, name, project_id, task, f"{type(exc).__name__}: {exc}", transient=False)
            return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        finally:
            lease.release()
        self.gate.succeeded(kind or lease_kind, project_id)
        return result

    def _retry_later(self, kind: str | None, name: str, project_id: int, task: Any, why: str, transient: bool) -> None:
        failures, delay = self.gate.failed(kind or PROJECT_LEASE, project_id)
        if not transient and failures > MAX_FAILURES:
            log.error(
                "%s of project %s failed %d times in a row (%s); waiting for the next request",
                name,
                project_id,
                failures,
                why,
            )
            return
        log.warning(
            "%s of project %s will be retried in %.0f s (failure %d: %s)", name, project_id, delay, failures, why
        )
        if kind is not None:
            self.request(kind, project_id, reason=f"retry {failures}", delay=delay)
        elif task is not None:
            again = self._wrappers[task.name].s(*task.args, **task.kwargs, delay=delay)
            self.huey.enqueue(again)

    # -- inspection ---------------------------------------------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        """The jobs waiting in the queue, as ``{"id", "name", "args", "kwargs"}`` (for tests and status)."""
        out = []
        for task in self.huey.pending():
            out.append({"id": task.id, "name": task.name, "args": list(task.args), "kwargs": dict(task.kwargs)})
        return out

    def known_job_ids(self) -> set[str]:
        """Ids of every job queued or scheduled (a pending mark naming none of them is a ghost)."""
        return {t.id for t in self.huey.pending()} | {t.id for t in self.huey.scheduled()}
