"""Webhooks enqueue durable jobs (retrain / score_tasks) and answer within Label Studio's 1-second timeout."""

from __future__ import annotations

import time

import pytest
from huey import RedisHuey, SqliteHuey

from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from textal.errors import TextalError

RETRAIN_ACTIONS = [
    "ANNOTATION_CREATED",
    "ANNOTATIONS_CREATED",
    "ANNOTATION_UPDATED",
    "ANNOTATIONS_DELETED",
    "START_TRAINING",
]


def queued_jobs(state_dir):
    """The jobs in the SQLite queue, read through a separate huey instance (as the worker would)."""
    return Jobs(make_huey(state_dir)).pending()


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "data"  # the folder make_client uses by default


@pytest.fixture
def client(client, state_dir):
    """The connected project's client, with the set-up job /setup queued taken off the queue."""
    make_huey(state_dir).flush()
    return client


def test_setup_queues_the_set_up_and_scoring_of_the_project_at_once(make_client, store_dir, state_dir, spam_config):
    c = make_client(store_dir)
    started = time.perf_counter()
    assert c.post("/setup", json={"project": "9.1717000000", "schema": spam_config}).status_code == 200
    assert time.perf_counter() - started < 1.0
    assert [(j["name"], j["args"], j["kwargs"]) for j in queued_jobs(state_dir)] == [
        ("retrain", [9], {"reason": "SETUP"})
    ]
    c.post("/setup", json={"project": "9.1717000000", "schema": spam_config})  # Label Studio calls it twice
    assert len(queued_jobs(state_dir)) == 1


PAYLOADS = {
    "ANNOTATION_CREATED": {
        "annotation": {"id": 1, "result": []},
        "task": {"id": 3},
        "project": {"id": 7, "title": "spam"},
    },
    "ANNOTATIONS_CREATED": {"annotation": [{"id": 1}, {"id": 2}], "project": {"id": 7}},
    "ANNOTATION_UPDATED": {"annotation": {"id": 1}, "task": {"id": 3}, "project": {"id": 7}},
    "ANNOTATIONS_DELETED": {"annotations": [{"id": 1}], "project": {"id": 7}},
    "START_TRAINING": {"project": {"id": 7, "title": "spam", "label_config": "<View/>"}},  # no annotation key
}


@pytest.mark.parametrize("action", RETRAIN_ACTIONS)
def test_annotation_events_queue_a_retrain_of_the_project(client, state_dir, action):
    answer = client.post("/webhook", json={"action": action, **PAYLOADS[action]})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "queued" and body["job"] == "retrain" and body["project"] == 7
    jobs = queued_jobs(state_dir)
    assert [(j["name"], j["args"], j["kwargs"]) for j in jobs] == [("retrain", [7], {"reason": action})]
    assert jobs[0]["id"] == body["id"]


def test_tasks_created_queues_scoring_of_the_new_tasks(client, state_dir):
    payload = {
        "action": "TASKS_CREATED",
        "project": {"id": 7},
        "tasks": [{"id": 11, "data": {"text": "a"}}, {"id": 12, "data": {}}],
    }
    answer = client.post("/webhook", json=payload)
    assert answer.status_code == 200 and answer.json()["job"] == "score_tasks"
    assert [(j["name"], j["args"]) for j in queued_jobs(state_dir)] == [("score_tasks", [7, [11, 12]])]


def test_tasks_created_without_task_ids_is_a_400(client, state_dir):
    answer = client.post("/webhook", json={"action": "TASKS_CREATED", "project": {"id": 7}, "tasks": [{"data": {}}]})
    assert answer.status_code == 400 and "no integer 'id'" in answer.json()["error"]
    assert queued_jobs(state_dir) == []


@pytest.mark.parametrize("action", ["PROJECT_UPDATED", "TASKS_DELETED", "SOMETHING_NEW"])
def test_other_actions_are_answered_ignored_and_queue_nothing(client, state_dir, action):
    answer = client.post("/webhook", json={"action": action, "project": {"id": 7}})
    assert answer.status_code == 200 and answer.json() == {"status": "ignored", "action": action}
    assert queued_jobs(state_dir) == []


def test_a_burst_of_events_coalesces_into_one_queued_retrain_and_each_answer_beats_the_one_second_timeout(
    client, state_dir
):
    slowest = 0.0
    ids = set()
    for i in range(30):
        started = time.perf_counter()
        answer = client.post(
            "/webhook", json={"action": "ANNOTATION_CREATED", "annotation": {"id": i}, "project": {"id": 7}}
        )
        slowest = max(slowest, time.perf_counter() - started)
        assert answer.status_code == 200
        ids.add(answer.json()["id"])
    assert slowest < 1.0  # Label Studio's webhook read timeout
    jobs = queued_jobs(state_dir)
    assert len(jobs) == 1 and ids == {jobs[0]["id"]}  # one retrain waits for all 30 (ml_backend.queue.gate)


def test_queued_jobs_survive_a_backend_restart(make_client, store_dir, state_dir, spam_config):
    first = make_client(store_dir, data_dir=state_dir)
    assert first.post("/setup", json={"project": "7.1", "schema": spam_config}).status_code == 200
    assert first.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 7}}).status_code == 200
    first.close()
    make_client(store_dir, data_dir=state_dir)  # a new backend over the same folder: the job is still there
    assert [j["name"] for j in queued_jobs(state_dir)] == ["retrain"]


def test_the_queue_is_sqlite_in_the_data_folder_or_redis_from_a_url(tmp_path):
    assert isinstance(make_huey(tmp_path / "d"), SqliteHuey)
    assert (tmp_path / "d" / "queue.db").is_file()
    assert isinstance(make_huey(tmp_path / "d", "redis://127.0.0.1:6379/0"), RedisHuey)  # connects lazily
    with pytest.raises(TextalError, match="redis://"):
        make_huey(tmp_path / "d", "amqp://127.0.0.1")
