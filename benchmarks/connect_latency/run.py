"""Connect-to-predicted: a Label Studio project that already holds its tasks is connected to textal; how long until
every task holds a prediction that Label Studio orders by, and until the evaluation slice is marked?

Starts a real Label Studio, `textal serve` and `textal worker` over a base model (the fast tier,
frozen MiniLM + logistic head, `textal train --model embed-head` on 300 SMS), imports N tasks
(SMS texts, the test and train splits, repeated with a numbered suffix past their 5,572 rows),
then connects the backend and times, from that call: the head of the order predicted (Label Studio's
``model_version`` switches then), every task predicted under it, and the slice marked. No reconciliation pass
helps (it runs every 10 min here). ``--json FILE`` appends the run's figures with its command, commit and machine.

    .venv/bin/python -m benchmarks.connect_latency.run --tasks 1000
    .venv/bin/python -m benchmarks.connect_latency.run --tasks 10000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.ls_stack import (
    DATA,
    TEXTAL,
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

REPO = Path(__file__).resolve().parents[2]


def texts(n: int) -> list[str]:
    """``n`` SMS texts: the test split, then the train split, then again with a numbered suffix."""
    rows = []
    for split in ("test", "train"):
        with open(DATA / "sms_spam" / f"{split}.csv", newline="") as fh:
            rows += [r["text"] for r in csv.DictReader(fh)]
    return [rows[i % len(rows)] + ("" if i < len(rows) else f" ({i // len(rows)})") for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None, help="append the run's raw figures (JSON lines) here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="textal-connect-"))
    env = textal_env()
    base = work / "base.csv"
    with open(DATA / "sms_spam" / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[-300:]
    with open(base, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows)
    subprocess.run(
        [*TEXTAL, "train", str(base), "--model", "embed-head", "--store", str(work / "store")],
        env=env,
        check=True,
        capture_output=True,
    )
    studio, port = label_studio_server(work), free_port()
    env = textal_env(studio.url)  # serve and worker need the Label Studio they serve
    state, worker_log = work / "backend", work / "worker.log"
    studio.launch()
    procs = [
        studio.process,
        start_worker(
            state, worker_log, env, "--store", str(work / "store"), "--reconcile-every", "600", "--full-every", "0"
        ),
        start_serve(work / "store", state, port, work / "serve.log", env, "--log-level", "warning"),
    ]
    try:
        studio.wait_until_up()
        url, token = studio.url, studio.token
        wait_for_serve(port, work / "serve.log")
        from label_studio_sdk import LabelStudio

        ls = LabelStudio(base_url=url, api_key=token, timeout=600)
        http = ls._client_wrapper.httpx_client
        project = ls.projects.create(title="connect latency", label_config=CONFIG)
        pid = project.id
        t = time.perf_counter()
        for start_at in range(0, args.tasks, 5000):
            chunk = texts(args.tasks)[start_at : start_at + 5000]
            ls.projects.import_tasks(id=pid, request=[{"text": x} for x in chunk])
        import_s = time.perf_counter() - t

        head_s: list[float] = []

        def predicted() -> bool:
            mv = ls.projects.get(id=pid).model_version or ""
            if mv.startswith("base-") and not head_s:  # switched once the head of the order holds its predictions
                head_s.append(time.perf_counter() - t)
            counts = http.request(f"api/projects/{pid}/model-versions/", method="GET").json()
            return mv.startswith("base-") and int(counts.get(mv, 0)) >= args.tasks

        def marked() -> bool:
            views = {(v.data or {}).get("title"): v.id for v in ls.views.list(project=pid)}
            if "textal: evaluation slice" not in views:
                return False
            page = http.request(
                "api/tasks/", method="GET", params={"view": views["textal: evaluation slice"], "page_size": 1}
            ).json()
            return int(page.get("total", 0)) >= min(max(args.tasks // 10, 50), args.tasks // 2)

        t = time.perf_counter()
        ls.ml.create(url=f"http://127.0.0.1:{port}", project=pid, title="textal")
        wait(predicted, 3600, "every task predicted", worker_log, 0.5)
        predicted_s = time.perf_counter() - t
        wait(marked, 600, "the slice marked", worker_log, 0.5)
        marked_s = time.perf_counter() - t
        phases = [line.split(": ", 1)[-1] for line in worker_log.read_text().splitlines() if "pushed" in line]
    finally:
        for proc in procs:
            stop_process(proc)
    print(f"| {args.tasks:,} | {import_s:.0f} | {head_s[0]:.1f} | {predicted_s:.1f} | {marked_s:.1f} |")
    if args.json is not None:
        record = {
            **run_record("benchmarks.connect_latency.run"),
            "cpu": cpu_name(),
            "tasks": args.tasks,
            "import_s": round(import_s, 2),
            "connect_to_head_ordered_s": round(head_s[0], 2),
            "connect_to_every_task_predicted_s": round(predicted_s, 2),
            "connect_to_slice_marked_s": round(marked_s, 2),
            "worker_lines": phases[:3],
        }
        with open(args.json, "a") as fh:
            fh.write(json.dumps(record) + "\n")
    print(f"\n(machine: {cpu_name()}, {os.cpu_count()} cores; load average after {os.getloadavg()[0]:.1f})")
    for line in phases[:3]:
        print(f"- worker: {line}")


if __name__ == "__main__":
    main()
