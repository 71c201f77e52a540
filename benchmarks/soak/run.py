"""Soak: a real Label Studio, `textal serve` and `textal worker` under mixed traffic for a long while, memory sampled.

Traffic, all at once, for --minutes:
- an annotator labels the task Label Studio serves next, every --label-every seconds, with its gold
  label; every 10th label corrects an earlier annotation and every 25th deletes one and labels again
  (ANNOTATION_UPDATED / ANNOTATIONS_DELETED webhooks; each label queues a retrain);
- Label Studio's side of /predict: 50 random tasks, back to back with a 0.5 s pause;
- a /health probe every second (what Label Studio's 1-second timeouts see);
- hostile requests every 2 s (bad JSON, wrong type, deep nesting, unknown project, a browser's Origin,
  too many tasks), each of which must be a 4xx;
- 20 new tasks imported every 5 minutes (TASKS_CREATED: scoring of new tasks).
The worker fine-tunes the transformer every --full-every labels, as a user's would.

Every --sample-every seconds: resident memory of each process, Label Studio's database size, the
worker's and the server's open files. At the end: errors of each kind (5xx, timeouts, an unexpected
status, a traceback in a log), the memory trend after warm-up, latencies.

    .venv/bin/python -m benchmarks.soak.run [--minutes 30]      # or: make soak
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path

import httpx
import numpy as np
import psutil

from benchmarks.ls_stack import (
    DATA,
    choice,
    free_port,
    label_studio_server,
    start_serve,
    start_worker,
    stop_process,
    textal_env,
    wait,
    wait_for_serve,
)
from benchmarks.ls_stack import SPAM_CONFIG as CONFIG
from benchmarks.machine import cpu_name
from tests.support.memory import tree_rss_mb

REPO = Path(__file__).resolve().parents[2]

HOSTILE = [  # (what, method, path, body bytes, headers): each must be a 4xx
    ("malformed JSON", "POST", "/predict", b'{"project": 1, "tasks": [', {}),
    ("not JSON", "POST", "/webhook", b"action=ANNOTATION_CREATED", {"content-type": "text/plain"}),
    ("deep nesting", "POST", "/predict", b'{"project": 1, "tasks": [' + b"[" * 5000 + b"]" * 5000 + b"]}", {}),
    ("unknown project", "POST", "/predict", b'{"project": "987654", "tasks": [{"id": 1, "data": {"text": "hi"}}]}', {}),
    ("browser origin", "POST", "/setup", b'{"project": "1", "schema": "<View/>"}', {"origin": "http://evil.test"}),
    ("too many tasks", "POST", "/predict", b'{"project": 1, "tasks": [' + b",".join([b"{}"] * 1500) + b"]}", {}),
    ("lone surrogate", "POST", "/webhook", b'{"action": "\\ud800", "project": 1}', {}),
    ("bad version query", "GET", "/versions?project=" + "9" * 40, b"", {}),
]


class Tally:
    """Thread-safe counts of outcomes and latencies, by kind."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.latency: dict[str, list[float]] = {}
        self.examples: dict[tuple[str, str], str] = {}

    def add(self, kind: str, outcome: str, seconds: float | None = None, example: str = "") -> None:
        with self.lock:
            self.counts[(kind, outcome)] += 1
            if seconds is not None:
                self.latency.setdefault(kind, []).append(seconds)
            if outcome != "ok" and example:
                self.examples.setdefault((kind, outcome), example[:300])


def open_files(pid: int) -> int:
    try:
        return psutil.Process(pid).num_fds()
    except psutil.NoSuchProcess:
        return -1


def open_sockets(pid: int) -> int:
    """The process's open network sockets (a part of its open files): connections come and go with the traffic."""
    try:
        return len(psutil.Process(pid).net_connections(kind="inet"))
    except psutil.NoSuchProcess:
        return -1


