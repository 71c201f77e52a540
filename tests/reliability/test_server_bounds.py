"""Issue 26, in process: what one request, or many at once, may cost the backend, and what it may make it send.

- a label config's names, data key and choices are bounded in length, and an answer is bounded relative to its
  request (a 14 KB /predict returned 500 MB through a 250,000-character data key); skip reasons echo no input;
- a FIFO in place of a store's LATEST hangs nothing, and /health names the version that serves, never a newer one
  that failed to load;
- concurrent /setup calls never pass the projects' cap;
- the label config's limit counts UTF-8 bytes, and a project's state file stores them as they are;
- a /setup flood against a Label Studio that never answers leaves /webhook and /health answering at once;
- project ids are ASCII digits only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ml_backend.config import ServerSettings
from ml_backend.server.app import create_app
from ml_backend.state.projects import ProjectRef, ProjectRegistry
from textal.store.model_store import ModelStore

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def config(key: str = "text", name: str = "text", choices: tuple[str, ...] = ("ham", "spam")) -> str:
    options = "".join(f'<Choice value="{c}"/>' for c in choices)
    return (
        f'<View><Text name="{name}" value="${key}"/><Choices name="label" toName="{name}" choice="single">'
        f"{options}</Choices></View>"
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory, spam_model) -> ModelStore:
    store = ModelStore(tmp_path_factory.mktemp("bounds") / "store")
    store.publish(spam_model, {"note": "good"})
    return store


@pytest.fixture
def make_app(tmp_path):
    clients: list[TestClient] = []

    def build(store_root: Path, settings_change: dict | None = None, **env: str) -> TestClient:
        settings = ServerSettings.create(store_root, tmp_path / "data", "entropy", environ=env)
        if settings_change:
            settings = dataclasses.replace(settings, **settings_change)
        client = TestClient(create_app(settings))
        client.__enter__()  # one event loop for every request, as under uvicorn
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def setup(client: TestClient, project: str, schema: str) -> int:
    return client.post("/setup", json={"project": project, "schema": schema}).status_code


# -- 1. response amplification ----------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["data key", "Text name", "choice"])
def test_a_config_with_a_long_name_key_or_choice_is_refused_with_a_reason(make_app, store, what):
    c = make_app(store.root)
    long = "k" * 20_000
    schema = {
        "data key": config(key=long),
        "Text name": config(name=long),
        "choice": config(choices=("ham", "spam", long)),
    }[what]
    answer = c.post("/setup", json={"project": "1.1", "schema": schema})
    assert answer.status_code == 400, answer.text[:200]
    assert len(answer.content) < 1000 and "characters" in answer.json()["error"]
    assert c.get("/versions", params={"project": "1"}).status_code == 404  # nothing recorded


def test_skip_reasons_never_echo_the_task(make_app, store):
    c = make_app(store.root)
    assert setup(c, "1.1", CONFIG) == 200
    tasks = [{"id": i, "data": {"k" * 5_000 + str(i): "x"}} for i in range(20)]
    answer = c.post("/predict", json={"project": "1.1", "tasks": tasks})
    assert answer.status_code == 200
    for result in answer.json()["results"]:
        assert "kkkk" not in result["skipped"] and len(result["skipped"]) < 200
    assert len(answer.content) < len(json.dumps(tasks)) / 10


def test_an_answer_is_bounded_relative_to_its_request(make_app, store):
    # a small allowance, so that an ordinary answer passes it: refused with a 413 and a reason, never sent
    c = make_app(store.root, {"answer_floor_bytes": 2_000, "answer_ratio": 2})
    assert setup(c, "1.1", CONFIG) == 200
    few = [{"id": 1, "data": {"text": "free prize call now"}}]
    assert c.post("/predict", json={"project": "1.1", "tasks": few}).status_code == 200
    many = [{"id": i, "data": {"text": "hi"}} for i in range(200)]
    answer = c.post("/predict", json={"project": "1.1", "tasks": many})
    assert answer.status_code == 413 and "ask for fewer tasks" in answer.json()["error"]
    assert len(answer.content) < 1000


def test_every_answer_is_bounded_by_the_guard_too():
    from ml_backend.server.guards import BodyLimit

    async def chatty(scope, receive, send):
        await receive()
        body = b"x" * 10_000
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10000")]})
        await send({"type": "http.response.body", "body": body})

    answer = TestClient(BodyLimit(chatty, max_bytes=1000, answer_floor_bytes=500, answer_ratio=4)).post(
        "/", content=b"12345"
    )
    assert answer.status_code == 413 and "bytes" in answer.json()["error"]


# -- 3. a FIFO in place of LATEST, and /health names what serves -------------------------------------------------


def answered_within(seconds: float, call):
    """``call()``'s result, or pytest.fail when it does not return within ``seconds`` (it hangs)."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    if not out:
        pytest.fail(f"no answer within {seconds} s: it hangs")
    return out[0]


