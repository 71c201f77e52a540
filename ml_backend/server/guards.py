"""ASGI middleware that guards every endpoint before any JSON is parsed: unambiguous message framing, no browser
requests, basic auth, a body-size cap with a read timeout, and an answer-size cap relative to the request.

Both answer with a JSON ``{"error": ...}`` like the endpoints do, so Label Studio and curl users
read one format.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_json(
    send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer a request directly from middleware."""
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


class BasicAuth:
    """Require HTTP basic auth with one user and password (Label Studio's "basic auth" backend option)."""

    def __init__(self, app: ASGIApp, user: str, password: str) -> None:
        self.app = app
        self._user = user.encode()
        self._password = password.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._authorised(_header(scope, b"authorization")):
            await self.app(scope, receive, send)
            return
        await send_json(
            send,
            401,
            {"error": "authentication required: this backend uses basic auth (BASIC_AUTH_USER/BASIC_AUTH_PASS)"},
            [(b"www-authenticate", b'Basic realm="textal"')],
        )

    def _authorised(self, header: bytes | None) -> bool:
        if not header or not header[:6].lower() == b"basic ":
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # compare both, always, so timing says nothing about which one was wrong
        ok_user = secrets.compare_digest(user, self._user)
        ok_password = secrets.compare_digest(password, self._password)
        return ok_user and ok_password


class ServerToServer:
    """Only Label Studio's server (or a script) may call: a browser's request (it carries ``Origin`` or
    ``Sec-Fetch-Site``) gets a 403, so no web page can post to a backend on 127.0.0.1. (The endpoints also
    read only ``Content-Type: application/json`` bodies, which a page cannot send cross-site without a
    preflight: ``requests.read_json``.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if _header(scope, b"origin") is not None or _header(scope, b"sec-fetch-site") is not None:
                await send_json(
                    send,
                    403,
                    {
                        "error": "requests from a web browser are refused; Label Studio calls "
                        "this backend from its server"
                    },
                )
                return
        await self.app(scope, receive, send)


class Framing:
    """Refuse a request whose length is ambiguous: Content-Length together with Transfer-Encoding (RFC 9112 6.3: a
    proxy before this server may read the other one, and what follows would be served as a second request,
    smuggled). A 400 that closes the connection, so nothing after it on the connection is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and _header(scope, b"transfer-encoding") is not None
            and _header(scope, b"content-length") is not None
        ):
            await send_json(
                send,
                400,
                {"error": "a request with both Content-Length and Transfer-Encoding is refused (ambiguous length)"},
                [(b"connection", b"close")],
            )
            return
        await self.app(scope, receive, send)


def answer_limit(request_bytes: int, floor_bytes: int, ratio: int) -> int:
    """The most bytes an answer to a request of ``request_bytes`` may have: a floor for the small requests every
    endpoint answers (health, versions, errors), plus ``ratio`` times what the request carried."""
    return floor_bytes + ratio * max(request_bytes, 0)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with a 413, whether announced by Content-Length or streamed, and
    bodies not received within ``timeout_s`` with a 408 (a client sending slowly holds no connection for long).

    Answers are bounded too, relative to the request (``answer_limit``): one whose Content-Length passes the bound
    is replaced by a 413 saying so, so no small request makes the server send (or hold) a large answer."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float = 30.0,
        answer_floor_bytes: int | None = None,
        answer_ratio: int = 32,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.answer_floor_bytes = answer_floor_bytes
        self.answer_ratio = answer_ratio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await send_json(send, 400, {"error": "Content-Length is not a number"})
                return
            if size > self.max_bytes:
                await self._too_large(send, size)
                return
        chunks: list[bytes] = []
        total = 0
        deadline = time.monotonic() + self.timeout_s
        while True:  # read the whole body here, counting, then replay it to the app
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except asyncio.TimeoutError:
                await send_json(
                    send,
                    408,
                    {"error": f"the request body did not arrive within {self.timeout_s:g} s (TEXTAL_BODY_TIMEOUT_S)"},
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._too_large(send, None)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False
        if self.answer_floor_bytes is not None:
            send = self._bounded(send, answer_limit(len(body), self.answer_floor_bytes, self.answer_ratio))

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _bounded(send: Send, limit: int) -> Send:
        """``send`` that replaces an answer over ``limit`` bytes by a 413 (and drops its body)."""
        refused = False

        async def bounded(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start":
                length = next((v for k, v in message.get("headers", []) if k.lower() == b"content-length"), None)
                if length is not None and length.isdigit() and int(length) > limit:
                    refused = True
                    await send_json(
                        send,
                        413,
                        {
                            "error": f"the answer would be {int(length)} bytes, more than this "
                            f"request may ask for ({limit}); ask for less at once"
                        },
                    )
                    return
            elif refused:
                return
            await send(message)

        return bounded

    async def _too_large(self, send: Send, size: int | None) -> None:
        limit_mb = self.max_bytes / (1024 * 1024)
        what = f"{size} bytes" if size is not None else "more than that"
        await send_json(
            send,
            413,
            {
                "error": f"request body is {what}; the limit is {limit_mb:g} MB (TEXTAL_MAX_BODY_MB). "
                "Ask for predictions in smaller selections."
            },
        )
