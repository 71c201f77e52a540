"""The project commands find Label Studio and its key where `textal up` left them (.textal/ls-key, ports.json) when
the environment names none; the folder's key goes to the folder's Label Studio only, and no key is ever printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml_backend.config import LabelStudioOverride
from ml_backend.stack.access import studio_access
from ml_backend.stack.up import StackError, StackHome
from tests.support.label_studio_stub import StubLabelStudio

KEY = "ab" * 20
NO_ENV = LabelStudioOverride(None, None)


def made_home(root: Path, ls_port: int = 8123, backend_port: int = 9123) -> StackHome:
    """A folder as `textal up` leaves it: the admin's key (0600) and the ports it used."""
    home = StackHome(root)
    home.make()
    home.key_file.write_text(KEY + "\n")
    home.key_file.chmod(0o600)
    home.ports_file.write_text(json.dumps({"label_studio": ls_port, "backend": backend_port}))
    return home


def test_without_the_environment_the_folders_key_label_studio_and_backend_are_used(tmp_path):
    home = made_home(tmp_path / ".textal")
    access = studio_access(home.root, env=NO_ENV)
    assert (access.url, access.api_key, access.backend_url) == ("http://127.0.0.1:8123", KEY, "http://127.0.0.1:9123")
    assert access.key_source == str(home.key_file) and KEY not in repr(access)


def test_the_environments_key_wins_over_the_folders(tmp_path):
    home = made_home(tmp_path / ".textal")
    access = studio_access(home.root, env=LabelStudioOverride(None, "env-key"))
    assert access.api_key == "env-key" and access.key_source == "LABEL_STUDIO_API_KEY"
    assert access.url == "http://127.0.0.1:8123" and access.backend_url is None


def test_the_folders_key_is_never_sent_to_another_label_studio(tmp_path):
    home = made_home(tmp_path / ".textal")
    with pytest.raises(StackError) as exc:
        studio_access(home.root, url="http://elsewhere:8080", env=NO_ENV)
    message = str(exc.value)
    assert "LABEL_STUDIO_API_KEY" in message and "is for http://127.0.0.1:8123" in message and KEY not in message
    assert studio_access(home.root, url="http://localhost:8123/", env=NO_ENV).api_key == KEY  # the same server


def test_no_key_anywhere_is_one_line_naming_both_ways_to_give_one(tmp_path):
    with pytest.raises(StackError) as exc:
        studio_access(tmp_path / ".textal", env=NO_ENV)
    message = str(exc.value)
    assert "\n" not in message and "set LABEL_STUDIO_API_KEY" in message and "textal up" in message
    assert "http://localhost:8080" in message


@pytest.fixture
def refusing_studio() -> Iterator[StubLabelStudio]:
    """A Label Studio that refuses every key; it remembers the requests (their Authorization headers)."""
    with StubLabelStudio(lambda request: (401, {"detail": "Invalid token."})) as stub:
        yield stub


def test_export_as_printed_reads_the_folders_key_and_port_and_exits_2_without_printing_the_key(
    tmp_path, monkeypatch, textal_cli, refusing_studio
):
    monkeypatch.chdir(tmp_path)
    for name in ("LABEL_STUDIO_API_KEY", "LABEL_STUDIO_URL", "LABEL_STUDIO_HOST"):
        monkeypatch.delenv(name, raising=False)
    made_home(tmp_path / ".textal", ls_port=refusing_studio.port)
    code, out, err = textal_cli(["export", "--project", "1", "--format", "csv", "--out", "labels.csv"])
    seen = [request.authorization for request in refusing_studio.requests]
    assert code == 2 and seen and all(h == f"Token {KEY}" for h in seen)
    assert err.strip().splitlines() == [
        f"textal: Label Studio at http://127.0.0.1:{refusing_studio.port} refused the API key in .textal/ls-key; "
        "copy it from Account & Settings > Access Token"
    ]
    assert KEY not in out + err


def test_export_with_no_key_and_no_textal_up_folder_is_one_line_and_exit_2(tmp_path, monkeypatch, textal_cli):
    monkeypatch.chdir(tmp_path)
    for name in ("LABEL_STUDIO_API_KEY", "LABEL_STUDIO_URL", "LABEL_STUDIO_HOST"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = textal_cli(["export", "--project", "1", "--format", "csv", "--out", "labels.csv"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "no API key for Label Studio" in lines[0], err
    assert "Traceback" not in out + err and not (tmp_path / "labels.csv").exists()
