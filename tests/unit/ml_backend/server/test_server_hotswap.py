"""Hot swap: a newer published version serves without a restart, and no request sees a half-loaded model."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ml_backend.scoring.ls_score import ScoreScale
from ml_backend.server import slots as serving
from ml_backend.server.slots import ModelSlot
from textal.ranking.scale import Scorer
from textal.store.model_store import ModelStore


def predict(client, texts, project="7.1717000000"):
    tasks = [{"id": i, "data": {"text": t}} for i, t in enumerate(texts)]
    answer = client.post("/predict", json={"tasks": tasks, "project": project})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def expected_scores(model, texts):
    return ScoreScale().scores(Scorer("entropy").informativeness(model.predict_proba(texts), False))


@pytest.fixture
def swap_client(make_client, own_store, spam_config):
    c = make_client(own_store)
    assert c.post("/setup", json={"project": "7.1717000000", "schema": spam_config}).json() == {
        "model_version": "base-v0001"
    }
    return c


def test_a_newer_published_version_answers_without_a_restart(
    swap_client, own_store, other_spam_model, pool_texts, spam_config
):
    assert {r["model_version"] for r in predict(swap_client, pool_texts)} == {"base-v0001"}
    ModelStore(own_store).publish(other_spam_model)
    results = predict(swap_client, pool_texts)
    assert {r["model_version"] for r in results} == {"base-v0002"}
    np.testing.assert_allclose([r["score"] for r in results], expected_scores(other_spam_model, pool_texts), atol=1e-9)
    answer = swap_client.post("/setup", json={"project": "7.1717000000", "schema": spam_config})
    assert answer.json() == {"model_version": "base-v0002"}


def test_the_old_version_keeps_serving_while_the_new_one_loads(own_store, other_spam_model, monkeypatch):
    slot = ModelSlot(own_store, base=True)
    assert slot.get(wait=30).version == "v0001"
    gate = threading.Event()
    real_load = serving.load_version

    def gated_load(*args, **kwargs):
        gate.wait(30)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(serving, "load_version", gated_load)
    ModelStore(own_store).publish(other_spam_model)
    assert slot.get(wait=0.2).version == "v0001"  # v0002 is loading: the whole old model answers
    assert slot.current().version == "v0001"
    gate.set()
    assert slot.get(wait=30).version == "v0002"


def test_concurrent_requests_during_swaps_each_see_one_whole_version(
    swap_client, own_store, spam_model, other_spam_model, pool_texts
):
    texts = pool_texts[:12]
    expected = {
        "base-v0001": expected_scores(spam_model, texts),
        "base-v0002": expected_scores(other_spam_model, texts),
        "base-v0003": expected_scores(spam_model, texts),
    }
    seen: list[list[dict]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def hammer():
        try:
            while not stop.is_set():
                seen.append(predict(swap_client, texts))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    store = ModelStore(own_store)

    def wait_for(name):
        deadline = time.monotonic() + 30
        while not any(r[0]["model_version"] == name for r in list(seen)) and time.monotonic() < deadline and not errors:
            time.sleep(0.02)

    try:
        store.publish(other_spam_model)
        wait_for("base-v0002")
        store.publish(spam_model)
        wait_for("base-v0003")
    finally:
        stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    versions = set()
    for results in seen:
        names = {r["model_version"] for r in results}
        assert len(names) == 1  # never a mix inside one response
        name = names.pop()
        versions.add(name)
        np.testing.assert_allclose([r["score"] for r in results], expected[name], atol=1e-9)
    assert versions == set(expected)


def test_a_project_with_its_own_published_model_is_served_from_it(swap_client, tmp_path, other_spam_model, pool_texts):
    own = tmp_path / "data" / "projects" / "7" / "store"  # where the retrain worker publishes
    ModelStore(own).publish(other_spam_model)
    results = predict(swap_client, pool_texts)
    assert {r["model_version"] for r in results} == {"v0001"}
    np.testing.assert_allclose([r["score"] for r in results], expected_scores(other_spam_model, pool_texts), atol=1e-9)


def test_a_version_that_fails_to_load_leaves_the_last_good_one_serving(
    swap_client, own_store, other_spam_model, pool_texts
):
    store = ModelStore(own_store)
    version = store.publish(other_spam_model)
    (store.path(version) / "model" / "linear.npz").write_bytes(b"not a model")
    results = predict(swap_client, pool_texts[:3])
    assert {r["model_version"] for r in results} == {"base-v0001"}
    assert swap_client.get("/health").status_code == 200
