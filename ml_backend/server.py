"""Run the backend: ``textal serve --store DIR`` calls ``serve``, which runs the app under uvicorn."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from ml_backend.settings import DEFAULT_STRATEGY, Settings

log = logging.getLogger("ml_backend")


def serve(
    store: Path,
    host: str = "127.0.0.1",
    port: int = 9090,
    data_dir: Path | None = None,
    strategy: str = DEFAULT_STRATEGY,
    log_level: str = "info",
) -> None:
    """Serve the Label Studio ML backend for ``store`` on ``host:port`` until interrupted.

    The latest published model is loaded before the port opens, so the first /predict is warm.
    Raises TextalError for a bad store, data folder, strategy, or auth settings.
    """
    # Idle OpenMP threads that spin-wait steal the CPU from everything else on a small machine (Label
    # Studio, the worker) and, under such contention, made a 20-text MiniLM batch ~4x slower here.
    # The backend answers short requests now and then, so its threads should sleep when idle. Takes
    # effect only if torch is not loaded yet (it is not: models load below).
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import uvicorn

    from ml_backend.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.create(store, data_dir, strategy)
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
