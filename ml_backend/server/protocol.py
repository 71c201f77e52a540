"""The HTTP/1.1 connections ``textal serve`` accepts, bounded: how many are open, how long a request's headers may
take, and which header forms are read.

uvicorn (h11) keeps a connection that never sends a request open for ever, and its ``limit_concurrency`` answers
a 503 only once a request's headers have arrived; so idle or slow-header connections could take every file
handle (then nothing is accepted, and asyncio logs every failed accept). Here each connection has
``header_timeout_s`` to send its request line and headers (again after each answer, on a kept-alive one); past
``max_connections`` open, the oldest connection still waiting for its headers is closed to make room, and a new
one is refused with a 503 only when every open one is busy with a request. Each condition is logged once a
minute, not once a connection. Folded header lines (obs-fold, RFC 9112 5.2) are refused with a 400.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("ml_backend.server")

REPEAT_LOG_S = 60.0
ACCEPT_FAILED = "socket.accept() out of system resource"  # what asyncio logs, with a traceback, each time
INVALID_REQUEST = "Invalid HTTP request received."  # what uvicorn logs for each request h11 cannot read


class OncePerInterval:
    """Log a condition once per ``interval_s``, with how often it happened meanwhile."""

    def __init__(self, interval_s: float = REPEAT_LOG_S) -> None:
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def __call__(self, key: str, message: str) -> None:
        now = time.monotonic()
        self._count[key] = self._count.get(key, 0) + 1
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            return
        times = self._count.pop(key)
        self._last[key] = now
        log.warning("%s%s", message, f" ({times} times since the last such line)" if last is not None else "")


class QuietRepeats(logging.Filter):
    """Let a line that a client can repeat at will through once per interval: asyncio's "socket.accept() out of
    system resource" (EMFILE, with a traceback), uvicorn's "Invalid HTTP request received." (each malformed or
    folded request)."""

    def __init__(
        self, prefixes: tuple[str, ...] = (ACCEPT_FAILED, INVALID_REQUEST), interval_s: float = REPEAT_LOG_S
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.interval_s = interval_s
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        prefix = next((p for p in self.prefixes if text.startswith(p)), None)
        if prefix is None:
            return True
        now = time.monotonic()
        last = self._last.get(prefix)
        if last is not None and now - last < self.interval_s:
            return False
        self._last[prefix] = now
        return True


def _raw_answer(status: int, reason: str, error: str) -> bytes:
    body = ('{"error": "' + error + '"}').encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


def refuse_folded_headers() -> None:
    """Make h11 refuse folded header lines (its default joins them): uvicorn answers the request with a 400 and
    closes the connection. h11 reads header lines in one function; it is replaced once, in the server's process."""
    from h11 import _readers

    if getattr(_readers._obsolete_line_fold, "textal", False):
        return

    def no_line_folding(lines: Any) -> Any:
        for line in lines:
            if line[:1] in (b" ", b"\t"):
                raise h11.LocalProtocolError("folded header line (obs-fold) refused")  # h11: the peer's error
            yield line

    no_line_folding.textal = True  # type: ignore[attr-defined]
    _readers._obsolete_line_fold = no_line_folding


def bounded_protocol(max_connections: int, header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the bounds of this module (a class of its own per server)."""
    waiting: OrderedDict[Any, None] = OrderedDict()  # connections waiting for a request's headers, oldest first
    note = OncePerInterval()

    class BoundedH11Protocol(H11Protocol):
        _timer: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._await_request()
            if len(self.connections) <= max_connections:
                return
            live = sum(1 for c in self.connections if c.transport is not None and not c.transport.is_closing())
            if live <= max_connections:  # the rest are closing already
                return
            victim = next(iter(waiting))
            if victim is self:  # every other connection is busy with a request: refuse this one
                note(
                    "refused",
                    f"{live - 1} connections open, every one busy with a request "
                    f"(TEXTAL_MAX_CONNECTIONS={max_connections}): new connections get a 503",
                )
                self._close(_raw_answer(503, "Service Unavailable", "too many connections; retry"))
                return
            note(
                "evicted",
                f"{max_connections} connections open (TEXTAL_MAX_CONNECTIONS): closing the oldest ones "
                "that have sent no request",
            )
            victim._close(b"")

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_waiting()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._stop_waiting()  # a request's headers arrived: its body has TEXTAL_BODY_TIMEOUT_S

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
                self._await_request()  # kept alive: the next request's headers have the same time

        def _await_request(self) -> None:
            self._stop_waiting()
            waiting[self] = None
            self._timer = self.loop.call_later(header_timeout_s, self._headers_late)

        def _stop_waiting(self) -> None:
            waiting.pop(self, None)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _headers_late(self) -> None:
            self._timer = None
            if self in waiting:
                note(
                    "late",
                    f"closing connections that sent no whole request within {header_timeout_s:g} s "
                    "(TEXTAL_HEADER_TIMEOUT_S)",
                )
                idle = self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]
                self._close(
                    b"" if idle else _raw_answer(408, "Request Timeout", "the request headers did not arrive in time")
                )

        def _close(self, answer: bytes) -> None:
            self._stop_waiting()
            if self.transport.is_closing():
                return
            if answer:
                self.transport.write(answer)
            self.transport.close()

    return BoundedH11Protocol
