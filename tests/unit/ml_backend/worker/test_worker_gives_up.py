"""The worker gives a project up when waiting cannot help (deleted in Label Studio, a malformed URL, every token
refused) and keeps retrying with backoff what can recover (Label Studio down, a 503).

The jobs run on the real SQLite queue with the real gate; Label Studio is the fake of worker_fakes.py (its
failures built by the real client's classification), or a small HTTP server where the client itself is tested.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from worker_fakes import CONFIG, PROJECT_ID, STUDIO_URL, Harness

from ml_backend.config import LabelStudioOverride, WorkerSettings
from ml_backend.errors import HopelessError, TransientError
from ml_backend.labelstudio.client import Studio, StudioError, StudioUnavailable
from ml_backend.state.projects import ProjectRef
from ml_backend.state.status import project_status
from ml_backend.state.workfiles import ProjectFiles
from ml_backend.worker.runner import ProjectJobs
from tests.support.huey_queue import due, run_next
from tests.support.label_studio_stub import StubLabelStudio, StubRequest

REF = ProjectRef(PROJECT_ID, 1717000000)


def queued(h: Harness) -> list[str]:
    """The names of the jobs waiting or scheduled."""
    return [t.name for t in h.jobs.huey.pending()] + [t.name for t in h.jobs.huey.scheduled()]


def gave_up(h: Harness) -> dict | None:
    return ProjectFiles(h.ctx.registry, PROJECT_ID).state().get("gave_up")


def logged(caplog) -> list[logging.LogRecord]:
    """What was logged so far, fixtures' set-up included."""
    return caplog.get_records("setup") + caplog.records


def give_up_lines(caplog) -> list[str]:
    return [r.getMessage() for r in logged(caplog) if "textal stops working on it" in r.getMessage()]


@pytest.fixture
def deleted(harness: Harness, caplog) -> Harness:
    """Project 7 deleted in Label Studio (its reads answer 404) and its first retrain run, as after a webhook."""
    caplog.set_level(logging.INFO)
    harness.studio.add_tasks(["hello there", "win cash now"])
    harness.studio.fail_as(404)
    harness.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_CREATED")
    assert run_next(harness.jobs.huey)
    assert gave_up(harness) is not None
    return harness


# -- hopeless: given up after one attempt -------------------------------------------------------------------------


def test_a_project_label_studio_answers_404_for_is_given_up_after_one_attempt_with_no_retry(deleted, caplog):
    h = deleted
    assert h.studio.project_reads == 1
    assert queued(h) == [] and h.jobs.gate.pending("retrain", PROJECT_ID) is None  # no retry scheduled
    assert h.jobs.gate.wait_before_run("retrain", PROJECT_ID) == 0.0  # and no backoff left behind
    record = gave_up(h)
    assert record["job"] == "retrain" and record["error"] == "StudioHopeless" and record["at"]
    assert f"has no project {PROJECT_ID} (404)" in record["reason"] and "Reconnect" in record["action"]
    lines = give_up_lines(caplog)
    assert len(lines) == 1  # one clear line: the project, what happened, what a person must do
    assert lines[0].startswith(f"project {PROJECT_ID}: Label Studio at {STUDIO_URL} has no project {PROJECT_ID} (404)")
    assert "deleted" in lines[0] and "Reconnect the backend" in lines[0]
    assert not [r for r in logged(caplog) if "will be retried" in r.getMessage() or r.exc_info]


def test_jobs_of_a_project_given_up_are_skipped_without_asking_label_studio(deleted, caplog):
    h = deleted
    h.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_UPDATED")
    h.jobs.enqueue_score(PROJECT_ID, [1, 2])
    h.jobs.enqueue_finetune(PROJECT_ID, "START_TRAINING")
    while run_next(h.jobs.huey):
        pass
    assert h.studio.project_reads == 1 and queued(h) == []
    assert len(give_up_lines(caplog)) == 1  # said once, not once per job


def test_the_status_report_shows_a_project_given_up_and_what_to_do(deleted):
    status = project_status(deleted.settings.data_dir, PROJECT_ID)
    assert status.gave_up is not None and "(404)" in status.gave_up["reason"]
    line = status.gave_up_line()
    assert line.startswith(f"Given up at {status.gave_up['at']}: Label Studio at {STUDIO_URL} has no project")
    assert "Reconnect the backend" in line


