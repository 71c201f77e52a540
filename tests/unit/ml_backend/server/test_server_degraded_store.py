"""A broken store degrades the backend, never downs it: the last good version serves and /health says why."""

from __future__ import annotations

import shutil

import pytest

from ml_backend.config import ServerSettings
from ml_backend.server.app import create_app
from textal.store.model_store import ModelStore

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
TASKS = [{"id": 1, "data": {"text": "free prize, call now"}}]


@pytest.fixture
def two_versions(tmp_path, spam_model):
    root = tmp_path / "store"
    store = ModelStore(root)
    store.publish(spam_model, {"note": "first"})
    store.publish(spam_model, {"note": "second"})
    return store


def serve(make_client, store):
    c = make_client(store.root)
    assert c.post("/setup", json={"project": "1.1", "schema": CONFIG}).status_code == 200
    return c


@pytest.mark.parametrize("breakage", ["not utf-8", "a folder"])
def test_an_unreadable_latest_pointer_keeps_the_loaded_version_serving_and_health_degraded(
    make_client, two_versions, breakage
):
    c = serve(make_client, two_versions)
    assert c.post("/predict", json={"tasks": TASKS, "project": "1.1"}).json()["model_version"] == "base-v0002"
    pointer = two_versions.root / "LATEST"
    if breakage == "not utf-8":
        pointer.write_bytes(b"\xff\xfe\x00v0003")
    else:
        pointer.unlink()
        pointer.mkdir()
    health = c.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "UP"
    assert "LATEST is unreadable" in health.json()["degraded"]
    answer = c.post("/predict", json={"tasks": TASKS, "project": "1.1"})
    assert answer.status_code == 200 and answer.json()["model_version"] == "base-v0002"
    assert 0.0 <= answer.json()["results"][0]["score"] <= 1.0


def test_starting_with_a_broken_newest_version_serves_the_previous_good_one(tmp_path, two_versions):
    shutil.rmtree(two_versions.path("v0002") / "model")
    (two_versions.path("v0002") / "model").mkdir()  # an empty model folder: it cannot load
    app = create_app(ServerSettings.create(two_versions.root, tmp_path / "data", environ={}))
    loaded = app.state.backend.models.base.get(wait=60.0)
    assert loaded is not None and loaded.version == "v0001"
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        health = c.get("/health").json()
        assert health["status"] == "UP" and "could not load v0002" in health["degraded"]
        assert c.post("/setup", json={"project": "1.1", "schema": CONFIG}).json() == {"model_version": "base-v0001"}
