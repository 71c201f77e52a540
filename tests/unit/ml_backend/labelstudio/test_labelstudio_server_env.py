"""The database textal gives a Label Studio it starts: SQLite by default, or a PostgreSQL named by URL, its password
from the environment and never from the URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ml_backend.labelstudio.server_env import DatabaseURLError, database_environment, label_studio_environment


def test_sqlite_is_the_default_and_a_stray_django_db_does_not_redirect_it(tmp_path):
    env = label_studio_environment({"DJANGO_DB": "default"}, tmp_path, "a@b.c", "pw", "t" * 40)
    assert env["DJANGO_DB"] == "sqlite" and "POSTGRE_HOST" not in env


def test_a_postgresql_url_becomes_label_studios_settings_with_the_password_from_the_environment(tmp_path):
    env = label_studio_environment(
        {"POSTGRE_PASSWORD": "s3cret"}, tmp_path, "a@b.c", "pw", "t" * 40, "postgresql://ls@db.internal:6432/labels"
    )
    assert {k: env[k] for k in env if k.startswith(("DJANGO_DB", "POSTGRE_"))} == {
        "DJANGO_DB": "default",
        "POSTGRE_HOST": "db.internal",
        "POSTGRE_PORT": "6432",
        "POSTGRE_NAME": "labels",
        "POSTGRE_USER": "ls",
        "POSTGRE_PASSWORD": "s3cret",
    }
    assert database_environment("postgres://db/labels", {})["POSTGRE_PORT"] == "5432"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://ls@db/labels", "the database must be written postgresql://USER@HOST:PORT/NAME"),
        ("postgresql://ls@db", "the database must be written postgresql://USER@HOST:PORT/NAME"),
        ("postgresql://ls:hunter2@db/labels", "leave the password out of the database URL: put it in POSTGRE_PASSWORD"),
        ("postgresql://ls@db:port/labels", "the database URL's port must be a number"),
    ],
)
def test_a_database_url_textal_cannot_use_is_refused_in_one_line_that_never_shows_a_password(url, message):
    with pytest.raises(DatabaseURLError) as exc:
        database_environment(url, {})
    assert str(exc.value) == message and "hunter2" not in str(exc.value)


def test_textal_up_refuses_a_bad_database_before_starting_anything(tmp_path, data_dir):
    data = data_dir / "sms_spam" / "test.csv"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "textal"),
            "up",
            "--recipe",
            "spam",
            "--data",
            str(data),
            "--home",
            str(tmp_path / "home"),
            "--database",
            "postgresql://ls:hunter2@db/labels",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "hunter2" not in done.stderr + done.stdout
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith("--database: leave the password out of the database URL: put it in POSTGRE_PASSWORD")
    )
    assert not (tmp_path / "home").exists()  # nothing started, nothing written
