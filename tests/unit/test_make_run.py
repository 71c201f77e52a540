"""`make run`'s command line: DATA a folder (the recipe's demo file in it) or a file, PROJECT passed as the project's
name, whole, spaces and all; without PROJECT no name is passed (textal up picks one)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_run(*args: str) -> str:
    """The `textal up` line `make run` would run (make -n; install counts as done)."""
    out = subprocess.run(
        ["make", "-n", "-o", "install", "-C", str(ROOT), "run", *args], capture_output=True, text=True, check=True
    ).stdout
    return next(line for line in out.splitlines() if " up " in line)


def test_project_is_passed_as_one_project_name():
    line = make_run("DATA=../shared/data/clinc150/validation.csv", "RECIPE=support_tickets", "PROJECT=My intents")
    assert line.endswith(
        'up --recipe support_tickets --data ../shared/data/clinc150/validation.csv --project-name "My intents"'
    )


def test_without_project_the_demo_file_of_the_data_folder_and_no_name():
    assert make_run().endswith("up --recipe spam --data ../shared/data/sms_spam/test.csv")
