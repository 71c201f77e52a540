"""End-to-end fixtures: a real Label Studio server (one per session) and real `textal serve` processes.

``label_studio`` starts ``label-studio start`` on 127.0.0.1 with a SQLite data dir in a temp
folder and an admin user + legacy API token set through its environment (LABEL_STUDIO.md recipe).
The first start runs migrations (60-80 s), so it is session-scoped: every e2e test shares it and
makes its own projects. ``start_backend`` starts ``textal serve`` as a separate process. Every
process started here is stopped (its own process group, by id) at teardown. The token is never
logged or printed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from e2e_rows import read_rows

VENV_BIN = Path(sys.executable).parent
LS_START_TIMEOUT_S = float(os.environ.get("TEXTAL_LS_START_TIMEOUT", "300"))
BACKEND_START_TIMEOUT_S = 120.0
# Environment Label Studio reads that would change how it starts; removed from the child's environment.
_LS_UNSET = ("HOST", "PORT", "USERNAME", "PASSWORD", "DEBUG", "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_URL", "DJANGO_DB")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop a process started with ``start_new_session=True`` and everything in its group."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace_s)


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass(frozen=True)
class LabelStudioServer:
    """A running Label Studio: its URL, the admin's API token and login (keep token and password out of logs)."""

    url: str
    token: str
    data_dir: Path
    log_path: Path
    email: str
    password: str

    def client(self):
        """A label-studio-sdk client logged in as the admin."""
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=self.token, timeout=120)

    def __repr__(self) -> str:  # never show the token in pytest output
        return f"LabelStudioServer(url={self.url!r}, data_dir={str(self.data_dir)!r})"


def _ls_environment(data_dir: Path, token: str, email: str = "admin@textal.test", password: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LS_UNSET}
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        LABEL_STUDIO_USERNAME=email,
        LABEL_STUDIO_PASSWORD=password or secrets.token_urlsafe(16),
        LABEL_STUDIO_USER_TOKEN=token,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        ML_BLOCK_LOCAL_IP="false",  # else 403 for backends and webhooks on 127.0.0.1
        SSRF_PROTECTION_ENABLED="false",
        LATEST_VERSION_CHECK="false",
        COLLECT_ANALYTICS="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_for_label_studio(proc: subprocess.Popen, port: int, token: str, log_path: Path) -> str:
    """Poll whoami until Label Studio answers; it may have moved to the next port if ours was taken."""
    deadline = time.monotonic() + LS_START_TIMEOUT_S
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Label Studio exited with {proc.returncode} while starting:\n{log_tail(log_path)}")
        moved = re.findall(r"127\.0\.0\.1:(\d+)", log_tail(log_path, 200))
        for candidate in {f"http://127.0.0.1:{p}" for p in moved} | {url}:
            try:
                answer = httpx.get(f"{candidate}/api/current-user/whoami", headers={"Authorization": f"Token {token}"}, timeout=2)
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                return candidate
        time.sleep(1.0)
    raise RuntimeError(f"Label Studio did not answer within {LS_START_TIMEOUT_S:.0f} s:\n{log_tail(log_path)}")


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory) -> Iterator[LabelStudioServer]:
    """A real Label Studio on 127.0.0.1 (SQLite in a temp folder), shared by the whole session."""
    root = tmp_path_factory.mktemp("label-studio")
    data_dir = root / "data"
    log_path = root / "label-studio.log"
    token = secrets.token_hex(20)
    email, password = "admin@textal.test", secrets.token_urlsafe(16)
    port = free_port()
    cmd = [
        str(VENV_BIN / "label-studio"), "start", "--no-browser",
        "--internal-host", "127.0.0.1", "--port", str(port), "--host", f"http://127.0.0.1:{port}",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=root, env=_ls_environment(data_dir, token, email, password), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        url = _wait_for_label_studio(proc, port, token, log_path)
        yield LabelStudioServer(url=url, token=token, data_dir=data_dir, log_path=log_path, email=email, password=password)
    finally:
        stop_process(proc)


@dataclass(frozen=True)
class Backend:
    """A running ``textal serve``."""

    url: str
    store: Path
    data_dir: Path
    log_path: Path
    process: subprocess.Popen


def backend_command(store: Path, data_dir: Path, port: int, strategy: str) -> list[str]:
    """``textal serve`` (the console script beside this interpreter)."""
    return [
        str(VENV_BIN / "textal"), "serve", "--store", str(store), "--data-dir", str(data_dir),
        "--host", "127.0.0.1", "--port", str(port), "--strategy", strategy,
    ]


@pytest.fixture
def start_backend(tmp_path) -> Iterator[Callable[..., Backend]]:
    """Start ``textal serve`` over a store as a separate process; stopped at the end of the test."""
    started: list[Backend] = []

    def start(store: Path, data_dir: Path | None = None, strategy: str = "entropy", env: dict[str, str] | None = None,
              port: int | None = None) -> Backend:
        data_dir = data_dir or tmp_path / f"backend-data-{len(started)}"
        log_path = tmp_path / f"backend-{len(started)}.log"
        port = port or free_port()
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                backend_command(store, data_dir, port, strategy), env=child_env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        backend = Backend(f"http://127.0.0.1:{port}", store, data_dir, log_path, proc)
        started.append(backend)
        deadline = time.monotonic() + BACKEND_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"textal serve exited with {proc.returncode}:\n{log_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{backend.url}/health", timeout=2).status_code in (200, 401):  # 401: it asks for basic auth
                    return backend
            time.sleep(0.3)
        raise RuntimeError(f"textal serve did not answer within {BACKEND_START_TIMEOUT_S:.0f} s:\n{log_tail(log_path)}")

    yield start
    for backend in started:
        stop_process(backend.process)


@dataclass
class Worker:
    """A running ``textal worker``."""

    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def worker_command(data_dir: Path, args: list[str]) -> list[str]:
    """``textal worker`` (the console script beside this interpreter)."""
    return [str(VENV_BIN / "textal"), "worker", "--data-dir", str(data_dir), *args]


@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start ``textal worker`` as a separate process (not waited for); stopped at the end of the test."""
    started: list[Worker] = []

    def start(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Worker:
        log_path = tmp_path / f"worker-{len(started)}.log"
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", **(env or {})}
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                worker_command(data_dir, list(args)), env=child_env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        worker = Worker(data_dir, log_path, proc)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        stop_process(worker.process)


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A real redis-server (the Debian package; `make test` installs it) on 127.0.0.1, a free port, a temp dir."""
    import shutil

    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if binary is None:
        pytest.fail("redis-server is not installed; `make test` installs it (apt-get install -y redis-server)")
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    log_path = folder / "redis.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "", "--appendonly", "no",
             "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {proc.returncode}:\n{log_tail(log_path)}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer:\n{log_tail(log_path)}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def linear_spam_store(tmp_path_factory, data_dir) -> Path:
    """What `textal serve --store` serves before a project has its own model: a linear spam model on 1,500 SMS
    (the tasks come from the test split)."""
    from textal.models.linear import LinearClassifier
    from textal.store import ModelStore

    rows = read_rows(data_dir / "sms_spam" / "train.csv", 1500)
    model = LinearClassifier(char_ngrams=(3, 4), max_features=20_000, embed_dim=16)
    model.fit([r["text"] for r in rows], [r["label"] for r in rows])
    root = tmp_path_factory.mktemp("e2e-store") / "store"
    ModelStore(root).publish(model, {"note": "e2e", "training_size": len(rows)})
    return root

