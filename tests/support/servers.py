"""Real servers for the e2e and reliability tests: a Label Studio (one per session), `textal serve` and `textal
worker` processes, and what starting and stopping them needs.

``start_label_studio`` starts ``label-studio start`` on 127.0.0.1 with a SQLite data dir in a temp
folder and an admin user + legacy API token set through its environment (LABEL_STUDIO.md recipe).
The first start runs migrations (60-80 s), so the ``label_studio`` fixture (tests/conftest.py) is session-scoped:
every test shares it and makes its own projects (a test may restart it: ``LabelStudioServer.start``).
``launch_backend`` and ``launch_worker`` start ``textal serve`` / ``textal worker`` as separate processes (the
``start_backend`` and ``start_worker`` fixtures stop them, by process group, at teardown). The token is never logged
or printed. The benchmarks start Label Studio, `textal serve` and `textal worker` with these helpers too
(``benchmarks.ls_stack``).
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ml_backend.labelstudio.server_env import label_studio_environment
from tests.support.ports import free_port
from tests.support.waits import wait_until

VENV_BIN = Path(sys.executable).parent
TEXTAL = (str(VENV_BIN / "textal"),)  # how the tests run textal: the console script beside this interpreter
LS_START_TIMEOUT_S = float(os.environ.get("TEXTAL_LS_START_TIMEOUT", "300"))
BACKEND_START_TIMEOUT_S = 120.0
# `textal serve` and `textal worker` refuse to start without the Label Studio they serve: the session's, once one
# runs, else an address where nothing answers (for the tests without a Label Studio).
NO_LABEL_STUDIO = "http://127.0.0.1:9"
_session_studio: list[LabelStudioServer] = []  # the session's Label Studio, once one runs


def studio_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` naming a Label Studio (LABEL_STUDIO_URL) where it names none."""
    if env.get("LABEL_STUDIO_URL") or env.get("LABEL_STUDIO_HOST"):
        return env
    return {**env, "LABEL_STUDIO_URL": _session_studio[-1].url if _session_studio else NO_LABEL_STUDIO}


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
    """The last ``lines`` lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class LabelStudioServer:
    """A running Label Studio: its URL, the admin's API token and login (keep token and password out of logs)."""

    url: str
    token: str
    data_dir: Path
    log_path: Path
    email: str
    password: str
    process: subprocess.Popen | None = field(default=None, repr=False)
    command: list[str] = field(default_factory=list, repr=False)
    without: tuple[str, ...] = field(default=(), repr=False)  # variables left out of its environment
    database: str | None = field(default=None, repr=False)  # a postgresql:// URL; None: SQLite in data_dir
    answered: bool = field(default=False, repr=False)  # it has answered once

    def client(self) -> Any:
        """A label-studio-sdk client logged in as the admin."""
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=self.token, timeout=120)

    def start(self) -> None:
        """Start (or start again) on the same port, data and users; return once it answers."""
        self.launch()
        self.wait_until_up()

    def launch(self) -> None:
        """Start the process (its log appended to), not waiting for it to answer: ``wait_until_up`` does."""
        env = ls_environment(self.data_dir, self.token, self.email, self.password, self.database)
        self.process = spawn(
            self.command,
            self.log_path,
            {k: v for k, v in env.items() if k not in self.without},
            cwd=self.data_dir.parent,
            append=True,
        )

    def wait_until_up(self) -> None:
        """Return once it answers: the first time, on the next port if ours was taken meanwhile; after that, on
        the same URL."""
        assert self.process is not None, "launch it first"
        url = wait_for_label_studio(self.process, int(self.url.rsplit(":", 1)[1]), self.token, self.log_path)
        if not self.answered:
            self.url, self.answered = url, True
        elif url != self.url:
            raise RuntimeError(f"Label Studio came back on {url}, not {self.url}")

    def kill(self) -> None:
        """SIGKILL, as a crash or a reboot would."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def __repr__(self) -> str:  # never show the token in pytest output
        return f"LabelStudioServer(url={self.url!r}, data_dir={str(self.data_dir)!r})"


def ls_environment(
    data_dir: Path,
    token: str,
    email: str = "admin@textal.test",
    password: str | None = None,
    database: str | None = None,
) -> dict[str, str]:
    """The environment ``label-studio start`` runs in: its data folder, an admin user with ``token``, its database."""
    return label_studio_environment(os.environ, data_dir, email, password or secrets.token_urlsafe(16), token, database)


def wait_for_label_studio(proc: subprocess.Popen, port: int, token: str, log_path: Path) -> str:
    """Poll whoami until Label Studio answers, and return its URL: it may have moved to the next port if ours was
    taken."""
    url = f"http://127.0.0.1:{port}"

    def answering() -> str | None:
        if proc.poll() is not None:
            raise RuntimeError(f"Label Studio exited with {proc.returncode} while starting:\n{log_tail(log_path)}")
        moved = re.findall(r"127\.0\.0\.1:(\d+)", log_tail(log_path, 200))
        for candidate in {f"http://127.0.0.1:{p}" for p in moved} | {url}:
            try:
                answer = httpx.get(
                    f"{candidate}/api/current-user/whoami", headers={"Authorization": f"Token {token}"}, timeout=2
                )
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                return candidate
        return None

    return wait_until(
        answering, LS_START_TIMEOUT_S, 1.0, what=f"Label Studio to answer at {url}", details=lambda: log_tail(log_path)
    )


def label_studio_server(root: Path, without: tuple[str, ...] = (), database: str | None = None) -> LabelStudioServer:
    """A Label Studio to run on 127.0.0.1 on a free port, SQLite under ``root`` (or the PostgreSQL ``database``
    names), an admin with a fresh token; not started (``start``, or ``launch`` then ``wait_until_up``). ``without``:
    variables to leave out of the environment textal starts it with."""
    port = free_port()
    return LabelStudioServer(
        url=f"http://127.0.0.1:{port}",
        token=secrets.token_hex(20),
        data_dir=root / "data",
        log_path=root / "label-studio.log",
        email="admin@textal.test",
        password=secrets.token_urlsafe(16),
        command=[
            str(VENV_BIN / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--host",
            f"http://127.0.0.1:{port}",
        ],
        without=without,
        database=database,
    )


def start_label_studio(root: Path, without: tuple[str, ...] = (), database: str | None = None) -> LabelStudioServer:
    """Start a real Label Studio on 127.0.0.1 (SQLite under ``root``, or the PostgreSQL ``database`` names) and return
    it once it answers; it is the one ``studio_env`` names from then on. Stop it with
    ``stop_process(server.process)``."""
    server = label_studio_server(root, without, database)
    try:
        server.start()
    except BaseException:
        if server.process is not None:
            stop_process(server.process)
        raise
    _session_studio.append(server)
    return server


def spawn(
    cmd: list[str], log_path: Path, env: dict[str, str], cwd: Path | None = None, append: bool = False
) -> subprocess.Popen:
    """Start ``cmd`` in its own session (stop it with ``stop_process``), stdin closed, output to ``log_path``
    (overwritten, or ``append``ed to)."""
    with open(log_path, "ab" if append else "wb") as log:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def textal_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment textal's commands run in: this one, unbuffered and offline, with ``env`` over it."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", **(env or {})}


@dataclass(frozen=True)
class Backend:
    """A running ``textal serve``."""

    url: str
    store: Path
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def serve_command(store: Path, data_dir: Path, port: int, *options: str, textal: Sequence[str] = TEXTAL) -> list[str]:
    """``textal serve`` over ``store`` and ``data_dir`` on ``port``, with more ``options``; ``textal``: how to run
    textal (the console script beside this interpreter)."""
    return [*textal, "serve", "--store", str(store), "--data-dir", str(data_dir), "--port", str(port), *options]


def backend_command(store: Path, data_dir: Path, port: int, strategy: str) -> list[str]:
    """``textal serve`` on 127.0.0.1 with ``strategy``, as the tests start it."""
    return serve_command(store, data_dir, port, "--host", "127.0.0.1", "--strategy", strategy)


def launch_backend(
    store: Path,
    data_dir: Path,
    log_path: Path,
    strategy: str = "entropy",
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Backend:
    """Start ``textal serve`` over ``store`` in its own process group; return once /health answers."""
    port = port or free_port()
    proc = spawn(backend_command(store, data_dir, port, strategy), log_path, studio_env(textal_environment(env)))
    backend = Backend(f"http://127.0.0.1:{port}", store, data_dir, log_path, proc)

    def answering() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"textal serve exited with {proc.returncode}:\n{log_tail(log_path)}")
        with contextlib.suppress(httpx.HTTPError):
            # 401: it asks for basic auth
            return httpx.get(f"{backend.url}/health", timeout=2).status_code in (200, 401)
        return False

    try:
        wait_until(
            answering,
            BACKEND_START_TIMEOUT_S,
            0.3,
            what=f"textal serve to answer at {backend.url}",
            details=lambda: log_tail(log_path),
        )
    except BaseException:
        stop_process(proc)
        raise
    return backend


@dataclass
class Worker:
    """A running ``textal worker``."""

    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        """What it has written so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def worker_command(data_dir: Path, args: Sequence[str], textal: Sequence[str] = TEXTAL) -> list[str]:
    """``textal worker`` over ``data_dir`` with ``args``; ``textal``: how to run textal (the console script beside
    this interpreter)."""
    return [*textal, "worker", "--data-dir", str(data_dir), *args]


