"""A job that fails in a way waiting cannot fix (``HopelessError``) is not retried; the runner is told, once.

The queue, the gate and the key-value bookkeeping are the real ones (SQLite); the job bodies are the test's.
"""

from __future__ import annotations

import pytest

from ml_backend.errors import HopelessError
from ml_backend.labelstudio.client import StudioError, StudioHopeless, StudioUnavailable
from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import RESUME, SETUP, Jobs
from tests.support.huey_queue import run_next

GONE = StudioHopeless("Label Studio at http://ls:8080 has no project 7 (404): it was deleted")


class Runner:
    """Job bodies that raise what the test sets; ``gave_up`` calls are recorded."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.runs: list[str] = []
        self.given_up: list[tuple[int, str, Exception]] = []

    def _run(self, name):
        self.runs.append(name)
        if self.error is not None:
            raise self.error
        return "ok"

    def retrain(self, project_id, reason, full):
        return self._run("retrain")

    def score_tasks(self, project_id, task_ids):
        return self._run("score_tasks")

    def finetune(self, project_id, reason):
        return self._run("finetune")

    def fill_predictions(self, project_id):
        return self._run("fill_predictions")

    def gave_up(self, project_id, job, error):
        self.given_up.append((project_id, job, error))


def scheduled(jobs: Jobs) -> list[str]:
    return [t.name for t in jobs.huey.pending()] + [t.name for t in jobs.huey.scheduled()]


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.mark.parametrize(
    "enqueue",
    [
        lambda jobs: jobs.enqueue_retrain(7, "webhook"),
        lambda jobs: jobs.enqueue_finetune(7, "START_TRAINING"),
        lambda jobs: jobs.enqueue_score(7, [1, 2]),
    ],
    ids=["retrain", "finetune", "score_tasks"],
)
def test_a_hopeless_failure_is_not_retried_and_the_runner_gives_the_project_up_once(data_dir, enqueue):
    runner = Runner(GONE)
    jobs = Jobs(make_huey(data_dir), runner)
    enqueue(jobs)
    assert run_next(jobs.huey)
    assert not run_next(jobs.huey) and scheduled(jobs) == []  # nothing waits, nothing scheduled
    assert len(runner.runs) == 1 and [(p, e) for p, _, e in runner.given_up] == [(7, GONE)]
    assert runner.given_up[0][1] == runner.runs[0]
    for kind in ("retrain", "finetune", "project"):
        assert jobs.gate.wait_before_run(kind, 7) == 0.0  # no backoff left for when it is reconnected
    assert jobs.gate.lease("project", 7) is None and jobs.gate.lease("finetune", 7) is None


@pytest.mark.parametrize(
    "error",
    [
        StudioUnavailable("Label Studio at http://ls:8080 answered 503 while reading project 7"),
        StudioUnavailable("Label Studio at http://ls:8080 unreachable while reading project 7 (ConnectError)"),
        StudioError("Label Studio at http://ls:8080 answered 400 while importing predictions"),
    ],
    ids=["503", "connection refused", "400"],
)
def test_a_failure_that_can_recover_is_still_retried_with_backoff(data_dir, error):
    runner = Runner(error)
    jobs = Jobs(make_huey(data_dir), runner)
    jobs.enqueue_retrain(7, "webhook")
    assert run_next(jobs.huey)
    assert scheduled(jobs) == ["retrain"] and 4 < jobs.gate.wait_before_run("retrain", 7) <= 5
    assert runner.given_up == []


def test_hopeless_errors_are_errors_a_person_must_act_on_and_say_what_to_do():
    from textal.errors import TextalError

    assert isinstance(GONE, HopelessError) and isinstance(GONE, StudioError) and isinstance(GONE, TextalError)
    assert "Reconnect the backend" in GONE.action
    assert StudioHopeless("x", action="set LABEL_STUDIO_URL").action == "set LABEL_STUDIO_URL"


def test_a_setup_request_raises_the_resume_flag_even_when_it_joins_a_waiting_retrain(data_dir):
    jobs = Jobs(make_huey(data_dir), Runner(None))
    waiting = jobs.enqueue_retrain(7, "webhook")
    assert not jobs.gate.has_flag(RESUME, 7)
    assert jobs.enqueue_retrain(7, SETUP) == waiting
    assert jobs.gate.has_flag(RESUME, 7) and jobs.gate.has_flag(RESUME, 7)  # looking does not lower it
    assert jobs.gate.take_flag(RESUME, 7) and not jobs.gate.has_flag(RESUME, 7)