def test_reconciliation_queues_nothing_for_a_project_given_up(deleted):
    h = deleted
    reconciler = h.reconciler()
    h.studio.fail_as(None)  # even were it to answer, with changed counts...
    h.studio.add_tasks(["more texts"])
    h.jobs.gate.huey.put_if_empty(f"textal:pending:retrain:{PROJECT_ID}", {"job": "lost", "reason": "x", "at": 0.0})
    reconciler.run_once()
    assert reconciler.check(PROJECT_ID, now=1e9) is None
    assert queued(h) == [] and h.studio.project_reads == 1  # ...nothing is asked, nothing queued
    assert h.jobs.gate.pending("retrain", PROJECT_ID) is None  # the ghost mark is dropped, not requested again


def test_reconciliation_that_finds_the_project_deleted_gives_it_up(harness, caplog):
    reconciler = harness.reconciler()
    harness.studio.fail_as(404)
    reconciler.run_once()
    reconciler.run_once()
    assert "(404)" in gave_up(harness)["reason"] and gave_up(harness)["job"] == "reconciliation"
    assert len(give_up_lines(caplog)) == 1 and harness.studio.project_reads == 1 and queued(harness) == []


@pytest.mark.parametrize("url", ["ftp://x", "http://", "http://:8080", "http://ls:notaport"])
def test_a_malformed_label_studio_url_is_given_up_after_one_attempt(harness, caplog, url):
    harness.ctx.registry.setup(REF, CONFIG, hostname=url, access_token="t" * 40)
    harness.jobs.runner = ProjectJobs(harness.ctx)  # the real client, built from the URL /setup sent
    harness.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_CREATED")
    assert run_next(harness.jobs.huey)
    assert queued(harness) == [] and harness.jobs.gate.wait_before_run("retrain", PROJECT_ID) == 0.0
    assert "malformed" in gave_up(harness)["reason"] and repr(url) in gave_up(harness)["reason"]
    lines = give_up_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith(f"project {PROJECT_ID}: the Label Studio URL {url!r} is malformed")
    assert project_status(harness.settings.data_dir, PROJECT_ID).gave_up is not None


# -- what can recover is retried ----------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [503, 502, 429, 409, "refused"])
def test_label_studio_down_or_busy_is_still_retried_with_backoff(harness, answer):
    harness.studio.fail_as(answer)
    harness.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_CREATED")
    assert run_next(harness.jobs.huey)
    assert queued(harness) == ["retrain"] and 4 < harness.jobs.gate.wait_before_run("retrain", PROJECT_ID) <= 5
    harness.reconciler().run_once()
    assert harness.studio.project_reads == 2 and gave_up(harness) is None  # the reconciler still looks at it
    harness.studio.fail_as(None)
    harness.jobs.gate.succeeded("retrain", PROJECT_ID)  # its backoff over
    due(harness.jobs.huey)
    assert run_next(harness.jobs.huey) and harness.studio.project_reads >= 2 and gave_up(harness) is None


def test_a_database_locked_answer_is_not_hopeless():
    error = Studio(STUDIO_URL, "t" * 40)._api_error("importing predictions", 500, {"detail": "database is locked"})
    assert isinstance(error, TransientError) and not isinstance(error, HopelessError)


# -- a new /setup clears it ---------------------------------------------------------------------------------------


def test_a_new_setup_of_a_project_given_up_clears_it_and_the_worker_works_on_it_again(deleted, make_client, store_dir):
    h = deleted
    h.studio.fail_as(None)  # the project answers again (restored, or the backend pointed at the right server)
    server = make_client(store_dir, h.settings.data_dir)
    answer = server.post(
        "/setup", json={"project": REF.uid, "schema": CONFIG, "hostname": STUDIO_URL, "access_token": "t" * 40}
    )  # the same connection as before
    assert answer.status_code == 200, answer.text
    assert run_next(h.jobs.huey)  # the retrain /setup asked for
    assert gave_up(h) is None and project_status(h.settings.data_dir, PROJECT_ID).gave_up is None
    assert h.studio.project_reads == 2 and ProjectFiles(h.ctx.registry, PROJECT_ID).state()["last_counts"]
    h.studio.add_tasks(["new task"])
    assert h.reconciler().check(PROJECT_ID) is not None and queued(h) == ["retrain"]  # reconciled again


def test_a_setup_whose_retrain_joins_one_already_waiting_still_resumes_the_project(deleted):
    h = deleted
    h.studio.fail_as(None)
    waiting = h.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_CREATED")  # a webhook, before the /setup
    assert h.jobs.enqueue_retrain(PROJECT_ID, "SETUP") == waiting  # /setup's retrain joins it
    assert run_next(h.jobs.huey)
    assert gave_up(h) is None and h.studio.project_reads == 2


