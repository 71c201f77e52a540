"""Coalescing, leases, backoff and recovery of project jobs, on a real SQLite huey queue.

Job bodies are a test runner injected into ``Jobs`` so that a test controls when a run starts and ends;
the queue, the consumer and the key-value bookkeeping are the real ones.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from ml_backend.config import WorkerSettings
from ml_backend.labelstudio.client import StudioUnavailable
from ml_backend.queue import gate as coalesce
from ml_backend.queue.factory import make_huey
from ml_backend.queue.gate import GHOST_S, ProjectGate
from ml_backend.queue.jobs import MAX_FAILURES, Jobs
from ml_backend.state.projects import ProjectRef, ProjectRegistry
from ml_backend.worker.context import WorkerContext
from ml_backend.worker.reconcile import Reconciler
from tests.support.huey_queue import due, run_next

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


class Clock:
    """Stands in for ``time`` in ml_backend.queue.gate, so backoff delays pass at once."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(coalesce, "time", fake)
    return fake


class Runner:
    """Job bodies under the test's control, each called with the job's arguments as keywords."""

    def __init__(self, **bodies):
        self.bodies = bodies

    def _call(self, name, **kwargs):
        body = self.bodies.get(name)
        return body(**kwargs) if body is not None else None

    def retrain(self, project_id, reason, full):
        return self._call("retrain", project_id=project_id, reason=reason, full=full)

    def score_tasks(self, project_id, task_ids):
        return self._call("score_tasks", project_id=project_id, task_ids=task_ids)

    def finetune(self, project_id, reason):
        return self._call("finetune", project_id=project_id, reason=reason)

    def fill_predictions(self, project_id):
        return self._call("fill_predictions", project_id=project_id)


def make_jobs(data_dir, **bodies):
    return Jobs(make_huey(data_dir), Runner(**bodies))


def test_a_burst_of_requests_leaves_one_retrain_pending(data_dir):
    jobs = make_jobs(data_dir)
    ids = {jobs.enqueue_retrain(7, f"webhook {i}") for i in range(50)}
    pending = jobs.pending()
    assert len(ids) == 1 and [(j["id"], j["name"], j["args"]) for j in pending] == [(ids.pop(), "retrain", [7])]
    other = jobs.enqueue_retrain(8, "another project")
    assert other not in {j["id"] for j in pending} and len(jobs.pending()) == 2


def test_labels_arriving_during_a_run_trigger_exactly_one_more_run(data_dir):
    runs = []

    def body(project_id, reason, full):
        runs.append(reason)
        if len(runs) == 1:
            for i in range(10):  # webhooks that arrive while this run trains
                jobs.enqueue_retrain(project_id, f"during {i}")
        return "done"

    jobs = make_jobs(data_dir, retrain=body)
    jobs.enqueue_retrain(7, "first")
    jobs.enqueue_retrain(7, "before the run starts")  # joins the first
    assert run_next(jobs.huey, now=None)
    assert runs == ["first"] and len(jobs.pending()) == 1
    assert run_next(jobs.huey, now=None)
    assert runs == ["first", "during 0"] and jobs.pending() == []
    assert not run_next(jobs.huey, now=None) and runs == ["first", "during 0"]


def test_a_full_read_asked_while_a_retrain_waits_is_done_by_that_retrain(data_dir):
    runs = []
    jobs = make_jobs(data_dir, retrain=lambda **kw: runs.append((kw["reason"], kw["full"])))
    first = jobs.enqueue_retrain(7, "webhook")
    assert jobs.enqueue_retrain(7, "periodic full check", full=True) == first  # joins the waiting one
    assert run_next(jobs.huey, now=None) and runs == [("webhook", True)]
    jobs.enqueue_retrain(7, "webhook again")
    assert run_next(jobs.huey, now=None) and runs[-1] == ("webhook again", False)  # the flag was taken once


def test_a_process_without_a_runner_refuses_to_run_jobs(data_dir):
    jobs = Jobs(make_huey(data_dir))
    with pytest.raises(RuntimeError, match="textal worker"):
        jobs.runner.retrain(7, "webhook", False)


