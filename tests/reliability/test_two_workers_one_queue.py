"""Two worker processes on one real Redis queue, two projects at once: one job per project at a time across both
workers, a flood of requests coalesced, nothing lost, and a worker killed mid-job taken over by the other.

The workers are real consumers with the real leases, coalescing and reconciler (``tests.support.recording_worker``);
only the job bodies are stand-ins that record when they ran.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import PROJECT_LEASE, Jobs
from tests.support.recording_worker import register_projects
from tests.support.servers import stop_process
from tests.support.waits import wait_until

REPO = Path(__file__).resolve().parents[2]


def start_workers(data: Path, url: str, log: Path, seconds: float, folder: Path) -> list[subprocess.Popen]:
    """Two recording workers, consuming once this returns."""
    workers = [start_worker(data, url, log, seconds, folder / f"worker{i}.log") for i in range(2)]
    wait_until(lambda: sum(e["event"] == "ready" for e in events(log)) == 2, 60, 0.1, what="both workers to start")
    return workers


def start_worker(data: Path, url: str, log: Path, seconds: float, out: Path) -> subprocess.Popen:
    with open(out, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.recording_worker", str(data), url, str(log), str(seconds)],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []


def runs(log: Path) -> list[dict]:
    """Every finished job as {job, project, pid, start, end}: a start paired with the next end of its worker and
    project (a project's jobs never overlap, so the pairing is unique)."""
    open_jobs: dict[tuple[int, int], dict] = {}
    done = []
    for e in events(log):
        key = (e["pid"], e["project"])
        if e["event"] == "start":
            open_jobs[key] = e
        elif e["event"] == "end":
            start = open_jobs.pop(key)
            done.append(
                {"job": e["job"], "project": e["project"], "pid": e["pid"], "start": start["at"], "end": e["at"]}
            )
    return done


def test_two_workers_run_one_job_per_project_at_a_time_coalesce_a_flood_and_lose_no_request(tmp_path, redis_url):
    data, log = tmp_path / "data", tmp_path / "jobs.jsonl"
    register_projects(data, [1, 2])
    workers = start_workers(data, redis_url, log, 0.3, tmp_path)
    jobs = Jobs(make_huey(data, redis_url))
    try:
        requests = 0
        for i in range(60):  # two projects labelled at once: a retrain request per label, new tasks now and then
            for project in (1, 2):
                jobs.enqueue_retrain(project, "ANNOTATION_CREATED")
                requests += 1
                if i % 20 == 0:
                    jobs.enqueue_score(project, [1000 + i])
            time.sleep(0.05)
        last_request = time.time()

        def settled() -> bool:
            finished = runs(log)
            return all(
                any(r["project"] == p and r["job"] == "retrain" and r["start"] > last_request for r in finished)
                for p in (1, 2)
            ) and all(
                jobs.gate.lease(PROJECT_LEASE, p) is None and jobs.gate.pending("retrain", p) is None for p in (1, 2)
            )

        wait_until(
            settled, 60, 0.2, what="both projects' last requested retrain to run", details=lambda: log.read_text()
        )
    finally:
        for worker in workers:
            stop_process(worker)
    finished = runs(log)
    for project in (1, 2):
        mine = sorted((r for r in finished if r["project"] == project), key=lambda r: r["start"])
        assert all(a["end"] <= b["start"] for a, b in zip(mine, mine[1:])), "two jobs of one project overlapped"
        retrains = [r for r in mine if r["job"] == "retrain"]
        assert 1 <= len(retrains) <= requests // 8  # 60 requests coalesced into a few runs, the last one after them
        assert any(r["job"] == "score_tasks" for r in mine)
    # Contention: both workers took jobs of one project (so they raced for its lease), and neither ran two at once.
    assert any(len({r["pid"] for r in finished if r["project"] == p}) == 2 for p in (1, 2))
    assert {r["pid"] for r in finished} == {w.pid for w in workers}  # both workers took jobs
    one, two = ([r for r in finished if r["project"] == p] for p in (1, 2))
    assert any(a["start"] < b["end"] and b["start"] < a["end"] for a in one for b in two)  # the projects in parallel


def test_a_worker_killed_mid_job_loses_it_to_the_other_worker_which_runs_it_again(tmp_path, redis_url):
    data, log = tmp_path / "data", tmp_path / "jobs.jsonl"
    register_projects(data, [1])
    workers = start_workers(data, redis_url, log, 3.0, tmp_path)
    jobs = Jobs(make_huey(data, redis_url))
    try:
        jobs.enqueue_retrain(1, "ANNOTATION_CREATED")
        wait_until(lambda: any(e["event"] == "start" for e in events(log)), 60, 0.1, what="the retrain to start")
        victim_pid = next(e["pid"] for e in events(log) if e["event"] == "start")
        victim = next(w for w in workers if w.pid == victim_pid)
        survivor = next(w for w in workers if w.pid != victim_pid)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)  # reaped: a dead worker's pid is gone, as on a real host
        assert jobs.gate.lease(PROJECT_LEASE, 1) is not None  # left behind by the killed job

        def taken_over() -> bool:
            return any(r["pid"] == survivor.pid and r["job"] == "retrain" for r in runs(log))

        wait_until(taken_over, 30, 0.2, what="the other worker to run the retrain", details=lambda: log.read_text())
        assert not any(r["pid"] == victim_pid for r in runs(log))  # the killed run never finished
        wait_until(lambda: jobs.gate.lease(PROJECT_LEASE, 1) is None, 10, 0.1, what="the lease to be released")
    finally:
        for worker in workers:
            stop_process(worker)
