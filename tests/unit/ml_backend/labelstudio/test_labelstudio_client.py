"""How the worker's Label Studio client reports failures: transient ones are retried, others explained, the token never shown."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ml_backend.config import LabelStudioOverride
from ml_backend.errors import TransientError as TransientJobError
from ml_backend.labelstudio.client import Studio, StudioError, StudioUnavailable

TOKEN = "f" * 40


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server():
    """A small HTTP server answering every request with the status the test sets."""
    state = {"status": 500, "seen_auth": []}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            state["seen_auth"].append(self.headers.get("Authorization"))
            body = json.dumps({"detail": "nope"}).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()


def test_an_unreachable_label_studio_is_a_transient_error_that_names_the_operation_not_the_token():
    studio = Studio(f"http://127.0.0.1:{closed_port()}", TOKEN, timeout=5, retries=0)
    with pytest.raises(StudioUnavailable, match="unreachable while reading project 3") as info:
        studio.project(3)
    assert isinstance(info.value, TransientJobError) and TOKEN not in str(info.value)


@pytest.mark.parametrize("status, error", [(503, StudioUnavailable), (429, StudioUnavailable), (401, StudioError), (404, StudioError)])
def test_http_failures_map_to_retry_or_to_a_readable_error(server, status, error):
    url, state = server
    state["status"] = status
    studio = Studio(url, TOKEN, timeout=5, retries=0)  # the SDK's own retries would only slow the test down
    with pytest.raises(error) as info:
        list(studio.iter_tasks(3))
    assert str(status) in str(info.value) and TOKEN not in str(info.value) and TOKEN not in repr(studio)
    with pytest.raises(error):
        studio.model_versions(3)
    assert state["seen_auth"][0] == f"Token {TOKEN}"


def test_a_project_without_hostname_or_token_says_which_setting_to_give(monkeypatch):
    with pytest.raises(StudioError, match="LABEL_STUDIO_URL"):
        Studio.for_project(None, TOKEN, LabelStudioOverride.read({}))
    with pytest.raises(StudioError, match="LABEL_STUDIO_API_KEY"):
        Studio.for_project("http://ls:8080", None, LabelStudioOverride.read({}))
    studio = Studio.for_project("http://ls:8080", "from-setup", LabelStudioOverride.read({"LABEL_STUDIO_URL": "http://other:8081"}))
    assert studio.url == "http://other:8081"
