"""The Label Studio ML-backend protocol, in process: /health, /setup, /predict, /versions."""

from __future__ import annotations

import numpy as np
import pytest

from ml_backend.scoring.ls_score import ScoreScale
from textal.ranking.scale import Scorer
from textal.store.model_store import ModelStore


def test_health_and_index_answer_up(client):
    for path in ("/", "/health"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.json()["status"] == "UP"


def test_setup_answers_the_version_it_will_predict_with(make_client, store_dir, spam_config):
    c = make_client(store_dir)
    answer = c.post(
        "/setup",
        json={
            "project": "3.1700000001",
            "schema": spam_config,
            "hostname": "http://127.0.0.1:1",
            "access_token": "t" * 40,
        },
    )
    assert answer.status_code == 200
    assert answer.json() == {"model_version": "base-v0001"}


def test_setup_rejects_a_config_without_choices_over_text(make_client, store_dir):
    c = make_client(store_dir)
    answer = c.post("/setup", json={"project": "3.1700000001", "schema": '<View><Text name="t" value="$text"/></View>'})
    assert answer.status_code == 400
    assert "no <Choices> control over a <Text>" in answer.json()["error"]


def test_predict_gives_one_result_per_task_in_order(client, project_uid, pool_texts, tasks_for, spam_model):
    tasks = tasks_for(pool_texts)
    answer = client.post("/predict", json={"tasks": tasks, "project": project_uid})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert len(results) == len(tasks)
    expected = spam_model.predict(pool_texts)
    proba = spam_model.predict_proba(pool_texts)
    guessed = 0
    for result, label, p in zip(results, expected, proba):
        assert result["model_version"] == "base-v0001"
        if abs(p[0] - p[1]) < 0.2:  # a coin flip: shown without a guess
            assert result["result"] == []
            continue
        guessed += 1
        assert result["result"] == [  # the guess, with the model's confidence in it
            {
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [label]},
                "score": round(float(p.max()), 4),
            }
        ]
        assert 0.0 <= result["score"] <= 1.0
        assert isinstance(result["cluster"], int)
    assert guessed > len(results) // 2


def test_score_is_the_label_studio_score_of_normalised_entropy(client, project_uid, pool_texts, tasks_for, spam_model):
    results = client.post("/predict", json={"tasks": tasks_for(pool_texts), "project": project_uid}).json()["results"]
    proba = spam_model.predict_proba(pool_texts)
    expected = ScoreScale().scores(Scorer("entropy").informativeness(proba, False))
    np.testing.assert_allclose([r["score"] for r in results], expected, atol=1e-9)
    # the least certain prediction has the lowest score, which Label Studio shows first
    assert int(np.argmin([r["score"] for r in results])) == int(np.argmax(-np.abs(proba[:, 0] - 0.5)))


def test_a_task_scores_the_same_alone_and_inside_a_batch(client, project_uid, pool_texts, tasks_for):
    batch = client.post("/predict", json={"tasks": tasks_for(pool_texts), "project": project_uid}).json()["results"]
    for i in (0, 7, 23):
        alone = client.post("/predict", json={"tasks": tasks_for([pool_texts[i]]), "project": project_uid}).json()[
            "results"
        ][0]
        assert alone["score"] == pytest.approx(batch[i]["score"], abs=1e-12)
        assert alone["cluster"] == batch[i]["cluster"]


def test_labels_the_model_does_not_know_are_never_emitted(make_client, store_dir, pool_texts, tasks_for):
    # the config dropped "spam" and added "promo" since the model was trained: it cannot tell "promo" from "ham",
    # so it guesses nothing (renormalised over "ham" alone, it claimed "ham" at 1.0 on every task; issue 26)
    config = (
        '<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
        '<Choice value="ham"/><Choice value="promo"/></Choices></View>'
    )
    c = make_client(store_dir)
    assert c.post("/setup", json={"project": "4.1", "schema": config}).status_code == 200
    results = c.post("/predict", json={"tasks": tasks_for(pool_texts), "project": "4.1"}).json()["results"]
    emitted = {choice for r in results for region in r["result"] for choice in region["value"]["choices"]}
    assert emitted == set() and len(results) == len(pool_texts) and all("skipped" not in r for r in results)


def test_with_no_model_each_task_gets_an_empty_result(make_client, tmp_path, spam_config, pool_texts, tasks_for):
    c = make_client(tmp_path / "empty-store")
    assert c.post("/setup", json={"project": "5.1", "schema": spam_config}).json() == {"model_version": "no-model"}
    answer = c.post("/predict", json={"tasks": tasks_for(pool_texts[:3]), "project": "5.1"})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["result"] for r in results] == [[], [], []]
    assert all("no model published" in r["skipped"] for r in results)


def test_multi_label_config_emits_every_label_above_threshold(make_client, tmp_path, small_linear, tasks_for):
    texts = [
        "win cash now",
        "free prize call",
        "see you soon",
        "lunch at noon",
        "urgent cash prize",
        "urgent meeting",
    ] * 4
    labels = [("spam",), ("spam",), ("personal",), ("personal",), ("spam", "urgent"), ("personal", "urgent")] * 4
    store = tmp_path / "multi-store"
    ModelStore(store).publish(small_linear(texts, labels))
    config = (
        '<View><Text name="text" value="$text"/><Choices name="tags" toName="text" choice="multiple">'
        '<Choice value="spam"/><Choice value="personal"/><Choice value="urgent"/></Choices></View>'
    )
    c = make_client(store)
    assert c.post("/setup", json={"project": "6.1", "schema": config}).status_code == 200
    results = c.post(
        "/predict", json={"tasks": tasks_for(["urgent cash prize now", "see you at lunch"]), "project": "6.1"}
    ).json()["results"]
    model = ModelStore(store).load()
    proba = model.predict_proba(["urgent cash prize now", "see you at lunch"])
    for result, row in zip(results, proba):
        expected = [lab for lab, p in zip(model.labels_, row) if p >= 0.5]
        got = result["result"][0]["value"]["choices"] if result["result"] else []
        assert sorted(got) == sorted(expected)
        assert 0.0 <= result["score"] <= 1.0


