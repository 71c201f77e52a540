"""What the Label Studio benchmarks share: where things are, starting processes, waiting for them, a choice annotation.

Label Studio starts the way the tests start it (``tests.support.servers``); the annotation result is the one the
tests build (``tests.support.ls_project.choice``, through the backend's own schema)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from tests.support.ls_project import CONFIG as SPAM_CONFIG
from tests.support.ls_project import choice
from tests.support.ports import free_port
from tests.support.servers import log_tail, ls_environment, stop_process, wait_for_label_studio
from tests.support.waits import wait_until

__all__ = [
    "BIN",
    "DATA",
    "REPO",
    "SPAM_CONFIG",
    "choice",
    "free_port",
    "log_tail",
    "ls_environment",
    "start",
    "stop_process",
    "up",
    "wait",
    "wait_for_label_studio",
]

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))  # the shared datasets
BIN = Path(sys.executable).parent  # label-studio and textal beside this interpreter


def start(cmd: list[str], log: Path, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
    """Start ``cmd`` in its own session, output to ``log``."""
    with open(log, "wb") as fh:
        return subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True
        )


def wait(check: Callable[[], T], timeout: float, what: str, log: Path, every: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``log``'s tail after ``timeout``."""
    return wait_until(check, timeout, every, what=what, details=lambda: log_tail(log, 60))


def up(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
