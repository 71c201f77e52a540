"""Run the backend: ``textal serve --store DIR`` calls ``serve``, which runs the app under uvicorn."""

from __future__ import annotations

import logging
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
        settings.store, settings.data_dir, settings.strategy,
        "redis" if settings.queue_url else settings.data_dir / "queue.db",
        "on" if settings.basic_auth_user else "off",
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), timeout_graceful_shutdown=5)