def test_a_job_finding_the_lease_taken_waits_and_stays_the_one_pending(data_dir):
    runs = []
    jobs = make_jobs(data_dir, retrain=lambda **kw: runs.append(kw["reason"]))
    gate: ProjectGate = jobs.gate
    held = gate.acquire("project", 7, "a run elsewhere")
    assert held is not None
    job = jobs.enqueue_retrain(7, "webhook")
    assert run_next(jobs.huey, now=None)
    assert runs == [] and [t.id for t in jobs.huey.scheduled()] == [job]  # rescheduled, not dropped
    assert jobs.enqueue_retrain(7, "more labels") == job  # still the pending one
    held.release()
    due(jobs.huey)
    assert run_next(jobs.huey, now=None) and runs == ["webhook"]
    assert gate.lease("project", 7) is None and gate.pending("retrain", 7) is None


def test_at_most_one_retrain_of_a_project_runs_at_a_time_with_several_consumer_threads(data_dir):
    running, most, runs = [0], [0], []
    lock = threading.Lock()
    started = threading.Event()

    def body(project_id, reason, full):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        runs.append(reason)
        started.set()
        time.sleep(0.6)
        with lock:
            running[0] -= 1

    jobs = make_jobs(data_dir, retrain=body)
    consumer = jobs.huey.create_consumer(
        workers=3, worker_type="thread", initial_delay=0.01, max_delay=0.05, periodic=False, check_worker_health=False
    )
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    try:
        jobs.enqueue_retrain(7, "first")
        assert started.wait(10)
        for i in range(20):
            jobs.enqueue_retrain(7, f"during {i}")
            time.sleep(0.01)
        deadline = time.monotonic() + 20
        while (
            len(runs) < 2 or jobs.gate.lease("project", 7) or jobs.pending() or jobs.huey.scheduled()
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # a third run, if there were one, would have started by now
    finally:
        consumer.stop(graceful=True)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert runs == ["first", "during 0"] and most[0] == 1


def test_label_studio_unreachable_means_a_retry_with_backoff_not_a_lost_job(data_dir, clock):
    calls = []

    def body(**kw):
        calls.append(kw["reason"])
        if len(calls) < 3:
            raise StudioUnavailable("Label Studio at http://127.0.0.1:1 unreachable while listing tasks (ConnectError)")
        return "ok"

    jobs = make_jobs(data_dir, retrain=body)
    jobs.enqueue_retrain(7, "webhook")
    waits = []
    for _ in range(3):
        assert run_next(jobs.huey)
        waits.append(jobs.gate.wait_before_run("retrain", 7))
        clock.now += 3600
    assert calls == ["webhook", "retry 1", "retry 2"]
    assert 4 < waits[0] < waits[1] and waits[2] == 0.0  # 5 s, then 10 s, then cleared by the success
    assert jobs.pending() == [] and jobs.gate.pending("retrain", 7) is None


def test_a_job_that_keeps_failing_stops_being_retried_after_max_failures(data_dir, clock):
    calls = []

    def body(**kw):
        calls.append(1)
        raise ValueError("a bug")

    jobs = make_jobs(data_dir, retrain=body)
    jobs.enqueue_retrain(7, "webhook")
    while run_next(jobs.huey):
        clock.now += 3600
    assert len(calls) == MAX_FAILURES + 1
    assert jobs.gate.pending("retrain", 7) is None  # the next webhook or reconciliation asks again
    assert jobs.enqueue_retrain(7, "new labels") and len(jobs.pending()) == 1


@pytest.fixture
def reconciler(data_dir):
    registry = ProjectRegistry(data_dir)
    registry.setup(ProjectRef(7, 1717000000), CONFIG, hostname="http://127.0.0.1:9", access_token="x" * 40)
    jobs = make_jobs(data_dir)
    return Reconciler(WorkerContext(WorkerSettings(data_dir=data_dir), jobs))


def test_a_lease_left_by_a_killed_worker_is_broken_and_its_job_requested_again(data_dir, reconciler):
    code = (
        "import os, sys; from ml_backend.queue.jobs import Jobs; from ml_backend.queue.factory import make_huey\n"
        f"d = {str(data_dir)!r}; Jobs(make_huey(d)).gate.acquire('project', 7, 'job-of-the-dead')\n"
        "os._exit(0)  # dies holding the lease, as after SIGKILL"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    gate = reconciler.gate
    lease = gate.lease("project", 7)
    assert lease["job"] == "job-of-the-dead" and gate.is_stale(lease)
    assert gate.is_stale(gate.acquire("finetune", 7, "mine").record) is False  # this process is alive
    assert reconciler.recover() == [("retrain", 7)]
    assert gate.lease("project", 7) is None
    assert [(j["name"], j["args"]) for j in reconciler.jobs.pending()] == [("retrain", [7])]
    assert reconciler.recover() == []  # nothing left to recover


def test_a_lease_without_heartbeat_for_a_minute_is_stale_even_on_another_host(data_dir):
    gate = make_jobs(data_dir).gate
    record = {"host": "elsewhere", "pid": 1, "started": "", "beat": time.time(), "token": "t"}
    assert not gate.is_stale(record)
    assert gate.is_stale({**record, "beat": time.time() - 120})


def test_a_pending_mark_whose_job_is_nowhere_is_dropped_and_the_retrain_requested_again(data_dir, reconciler):
    gate = reconciler.gate
    gate.huey.put_if_empty("textal:pending:retrain:7", {"job": "lost", "reason": "x", "at": time.time() - 2 * GHOST_S})
    assert reconciler.recover() == [("retrain", 7)]
    pending = reconciler.jobs.pending()
    assert len(pending) == 1 and gate.pending("retrain", 7)["job"] == pending[0]["id"] != "lost"
    assert reconciler.recover() == []  # a fresh mark whose job is queued is left alone


def test_heartbeats_keep_a_long_run_fresh(data_dir):
    gate = make_jobs(data_dir).gate
    lease = gate.acquire("project", 7, "long")
    first = gate.lease("project", 7)["beat"]
    with lease.beating(every=0.05):
        time.sleep(0.3)
    assert gate.lease("project", 7)["beat"] > first
    lease.release()
    assert gate.lease("project", 7) is None


def test_fill_steps_coalesce_and_give_way_to_a_waiting_retrain(data_dir):
    filled, trained = [], []
    jobs = make_jobs(
        data_dir,
        fill_predictions=lambda **kw: filled.append(kw["project_id"]),
        retrain=lambda **kw: trained.append(kw["project_id"]),
    )
    first = jobs.enqueue_fill(7)
    assert jobs.enqueue_fill(7) == first  # one step waits however often it is asked for
    jobs.enqueue_retrain(7, "ANNOTATION_CREATED")
    due(jobs.huey)
    # the retrain first: it pushes a newer head
    assert run_next(jobs.huey, now=None) and trained == [7] and filled == []
    assert run_next(jobs.huey) and filled == [7]  # (its short gap passed)
    assert jobs.pending() == [] and jobs.gate.pending("fill_predictions", 7) is None


def test_a_fill_step_found_behind_a_waiting_retrain_steps_aside(data_dir):
    filled = []
    jobs = make_jobs(data_dir, fill_predictions=lambda **kw: filled.append(kw["project_id"]))
    jobs.enqueue_fill(7)
    due(jobs.huey)
    jobs.gate.claim_pending("retrain", 7, "a-retrain-job", "webhook")  # a retrain waits (not yet dequeued)
    assert run_next(jobs.huey) and filled == [] and len(jobs.huey.scheduled()) == 1
    jobs.gate.clear_pending("retrain", 7, "a-retrain-job")
    due(jobs.huey)
    assert run_next(jobs.huey) and filled == [7]


def test_the_fill_waits_for_a_quiet_moment_after_a_head_was_pushed(data_dir):
    filled = []
    jobs = make_jobs(data_dir, fill_predictions=lambda **kw: filled.append(kw["project_id"]))
    jobs.enqueue_fill(7, head_pushed=True)  # a new version's head went to Label Studio just now
    due(jobs.huey)
    assert run_next(jobs.huey) and filled == []  # while labels flow, only heads are written
    assert len(jobs.huey.scheduled()) == 1
    jobs.huey.storage.put_data("textal:head:7", b"0")  # long ago
    due(jobs.huey)
    assert run_next(jobs.huey) and filled == [7]
