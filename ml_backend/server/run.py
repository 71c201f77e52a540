"""Run the backend: ``textal serve --store DIR`` calls ``serve``, which runs the app under uvicorn."""

from __future__ import annotations

import logging
import resource
from pathlib import Path

from ml_backend.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_STRATEGY,
    ServerSettings,
    idle_threads_sleep,
)

log = logging.getLogger("ml_backend.server")


def serve(
    store: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    data_dir: Path | None = None,
    strategy: str = DEFAULT_STRATEGY,
    log_level: str = "info",
) -> None:
    """Serve the Label Studio ML backend for ``store`` on ``host:port`` until interrupted.

    The latest published model is loaded before the port opens, so the first /predict is warm.
    Raises TextalError for a bad store, data folder, strategy, or auth settings.
    """
    idle_threads_sleep()
    import uvicorn

    from ml_backend.server.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = ServerSettings.create(store, data_dir, strategy)
    app = create_app(settings)
    backend = app.state.backend
    loaded = backend.models.base.get(wait=600.0)
    if loaded is None:
        log.warning("no model published in %s yet: /predict answers empty results until one is", settings.store)
    log.info(
        "textal ML backend: store %s, data %s, strategy %s, queue %s, basic auth %s",
        settings.store,
        settings.data_dir,
        settings.strategy,
        "redis" if settings.queue_url else settings.data_dir / "queue.db",
        "on" if settings.basic_auth_user else "off",
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=5,
        **connection_limits(settings),
    )


RESERVED_FILES = 192  # files the server holds besides connections: libraries, SQLite, models, the listening socket


def connection_limits(settings: ServerSettings) -> dict:
    """uvicorn's settings that bound connections (see ``ml_backend.server.protocol``): open connections kept below the
    file handles this process may hold, so the server always accepts (asyncio's failed accepts logged once a minute,
    not each time), each request's headers in a bounded time and size, folded header lines refused, and the kernel's
    queue of connections not yet accepted bounded. (uvicorn's ``limit_concurrency`` is left unset: it counts open
    connections, which the protocol bounds itself, and would answer 503 to a real request while idle ones close;
    requests in flight are at most one per connection.)"""
    from ml_backend.server.protocol import QuietRepeats, bounded_protocol, refuse_folded_headers

    # asyncio accepts up to `backlog` connections at once before any is handled (and closed, when over the cap), so
    # the files needed are the connections, twice the backlog, and what the process holds besides (RESERVED)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = settings.max_connections + 2 * settings.backlog + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    max_connections, backlog = settings.max_connections, settings.backlog
    if soft != resource.RLIM_INFINITY and soft < wanted:
        spare = max(soft - RESERVED_FILES, 48)
        backlog = min(backlog, max(spare // 4, 8))
        max_connections = min(max_connections, max(spare - 2 * backlog, 8))
        log.warning(
            "this process may open %d files: at most %d connections at once (TEXTAL_MAX_CONNECTIONS: %d) and "
            "a backlog of %d",
            soft,
            max_connections,
            settings.max_connections,
            backlog,
        )
    quiet = QuietRepeats()
    for name in ("asyncio", "uvicorn.error"):
        logging.getLogger(name).addFilter(quiet)
    refuse_folded_headers()
    return {
        "http": bounded_protocol(max_connections, settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_s,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "backlog": backlog,
    }
