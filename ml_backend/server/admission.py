"""How /predict and /setup are admitted: a few computations at once, in threads of their own (a /predict abandoned
when the client leaves, a /setup refused when it waited past Label Studio's patience).

/health and /webhook run in the server's shared thread pool; /predict and /setup each run behind a limiter of their
own, so however many predictions or set-ups are asked for (a set-up may wait on a Label Studio that never answers),
Label Studio's health checks and its one-second webhooks are answered at once, and the ones waiting hold no thread
of the shared pool.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse

from ml_backend.scoring.predict import Abandoned
from ml_backend.server.requests import BadRequest

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


class SetupSlot:
    """At most ``n`` /setup computations at once, in threads of their own. A /setup may ask Label Studio (its token,
    the project), and one that never answers holds a slot for its checks' timeout, never a thread of the shared pool
    that /health and /webhook run in. One that waits more than ``queue_s`` for its turn gets a 429: Label Studio
    has given up on it by then (it waits 3 s), and a flood queues no work without end."""

    def __init__(self, n: int, queue_s: float) -> None:
        self.n = max(int(n), 1)
        self.queue_s = queue_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turns: anyio.Semaphore | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._warned = -60.0

    async def run(self, work: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # made inside the event loop (a test client may run several, one after another)
            self._loop, self._turns, self._limiter = loop, anyio.Semaphore(self.n), anyio.CapacityLimiter(self.n)
        turns, limiter = self._turns, self._limiter
        assert turns is not None and limiter is not None
        with anyio.move_on_after(self.queue_s) as waited:
            await turns.acquire()
        if waited.cancelled_caught:
            if time.monotonic() - self._warned >= 60.0:  # once a minute, not once a refusal
                self._warned = time.monotonic()
                log.warning(
                    "/setup: %d set-ups running for %g s and more waiting: refusing (429) the ones that wait longer",
                    self.n,
                    self.queue_s,
                )
            raise BadRequest(
                f"too many /setup calls at once ({self.n} running, none finished within "
                f"{self.queue_s:g} s); retry later",
                status=429,
            )
        try:
            return await anyio.to_thread.run_sync(work, limiter=limiter)
        finally:
            turns.release()
