"""``textal up`` (``make run``): a real Label Studio, ``textal serve`` and ``textal worker`` on this machine, under
one folder, started together and stopped together.

The folder (``.textal/`` by default, mode 700) keeps everything: Label Studio's SQLite data, the
backend's data folder, the logs, the ports last used, the admin's API key and password, and textal serve's
basic-auth password (``backend-password``: serve asks for it, and each project's connection in Label Studio
sends it), each made once and readable only by the user. A second run starts the same servers over the same data,
so a project keeps its labels and model versions. A port already taken is replaced by the next free
one, and the run says so.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from ml_backend.config import LABEL_STUDIO_KEY_ENV, LABEL_STUDIO_URL_ENV, BasicCredentials, child_environment
from ml_backend.labelstudio.server_env import UNSET, DatabaseURLError, label_studio_environment
from ml_backend.stack.processes import Child, free_port_from, start, stop_group, wait_until
from textal.errors import TextalError
from textal.runtime.fsutil import pid_alive

ADMIN_EMAIL = "admin@example.com"
LS_PORT = 8080
BACKEND_PORT = 9090
LS_START_S = 300.0  # the first start migrates Label Studio's database (a minute or two)
BACKEND_START_S = 120.0
BACKEND_USER = "textal"  # textal serve's basic-auth user; its password is made once, beside the key
# Environment Label Studio would read as its own settings: kept from the children.


@dataclass(frozen=True)
class StackHome:
    """The folder ``textal up`` keeps everything in."""

    root: Path

    @property
    def key_file(self) -> Path:
        return self.root / "ls-key"

    @property
    def password_file(self) -> Path:
        return self.root / "ls-password"

    @property
    def backend_password_file(self) -> Path:
        """textal serve's basic-auth password (mode 600), set on each project's connection in Label Studio."""
        return self.root / "backend-password"

    def backend_auth(self) -> BasicCredentials | None:
        """textal serve's basic auth as ``textal up`` set it, or None (it never ran here)."""
        try:
            password = self.backend_password_file.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None
        return BasicCredentials(BACKEND_USER, password) if password else None

    @property
    def label_studio(self) -> Path:
        return self.root / "label-studio"

    @property
    def backend(self) -> Path:
        return self.root / "backend"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def ports_file(self) -> Path:
        return self.root / "ports.json"

    @property
    def pids_file(self) -> Path:
        return self.root / "pids"

    def live_pids(self) -> list[int]:
        """The ``textal up`` over this folder (first) and the servers it started, those that still run."""
        try:
            pids = [int(p) for p in self.pids_file.read_text().split()]
        except (OSError, ValueError):
            return []
        return [p for p in pids if pid_alive(p)]

    def make(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def secret(self, path: Path, nbytes: int = 20) -> str:
        """The secret in ``path``, made once (mode 600)."""
        if not path.exists() or not path.read_text().strip():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(nbytes) + "\n")
        os.chmod(path, 0o600)
        return path.read_text().strip()

    def ports(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads(self.ports_file.read_text()).items()}
        except (OSError, ValueError, AttributeError):
            return {}


