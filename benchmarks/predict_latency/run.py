"""/predict latency of `textal serve` with a warm model: 20-task requests (p50, p95) and 1,000-task requests.

Trains a model on SMS spam, publishes it into a temporary store, starts `textal serve` as its own
process (as a user would), sets up a project, warms up, then times HTTP round trips from a client
on the same machine. Each request carries texts from the test split not sent before, so no cache
answers for the model. Prints a Markdown section for RESULTS.md.

With ``--pool-cache`` (embed-head only) every text is embedded into the backend data folder's
embedding cache before the server starts, as the retrain worker does for each task imported into
Label Studio, and the server reads that cache: the case of a /predict for tasks Label Studio
already holds.

    python -m benchmarks.predict_latency.run --model embed-head --json benchmarks/predict_latency/results.jsonl
    python -m benchmarks.predict_latency.run --model embed-head --pool-cache --json ...

``--json PATH`` appends the run's raw figures (one JSON line: the run record, every request's milliseconds and the
p50/p95/p99 computed from them) to PATH.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import httpx
import numpy as np

from benchmarks.machine import cpu_name, latency_summary, write_raw
from ml_backend.state.layout import DataLayout
from tests.support.ports import free_port
from tests.support.waits import wait_until

REPO = Path(__file__).resolve().parents[2]

DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))
CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def rows(split: str) -> list[dict[str, str]]:
    with open(DATA / "sms_spam" / f"{split}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def train_and_publish(kind: str, n_train: int, store: Path) -> tuple[str, float]:
    from textal.models import make_classifier
    from textal.store.model_store import ModelStore

    train = rows("train")[:n_train]
    model = make_classifier(kind, classes=["ham", "spam"])
    started = time.perf_counter()
    model.fit([r["text"] for r in train], [r["label"] for r in train])
    fit_s = time.perf_counter() - started
    return ModelStore(store).publish(model, {"note": "predict latency benchmark"}), fit_s


def timed_posts(client: httpx.Client, url: str, batches: list[list[dict]]) -> np.ndarray:
    """Milliseconds of each /predict round trip; every task must get a scored answer (a guess only where the model
    is sure enough: below the guess line the result is empty, by design)."""
    times = []
    for tasks in batches:
        started = time.perf_counter()
        answer = client.post(url, json={"tasks": tasks, "project": "1.1"})
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
        results = answer.json()["results"]
        assert len(results) == len(tasks) and all("score" in r for r in results), answer.text[:1500]
    return np.array(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="embed-head", help="model kind to publish (default: embed-head, the fast tier)"
    )
    parser.add_argument("--train", type=int, default=1000, help="training texts")
    parser.add_argument("--small", type=int, default=50, help="number of 20-task requests")
    parser.add_argument("--large", type=int, default=3, help="number of 1,000-task requests")
    parser.add_argument(
        "--pool-cache",
        action="store_true",
        help="embed every text beforehand, as the worker does for imported tasks (embed-head only)",
    )
    parser.add_argument("--json", type=Path, default=None, help="append the run's raw figures (one JSON line) here")
    args = parser.parse_args()
    if args.pool_cache and args.model != "embed-head":
        parser.error("--pool-cache needs --model embed-head")

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="textal-bench-"))
    store = work / "store"
    data = work / "backend"  # textal serve --data-dir: the worker embeds imported tasks into its embeddings/
    cache = DataLayout(data).embeddings if args.pool_cache else None
    published, fit_s = train_and_publish(args.model, args.train, store)
    pool = [{"id": i, "data": {"text": r["text"]}} for i, r in enumerate(rows("test") + rows("train")[args.train :])]
    if cache is not None:  # what the worker does when Label Studio reports imported tasks
        from ml_backend.worker.embeddings import PoolEmbedder

        started = time.perf_counter()
        PoolEmbedder(cache).embed("default", [t["data"]["text"] for t in pool])
        print(f"# {len(pool)} texts embedded beforehand in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    port = free_port()
    log = open(work / "serve.log", "wb")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.setdefault("LABEL_STUDIO_URL", "http://127.0.0.1:9")  # serve needs one named; none answers in this benchmark
    cmd = [
        str(Path(sys.executable).parent / "textal"),
        "serve",
        "--store",
        str(store),
        "--data-dir",
        str(data),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=300) as client:
            started = time.perf_counter()

            def answering() -> bool:
                if proc.poll() is not None:
                    raise SystemExit(f"textal serve exited:\n{(work / 'serve.log').read_text()[-3000:]}")
                try:
                    return client.get(f"{url}/health").status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(
                answering,
                300,
                0.2,
                what="textal serve to start",
                details=lambda: (work / "serve.log").read_text()[-3000:],
            )
            ready_s = time.perf_counter() - started
            client.post(f"{url}/setup", json={"project": "1.1", "schema": CONFIG}).raise_for_status()

            cursor = 0

            def take(n: int) -> list[dict]:
                nonlocal cursor
                if cursor + n > len(pool):
                    cursor = 0
                out = pool[cursor : cursor + n]
                cursor += n
                return out

            hooks = []
            for i in range(50):  # webhook answers (each one enqueues a retrain job in SQLite)
                started = time.perf_counter()
                client.post(
                    f"{url}/webhook",
                    json={"action": "ANNOTATION_CREATED", "annotation": {"id": i}, "project": {"id": 1}},
                ).raise_for_status()
                hooks.append(time.perf_counter() - started)
            hooks = np.array(hooks) * 1000.0
            timed_posts(client, f"{url}/predict", [take(20) for _ in range(5)])  # warm-up
            small = timed_posts(client, f"{url}/predict", [take(20) for _ in range(args.small)])
            large = timed_posts(client, f"{url}/predict", [take(1000) for _ in range(args.large)])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)

    import torch

    cached = ", every text already embedded (as for tasks in Label Studio)" if args.pool_cache else ""
    print(f"### {args.model} ({published}, trained on {args.train} SMS in {fit_s:.1f} s){cached}\n")
    flag = " --pool-cache" if args.pool_cache else ""
    print(f"- command: `.venv/bin/python -m benchmarks.predict_latency.run --model {args.model}{flag}`")
    print(f"- machine: {cpu_name()}, {os.cpu_count()} cores visible, torch threads {torch.get_num_threads()}, no GPU")
    print(
        f"- versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {version('transformers')}, "
        f"fastapi {version('fastapi')}, uvicorn {version('uvicorn')}, textal {version('textal')}"
    )
    print(
        f"- load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        "(other work on the machine)"
    )
    print(f"- server ready (model loaded and warmed) {ready_s:.1f} s after start\n")
    print("| request | n | p50 ms | p95 ms | p99 ms | mean ms | max ms | ms per task (p50) |")  # webhook: per event
    print("|---|---|---|---|---|---|---|---|")
    requests = {"20 tasks": (small, 20), "1,000 tasks": (large, 1000), "webhook (enqueue)": (hooks, 1)}
    for name, (t, size) in requests.items():
        print(
            f"| {name} | {len(t)} | {np.percentile(t, 50):.0f} | {np.percentile(t, 95):.0f} "
            f"| {np.percentile(t, 99):.0f} | {t.mean():.0f} | {t.max():.0f} | {np.percentile(t, 50) / size:.2f} |"
        )
    if args.json is not None:
        raw = {
            "model": args.model,
            "version": published,
            "train": args.train,
            "fit_s": fit_s,
            "pool_cache": args.pool_cache,
            "ready_s": ready_s,
            "torch_threads": torch.get_num_threads(),
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
            "requests": {
                name: {"tasks": size, "ms": [round(float(v), 3) for v in t], **latency_summary(list(t))}
                for name, (t, size) in requests.items()
            },
        }
        written = write_raw(args.json, raw, "benchmarks.predict_latency.run", ["fastapi", "uvicorn"])
        print(f"\n- raw figures: {written}")


if __name__ == "__main__":
    main()
