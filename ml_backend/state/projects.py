"""Per-project state in the backend's data folder, so a restarted backend still knows every project.

The data folder's layout is ``ml_backend.state.layout``.

Model lookup for a project: its own ``store/`` once that has a published version, else the store
given to ``textal serve --store`` (a model trained from the CLI).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ml_backend.labelstudio.schema import TaskSchema, parse_label_config
from ml_backend.state.layout import PROJECT_FILE, DataLayout
from textal.errors import TextalError
from textal.runtime.fsutil import atomic_write_text

# ASCII digits only (re.ASCII: "\d" would read Arabic-Indic or fullwidth digits as an id); 18 digits: ids and epochs
# fit in 64 bits
_UID_RE = re.compile(r"^\s*(\d{1,18})(?:\.(\d{1,18}))?\s*$", re.ASCII)
MAX_ID = 10**18 - 1
MAX_FILE_BYTES = 64 * 1024 * 1024  # a project's state file or token larger than this is not one textal wrote
LOCK_FILE = ".lock"  # projects/.lock: creating a project is one at a time across processes


class ProjectRefError(TextalError, ValueError):
    """A request names its project in a form Label Studio never sends."""


class ProjectLimitError(TextalError):
    """A new project would pass the backend's cap on projects."""


class ProjectStateTooLarge(ProjectLimitError):
    """A project's state would pass the cap on what one project stores."""


@dataclass(frozen=True)
class ProjectRef:
    """A project as Label Studio names it: ``"<id>.<epoch>"`` (epoch = its creation time) or a bare id."""

    id: int
    epoch: int | None = None

    @property
    def uid(self) -> str:
        return f"{self.id}.{self.epoch}" if self.epoch is not None else str(self.id)


