"""When Label Studio will not connect the backend, `textal init` says why in one line (a 403 after the key was
accepted is Label Studio blocking backends on local addresses (its default), not the key; a 400 is a failed /setup,
most often textal serve trusting another address for Label Studio than the one Label Studio gives itself), and a
connection a refused attempt left without its webhook gets one."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.client import StudioError
from ml_backend.recipes.init import InitError, connect_backend, ensure_webhook


class Blocking:
    """StudioAdmin with no connection yet, whose Label Studio refuses backends on 127.0.0.1."""

    class studio:  # noqa: N801
        url = "http://127.0.0.1:8378"

    def __init__(self, status: int) -> None:
        self.status = status

    def connections(self, project_id):
        return []

    def connect(self, project_id, url, title, extra_params):
        if self.status == 400:
            raise StudioError(
                f"Label Studio at {self.studio.url} answered 400 while connecting the ML backend {url} "
                f'to project {project_id}: {{"detail": "Validation error"}}'
            )
        raise StudioError(
            f"Label Studio at {self.studio.url} refused the API token ({self.status}) while connecting "
            f"the ML backend {url} to project {project_id}"
        )


def test_a_403_on_connecting_names_the_label_studio_settings_not_the_key():
    with pytest.raises(InitError) as exc:
        connect_backend(Blocking(403), 1, "http://127.0.0.1:9378", {})
    message = str(exc.value)
    assert "\n" not in message and "ML_BLOCK_LOCAL_IP=false" in message and "SSRF_PROTECTION_ENABLED=false" in message
    assert "run this again" in message


def test_a_400_on_connecting_points_at_the_label_studio_address_textal_serve_trusts():
    with pytest.raises(InitError) as exc:
        connect_backend(Blocking(400), 1, "http://127.0.0.1:9378", {})
    message = str(exc.value)
    assert "\n" not in message and "LABEL_STUDIO_URL" in message and "http://localhost:PORT" in message


def test_other_refusals_are_passed_on_in_label_studios_words():
    with pytest.raises(InitError, match=r"refused the API token \(401\)"):
        connect_backend(Blocking(401), 1, "http://127.0.0.1:9378", {})


class HookStudio:
    """Label Studio's webhook list for one project, as `_raw` answers it."""

    url = "http://127.0.0.1:8378"

    def __init__(self, hooks: list[dict]) -> None:
        self.hooks = hooks
        self.posted: list[dict] = []

    def _raw(self, method, path, what, body=None, params=None):
        assert path == "api/webhooks/"
        if method == "GET":
            return [h for h in self.hooks if h["project"] == params["project"]]
        self.posted.append(body)
        return {"id": 9, **body}


def test_a_connection_left_without_its_webhook_gets_one_and_only_once():
    studio = HookStudio([{"project": 2, "url": "http://127.0.0.1:9378/webhook"}])  # another project's
    assert ensure_webhook(studio, 1, "http://127.0.0.1:9378/") is True
    assert studio.posted == [
        {"project": 1, "url": "http://127.0.0.1:9378/webhook", "send_payload": True, "send_for_all_actions": True}
    ]
    studio.hooks.append({"project": 1, "url": "http://127.0.0.1:9378/webhook"})
    assert ensure_webhook(studio, 1, "http://127.0.0.1:9378") is False and len(studio.posted) == 1