def read_rows(name: str) -> list[dict[str, str]]:
    with open(DATA / "sms_spam" / name, newline="") as fh:
        return list(csv.DictReader(fh))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--label-every", type=float, default=6.0)
    parser.add_argument("--full-every", type=int, default=100, help="the worker's --full-every")
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=5.0, help="minutes left out of the memory trend")
    parser.add_argument("--samples", type=Path, default=None, help="write every memory sample to this CSV")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="textal-soak-"))
    studio, backend_port = label_studio_server(work), free_port()
    backend = f"http://127.0.0.1:{backend_port}"
    state = work / "backend-data"
    logs = {"label-studio": studio.log_path, "worker": work / "worker.log", "serve": work / "serve.log"}
    procs: dict[str, subprocess.Popen] = {}
    tally = Tally()
    samples: list[dict[str, float]] = []
    stop = threading.Event()
    started = time.monotonic()
    try:
        studio.launch()
        procs["label-studio"] = studio.process
        studio.wait_until_up()
        url, token = studio.url, studio.token
        env = textal_env(url)
        procs["worker"] = start_worker(state, logs["worker"], env, "--full-every", str(args.full_every))
        procs["serve"] = start_serve(work / "no-store", state, backend_port, logs["serve"], env)
        wait_for_serve(backend_port, logs["serve"])

        from label_studio_sdk import LabelStudio

        ls = LabelStudio(base_url=url, api_key=token, timeout=120)
        http = ls._client_wrapper.httpx_client
        pid = ls.projects.create(title="soak", label_config=CONFIG).id
        ls.ml.create(url=backend, project=pid, title="textal")
        rows = read_rows("test.csv")[: args.tasks]
        extra = read_rows("train.csv")
        gold = {r["text"]: r["label"] for r in rows + extra}
        ls.projects.import_tasks(id=pid, request=[{"text": r["text"]} for r in rows])
        wait(lambda: "scored new tasks" in logs["worker"].read_text(), 900, "the first scoring", logs["worker"], 0.5)
        print(
            f"# stack up and {len(rows)} tasks scored in {time.monotonic() - started:.0f} s; soaking "
            f"{args.minutes:g} min",
            file=sys.stderr,
        )
        task_ids = [t.id for t in ls.tasks.list(project=pid, include="id", page_size=1000)]
        soak_start = time.monotonic()
        deadline = soak_start + args.minutes * 60

        def annotator() -> None:
            done: list[tuple[int, int, str]] = []  # (task, annotation, label)
            n = 0
            while not stop.wait(args.label_every):
                n += 1
                t0 = time.monotonic()
                try:
                    if n % 10 == 0 and done:
                        task, ann, label = random.choice(done)
                        http.request(
                            f"api/annotations/{ann}/", method="PATCH", json={"result": choice(label)}
                        ).raise_for_status()
                        tally.add("label studio: update", "ok", time.monotonic() - t0)
                        continue
                    if n % 25 == 0 and done:
                        task, ann, label = done.pop(random.randrange(len(done)))
                        http.request(f"api/annotations/{ann}/", method="DELETE").raise_for_status()
                        tally.add("label studio: delete", "ok", time.monotonic() - t0)
                        continue
                    task = http.request(f"api/projects/{pid}/next", method="GET").json()
                    if "id" not in task:
                        tally.add("label studio: next", "no task left")
                        continue
                    label = gold.get(task["data"]["text"], "ham")
                    ann = ls.annotations.create(id=task["id"], result=choice(label))
                    done.append((task["id"], ann.id, label))
                    tally.add("label studio: label", "ok", time.monotonic() - t0)
                except Exception as exc:  # counted, and the soak goes on
                    tally.add("label studio: label", "error", example=f"{type(exc).__name__}: {exc}")

        def predictor() -> None:
            client = httpx.Client(timeout=60)
            texts = [r["text"] for r in rows]
            while not stop.wait(0.5):
                batch = [{"id": i, "data": {"text": texts[i]}} for i in random.sample(range(len(texts)), 50)]
                t0 = time.monotonic()
                try:
                    r = client.post(f"{backend}/predict", json={"project": str(pid), "tasks": batch})
                    ok = r.status_code == 200 and len(r.json()["results"]) == 50
                    tally.add("/predict", "ok" if ok else f"HTTP {r.status_code}", time.monotonic() - t0, r.text)
                except httpx.HTTPError as exc:
                    tally.add("/predict", type(exc).__name__, example=str(exc))

        def health() -> None:
            client = httpx.Client(timeout=1.0)  # Label Studio's own timeout
            while not stop.wait(1.0):
                t0 = time.monotonic()
                try:
                    r = client.get(f"{backend}/health")
                    ok = r.status_code == 200 and r.json().get("status") == "UP" and "degraded" not in r.json()
                    tally.add("/health", "ok" if ok else f"HTTP {r.status_code}", time.monotonic() - t0, r.text)
                except httpx.HTTPError as exc:
                    tally.add("/health", type(exc).__name__, example=str(exc))

        def hostile() -> None:
            client = httpx.Client(timeout=30)
            i = 0
            while not stop.wait(2.0):
                what, method, path, body, headers = HOSTILE[i % len(HOSTILE)]
                i += 1
                try:
                    r = client.request(
                        method,
                        f"{backend}{path}",
                        content=body or None,
                        headers={"content-type": "application/json", **headers},
                    )
                    ok = 400 <= r.status_code < 500 and isinstance(r.json().get("error"), str)
                    tally.add("hostile: " + what, "ok" if ok else f"HTTP {r.status_code}", example=r.text)
                except (httpx.HTTPError, ValueError) as exc:
                    tally.add("hostile: " + what, type(exc).__name__, example=str(exc))

        def importer() -> None:
            offset = 0
            while not stop.wait(300):
                new = extra[offset : offset + 20]
                offset += 20
                try:
                    ls.projects.import_tasks(id=pid, request=[{"text": r["text"]} for r in new])
                    tally.add("label studio: import 20", "ok")
                except Exception as exc:
                    tally.add("label studio: import 20", "error", example=f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=f, daemon=True) for f in (annotator, predictor, health, hostile, importer)]
        for thread in threads:
            thread.start()
        db = studio.data_dir / "label_studio.sqlite3"
        while time.monotonic() < deadline:
            dead = [name for name, proc in procs.items() if proc.poll() is not None]
            if dead:
                raise SystemExit(
                    f"{dead} exited during the soak:\n" + "".join(logs[n].read_text()[-3000:] for n in dead)
                )
            samples.append(
                {
                    "minute": (time.monotonic() - soak_start) / 60,
                    **{f"{name} MB": tree_rss_mb(proc.pid) for name, proc in procs.items()},
                    "serve fds": open_files(procs["serve"].pid),
                    "serve sockets": open_sockets(procs["serve"].pid),
                    "worker fds": open_files(procs["worker"].pid),
                    "database MB": db.stat().st_size / 2**20 if db.exists() else float("nan"),
                }
            )
            time.sleep(args.sample_every)
        stop.set()
        for thread in threads:
            thread.join(120)
    finally:
        stop.set()
        for proc in reversed(list(procs.values())):
            stop_process(proc)

    report(args, tally, samples, logs, state, pid, task_ids)