def parse_project_ref(value: Any) -> ProjectRef:
    """Read ``"3.1717000000"``, ``"3"``, ``3`` or a webhook's project object ``{"id": 3, ...}``."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        if not 0 <= value <= MAX_ID:
            raise ProjectRefError(f"project id must be a number from 0 to {MAX_ID}")
        return ProjectRef(value)
    if isinstance(value, str):
        match = _UID_RE.match(value)
        if match:
            epoch = match.group(2)
            return ProjectRef(int(match.group(1)), int(epoch) if epoch is not None else None)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    raise ProjectRefError(f"'project' must be a Label Studio project id such as \"3.1717000000\", got {shown}")


@dataclass(frozen=True)
class ProjectState:
    """What the backend remembers about one project."""

    id: int
    uid: str
    label_config: str
    schema: TaskSchema
    strategy: str | None  # None: the server's --strategy
    hostname: str | None
    setup_at: str
    params: dict[str, Any] = field(default_factory=dict)  # the project's own worker settings (config.project_params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "label_config": self.label_config,
            "schema": self.schema.to_dict(),
            "strategy": self.strategy,
            "hostname": self.hostname,
            "setup_at": self.setup_at,
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProjectState:
        return cls(
            id=int(data["id"]),
            uid=str(data["uid"]),
            label_config=str(data["label_config"]),
            schema=TaskSchema.from_dict(data["schema"]),
            strategy=data.get("strategy"),
            hostname=data.get("hostname"),
            setup_at=str(data.get("setup_at", "")),
            params=dict(data.get("params") or {}),
        )

    @property
    def epoch(self) -> int | None:
        return parse_project_ref(self.uid).epoch


class ProjectRegistry:
    """Reads and writes ``DATA/projects/<id>/``; safe to share between request threads."""

    def __init__(
        self, data_dir: str | Path, *, max_projects: int | None = None, max_state_bytes: int | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.layout = DataLayout(self.data_dir)
        self.max_projects = max_projects  # None: unbounded (the server passes its bounds)
        self.max_state_bytes = max_state_bytes
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[int, ProjectState]] = {}  # id -> (mtime_ns of project.json, state)

    @property
    def projects_dir(self) -> Path:
        return self.layout.projects

    def folder(self, project_id: int) -> Path:
        return self.layout.project(project_id)

    def store_path(self, project_id: int) -> Path:
        """Where this project's own model versions are published (by the retrain worker)."""
        return self.layout.store(project_id)

    def setup(
        self,
        ref: ProjectRef,
        label_config: str,
        *,
        hostname: str | None = None,
        access_token: str | None = None,
        strategy: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> ProjectState:
        """Record (or refresh) a project from Label Studio's /setup call.

        The config is parsed first, so an unservable config changes nothing. A known id with a
        different epoch is another project (Label Studio's database was recreated): the old state is
        moved to ``projects/.retired/`` rather than served to the newcomer. A new project past
        ``self.max_projects`` raises ProjectLimitError: the count and the creation are one step (one thread, and one
        process, at a time), so concurrent set-ups never pass the cap.
        """
        schema = parse_label_config(label_config)
        with self._lock, self._creating():
            previous = self._read(ref.id)
            if previous is None and self.max_projects is not None and len(self.ids()) >= self.max_projects:
                raise ProjectLimitError(f"this backend serves at most {self.max_projects} projects")
            if previous is not None and ref.epoch is not None and previous.epoch not in (None, ref.epoch):
                self._retire(previous)
                previous = None
            if strategy is None and previous is not None:
                strategy = previous.strategy
            if params is None:
                params = previous.params if previous is not None else {}
            state = ProjectState(
                id=ref.id,
                uid=ref.uid if ref.epoch is not None or previous is None else previous.uid,
                label_config=label_config,
                schema=schema,
                strategy=strategy,
                hostname=hostname or (previous.hostname if previous else None),
                setup_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                params=dict(params),
            )
            if previous is None or _without_time(state) != _without_time(previous):
                self._write(state)
            else:
                state = previous
            if access_token:
                self._write_token(ref.id, access_token)
        return state

    def update_config(self, state: ProjectState, label_config: str) -> ProjectState:
        """Adopt a changed label config (sent with /predict); raises LabelConfigError if unservable."""
        if label_config == state.label_config:
            return state
        schema = parse_label_config(label_config)
        new = ProjectState(**{**state.__dict__, "label_config": label_config, "schema": schema})
        with self._lock:
            self._write(new)
        return new

    def get(self, ref: ProjectRef | int) -> ProjectState | None:
        """The state of a project set up before, or None. An epoch that differs from the recorded one is unknown."""
        ref = ref if isinstance(ref, ProjectRef) else ProjectRef(int(ref))
        with self._lock:
            state = self._read(ref.id)
        if state is None:
            return None
        if ref.epoch is not None and state.epoch is not None and state.epoch != ref.epoch:
            return None
        return state

    def access_token(self, project_id: int) -> str | None:
        """The API token Label Studio sent at /setup (for the worker to call back), or None."""
        try:
            return read_small_text(self.layout.token_file(project_id), 64 * 1024).strip() or None
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise TextalError(
                f"{self.layout.token_file(project_id)}: unreadable token ({type(exc).__name__}); delete "
                "it and reconnect the project"
            ) from None

    def ids(self) -> list[int]:
        """Ids of all projects with state on disk."""
        if not self.projects_dir.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in self.projects_dir.iterdir()
            if p.name.isascii() and p.name.isdigit() and (p / PROJECT_FILE).is_file()
        )

    # -- files ---------------------------------------------------------------------------------

    def _read(self, project_id: int) -> ProjectState | None:
        path = self.layout.project_file(project_id)
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            self._cache.pop(project_id, None)
            return None
        cached = self._cache.get(project_id)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            state = ProjectState.from_dict(json.loads(read_small_text(path, MAX_FILE_BYTES)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TextalError(
                f"{path}: unreadable project state ({exc}); delete it and reconnect the project"
            ) from None
        self._cache[project_id] = (mtime, state)
        return state

    def _write(self, state: ProjectState) -> None:
        # UTF-8 as is (ensure_ascii would store each non-ASCII character as a 6-byte escape), and bounded
        text = json.dumps(state.to_dict(), indent=1, ensure_ascii=False)
        size = len(text.encode("utf-8"))
        if self.max_state_bytes is not None and size > self.max_state_bytes:
            raise ProjectStateTooLarge(
                f"project {state.id}'s state would be {size} bytes; the limit is {self.max_state_bytes}"
            )
        folder = self.folder(state.id)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / PROJECT_FILE, text)
        self._cache.pop(state.id, None)

    @contextlib.contextmanager
    def _creating(self) -> Iterator[None]:
        """Hold ``projects/.lock`` (an advisory lock: another process's set-up waits)."""
        self.projects_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.projects_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write_token(self, project_id: int, token: str) -> None:
        path = self.layout.token_file(project_id)
        try:
            if path.read_text().strip() == token:
                return
        except FileNotFoundError:
            pass
        atomic_write_text(path, token, mode=0o600)

    def _retire(self, state: ProjectState) -> None:
        retired = self.layout.retired
        retired.mkdir(parents=True, exist_ok=True)
        target = retired / f"{state.uid}-{secrets.token_hex(3)}"
        shutil.move(str(self.folder(state.id)), str(target))
        self._cache.pop(state.id, None)


def read_small_text(path: Path, limit: int) -> str:
    """A small UTF-8 file's text, read without ever blocking: a FIFO or device in its place is an OSError (opened
    non-blocking, then checked to be a regular file), and one over ``limit`` bytes too."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        if info.st_size > limit:
            raise OSError(f"{path} is {info.st_size} bytes, over {limit}")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                raise OSError(f"{path} is over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8")
    finally:
        os.close(fd)


def _without_time(state: ProjectState) -> dict[str, Any]:
    data = state.to_dict()
    data.pop("setup_at")
    return data
