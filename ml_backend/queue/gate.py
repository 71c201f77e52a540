"""Coalescing and leases for a project's jobs, kept in the queue's own key-value store.

The backend and every worker share one huey storage (SQLite file or Redis), so the bookkeeping
lives there too, under ``textal:<what>:<kind>:<project>`` keys:

- ``pending``: the one job of a kind waiting for a project. ``request`` claims it with an atomic
  put-if-empty before enqueueing; a request that finds it taken joins that job instead of adding
  one (however many webhooks arrive, one retrain waits).
- ``lease``: the project's running job (owner host, pid, process start time, heartbeat). A job
  takes the lease, THEN clears ``pending``, then reads Label Studio: a webhook arriving after the
  clear queues exactly one more run, one arriving before it is seen by this run. A job that finds
  the lease held by another live run reschedules itself (it stays the pending one).
- ``flag``: a wish the next run of a kind takes with it (a retrain that must read every annotation; a
  project set up again, which the worker had given up).
- ``backoff``: consecutive failures and the time before which the next run must not start.

A worker killed mid-run leaves its lease behind; ``stale_leases`` finds leases whose owner is dead
(same host: the pid is gone or reused; any host: no heartbeat for ``lease_s``) so the reconciler
can break them and request the job again. Nothing here knows what the jobs do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from huey.api import Huey
from huey.constants import EmptyData

from textal.runtime import logs
from textal.runtime.fsutil import pid_alive

log = logging.getLogger("ml_backend.queue")

LEASE_S = 60.0  # a lease without a heartbeat for this long belongs to a dead worker
BEAT_S = 5.0  # heartbeat period of a running job
GHOST_S = 60.0  # a pending mark older than this whose job is nowhere in the queue is dropped
BACKOFF_FIRST_S = 5.0
BACKOFF_MAX_S = 600.0


def _process_start(pid: int) -> str:
    """The start time of ``pid`` in clock ticks since boot (Linux), so a reused pid is not taken for its predecessor."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class Owner:
    """Who holds a lease: host, pid and the pid's start time."""

    host: str
    pid: int
    started: str

    @classmethod
    def me(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _process_start(pid))

    def as_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "started": self.started}

    def alive(self) -> bool | None:
        """False when the owner is certainly dead (same host), None when it cannot be told from here."""
        if self.host != socket.gethostname():
            return None
        if not pid_alive(self.pid):
            return False
        now = _process_start(self.pid)
        return not (self.started and now and now != self.started)


def _key(what: str, kind: str, project_id: int) -> str:
    return f"textal:{what}:{kind}:{int(project_id)}"


