"""Two projects labelled at once, one worker or two on one Redis queue: how many labels become new scores a minute.

Starts a real redis-server, a real Label Studio, `textal serve` and N `textal worker` processes on one Redis queue
(each with one job thread), two projects of 1,000 SMS tasks each, cold. After ten seed labels per project, two
simulated annotators (one per project, in threads) label the task Label Studio serves next, each waiting until its
label has made a new model_version (or a version held back by the promotion rule) before the next. Run once with one
worker and once with two, each on a fresh stack; the gain is the ratio of labels turned into scores per minute.

    python -m benchmarks.scale_out.run [--labels 20] [--json benchmarks/scale_out/results.jsonl]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

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
from benchmarks.machine import cpu_name, run_record
from tests.support.dataset_rows import read_rows
from tests.support.servers import redis_server

TASKS = 1000


def history(state: Path, pid: int) -> list[dict]:
    from textal.store.history import read_records

    return read_records(state / "projects" / str(pid) / "worker" / "history.jsonl")


def run_stack(workers: int, labels: int, root: Path) -> dict:
    """One fresh stack with ``workers`` worker processes; the two annotators' timings."""
    with contextlib.ExitStack() as stack:
        queue = stack.enter_context(redis_server(root))
        studio = label_studio_server(root)
        env = {**textal_env(studio.url), "TEXTAL_QUEUE_URL": queue}
        state, port = root / "backend", free_port()
        studio.launch()
        stack.callback(stop_process, studio.process)
        logs = [root / f"worker{i}.log" for i in range(workers)]
        for log in logs:
            proc = start_worker(state, log, env, "--reconcile-every", "600", "--full-every", "0", "--review-marks", "0")
            stack.callback(stop_process, proc)
        serve = start_serve(root / "no-store", state, port, root / "serve.log", env, "--log-level", "warning")
        stack.callback(stop_process, serve)
        studio.wait_until_up()
        wait_for_serve(port, root / "serve.log")
        ls = studio.client()
        http = ls._client_wrapper.httpx_client
        rows = read_rows(DATA / "sms_spam" / "test.csv", TASKS)
        projects = []
        for name in ("first", "second"):
            pid = ls.projects.create(title=f"scale-out {name}", label_config=CONFIG).id
            ids = sorted(
                ls.projects.import_tasks(
                    id=pid, request=[{"text": r["text"]} for r in rows], return_task_ids=True
                ).task_ids
            )
            ls.ml.create(url=f"http://127.0.0.1:{port}", project=pid, title="textal")
            projects.append((pid, dict(zip(ids, (r["label"] for r in rows)))))

        def model_version(pid: int) -> str:
            return ls.projects.get(id=pid).model_version or ""

        for _, gold in projects:
            seed = [t for t in gold if gold[t] == "spam"][:5] + [t for t in gold if gold[t] == "ham"][:5]
            for tid in seed:
                ls.annotations.create(id=tid, result=choice(gold[tid]))
        for pid, _ in projects:
            wait(lambda pid=pid: model_version(pid).startswith("v"), 600, "a first model", logs[0], 0.3)
        time.sleep(3)
        timings: dict[int, list[float]] = {pid: [] for pid, _ in projects}
        failures: list[BaseException] = []

        def annotate(pid: int, gold: dict[int, str]) -> None:
            try:
                for _ in range(labels):
                    before, records = model_version(pid), len(history(state, pid))
                    tid = http.request(f"api/projects/{pid}/next", method="GET").json()["id"]
                    started = time.perf_counter()
                    ls.annotations.create(id=tid, result=choice(gold[tid]))
                    wait(
                        lambda before=before, records=records: (
                            model_version(pid) != before or len(history(state, pid)) > records
                        ),
                        180,
                        "the label's refresh",
                        logs[0],
                        0.1,
                    )
                    timings[pid].append(time.perf_counter() - started)
            except BaseException as exc:  # noqa: BLE001 (re-raised in the main thread)
                failures.append(exc)

        threads = [threading.Thread(target=annotate, args=project) for project in projects]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        if failures:
            raise failures[0]
    every = np.array([x for values in timings.values() for x in values])
    return {
        "workers": workers,
        "labels": int(len(every)),
        "wall_s": round(wall, 2),
        "labels_per_minute": round(60 * len(every) / wall, 2),
        "p50_s": float(np.percentile(every, 50)),
        "p95_s": float(np.percentile(every, 95)),
        "p99_s": float(np.percentile(every, 99)),
        "latencies_s": {str(pid): [round(x, 3) for x in values] for pid, values in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=20, help="labels per annotator (after the seed labels)")
    parser.add_argument("--json", type=Path, default=None, help="append the run's raw figures (one JSON line) here")
    args = parser.parse_args()
    results = []
    for workers in (1, 2):
        root = Path(tempfile.mkdtemp(prefix=f"textal-scale-out-{workers}-"))
        results.append(run_stack(workers, args.labels, root))
        r = results[-1]
        print(
            f"| {workers} | {r['labels']} | {r['wall_s']:.0f} | {r['labels_per_minute']:.1f} | {r['p50_s']:.2f} "
            f"| {r['p95_s']:.2f} | {r['p99_s']:.2f} |",
            flush=True,
        )
    gain = results[1]["labels_per_minute"] / results[0]["labels_per_minute"]
    print(f"\ngain of the second worker: {gain:.2f}x ({cpu_name()}, {os.cpu_count()} cores)")
    if args.json is not None:
        record = {**run_record("benchmarks.scale_out.run"), "cpu": cpu_name(), "runs": results, "gain": gain}
        with open(args.json, "a") as fh:
            fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
