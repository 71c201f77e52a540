"""A newest version whose files are garbage, under a running `textal serve` and at its start: the last good version
keeps answering every request, /health says "degraded" with 200, and the next good version is served again."""

from __future__ import annotations

import httpx
import pytest

from tests.support.waits import wait_until
from textal.store.model_store import ModelStore

pytestmark = pytest.mark.e2e

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
TASKS = [{"id": 1, "data": {"text": "free prize, call now"}}, {"id": 2, "data": {"text": "see you at lunch"}}]


def publish_corrupted(store: ModelStore, model) -> str:
    """Publish a version, garble every file of its model, then make it the newest."""
    version = store.publish(model, {"note": "corrupted on purpose"}, promote=False)
    for path in (store.path(version) / "model").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage\xff" * 3)
    store.promote(version)
    return version


def predict_version(url: str) -> str:
    answer = httpx.post(f"{url}/predict", json={"project": "1.1", "tasks": TASKS}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["results"]) == len(TASKS)
    return answer.json()["model_version"]


def test_a_corrupted_newest_version_never_answers_and_the_next_good_one_does(start_backend, spam_model, tmp_path):
    store = ModelStore(tmp_path / "store")
    store.publish(spam_model, {"note": "good"})
    backend = start_backend(store.root)
    setup = httpx.post(f"{backend.url}/setup", json={"project": "1.1", "schema": CONFIG}, timeout=30)
    assert setup.status_code == 200 and setup.json()["model_version"] == "base-v0001"

    broken = publish_corrupted(store, spam_model)

    def reported() -> dict | None:
        health = httpx.get(f"{backend.url}/health", timeout=5).json()
        if "degraded" in health:
            return health
        assert predict_version(backend.url) == "base-v0001"  # every answer meanwhile from the good version
        return None

    health = wait_until(reported, 30, 0.1, what="/health to report the broken version")
    assert health["status"] == "UP" and f"could not load {broken}" in health["degraded"]
    assert predict_version(backend.url) == "base-v0001"

    backend.kill()  # and a start with the broken version newest
    backend = start_backend(store.root, data_dir=backend.data_dir)
    health = httpx.get(f"{backend.url}/health", timeout=5)
    assert health.status_code == 200 and f"could not load {broken}" in health.json()["degraded"]
    assert predict_version(backend.url) == "base-v0001"

    good = store.publish(spam_model, {"note": "good again"})
    wait_until(lambda: predict_version(backend.url) == f"base-{good}", 30, 0.1, what="the next good version served")
    assert "degraded" not in httpx.get(f"{backend.url}/health", timeout=5).json()