class Stack:
    """The three servers of a local textal project."""

    def __init__(
        self,
        home: Path,
        ls_port: int | None = None,
        backend_port: int | None = None,
        say: Callable[[str], None] = print,
        detached: bool = False,
        database: str | None = None,
    ) -> None:
        self.home = StackHome(Path(home).resolve())
        self.database = database  # Label Studio's PostgreSQL (postgresql://USER@HOST:PORT/NAME); None: SQLite
        self.say = say
        self.detached = detached  # the servers outlive this process (else they stop when it dies, however it dies)
        self._left_running = False
        self.children: list[Child] = []
        self._asked = {"label_studio": ls_port, "backend": backend_port}
        self.api_key = ""
        self.ls_url = self.backend_url = ""
        self.backend_auth: BasicCredentials | None = None

    def _port(self, name: str, default: int, taken: list[int]) -> int:
        wanted = self._asked[name] or self.home.ports().get(name) or default
        port = free_port_from(wanted, taken)
        if port != wanted:
            self.say(f"Port {wanted} is in use: {name.replace('_', ' ')} takes port {port}.")
        return port

    def start(self) -> None:
        """Start Label Studio, then the backend and the worker; returns when all three answer."""
        home = self.home
        home.make()
        live = home.live_pids()
        if live:
            raise StackError(
                f"textal up already runs over {home.root} (processes {' '.join(map(str, live))}): stop it "
                f"with Ctrl-C where it runs, or `textal down --home {home.root}`"
            )
        self.api_key = home.secret(home.key_file)
        password = home.secret(home.password_file, 12)
        self.backend_auth = BasicCredentials(BACKEND_USER, home.secret(home.backend_password_file, 16))
        ls_port = self._port("label_studio", LS_PORT, [])
        backend_port = self._port("backend", BACKEND_PORT, [ls_port])
        home.ports_file.write_text(json.dumps({"label_studio": ls_port, "backend": backend_port}))
        self.ls_url = f"http://127.0.0.1:{ls_port}"
        self.backend_url = f"http://127.0.0.1:{backend_port}"
        bin_dir = Path(sys.executable).parent
        base = child_environment(UNSET)
        base.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

        first = self.database is None and not (home.label_studio / "label_studio.sqlite3").exists()
        self.say(
            f"Starting Label Studio on {self.ls_url}"
            + (" (the first start sets up its database: a minute or two)..." if first else "...")
        )
        try:
            ls_env = label_studio_environment(
                base, home.label_studio, ADMIN_EMAIL, password, self.api_key, self.database
            )
        except DatabaseURLError as exc:
            raise StackError(f"--database: {exc}") from None
        ls = start(
            "Label Studio",
            [
                str(bin_dir / "label-studio"),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(ls_port),
                "--host",
                self.ls_url,
            ],
            home.logs / "label-studio.log",
            ls_env,
            home.root,
            not self.detached,
        )
        self._started(ls)
        work_env = {**base, LABEL_STUDIO_URL_ENV: self.ls_url, LABEL_STUDIO_KEY_ENV: self.api_key}
        textal = str(bin_dir / "textal")
        serve = start(
            "textal serve",
            [
                textal,
                "serve",
                "--store",
                str(home.store),
                "--data-dir",
                str(home.backend),
                "--host",
                "127.0.0.1",
                "--port",
                str(backend_port),
            ],
            home.logs / "serve.log",
            {
                **base,
                LABEL_STUDIO_URL_ENV: self.ls_url,  # the one Label Studio it trusts, and basic auth
                "BASIC_AUTH_USER": self.backend_auth.user,
                "BASIC_AUTH_PASS": self.backend_auth.password,
            },
            home.root,
            not self.detached,
        )
        self._started(serve)
        wait_until(ls, self._label_studio_up, LS_START_S, "starting")
        worker = start(
            "textal worker",
            [textal, "worker", "--store", str(home.store), "--data-dir", str(home.backend)],
            home.logs / "worker.log",
            work_env,
            home.root,
            not self.detached,
        )
        self._started(worker)
        wait_until(serve, self._backend_up, BACKEND_START_S, "starting")
        self.say(f"Label Studio, textal serve ({self.backend_url}) and textal worker are running; logs in {home.logs}.")

    def _started(self, child: Child) -> None:
        self.children.append(child)
        owner = [] if self.detached else [os.getpid()]  # `textal down` stops a foreground `textal up` through it
        self.home.pids_file.write_text(" ".join(str(p) for p in owner + [c.process.pid for c in self.children]))

    def _label_studio_up(self) -> bool:
        try:
            answer = httpx.get(
                f"{self.ls_url}/api/current-user/whoami", headers={"Authorization": f"Token {self.api_key}"}, timeout=3
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def _backend_up(self) -> bool:
        try:
            headers = {"Authorization": self.backend_auth.header()} if self.backend_auth else {}
            return httpx.get(f"{self.backend_url}/health", headers=headers, timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def dead(self) -> Child | None:
        """A child that exited on its own, if any."""
        return next((c for c in self.children if not c.alive()), None)

    def stop(self) -> None:
        """Stop the worker and the backend first, then Label Studio (nothing, once detached)."""
        if self._left_running:
            return
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
        self.home.pids_file.unlink(missing_ok=True)

    def detach(self) -> None:
        """Leave the servers running (``textal down`` stops them)."""
        assert self.detached, "started to die with this process"
        self._left_running = True


def stop_all(home: Path) -> list[int]:
    """Stop the ``textal up`` over ``home`` (it stops its servers in order) and whatever of them is left;
    returns the process ids that were running."""
    folder = StackHome(Path(home).resolve())
    live = folder.live_pids()
    for pid in live:
        if pid_alive(pid):
            stop_group(pid, grace_s=60.0)
    folder.pids_file.unlink(missing_ok=True)
    return live


class StackError(TextalError):
    """The stack cannot start as asked (one line, exit code 2)."""
