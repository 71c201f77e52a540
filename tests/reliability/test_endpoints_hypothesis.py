"""Whatever JSON (or bytes) arrives, every endpoint answers a 2xx or a 4xx with a JSON reason: never a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
PATHS = ("/setup", "/predict", "/webhook")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)
projects = st.one_of(st.just("1.1"), st.just(1), st.just({"id": 1}), st.text(max_size=25), st.integers(), json_values)
tasks = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "id": st.integers(),
                "data": st.one_of(
                    st.fixed_dictionaries({"text": st.one_of(st.text(max_size=50), json_values)}), json_values
                ),
            }
        ),
        json_values,
    ),
    max_size=5,
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"project": projects, "tasks": st.one_of(tasks, json_values)},
        optional={"label_config": st.one_of(st.just(CONFIG), st.text(max_size=40))},
    ),
    st.fixed_dictionaries(
        {"project": projects, "schema": st.one_of(st.just(CONFIG), st.text(max_size=60), json_values)},
        optional={
            "hostname": st.one_of(st.text(max_size=30), st.just("http://127.0.0.1:1")),
            "access_token": st.text(max_size=10),
            "extra_params": json_values,
        },
    ),
    st.fixed_dictionaries(
        {
            "action": st.one_of(
                st.sampled_from(["ANNOTATION_CREATED", "TASKS_CREATED", "START_TRAINING"]), st.text(max_size=20)
            ),
            "project": projects,
        },
        optional={"tasks": st.one_of(tasks, json_values), "annotation": json_values},
    ),
    json_values,
)


@pytest.fixture(scope="module")
def app_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from ml_backend.config import ServerSettings
    from ml_backend.server.app import create_app

    root = tmp_path_factory.mktemp("fuzz")
    client = TestClient(
        create_app(ServerSettings.create(root / "store", root / "data", environ={})), raise_server_exceptions=False
    )
    assert client.post("/setup", json={"project": "1.1", "schema": CONFIG}).status_code == 200
    yield client
    client.close()


def assert_answered(answer) -> None:
    assert answer.status_code < 500, (answer.status_code, answer.text[:500])
    if answer.status_code >= 400:
        assert isinstance(answer.json().get("error"), str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), body=bodies)
def test_any_json_body_gets_a_2xx_or_a_4xx_with_a_reason(app_client, path, body):
    assert_answered(app_client.post(path, json=body))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_any_bytes_get_a_4xx_or_a_2xx_never_a_5xx(app_client, path, raw):
    assert_answered(app_client.post(path, content=raw, headers={"content-type": "application/json"}))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(project=st.text(max_size=40))
def test_any_versions_query_gets_a_2xx_or_a_4xx(app_client, project):
    assert_answered(app_client.get("/versions", params={"project": project}))


@pytest.mark.parametrize(
    "raw",
    [
        '{"project": "1.1", "tasks": [' + "{" * 50 + "}" * 50 + "]}",
        '{"project": ' + "9" * 5000 + ', "tasks": []}',
        '{"project": "1.1", "tasks": [{"id": 1, "data": {"text": "\\ud800"}}]}',
        json.dumps({"action": "TASKS_CREATED", "project": 1, "tasks": [{"id": 10**30}]}),
    ],
)
def test_the_hostile_bodies_of_the_report_are_4xx(app_client, raw):
    for path in PATHS:
        answer = app_client.post(path, content=raw, headers={"content-type": "application/json"})
        assert_answered(answer)