def launch_worker(data_dir: Path, log_path: Path, *args: str, env: dict[str, str] | None = None) -> Worker:
    """Start ``textal worker`` in its own process group (not waited for)."""
    proc = spawn(worker_command(data_dir, args), log_path, studio_env(textal_environment(env)))
    return Worker(data_dir, log_path, proc)


def up_args(recipe: str, data: Path, home: Path) -> list[str]:
    """`textal up`'s arguments for ``recipe`` over ``data`` in ``home``: Label Studio and the backend on free ports,
    the backend's port last."""
    return [
        "--recipe",
        recipe,
        "--data",
        str(data),
        "--home",
        str(home),
        "--ls-port",
        str(free_port()),
        "--port",
        str(free_port()),
    ]


def launch_up(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``textal up`` in its own session (output appended to ``log_path``), away from any Label Studio this
    environment names, with ``env`` over it."""
    own = {k: v for k, v in os.environ.items() if k not in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY")}
    return spawn([*TEXTAL, "up", *args], log_path, {**own, **(env or {})}, append=True)


@contextlib.contextmanager
def redis_server(tmp_path: Path) -> Iterator[str]:
    """A real redis-server (the Debian package; `make test` installs it) on 127.0.0.1, a free port, a folder under
    ``tmp_path``; yields its URL."""
    import shutil

    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        raise RuntimeError("redis-server is not installed; `make test` installs it (apt-get install -y redis-server)")
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    log_path = folder / "redis.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:

        def answering() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {proc.returncode}:\n{log_tail(log_path)}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
            return False

        wait_until(
            answering, 30, 0.1, what=f"redis-server to answer PING on {port}", details=lambda: log_tail(log_path)
        )
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc)


POSTGRES_BIN = Path("/usr/lib/postgresql")


@contextlib.contextmanager
def postgres_server(tmp_path: Path) -> Iterator[str]:
    """A real PostgreSQL (the Debian package; `make test` installs it) on 127.0.0.1, a free port, a cluster in a
    folder of its own (run as the ``postgres`` user when the tests run as root: PostgreSQL refuses root, and
    pytest's root-only temp folders are out of its reach; its log is copied to ``tmp_path`` at the end); yields
    ``postgresql://postgres@127.0.0.1:PORT/postgres`` (trust authentication on loopback only)."""
    import shutil
    import tempfile

    versions = sorted(POSTGRES_BIN.glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if not versions:
        raise RuntimeError("PostgreSQL is not installed; `make test` installs it (apt-get install -y postgresql)")
    bin_dir = versions[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="textal-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise RuntimeError("PostgreSQL refuses to run as root and runuser is missing")
        shutil.chown(folder, "postgres")
        as_user = [runuser, "-u", "postgres", "--"]
    port = free_port()
    data, log_path = folder / "data", folder / "postgres.log"
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = subprocess.run(
        [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log_path), "-o", options, "-w", "start"],
        capture_output=True,
        timeout=60,
    )
    if started.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start ({started.returncode}):\n{log_tail(log_path)}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        with contextlib.suppress(OSError):
            shutil.copy(log_path, tmp_path / "postgres.log")
        shutil.rmtree(folder, ignore_errors=True)
