"""A small fake Label Studio: an HTTP server on 127.0.0.1 whose every answer the test decides."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class StubRequest:
    """One request the stub got."""

    method: str
    path: str  # with its query
    authorization: str | None

    @property
    def route(self) -> str:
        """The path without its query."""
        return urlsplit(self.path).path


# (status, body): a str body is sent as text/html, anything else as JSON
Answer = Callable[[StubRequest], tuple[int, Any]]


class StubLabelStudio:
    """An HTTP server in a thread answering GET, POST, PATCH and DELETE with ``answer(request)``; it records every
    request (``requests``). Use it as a context manager, or call ``close``."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[StubRequest] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                request = StubRequest(self.command, self.path, self.headers.get("Authorization"))
                stub.requests.append(request)
                status, body = stub.answer(request)
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> StubLabelStudio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
