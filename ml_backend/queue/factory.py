"""The durable job queue between the backend (which enqueues) and the retrain worker (which consumes).

huey with SQLite in the data folder by default (``DATA/queue.db``: nothing to run, survives
restarts); ``TEXTAL_QUEUE_URL=redis://host:6379/0`` puts the queue on Redis instead (a sorted set,
Redis >= 5, since jobs have priorities), so several backends and workers share it. Job results are
not stored (nothing reads them, and they would pile up); the coalescing marks and leases of
``ml_backend.queue.gate`` live in the queue's key-value part.
"""

from __future__ import annotations

from pathlib import Path

from huey import PriorityRedisHuey, SqliteHuey
from huey.api import Huey

from ml_backend.errors import BackendConfigError
from ml_backend.state.layout import DataLayout

QUEUE_NAME = "textal"


def make_huey(data_dir: str | Path, url: str | None = None) -> Huey:
    """The huey instance for ``data_dir`` (SQLite) or for ``url`` (``redis://`` / ``rediss://``)."""
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise BackendConfigError(f"TEXTAL_QUEUE_URL must be a redis:// URL, got {url.split('://')[0]}://...")
        return PriorityRedisHuey(QUEUE_NAME, url=url, results=False)  # jobs have priorities (retrain first)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(DataLayout(data_dir).queue_file), results=False)
