"""Label the demo project the way an annotator does (Label Studio's next task, the gold label) and time each label
to a new model_version ordering Label Studio. Run from the repository root while `make run` is up:

    .venv/bin/python -m benchmarks.demo.refresh_probe [--labels 12] [--url http://127.0.0.1:8080] [--json PATH]

``--json PATH`` appends the run's raw figures (one JSON line: the run record, every label's seconds and versions,
the p50/p95/p99 of the timed ones) to PATH (benchmarks/demo/results.jsonl is the one RESULTS.md reads).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import httpx

from benchmarks.machine import latency_summary, write_raw
from tests.support.ls_project import choice


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", type=int, default=12)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--project", type=int, default=1)
    ap.add_argument("--data", default="../shared/data/sms_spam/test.csv")
    ap.add_argument("--json", type=Path, default=None, help="append the run's raw figures (one JSON line) here")
    args = ap.parse_args()
    key = Path(".textal/ls-key").read_text().strip()
    http = httpx.Client(base_url=args.url, headers={"Authorization": f"Token {key}"}, timeout=60)
    gold = {r["text"]: r["label"] for r in csv.DictReader(open(args.data, newline=""))}
    times, labels = [], []
    for i in range(args.labels):
        before = http.get(f"/api/projects/{args.project}/").json()["model_version"]
        task = http.get(f"/api/projects/{args.project}/next").json()
        label = gold[task["data"]["text"]]
        started = time.monotonic()
        http.post(
            f"/api/tasks/{task['id']}/annotations/",
            json={"result": choice(label)},
        ).raise_for_status()
        now = before
        while time.monotonic() - started < 60 and now == before:
            time.sleep(0.2)
            now = http.get(f"/api/projects/{args.project}/").json()["model_version"]
        took = time.monotonic() - started
        slice_mark = " (evaluation slice)" if task["data"].get("textal_eval") else ""
        print(f"label {i + 1}: task {task['id']} {label}{slice_mark}: {before} -> {now} in {took:.1f} s")
        labels.append({"task": task["id"], "label": label, "before": before, "after": now, "s": round(took, 3)})
        if now != before and before.startswith("v"):
            times.append(took)
    if times:
        print(
            f"label to new order: p50 {statistics.median(times):.1f} s, max {max(times):.1f} s over {len(times)} labels"
        )

    if args.json is not None:
        raw = {"url": args.url, "project": args.project, "labels": labels, "timed_s": times, **latency_summary(times)}
        print(f"raw figures: {write_raw(args.json, raw, 'benchmarks.demo.refresh_probe')}")


if __name__ == "__main__":
    main()
