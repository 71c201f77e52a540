"""How /predict is admitted: a few computations at once, in threads of their own, abandoned when the client leaves.

/health, /setup and /webhook run in the server's shared thread pool; /predict runs behind its own limiter,
so however many predictions are asked for, Label Studio's health checks and its one-second webhooks are
answered at once, and the ones waiting hold no thread of the shared pool.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse

from ml_backend.scoring.predict import Abandoned

log = logging.getLogger("ml_backend.server")

CLIENT_GONE = 499  # nginx's "client closed request": nobody reads it


class PredictSlot:
    """At most ``n`` /predict computations at once."""

    def __init__(self, n: int) -> None:
        self.n = max(int(n), 1)
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, request: Request, work: Callable[[], Any], gone: threading.Event) -> Any:
        """``work()`` in a limited thread; ``gone`` is set when the client disconnects (``work`` checks it)."""
        if self._limiter is None:  # made inside the event loop
            self._limiter = anyio.CapacityLimiter(self.n)

        async def watch() -> None:
            while not await request.is_disconnected():
                await anyio.sleep(0.1)
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._limiter)
        except Abandoned as exc:
            log.info("/predict: the client left; %s", exc)
            return JSONResponse({"error": "the client left before the answer"}, status_code=CLIENT_GONE)
        finally:
            watcher.cancel()
