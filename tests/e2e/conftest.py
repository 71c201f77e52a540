"""End-to-end fixtures beyond the shared servers (tests/support/servers.py): a real redis-server, and the store `textal
serve` answers from before a project has its own model."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dataset_rows import read_rows
from tests.support.ports import free_port
from tests.support.servers import log_tail, stop_process
from tests.support.waits import wait_until


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A real redis-server (the Debian package; `make test` installs it) on 127.0.0.1, a free port, a temp dir."""
    import shutil

    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        pytest.fail("redis-server is not installed; `make test` installs it (apt-get install -y redis-server)")
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    log_path = folder / "redis.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:

        def answering() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {proc.returncode}:\n{log_tail(log_path)}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
            return False

        wait_until(
            answering, 30, 0.1, what=f"redis-server to answer PING on {port}", details=lambda: log_tail(log_path)
        )
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def linear_spam_store(tmp_path_factory, data_dir) -> Path:
    """What `textal serve --store` serves before a project has its own model: a linear spam model on 1,500 SMS
    (the tasks come from the test split)."""
    from textal.models.linear import LinearClassifier
    from textal.store.model_store import ModelStore

    rows = read_rows(data_dir / "sms_spam" / "train.csv", 1500)
    model = LinearClassifier(char_ngrams=(3, 4), max_features=20_000, embed_dim=16)
    model.fit([r["text"] for r in rows], [r["label"] for r in rows])
    root = tmp_path_factory.mktemp("e2e-store") / "store"
    ModelStore(root).publish(model, {"note": "e2e", "training_size": len(rows)})
    return root
