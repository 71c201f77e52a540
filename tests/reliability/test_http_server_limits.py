"""Issue 26, against a real `textal serve`: its HTTP server bounds connections and header time, and reads only
unambiguous requests.

- Idle and slow-header connections, far more than the process may hold files, leave /health and /webhook answering;
  the condition is logged once, not once a connection ("Too many open files" tracebacks filled the log).
- A request with both Content-Length and Transfer-Encoding: chunked gets a 400 and its connection is closed, so a
  second request smuggled after the chunked body is never served.
- Folded header lines (obs-fold) get a 400.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.servers import backend_command, log_tail, stop_process, studio_env
from tests.support.waits import wait_until
from textal.store.model_store import ModelStore

pytestmark = pytest.mark.e2e

FILES = 256  # the files `textal serve` may hold here (its soft limit): fewer than the idle connections below
IDLE = 600


def exchange(url: str, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send ``raw`` on a new connection and read until the server closes it (or ``timeout``)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(raw)
        received = b""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(socket.timeout, ConnectionResetError):
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        return received


@pytest.fixture(scope="module")
def limits_store(tmp_path_factory, spam_model) -> ModelStore:
    store = ModelStore(tmp_path_factory.mktemp("limits") / "store")
    store.publish(spam_model, {"note": "good"})
    return store


@dataclass(frozen=True)
class Served:
    url: str
    log_path: Path


def few_files() -> None:  # in the child only: it may hold FILES files (its soft limit; it may raise it)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(FILES, soft), hard))


@pytest.fixture
def backend(limits_store, tmp_path):
    """`textal serve` with at most 64 connections, 1 s for a request's headers, and a soft limit of FILES files."""
    port, log_path = free_port(), tmp_path / "serve.log"
    env = studio_env(
        {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": "1",
            "TEXTAL_MAX_CONNECTIONS": "64",
            "TEXTAL_HEADER_TIMEOUT_S": "1",
        }
    )
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            backend_command(limits_store.root, tmp_path / "data", port, "entropy"),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=few_files,
        )
    server = Served(f"http://127.0.0.1:{port}", log_path)
    try:

        def answering() -> bool:
            assert proc.poll() is None, f"textal serve exited with {proc.returncode}:\n{log_tail(log_path)}"
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{server.url}/health", timeout=2).status_code == 200
            return False

        wait_until(answering, 120, 0.3, what="textal serve to answer /health", details=lambda: log_tail(log_path))
        yield from _set_up(server)
    finally:
        stop_process(proc)


def _set_up(server: Served):
    config = (
        '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
        '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
    )
    assert httpx.post(f"{server.url}/setup", json={"project": "1.1", "schema": config}, timeout=30).status_code == 200
    yield server


def test_idle_and_slow_header_connections_leave_health_and_webhook_answering(backend):
    host, port = backend.url.removeprefix("http://").split(":")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE):  # connect, send nothing (or half a request line), hold the connection
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect((host, int(port)))
            idle.append(sock)
        time.sleep(0.5)
        with contextlib.suppress(OSError):
            idle[-1].send(b"GET /health HTTP/1.1\r\nX-Slow: ")  # a slow header, never finished
        for _ in range(5):
            started = time.monotonic()
            health = httpx.get(f"{backend.url}/health", timeout=3)
            hook = httpx.post(f"{backend.url}/webhook", json={"action": "START_TRAINING", "project": 1}, timeout=3)
            assert health.status_code == 200 and hook.status_code == 200
            assert time.monotonic() - started < 2.0
            time.sleep(0.3)
        time.sleep(1.5)  # past the header timeout: the slow header's connection is closed
        idle[-1].setblocking(True)
        idle[-1].settimeout(2)
        try:
            closed = idle[-1].recv(1024)
        except ConnectionResetError:
            closed = b""
        assert closed == b"" or closed.startswith(b"HTTP/1.1 408"), closed
    finally:
        for sock in idle:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    log = backend.log_path.read_text(errors="replace")
    assert "Too many open files" not in log
    assert log.count("TEXTAL_MAX_CONNECTIONS") <= 2 and log.count("TEXTAL_HEADER_TIMEOUT_S") <= 1


def test_only_unambiguous_requests_are_read(backend):
    # Content-Length with chunked: a 400, and the connection closed, so nothing smuggled after the body is served
    smuggled = (
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 70\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET /versions HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    answer = exchange(backend.url, smuggled)
    assert answer.startswith(b"HTTP/1.1 400") and b"Transfer-Encoding" in answer
    assert answer.count(b"HTTP/1.1 ") == 1, answer  # the request after the chunked body was not served
    # a folded header line (obs-fold): a 400
    folded = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n"
    for _ in range(5):
        answer = exchange(backend.url, folded)
        assert answer.startswith(b"HTTP/1.1 400"), answer
    plain = exchange(backend.url, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert plain.startswith(b"HTTP/1.1 200")
    assert backend.log_path.read_text(errors="replace").count("Invalid HTTP request received") == 1  # once a minute