def report(
    args,
    tally: Tally,
    samples: list[dict[str, float]],
    logs: dict[str, Path],
    state: Path,
    pid: int,
    task_ids: list[int],
) -> None:
    import torch

    from textal.store.history import read_records

    records = read_records(state / "projects" / str(pid) / "worker" / "history.jsonl")
    tracebacks = {
        name: path.read_text(errors="replace").count("Traceback")
        for name, path in logs.items()
        if name != "label-studio"
    }
    worker_errors = sum(" ERROR " in line for line in logs["worker"].read_text(errors="replace").splitlines())
    print(f"### Soak, {args.minutes:g} minutes, SMS spam, {len(task_ids)} tasks to start with\n")
    print(
        "- command: `.venv/bin/python -m benchmarks.soak.run"
        + "".join(
            f" --{k.replace('_', '-')} {v:g}" for k, v in vars(args).items() if k in DEFAULTS and v != DEFAULTS[k]
        )
        + "`"
    )
    print(
        f"- machine: {cpu_name()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, no GPU; "
        "Label Studio, textal serve, textal worker and this client on the same machine"
    )
    print(
        f"- versions: python {platform.python_version()}, label-studio {version('label-studio')}, torch "
        f"{torch.__version__}, textal {version('textal')}"
    )
    promoted = sum(r.get("promoted", False) for r in records)
    worker_log = logs["worker"].read_text(errors="replace")
    full = worker_log.count("fine-tuning the encoder on")
    adopted = worker_log.count("fine-tuned encoder") - worker_log.count("fine-tuned encoder not adopted")
    print(
        f"- fast-tier retrains recorded by the worker: {len(records)} ({promoted} promoted); full fine-tunes: "
        f"{full} ({adopted} adopted); labels at the end: {records[-1]['labels'] if records else 0}"
    )
    print(
        f"- tracebacks in the logs: serve {tracebacks['serve']}, worker {tracebacks['worker']}; "
        f"worker ERROR lines: {worker_errors}\n"
    )
    print("| traffic | requests | ok | not ok | p50 s | p95 s | max s |")
    print("|---|---|---|---|---|---|---|")
    kinds = sorted({k for k, _ in tally.counts})
    for kind in kinds:
        ok = tally.counts[(kind, "ok")]
        bad = {o: n for (k, o), n in tally.counts.items() if k == kind and o != "ok"}
        lat = np.array(tally.latency.get(kind, []))
        timing = (
            f"{np.percentile(lat, 50):.3f} | {np.percentile(lat, 95):.3f} | {lat.max():.3f}" if len(lat) else " | | "
        )
        print(
            f"| {kind} | {ok + sum(bad.values())} | {ok} | {', '.join(f'{o}: {n}' for o, n in bad.items()) or 0} "
            f"| {timing} |"
        )
    for (kind, outcome), example in tally.examples.items():
        print(f"\n- {kind} {outcome}, first seen: `{example}`")
    if args.samples is not None:
        with open(args.samples, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(samples[0]))
            writer.writeheader()
            writer.writerows({k: round(v, 2) for k, v in row.items()} for row in samples)
    after = [s for s in samples if s["minute"] >= args.warm_up] or samples
    last = [s for s in samples if s["minute"] >= samples[-1]["minute"] - 10] or samples
    print(
        f"\nMemory and files, sampled every {args.sample_every:g} s (trend: least-squares slope over minutes "
        f"{args.warm_up:g} to the end):\n"
    )
    keys = [k for k in samples[0] if k != "minute"]
    print(
        "| measure | at minute " + f"{after[0]['minute']:.0f} | at the end | max | trend per hour | trend per hour, "
        "last 10 minutes |"
    )
    print("|---|---|---|---|---|---|")

    def slope(rows: list[dict[str, float]], key: str) -> float:
        x, y = np.array([r["minute"] for r in rows]), np.array([r[key] for r in rows])
        return float(np.polyfit(x, y, 1)[0] * 60) if len(rows) > 2 else float("nan")

    for key in keys:
        print(
            f"| {key} | {after[0][key]:.0f} | {after[-1][key]:.0f} | {np.nanmax([s[key] for s in samples]):.0f} "
            f"| {slope(after, key):+.1f} | {slope(last, key):+.1f} |"
        )


DEFAULTS = {"minutes": 30.0, "tasks": 1000, "label_every": 6.0, "full_every": 100, "sample_every": 10.0, "warm_up": 5.0}

if __name__ == "__main__":
    main()
