"""Start-up settings: a bad strategy, limit or store is a readable TextalError before the port opens."""

from __future__ import annotations

import pytest

from ml_backend.config import ServerSettings as Settings
from ml_backend.config import default_data_dir
from ml_backend.server.app import create_app
from textal.errors import TextalError


def test_the_data_folder_defaults_to_a_sibling_of_the_store(tmp_path):
    settings = Settings.create(tmp_path / "runs" / "store", environ={})
    assert settings.data_dir == default_data_dir(settings.store) == (tmp_path / "runs" / "store-backend").resolve()


def test_limits_come_from_the_environment(tmp_path):
    settings = Settings.create(tmp_path / "s", environ={"TEXTAL_MAX_BODY_MB": "0.5", "TEXTAL_MAX_TEXT_CHARS": "100"})
    assert (settings.max_body_bytes, settings.max_text_chars) == (512 * 1024, 100)


@pytest.mark.parametrize(("name", "value"), [("TEXTAL_MAX_BODY_MB", "lots"), ("TEXTAL_MAX_TEXT_CHARS", "-5")])
def test_a_bad_limit_is_refused_by_name(tmp_path, name, value):
    with pytest.raises(TextalError, match=name):
        Settings.create(tmp_path / "s", environ={name: value})


def test_a_store_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TextalError, match="is a file"):
        Settings.create(tmp_path / "file", environ={})


def test_an_unknown_strategy_fails_when_the_app_is_built(tmp_path):
    with pytest.raises(TextalError, match="unknown strategy 'nope'"):
        create_app(Settings.create(tmp_path / "s", tmp_path / "d", strategy="nope", environ={}))


def test_a_strategy_that_needs_a_committee_fails_when_the_app_is_built(tmp_path):
    with pytest.raises(TextalError, match="committee"):
        create_app(Settings.create(tmp_path / "s", tmp_path / "d", strategy="vote_entropy", environ={}))