class Lease:
    """A held lease; ``beating()`` keeps it fresh while the job runs, ``release()`` gives it back."""

    def __init__(self, gate: ProjectGate, kind: str, project_id: int, record: dict[str, Any]) -> None:
        self.gate = gate
        self.kind = kind
        self.project_id = project_id
        self.record = record
        self._stop = threading.Event()

    @property
    def key(self) -> str:
        return _key("lease", self.kind, self.project_id)

    def _mine(self) -> bool:
        current = self.gate.huey.get(self.key, peek=True)
        return isinstance(current, dict) and current.get("token") == self.record["token"]

    def beat(self) -> None:
        if self._mine():
            self.record["beat"] = time.time()
            self.gate.huey.storage.put_data(self.key, self.gate.huey.serializer.serialize(self.record))

    @contextlib.contextmanager
    def beating(self, every: float = BEAT_S) -> Iterator[Lease]:
        """Refresh the heartbeat in a thread until the block ends."""

        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    self.beat()
                except Exception as exc:  # a missed beat must not kill the job; the next one may land
                    logs.limited(
                        log, logging.WARNING, ("heartbeat", self.key), "heartbeat of %s failed: %s", self.key, exc
                    )

        thread = threading.Thread(target=loop, name=f"textal-beat-{self.kind}-{self.project_id}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=every + 1)

    def release(self) -> None:
        self._stop.set()
        if self._mine():
            self.gate.huey.delete(self.key)


class ProjectGate:
    """Pending marks, leases and backoff for (kind, project) pairs over one huey storage."""

    def __init__(self, huey: Huey, lease_s: float = LEASE_S) -> None:
        self.huey = huey
        self.lease_s = lease_s

    # -- pending ----------------------------------------------------------------------------

    def claim_pending(self, kind: str, project_id: int, job_id: str, reason: str) -> str | None:
        """Mark ``job_id`` as the pending ``kind`` job of the project; returns the id of the one already pending, or
        None."""
        record = {"job": job_id, "reason": reason, "at": time.time()}
        if self.huey.put_if_empty(_key("pending", kind, project_id), record):
            return None
        current = self.pending(kind, project_id)
        return current["job"] if current else None

    def pending(self, kind: str, project_id: int) -> dict[str, Any] | None:
        value = self.huey.get(_key("pending", kind, project_id), peek=True)
        return value if isinstance(value, dict) else None

    def clear_pending(self, kind: str, project_id: int, job_id: str | None = None) -> bool:
        """Drop the pending mark (only if it names ``job_id``, when given)."""
        current = self.pending(kind, project_id)
        if current is None or (job_id is not None and current.get("job") != job_id):
            return False
        return bool(self.huey.delete(_key("pending", kind, project_id)))

    # -- leases -----------------------------------------------------------------------------

    def acquire(self, kind: str, project_id: int, job_id: str) -> Lease | None:
        """The project's ``kind`` lease for ``job_id``, or None while another run holds it."""
        now = time.time()
        record = {**Owner.me().as_dict(), "job": job_id, "since": now, "beat": now, "token": os.urandom(8).hex()}
        if not self.huey.put_if_empty(_key("lease", kind, project_id), record):
            return None
        return Lease(self, kind, project_id, record)

    def lease(self, kind: str, project_id: int) -> dict[str, Any] | None:
        value = self.huey.get(_key("lease", kind, project_id), peek=True)
        return value if isinstance(value, dict) else None

    def is_stale(self, record: dict[str, Any], now: float | None = None) -> bool:
        """True when the lease's owner is dead or has not beaten for ``lease_s``."""
        owner = Owner(str(record.get("host", "")), int(record.get("pid", 0) or 0), str(record.get("started", "")))
        if owner.alive() is False:
            return True
        now = time.time() if now is None else now
        return now - float(record.get("beat", 0.0)) > self.lease_s

    def break_lease(self, kind: str, project_id: int, record: dict[str, Any]) -> bool:
        """Remove a stale lease if it is still the one seen (``record``)."""
        current = self.lease(kind, project_id)
        if current is None or current.get("token") != record.get("token"):
            return False
        return bool(self.huey.delete(_key("lease", kind, project_id)))

    # -- flags ------------------------------------------------------------------------------

    def set_flag(self, name: str, project_id: int) -> None:
        """Raise the project's ``name`` flag until a run takes it."""
        self.huey.storage.put_data(_key("flag", name, project_id), b"1")

    def take_flag(self, name: str, project_id: int) -> bool:
        """Whether the flag was raised; lowers it."""
        return self.huey.storage.pop_data(_key("flag", name, project_id)) is not EmptyData

    def has_flag(self, name: str, project_id: int) -> bool:
        """Whether the flag is raised; leaves it so."""
        return self.huey.storage.peek_data(_key("flag", name, project_id)) is not EmptyData

    # -- backoff ----------------------------------------------------------------------------

    def wait_before_run(self, kind: str, project_id: int) -> float:
        """Seconds the next ``kind`` run of the project must still wait (backoff after failures)."""
        value = self.huey.get(_key("backoff", kind, project_id), peek=True)
        if not isinstance(value, dict):
            return 0.0
        return max(0.0, float(value.get("until", 0.0)) - time.time())

    def failed(self, kind: str, project_id: int) -> tuple[int, float]:
        """Count a failure; returns (consecutive failures, delay before the next run): 5 s doubling to 10 min."""
        key = _key("backoff", kind, project_id)
        value = self.huey.get(key, peek=True)
        failures = (int(value.get("failures", 0)) if isinstance(value, dict) else 0) + 1
        delay = min(BACKOFF_FIRST_S * 2 ** (failures - 1), BACKOFF_MAX_S)
        self.huey.storage.put_data(
            key, self.huey.serializer.serialize({"failures": failures, "until": time.time() + delay})
        )
        return failures, delay

    def succeeded(self, kind: str, project_id: int) -> None:
        self.huey.delete(_key("backoff", kind, project_id))
