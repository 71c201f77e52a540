"""A real `textal serve` on 127.0.0.1 with /predict saturated: /health and /webhook still answer within Label Studio's
one-second timeout, and a /predict whose client left is abandoned rather than computed to the end."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from ml_backend.stack.processes import stop_group
from tests.support.ports import free_port
from tests.support.servers import NO_LABEL_STUDIO
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow

TEXTAL = str(Path(sys.executable).parent / "textal")
CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
# more requests than the shared pool's 40 threads, kept coming: saturated while measured; small, so drained in seconds
CONCURRENT, TASKS_EACH, MEASURE_S = 48, 40, 20.0


@pytest.fixture(scope="module")
def backend(tmp_path_factory, data_dir):
    """`textal serve` over an embed-head model (the frozen MiniLM encoder: real work per text)."""
    root = tmp_path_factory.mktemp("load")
    with open(data_dir / "sms_spam" / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:120]
    train = root / "train.csv"
    with open(train, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "label": r["label"]} for r in rows)
    subprocess.run(
        [TEXTAL, "train", str(train), "--model", "embed-head", "--store", str(root / "store")],
        check=True,
        capture_output=True,
        timeout=600,
    )
    port, log = free_port(), root / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [TEXTAL, "serve", "--store", str(root / "store"), "--data-dir", str(root / "data"), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "LABEL_STUDIO_URL": NO_LABEL_STUDIO},
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 180, 0.5, what=f"textal serve to answer /health at {url}", details=lambda: log.read_text())
    assert httpx.post(f"{url}/setup", json={"project": "1.1", "schema": CONFIG}, timeout=10).status_code == 200
    yield url, log
    stop_group(proc.pid, 30)


def predict_body(n: int, salt: str) -> dict:
    return {
        "project": "1.1",
        "tasks": [{"id": i, "data": {"text": f"call {salt} {i} now to claim the prize {i * 7}"}} for i in range(n)],
    }


def test_health_and_webhooks_answer_within_a_second_while_predict_is_saturated(backend):
    url, _ = backend
    stop = threading.Event()
    answered: list[int] = []

    def flood(k: int) -> None:
        with httpx.Client(timeout=600) as client:
            while not stop.is_set():
                answered.append(
                    client.post(f"{url}/predict", json=predict_body(TASKS_EACH, f"{k}-{time.time()}")).status_code
                )

    threads = [threading.Thread(target=flood, args=(k,), daemon=True) for k in range(CONCURRENT)]
    for t in threads:
        t.start()
    time.sleep(3.0)  # the flood is under way
    health, hooks = [], []
    with httpx.Client(timeout=10) as client:
        end = time.monotonic() + MEASURE_S
        while time.monotonic() < end:
            started = time.monotonic()
            assert client.get(f"{url}/health").status_code == 200
            health.append(time.monotonic() - started)
            started = time.monotonic()
            hook = client.post(f"{url}/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 1}})
            assert hook.status_code == 200, hook.text
            hooks.append(time.monotonic() - started)
            time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(120)
    p95_health, p95_hook = np.percentile(health, 95), np.percentile(hooks, 95)
    print(
        f"under {CONCURRENT} concurrent /predict of {TASKS_EACH} tasks: /health p50 {np.median(health):.3f} s "
        f"p95 {p95_health:.3f} s max {max(health):.3f} s; /webhook p95 {p95_hook:.3f} s; {len(answered)} predicts"
    )
    assert p95_health < 1.0 and p95_hook < 1.0 and max(health + hooks) < 2.0
    assert answered and set(answered) == {200}


def test_a_predict_whose_client_left_is_abandoned(backend):
    url, log = backend
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{url}/predict", json=predict_body(1000, f"gone-{time.time()}"), timeout=1.0)
    wait_until(
        lambda: "the client left" in log.read_text(errors="replace"),
        60,
        0.5,
        what="the abandoned /predict to be given up (it was computed to the end)",
    )
