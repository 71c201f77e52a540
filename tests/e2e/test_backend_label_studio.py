"""A real Label Studio asks a real `textal serve` for predictions and orders its tasks by textal's score."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from tests.support.dataset_rows import read_rows
from tests.support.ls_project import choice

pytestmark = pytest.mark.e2e

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
N_TASKS = 200  # Label Studio stores each prediction in ~0.15 s here, so a few hundred is plenty


def pending_jobs(data_dir: Path, wait_for: int, timeout: float = 10.0) -> list[dict]:
    """The queue's pending jobs, polled until at least ``wait_for`` are there (webhooks are synchronous, but be
    kind)."""
    jobs = Jobs(make_huey(data_dir))
    deadline = time.monotonic() + timeout
    found = jobs.pending()
    while len(found) < wait_for and time.monotonic() < deadline:
        time.sleep(0.2)
        found = jobs.pending()
    return found


def test_label_studio_stores_textal_predictions_and_orders_tasks_by_its_score(
    label_studio, start_backend, linear_spam_store, data_dir, tmp_path
):
    started = time.monotonic()
    backend = start_backend(linear_spam_store, data_dir=tmp_path / "backend-data")
    ls = label_studio.client()
    project = ls.projects.create(title="textal e2e: sms spam", label_config=CONFIG)

    # register `textal serve`: Label Studio calls /health and /setup and adds a webhook for every event
    ml = ls.ml.create(url=backend.url, project=project.id, title="textal")
    assert ml.model_version == "base-v0001"
    assert (backend.data_dir / "projects" / str(project.id) / "project.json").is_file()

    rows = read_rows(data_dir / "sms_spam" / "test.csv", N_TASKS - 1)
    texts = [r["text"] for r in rows[:50]] + ["   "] + [r["text"] for r in rows[50:]]  # one task textal cannot read
    imported = ls.projects.import_tasks(id=project.id, request=[{"text": t} for t in texts], return_task_ids=True)
    task_ids = sorted(imported.task_ids)
    assert len(task_ids) == N_TASKS

    # connecting queued the project's set-up; the import's TASKS_CREATED webhook one scoring job for exactly these tasks
    jobs = pending_jobs(backend.data_dir, wait_for=2)
    assert [(j["name"], j["args"], j["kwargs"]) for j in jobs if j["name"] == "retrain"] == [
        ("retrain", [project.id], {"reason": "SETUP"})
    ]
    assert [(j["args"][0], sorted(j["args"][1])) for j in jobs if j["name"] == "score_tasks"] == [
        (project.id, task_ids)
    ]

    # "retrieve predictions" for every task
    ls.actions.create(id="retrieve_tasks_predictions", project=project.id, selected_items={"all": True, "excluded": []})
    tasks = list(ls.tasks.list(project=project.id, fields="all"))
    assert sorted(t.id for t in tasks) == task_ids
    blank = next(t.id for t in tasks if not t.data["text"].strip())
    guessed = 0
    for task in tasks:
        assert len(task.predictions) == 1, task.id
        prediction = task.predictions[0]
        assert prediction.model_version == "base-v0001"
        if task.id == blank:
            assert prediction.result == [] and prediction.score == 1.0
        else:
            assert 0.0 <= prediction.score < 1.0
            if prediction.result:  # a guess only where the model is sure enough to pre-fill one
                assert prediction.result[0]["value"]["choices"][0] in {"ham", "spam"}
                assert 0.6 <= prediction.result[0]["score"] <= 1.0
                guessed += 1
    assert guessed > len(tasks) // 2

    # textal's own order for the same tasks, asked of the backend directly
    answer = httpx.post(
        f"{backend.url}/predict",
        json={"tasks": [{"id": t.id, "data": t.data} for t in tasks], "project": f"{project.id}"},
        timeout=60,
    )
    textal_score = {t.id: r["score"] for t, r in zip(tasks, answer.json()["results"])}
    for task in tasks:
        assert task.predictions[0].score == pytest.approx(textal_score[task.id], abs=1e-9)

    # Label Studio sorts by the scores of the project's model_version: set it, then read an ordered view
    ls.projects.update(id=project.id, model_version="base-v0001")
    view = ls.views.create(
        project=project.id, data={"title": "textal: most informative first", "ordering": ["tasks:predictions_score"]}
    )
    ordered = list(ls.tasks.list(project=project.id, view=view.id))
    listed = [t.id for t in ordered]
    assert sorted(listed) == task_ids
    listed_scores = [textal_score[i] for i in listed]
    assert listed_scores == sorted(listed_scores)
    assert listed[0] == min(textal_score, key=textal_score.get)
    assert listed[-1] == blank or textal_score[listed[-1]] == 1.0

    # an annotation reaches the backend as a webhook and queues a retrain of this project
    first = listed[0]
    Jobs(make_huey(backend.data_dir)).huey.flush()  # no worker here: empty the queue to see what the webhook adds
    ls.annotations.create(
        id=first,
        result=choice("spam"),
    )
    jobs = pending_jobs(backend.data_dir, wait_for=1)
    assert [(j["name"], j["args"], j["kwargs"]) for j in jobs] == [
        ("retrain", [project.id], {"reason": "ANNOTATION_CREATED"})
    ]
    assert backend.process.poll() is None
    print(f"e2e backend flow: {time.monotonic() - started:.1f} s for {N_TASKS} tasks")


def test_label_studio_reaches_a_backend_behind_basic_auth(
    label_studio, start_backend, linear_spam_store, data_dir, tmp_path
):
    backend = start_backend(
        linear_spam_store, data_dir=tmp_path / "auth-data", env={"BASIC_AUTH_USER": "ls", "BASIC_AUTH_PASS": "e2e-pass"}
    )
    assert httpx.get(f"{backend.url}/health").status_code == 401
    ls = label_studio.client()
    project = ls.projects.create(title="textal e2e: basic auth", label_config=CONFIG)
    ml = ls.ml.create(
        url=backend.url,
        project=project.id,
        title="textal",
        auth_method="BASIC_AUTH",
        basic_auth_user="ls",
        basic_auth_pass="e2e-pass",
    )
    assert ml.model_version == "base-v0001"
    rows = read_rows(data_dir / "sms_spam" / "test.csv", 10)
    ls.projects.import_tasks(id=project.id, request=[{"text": r["text"]} for r in rows])
    ls.actions.create(id="retrieve_tasks_predictions", project=project.id, selected_items={"all": True, "excluded": []})
    tasks = list(ls.tasks.list(project=project.id, fields="all"))
    assert len(tasks) == 10
    assert all(len(t.predictions) == 1 and t.predictions[0].model_version == "base-v0001" for t in tasks)