def test_a_fifo_in_place_of_latest_hangs_nothing(make_app, tmp_path, spam_model):
    store = ModelStore(tmp_path / "fifo-store")
    store.publish(spam_model, {"note": "good"})
    c = make_app(store.root)
    assert setup(c, "1.1", CONFIG) == 200
    task = {"project": "1.1", "tasks": [{"id": 1, "data": {"text": "free prize"}}]}
    assert c.post("/predict", json=task).json()["model_version"] == "base-v0001"
    pointer = store.root / "LATEST"
    pointer.unlink()
    os.mkfifo(pointer)
    try:
        health = answered_within(5, lambda: c.get("/health"))
        assert health.status_code == 200 and "LATEST is unreadable" in health.json()["degraded"]
        assert health.json()["projects"] == {"1": "base-v0001"}
        answer = answered_within(5, lambda: c.post("/predict", json=task))
        assert answer.status_code == 200 and answer.json()["model_version"] == "base-v0001"
        assert answered_within(5, lambda: c.get("/versions")).status_code == 200
        assert (
            answered_within(5, lambda: c.post("/webhook", json={"action": "START_TRAINING", "project": 1})).status_code
            == 200
        )
    finally:  # a reader hanging on the FIFO (the code before the fix) gets its end of file
        try:
            os.close(os.open(pointer, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def test_health_names_the_version_that_serves_not_a_newer_broken_one(make_app, tmp_path, spam_model):
    store = ModelStore(tmp_path / "broken-store")
    store.publish(spam_model, {"note": "good"})
    c = make_app(store.root)
    assert setup(c, "1.1", CONFIG) == 200
    task = {"project": "1.1", "tasks": [{"id": 1, "data": {"text": "free prize"}}]}
    assert c.post("/predict", json=task).json()["model_version"] == "base-v0001"
    broken = store.publish(spam_model, {"note": "broken"}, promote=False)
    for path in (store.path(broken) / "model").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage\xff")
    store.promote(broken)
    assert c.post("/predict", json=task).json()["model_version"] == "base-v0001"
    health = c.get("/health").json()
    assert f"could not load {broken}" in health["degraded"]
    assert health["projects"] == {"1": "base-v0001"} and health["model_version"] == "base-v0001"
    assert c.get("/versions").json()["serving"] == {"1": "base-v0001"}


# -- 4. the projects' cap under concurrent /setup calls ----------------------------------------------------------


def test_concurrent_setups_never_pass_the_projects_cap(make_app, store, monkeypatch, tmp_path):
    import ml_backend.server.app as app_module

    real_accept = app_module.accept_setup

    def slow_accept(*args, **kwargs):  # widens the window between the cap's check and the project's creation
        time.sleep(0.2)
        return real_accept(*args, **kwargs)

    monkeypatch.setattr(app_module, "accept_setup", slow_accept)
    c = make_app(store.root, TEXTAL_MAX_PROJECTS="5")
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda i: setup(c, f"{100 + i}.1", CONFIG), range(20)))
    assert codes.count(200) == 5 and set(codes) == {200, 403}, codes
    assert len(ProjectRegistry(tmp_path / "data").ids()) == 5


# -- 5. the config's limit in UTF-8 bytes, and what a project stores ---------------------------------------------


def test_the_config_limit_counts_utf8_bytes(make_app, store):
    c = make_app(store.root, TEXTAL_MAX_CONFIG_KB="8")
    wide = config(choices=("ham", "spam", *("漢" * 450 + str(i) for i in range(7))))  # 3,300 characters, 9,600 bytes
    assert len(wide) < 8 * 1024 / 2 and len(wide.encode()) > 8 * 1024
    answer = c.post("/setup", json={"project": "1.1", "schema": wide})
    assert answer.status_code == 413 and "bytes" in answer.json()["error"]


def test_a_projects_state_stores_utf8_as_it_is(make_app, store, tmp_path):
    c = make_app(store.root, TEXTAL_MAX_CONFIG_KB="8")
    wide = config(choices=("ham", "spam", *("漢" * 450 + str(i) for i in range(3))))
    size = len(wide.encode())
    assert size < 8 * 1024 and setup(c, "1.1", wide) == 200
    stored = (tmp_path / "data" / "projects" / "1" / "project.json").stat().st_size
    assert stored < 2.2 * size + 2048, (stored, size)  # the config, and its choices once more; no \\u escapes


# -- 8. a /setup flood against a Label Studio that never answers ---------------------------------------------------


def test_a_setup_flood_against_a_silent_label_studio_starves_no_webhook(make_app, store, tmp_path):
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(512)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    ProjectRegistry(tmp_path / "data").setup(ProjectRef(7, 1), CONFIG, hostname=url, access_token="first")
    c = make_app(store.root, LABEL_STUDIO_URL=url)
    try:
        with ThreadPoolExecutor(120) as pool:  # each /setup sends a new token: the backend asks Label Studio
            flood = [
                pool.submit(
                    c.post,
                    "/setup",
                    json={"project": "7.1", "schema": CONFIG, "hostname": url, "access_token": f"token-{i}"},
                )
                for i in range(120)
            ]
            time.sleep(0.3)
            slow = []
            for _ in range(9):
                started = time.monotonic()
                hook = c.post("/webhook", json={"action": "START_TRAINING", "project": 7})
                health = c.get("/health")
                took = time.monotonic() - started
                assert hook.status_code == 200 and health.status_code == 200
                slow += [took] if took >= 1.0 else []
                time.sleep(0.2)
            codes = [f.result().status_code for f in flood]
        assert not slow, f"{len(slow)} of 9 webhooks and health checks took 1 s or more: {slow}"
        assert set(codes) <= {403, 429}, codes  # the token refused (no answer), or too many waiting: a reason each
    finally:
        silent.close()


# -- 9. project ids: ASCII digits only ---------------------------------------------------------------------------


@pytest.mark.parametrize("shown", ["٧٠", "７０", "70\u0660"])
def test_project_ids_are_ascii_digits_only(make_app, store, shown):
    c = make_app(store.root)
    assert setup(c, "70.1", CONFIG) == 200
    assert c.get("/versions", params={"project": "70"}).status_code == 200
    answer = c.get("/versions", params={"project": shown})
    assert answer.status_code == 400 and "project" in answer.json()["error"]
    assert c.post("/predict", json={"project": shown, "tasks": []}).status_code == 400
    assert c.post("/webhook", json={"action": "START_TRAINING", "project": shown}).status_code == 400
