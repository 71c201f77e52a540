"""How the worker's Label Studio client reports failures: transient ones are retried, others explained, the token
never shown."""

from __future__ import annotations

from typing import Any

import pytest

from ml_backend.config import LabelStudioOverride
from ml_backend.errors import TransientError as TransientJobError
from ml_backend.labelstudio.client import Studio, StudioError, StudioUnavailable
from tests.support.label_studio_stub import StubLabelStudio, StubRequest
from tests.support.ports import free_port

TOKEN = "f" * 40


@pytest.fixture
def server():
    """A small fake Label Studio answering every request with the status the test sets."""
    state = {"status": 500, "seen_auth": [], "good_token": None}

    def answer(request: StubRequest) -> tuple[int, Any]:
        state["seen_auth"].append(request.authorization)
        good = state["good_token"]
        status = state["status"] if good is None else (200 if request.authorization == f"Token {good}" else 401)
        return status, {"detail": "nope"} if status >= 400 else {"id": 1}

    with StubLabelStudio(answer) as stub:
        yield stub.url, state


def test_an_unreachable_label_studio_is_a_transient_error_that_names_the_operation_not_the_token():
    studio = Studio(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=5, retries=0)
    with pytest.raises(StudioUnavailable, match="unreachable while reading project 3") as info:
        studio.project(3)
    assert isinstance(info.value, TransientJobError) and TOKEN not in str(info.value)


@pytest.mark.parametrize(
    "status, error", [(503, StudioUnavailable), (429, StudioUnavailable), (401, StudioError), (404, StudioError)]
)
def test_http_failures_map_to_retry_or_to_a_readable_error(server, status, error):
    url, state = server
    state["status"] = status
    studio = Studio(url, TOKEN, timeout=5, retries=0)  # the SDK's own retries would only slow the test down
    with pytest.raises(error) as info:
        list(studio.iter_tasks(3))
    assert str(status) in str(info.value) and TOKEN not in str(info.value) and TOKEN not in repr(studio)
    with pytest.raises(error):
        studio.model_versions(3)
    assert state["seen_auth"][0] == f"Token {TOKEN}"


def test_a_project_without_hostname_or_token_says_which_setting_to_give(monkeypatch):
    with pytest.raises(StudioError, match="LABEL_STUDIO_URL"):
        Studio.for_project(None, TOKEN, LabelStudioOverride.read({}))
    with pytest.raises(StudioError, match="LABEL_STUDIO_API_KEY"):
        Studio.for_project("http://ls:8080", None, LabelStudioOverride.read({}))
    studio = Studio.for_project(
        "http://ls:8080", "from-setup", LabelStudioOverride.read({"LABEL_STUDIO_URL": "http://other:8081"})
    )
    assert studio.url == "http://other:8081"


def test_a_refused_key_from_the_environment_falls_back_to_the_token_sent_at_setup(server, caplog):
    url, state = server
    state["good_token"] = "s" * 40
    studio = Studio.for_project(url, "s" * 40, LabelStudioOverride(None, "e" * 40))
    assert studio.with_working_key()._api_key == "s" * 40
    assert (
        "refuses LABEL_STUDIO_API_KEY; using the token it sent at /setup" in caplog.text and "e" * 40 not in caplog.text
    )
    refused = Studio.for_project(url, "x" * 40, LabelStudioOverride(None, "e" * 40))
    with pytest.raises(StudioError, match="refused the API token"):
        refused.with_working_key()


def test_the_worker_will_not_start_with_a_key_label_studio_refuses(server, tmp_path):
    from ml_backend.config import WorkerSettings
    from ml_backend.errors import BackendConfigError
    from ml_backend.state.projects import ProjectRegistry
    from ml_backend.worker.consumer import check_api_key

    url, state = server
    state["good_token"] = "g" * 40
    bad = WorkerSettings.create(tmp_path, environ={"LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": "b" * 40})
    with pytest.raises(BackendConfigError, match=f"Label Studio at {url} refuses LABEL_STUDIO_API_KEY") as info:
        check_api_key(bad, ProjectRegistry(tmp_path))
    assert "b" * 40 not in str(info.value)
    good = WorkerSettings.create(tmp_path, environ={"LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": "g" * 40})
    check_api_key(good, ProjectRegistry(tmp_path))  # accepted: no error
