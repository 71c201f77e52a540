"""Basic auth (BASIC_AUTH_USER / BASIC_AUTH_PASS), as Label Studio sends it for a backend with auth."""

from __future__ import annotations

import pytest

from ml_backend.config import ServerSettings as Settings
from textal.errors import TextalError


@pytest.fixture
def guarded(make_client, store_dir):
    return make_client(store_dir, BASIC_AUTH_USER="ls", BASIC_AUTH_PASS="s3cret:with-colon")


@pytest.mark.parametrize("path", ["/", "/health", "/versions"])
def test_without_credentials_every_endpoint_is_a_401(guarded, path):
    answer = guarded.get(path)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert "basic auth" in answer.json()["error"]


def test_wrong_credentials_are_a_401_even_for_posts(guarded, spam_config):
    assert (
        guarded.post("/setup", json={"project": "1.1", "schema": spam_config}, auth=("ls", "nope")).status_code == 401
    )
    assert guarded.post("/webhook", json={"action": "X"}, auth=("other", "s3cret:with-colon")).status_code == 401
    assert guarded.get("/health", headers={"Authorization": "Basic !!not-base64!!"}).status_code == 401


def test_the_right_credentials_pass(guarded, spam_config):
    auth = ("ls", "s3cret:with-colon")
    assert guarded.get("/health", auth=auth).status_code == 200
    assert guarded.post("/setup", json={"project": "1.1", "schema": spam_config}, auth=auth).status_code == 200


def test_without_the_variables_no_auth_is_asked(make_client, store_dir):
    assert make_client(store_dir).get("/health").status_code == 200


def test_a_user_without_a_password_is_refused_at_start(tmp_path):
    with pytest.raises(TextalError, match="BASIC_AUTH_USER and BASIC_AUTH_PASS"):
        Settings.create(tmp_path / "store", environ={"BASIC_AUTH_USER": "ls"})