def test_versions_lists_published_versions_newest_first(make_client, own_store, other_spam_model):
    c = make_client(own_store)
    ModelStore(own_store).publish(other_spam_model)
    assert c.get("/versions").json() == {"versions": ["base-v0002", "base-v0001"], "serving": {}}


def test_versions_and_health_tell_what_each_project_serves(make_client, store_dir, tmp_path, spam_config, spam_model):
    c = make_client(store_dir, data_dir=tmp_path / "state")
    for uid in ("7.1", "8.1"):
        assert c.post("/setup", json={"project": uid, "schema": spam_config}).status_code == 200
    ModelStore(tmp_path / "state" / "projects" / "7" / "store").publish(spam_model)  # project 7's own first version
    versions = c.get("/versions").json()
    assert versions == {"versions": ["v0001", "base-v0001"], "serving": {"7": "v0001", "8": "base-v0001"}}
    assert c.get("/versions", params={"project": "8.1"}).json() == {
        "versions": ["base-v0001"],
        "serving": {"8": "base-v0001"},
    }
    health = c.get("/health").json()
    assert health["projects"] == {"7": "v0001", "8": "base-v0001"} and health["status"] == "UP"


def test_a_restarted_backend_remembers_its_projects(
    make_client, store_dir, tmp_path, spam_config, pool_texts, tasks_for
):
    first = make_client(store_dir, data_dir=tmp_path / "state")
    assert first.post("/setup", json={"project": "8.1", "schema": spam_config}).status_code == 200
    second = make_client(store_dir, data_dir=tmp_path / "state")  # a new app over the same data folder
    answer = second.post("/predict", json={"tasks": tasks_for(pool_texts[:2]), "project": "8.1"})
    assert answer.status_code == 200 and len(answer.json()["results"]) == 2


def test_the_access_token_is_stored_private_and_not_answered(make_client, store_dir, tmp_path, spam_config):
    c = make_client(store_dir, data_dir=tmp_path / "state")
    token = "0123456789abcdef0123456789abcdef01234567"
    answer = c.post("/setup", json={"project": "10.1", "schema": spam_config, "access_token": token})
    assert token not in answer.text
    path = tmp_path / "state" / "projects" / "10" / "access_token"
    assert path.read_text() == token
    assert path.stat().st_mode & 0o077 == 0


def test_setup_extra_params_choose_the_project_strategy(make_client, store_dir, spam_config):
    c = make_client(store_dir)
    bad = c.post(
        "/setup", json={"project": "11.1", "schema": spam_config, "extra_params": {"strategy": "no-such-strategy"}}
    )
    assert bad.status_code == 400 and "no-such-strategy" in bad.json()["error"]


def test_a_strategy_chosen_at_setup_is_remembered_and_scores_the_project(
    make_client, store_dir, tmp_path, spam_config, pool_texts, tasks_for, spam_model
):
    c = make_client(store_dir, data_dir=tmp_path / "state")
    answer = c.post(
        "/setup", json={"project": "12.1", "schema": spam_config, "extra_params": {"strategy": "least_confidence"}}
    )
    assert answer.status_code == 200
    assert c.app.state.backend.projects.get(12).strategy == "least_confidence"
    results = c.post("/predict", json={"tasks": tasks_for(pool_texts), "project": "12.1"}).json()["results"]
    top = spam_model.predict_proba(pool_texts).max(axis=1)
    # least confidence over two labels, calibrated to [0, 1]: 1 - p_max maps 0.5 -> 1 and 0 -> 0
    np.testing.assert_allclose([r["score"] for r in results], ScoreScale().scores((1.0 - top) / 0.5), atol=1e-9)


def test_setup_extra_params_are_the_projects_own_settings_and_bad_ones_a_400(
    make_client, store_dir, tmp_path, spam_config
):
    c = make_client(store_dir, data_dir=tmp_path / "state")
    answer = c.post(
        "/setup",
        json={
            "project": "13.1",
            "schema": spam_config,
            "extra_params": {"strategy": "margin", "batch": 7, "prefill_margin": 0.0},
        },
    )
    assert answer.status_code == 200
    state = c.app.state.backend.projects.get(13)
    assert state.strategy == "margin" and state.params == {"batch": 7, "prefill_margin": 0.0}
    again = c.post("/setup", json={"project": "13.1", "schema": spam_config})  # a reconnect without them keeps them
    assert again.status_code == 200 and c.app.state.backend.projects.get(13).params == state.params
    for extra, reason in (
        ({"bacth": 7}, "unknown project setting 'bacth'"),
        ({"batch": "7"}, "must be an integer"),
        ([1, 2], "must be a JSON object"),
    ):
        bad = c.post("/setup", json={"project": "14.1", "schema": spam_config, "extra_params": extra})
        assert bad.status_code == 400 and reason in bad.json()["error"]
