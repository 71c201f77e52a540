"""What the Label Studio benchmarks share: where things are, starting Label Studio, `textal serve` and `textal
worker`, waiting for them, a choice annotation.

Label Studio starts the way the tests start it (``tests.support.servers.start_label_studio``), and so do textal's
processes (``tests.support.servers``: ``spawn``, ``serve_command``, ``worker_command``, ``textal_environment``); the
annotation result is the one the tests build (``tests.support.ls_project.choice``, through the backend's own
schema)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

from tests.support.ls_project import CONFIG as SPAM_CONFIG
from tests.support.ls_project import choice
from tests.support.ports import free_port
from tests.support.servers import (
    TEXTAL,
    label_studio_server,
    log_tail,
    serve_command,
    spawn,
    start_label_studio,
    stop_process,
    textal_environment,
    worker_command,
)
from tests.support.waits import wait_until

__all__ = [
    "DATA",
    "REPO",
    "SPAM_CONFIG",
    "TEXTAL",
    "choice",
    "free_port",
    "label_studio_server",
    "start",
    "start_label_studio",
    "start_serve",
    "start_worker",
    "stop_process",
    "textal_env",
    "up",
    "wait",
    "wait_for_serve",
]

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))  # the shared datasets
SERVE_START_TIMEOUT_S = 300.0

start = spawn  # start(cmd, log, env, cwd=None): a process in its own session, output to ``log``


def wait(check: Callable[[], T], timeout: float, what: str, log: Path, every: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``log``'s tail after ``timeout``."""
    return wait_until(check, timeout, every, what=what, details=lambda: log_tail(log, 60))


def up(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def textal_env(label_studio_url: str | None = None) -> dict[str, str]:
    """The environment the benchmarks run textal's commands in: the tests' (unbuffered, offline), one tokenizer
    thread per process, and the Label Studio that `textal serve` and `textal worker` serve, where given."""
    url = {"LABEL_STUDIO_URL": label_studio_url} if label_studio_url else {}
    return textal_environment({"TOKENIZERS_PARALLELISM": "false", **url})


def start_serve(
    store: Path,
    data_dir: Path,
    port: int,
    log: Path,
    env: dict[str, str],
    *options: str,
    textal: Sequence[str] = TEXTAL,
) -> subprocess.Popen:
    """`textal serve` over ``store`` and ``data_dir`` on ``port`` (not waited for: ``wait_for_serve``)."""
    return start(serve_command(store, data_dir, port, *options, textal=textal), log, env)


def start_worker(
    data_dir: Path, log: Path, env: dict[str, str], *args: str, textal: Sequence[str] = TEXTAL
) -> subprocess.Popen:
    """`textal worker` over ``data_dir`` with ``args`` (not waited for)."""
    return start(worker_command(data_dir, args, textal=textal), log, env)


def wait_for_serve(port: int, log: Path) -> None:
    """Return once `textal serve` on ``port`` answers /health with 200."""
    wait(lambda: up(f"http://127.0.0.1:{port}/health"), SERVE_START_TIMEOUT_S, "textal serve", log, 0.3)
