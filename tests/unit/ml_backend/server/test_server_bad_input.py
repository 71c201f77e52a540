"""Bad input: each case gets a 4xx with a JSON reason, or a per-task skip inside a 200; the server stays up."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def checked(client):
    """The client; after the test, the same server still answers health and predictions."""
    yield client
    assert client.get("/health").json()["status"] == "UP"
    ok = client.post("/predict", json={"tasks": [{"id": 1, "data": {"text": "free prize"}}], "project": "7.1717000000"})
    assert ok.status_code == 200 and ok.json()["results"][0]["result"]


def error_of(answer, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()["error"]


@pytest.mark.parametrize("path", ["/setup", "/predict", "/webhook"])
def test_malformed_json_is_a_400_naming_the_position(checked, path):
    answer = checked.post(path, content=b'{"tasks": [', headers={"content-type": "application/json"})
    assert "malformed JSON" in error_of(answer, 400) and "line 1" in answer.json()["error"]


def test_a_json_array_instead_of_an_object_is_a_400(checked):
    assert "expected a JSON object, got a JSON list" in error_of(checked.post("/predict", json=[1, 2]), 400)


def test_an_empty_body_is_a_400(checked):
    assert "empty request body" in error_of(
        checked.post("/setup", content=b"", headers={"content-type": "application/json"}), 400
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/predict", {"project": "7.1717000000"}, "tasks"),
        ("/predict", {"tasks": []}, "project"),
        ("/setup", {"schema": "<View/>"}, "project"),
        ("/setup", {"project": "7.1"}, "schema"),
        ("/webhook", {"project": {"id": 7}}, "action"),
    ],
    ids=["predict-tasks", "predict-project", "setup-project", "setup-schema", "webhook-action"],
)
def test_a_missing_field_is_a_400_naming_it(checked, path, body, field):
    assert f"missing field {field!r}" in error_of(checked.post(path, json=body), 400)


def test_a_webhook_without_project_is_a_400(checked):
    assert "missing field 'project'" in error_of(checked.post("/webhook", json={"action": "ANNOTATION_CREATED"}), 400)


def test_tasks_of_the_wrong_type_are_a_400(checked):
    assert "'tasks' must be a list" in error_of(
        checked.post("/predict", json={"tasks": "all", "project": "7.1717000000"}), 400
    )
    answer = checked.post("/predict", json={"tasks": [{"id": 1, "data": {"text": "x"}}, 5], "project": "7.1717000000"})
    assert "tasks[1] must be a task object" in error_of(answer, 400)


def test_a_project_id_label_studio_never_sends_is_a_400(checked):
    assert "Label Studio project id" in error_of(checked.post("/predict", json={"tasks": [], "project": "seven"}), 400)


def test_an_unknown_project_is_a_404_at_predict(checked):
    answer = checked.post("/predict", json={"tasks": [{"id": 1, "data": {"text": "hi"}}], "project": "99.1"})
    assert "unknown project 99.1" in error_of(answer, 404)


def test_an_unknown_project_is_a_404_at_the_webhook(checked):
    answer = checked.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 99}})
    assert "unknown project 99" in error_of(answer, 404)


def skipped_of(client, tasks):
    answer = client.post("/predict", json={"tasks": tasks, "project": "7.1717000000"})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == len(tasks)
    good = results[0]
    assert "skipped" not in good and good["score"] < 1.0 and "cluster" in good  # the fine task is still predicted
    for skipped in results[1:]:
        assert skipped["result"] == [] and skipped["score"] == 1.0  # sorts after every readable task
    return [r.get("skipped") for r in results[1:]]


def test_tasks_without_the_text_key_are_skipped_with_a_reason(checked):
    tasks = [{"id": 1, "data": {"text": "call now to claim"}}, {"id": 2, "data": {"body": "hi"}}, {"id": 3}]
    reasons = skipped_of(checked, tasks)
    assert "task data has no 'text' key" in reasons[0] and "1 other key" in reasons[0] and "body" not in reasons[0]
    assert "no 'data' object" in reasons[1]


@pytest.mark.parametrize("text", ["", "   \n\t"], ids=["empty", "blank"])
def test_empty_text_is_skipped_with_a_reason(checked, text):
    reasons = skipped_of(checked, [{"id": 1, "data": {"text": "free entry"}}, {"id": 2, "data": {"text": text}}])
    assert "is empty" in reasons[0]


@pytest.mark.parametrize("value", [42, None, ["a"], {"t": "x"}], ids=["int", "null", "list", "object"])
def test_non_string_text_is_skipped_with_a_reason(checked, value):
    reasons = skipped_of(checked, [{"id": 1, "data": {"text": "free entry"}}, {"id": 2, "data": {"text": value}}])
    assert "not text" in reasons[0]


def test_a_100000_character_text_is_skipped_with_the_limit(checked):
    reasons = skipped_of(
        checked, [{"id": 1, "data": {"text": "free entry"}}, {"id": 2, "data": {"text": "a" * 100_000}}]
    )
    assert "100000 characters" in reasons[0] and "TEXTAL_MAX_TEXT_CHARS" in reasons[0]


def test_a_10_mb_body_is_a_413(checked):
    body = json.dumps({"tasks": [{"id": 1, "data": {"text": "x" * (10 * 1024 * 1024)}}], "project": "7.1717000000"})
    answer = checked.post("/predict", content=body.encode(), headers={"content-type": "application/json"})
    assert "limit is 8 MB" in error_of(answer, 413)


def test_a_10_mb_body_streamed_without_content_length_is_a_413(checked):
    def chunks():
        yield b'{"tasks": [{"id": 1, "data": {"text": "'
        for _ in range(10):
            yield b"x" * (1024 * 1024)
        yield b'"}}], "project": "7.1717000000"}'

    answer = checked.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert "TEXTAL_MAX_BODY_MB" in error_of(answer, 413)


def test_an_unknown_path_is_a_json_404(checked):
    assert error_of(checked.get("/nope"), 404)


def post_raw(client, path: str, body: bytes | str, **headers: str):
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize("path", ["/setup", "/predict", "/webhook"])
def test_json_nested_deeper_than_the_limit_is_a_400_not_a_recursion_error(checked, path):
    body = '{"project": "7.1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert "nested more than 32 levels" in error_of(post_raw(checked, path, body), 400)


@pytest.mark.parametrize("project", ["7" * 300, "7" * 5000, "7." + "1" * 300])
def test_a_project_id_of_hundreds_of_digits_is_a_400(checked, project):
    assert "project id such as" in error_of(checked.post("/predict", json={"tasks": [], "project": project}), 400)
    reason = error_of(
        post_raw(checked, "/webhook", '{"action": "ANNOTATION_CREATED", "project": ' + project + "}"), 400
    )
    assert "project id" in reason or "unreadable JSON" in reason
    assert len(reason) < 300


@pytest.mark.parametrize(
    "body",
    [
        '{"action": "ANNOTATION_CREATED", "project": 7, "\\ud800": 1}',
        '{"action": "ANN\\udc00", "project": 7}',
        '{"project": "7.1717000000", "tasks": [{"id": 1, "data": {"text": "a \\ud834 b"}}]}',
    ],
)
def test_a_lone_surrogate_in_a_key_or_value_is_a_400(checked, body):
    for path in ("/webhook", "/predict"):
        assert "lone surrogate" in error_of(post_raw(checked, path, body), 400)


def test_a_post_that_is_not_json_is_a_415_so_a_web_page_cannot_send_it(checked):
    answer = checked.post(
        "/setup", content=b'{"project": "7.1", "schema": "<View/>"}', headers={"content-type": "text/plain"}
    )
    assert "Content-Type: application/json" in error_of(answer, 415)


@pytest.mark.parametrize("header", [{"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"}])
def test_a_request_from_a_browser_is_a_403(checked, header):
    assert "web browser" in error_of(checked.post("/webhook", json={"action": "X"}, headers=header), 403)
    assert "web browser" in error_of(checked.get("/health", headers=header), 403)
