"""The body guard: a body that does not arrive in time is a 408, and the app never sees the request."""

from __future__ import annotations

import asyncio
import json
import time

from ml_backend.server.guards import BodyLimit


def test_a_body_sent_too_slowly_is_a_408_within_the_timeout():
    reached = []

    async def app(scope, receive, send):  # never reached
        reached.append(scope)

    async def slow_receive():
        await asyncio.sleep(3600)  # a client that sent headers and then nothing

    sent = []

    async def send(message):
        sent.append(message)

    guard = BodyLimit(app, max_bytes=1024, timeout_s=0.3)
    started = time.monotonic()
    asyncio.run(guard({"type": "http", "method": "POST", "headers": [(b"content-length", b"100")]}, slow_receive, send))
    assert time.monotonic() - started < 2.0 and not reached
    assert sent[0]["status"] == 408
    assert "TEXTAL_BODY_TIMEOUT_S" in json.loads(sent[1]["body"])["error"]