def test_a_setup_made_before_the_failure_does_not_resume_the_project(harness):
    harness.studio.fail_as(404)
    harness.jobs.enqueue_retrain(PROJECT_ID, "SETUP")  # its own retrain fails: the project is gone
    assert run_next(harness.jobs.huey) and gave_up(harness) is not None
    harness.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_CREATED")
    assert run_next(harness.jobs.huey) and harness.studio.project_reads == 1 and gave_up(harness) is not None


def test_a_project_given_up_is_worked_on_again_once_it_is_connected_with_another_token(deleted):
    h = deleted
    h.studio.fail_as(None)
    h.ctx.registry.setup(REF, CONFIG, hostname=STUDIO_URL, access_token="n" * 40)  # a reconnection, queue aside
    h.reconciler().run_once()
    assert gave_up(h) is None and queued(h) == ["retrain"]


# -- the client's classification ----------------------------------------------------------------------------------


@pytest.fixture
def server():
    """A small fake Label Studio: 200 for the good token (404 on paths in ``missing``), 401 otherwise, or ``status``."""
    state = {"status": None, "good_token": "g" * 40, "missing": ()}

    def answer(request: StubRequest) -> tuple[int, Any]:
        good = request.authorization == f"Token {state['good_token']}"
        status = state["status"] or (200 if good else 401)
        if status == 200 and request.path.startswith(tuple(state["missing"])):
            status = 404
        return status, {"detail": "nope"} if status >= 400 else {"id": 1}

    with StubLabelStudio(answer) as stub:
        yield stub.url, state


def test_only_a_404_on_the_project_itself_is_hopeless(server):
    url, state = server
    state["missing"] = ("/api/projects/3", "/api/tasks/")
    studio = Studio(url, "g" * 40, timeout=5, retries=0)
    with pytest.raises(HopelessError, match="has no project 3 \\(404\\)"):
        studio.project(3)
    with pytest.raises(StudioError) as info:  # a missing page or task is explained, and retried a few times
        list(studio.iter_tasks(3))
    assert not isinstance(info.value, HopelessError)


def test_a_refused_token_is_hopeless_only_once_the_setup_token_was_refused_too(server):
    url, state = server
    with pytest.raises(HopelessError, match="refused the API token \\(401\\)"):  # no other token to try
        Studio.for_project(url, "x" * 40).with_working_key()
    preferred = Studio.for_project(url, "x" * 40, LabelStudioOverride(None, "e" * 40))
    with pytest.raises(StudioError) as info:  # the /setup token is still to be tried
        preferred.check_key()
    assert not isinstance(info.value, HopelessError)
    with pytest.raises(HopelessError):
        preferred.with_working_key()  # ...and it was refused too
    assert (
        Studio.for_project(url, "g" * 40, LabelStudioOverride(None, "e" * 40)).with_working_key()._api_key == "g" * 40
    )
    state["status"] = 503
    with pytest.raises(StudioUnavailable):
        Studio(url, "g" * 40, timeout=5, retries=0).project(3)


def test_the_worker_gives_up_a_project_whose_every_token_label_studio_refuses(server, tmp_path, caplog):
    url, _ = server
    h = Harness(tmp_path / "data", label_studio=LabelStudioOverride(None, "e" * 40))
    h.ctx.registry.setup(REF, CONFIG, hostname=url, access_token="x" * 40)  # both refused
    h.jobs.runner = ProjectJobs(h.ctx)
    h.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_CREATED")
    assert run_next(h.jobs.huey) and queued(h) == []
    assert "refused the API token (401)" in gave_up(h)["reason"] and "LABEL_STUDIO_API_KEY" in gave_up(h)["action"]
    assert len(give_up_lines(caplog)) == 1


def test_the_worker_will_not_start_with_a_malformed_label_studio_url(tmp_path):
    from ml_backend.errors import BackendConfigError
    from ml_backend.state.projects import ProjectRegistry
    from ml_backend.worker.consumer import check_api_key

    settings = WorkerSettings.create(tmp_path, environ={"LABEL_STUDIO_URL": "ftp://ls:8080"})
    with pytest.raises(BackendConfigError, match="LABEL_STUDIO_URL 'ftp://ls:8080' is malformed"):
        check_api_key(settings, ProjectRegistry(tmp_path))
