"""/health and /webhook answer times while /predict is saturated: the reliability test's measurement, with raw results.

`textal serve` on 127.0.0.1 over an embed-head model trained on the first SMS messages, ``--clients`` threads each
posting /predict of ``--tasks`` unseen texts in a loop, while /health and an ANNOTATION_CREATED /webhook are timed
every 0.2 s for ``--seconds``. The load's shape (clients, tasks, window, the /setup schema and the /predict body) is
the reliability test's own (``tests/reliability/test_health_under_predict_load.py``), imported, not copied; the
server starts as the benchmarks start it (``benchmarks.ls_stack``).

    python -m benchmarks.backend_under_load.run --json benchmarks/backend_under_load/results.jsonl

``--json PATH`` appends the run's raw figures (one JSON line: the run record, every /health and /webhook time,
p50/p95/p99 from them, the /predict statuses) to PATH.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from benchmarks.ls_stack import DATA, TEXTAL, free_port, start_serve, stop_process, textal_env, wait_for_serve
from benchmarks.machine import latency_summary, write_raw
from tests.reliability.test_health_under_predict_load import CONCURRENT, CONFIG, MEASURE_S, TASKS_EACH, predict_body
from tests.support.servers import NO_LABEL_STUDIO

WARM_UP_S = 3.0  # the flood is under way before the first timed request, as in the test


def train(root: Path, texts: int) -> Path:
    """An embed-head model on the first ``texts`` SMS of the training split, published into ``root/store``."""
    with open(DATA / "sms_spam" / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:texts]
    corpus = root / "train.csv"
    with open(corpus, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "label": r["label"]} for r in rows)
    store = root / "store"
    subprocess.run(
        [*TEXTAL, "train", str(corpus), "--model", "embed-head", "--store", str(store)],
        check=True,
        capture_output=True,
        env=textal_env(),
        timeout=600,
    )
    return store


def measure(url: str, clients: int, tasks: int, seconds: float) -> dict:
    """Flood /predict from ``clients`` threads and time /health and /webhook every 0.2 s for ``seconds``."""
    stop = threading.Event()
    answered: list[int] = []

    def flood(k: int) -> None:
        with httpx.Client(timeout=600) as client:
            while not stop.is_set():
                body = predict_body(tasks, f"{k}-{time.time()}")
                answered.append(client.post(f"{url}/predict", json=body).status_code)

    threads = [threading.Thread(target=flood, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(WARM_UP_S)
    health: list[float] = []
    hooks: list[float] = []
    failures: Counter[str] = Counter()
    with httpx.Client(timeout=10) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for name, times, call in (
                ("health", health, lambda: client.get(f"{url}/health")),
                (
                    "webhook",
                    hooks,
                    lambda: client.post(f"{url}/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 1}}),
                ),
            ):
                started = time.monotonic()
                try:
                    status = call().status_code
                except httpx.HTTPError as error:
                    failures[f"{name}: {type(error).__name__}"] += 1
                    continue
                times.append(time.monotonic() - started)
                if status != 200:
                    failures[f"{name}: HTTP {status}"] += 1
            time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(120)
    return {
        "health_s": health,
        "webhook_s": hooks,
        "health": latency_summary(health),
        "webhook": latency_summary(hooks),
        "failures": dict(failures),
        "predict_statuses": {str(code): n for code, n in Counter(answered).items()},
        "predicts_answered": len(answered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CONCURRENT, help="threads posting /predict at once")
    parser.add_argument("--tasks", type=int, default=TASKS_EACH, help="tasks in each /predict")
    parser.add_argument("--seconds", type=float, default=MEASURE_S, help="how long /health and /webhook are timed")
    parser.add_argument("--train", type=int, default=120, help="SMS the embed-head model is trained on")
    parser.add_argument("--json", type=Path, default=None, help="append the run's raw figures (one JSON line) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="textal-load-") as tmp:
        root = Path(tmp)
        store = train(root, args.train)
        port, log = free_port(), root / "serve.log"
        proc = start_serve(store, root / "data", port, log, textal_env(NO_LABEL_STUDIO), "--host", "127.0.0.1")
        try:
            wait_for_serve(port, log)
            url = f"http://127.0.0.1:{port}"
            httpx.post(f"{url}/setup", json={"project": "1.1", "schema": CONFIG}, timeout=10).raise_for_status()
            raw = measure(url, args.clients, args.tasks, args.seconds)
        finally:
            stop_process(proc)
    health, hook = raw["health"], raw["webhook"]
    print(
        f"under {args.clients} concurrent /predict of {args.tasks} tasks, {args.seconds:.0f} s: /health p50 "
        f"{health['p50']:.3f} s p95 {health['p95']:.3f} s p99 {health['p99']:.3f} s max {health['max']:.3f} s; "
        f"/webhook p50 {hook['p50']:.3f} s p95 {hook['p95']:.3f} s p99 {hook['p99']:.3f} s; "
        f"{raw['predicts_answered']} predicts answered; failures {raw['failures'] or 'none'}"
    )
    if args.json is not None:
        settings = {"clients": args.clients, "tasks": args.tasks, "seconds": args.seconds, "train": args.train}
        print(f"raw figures: {write_raw(args.json, {**settings, **raw}, 'benchmarks.backend_under_load.run')}")


if __name__ == "__main__":
    main()
