"""What one request to Label Studio costs, by kind: the price of updating or deleting predictions one at a time,
which a push would pay once per task (Label Studio 1.23 has no bulk update of predictions).

A real Label Studio (fresh SQLite data folder, started as textal starts it), one project of 100 tasks each holding a
prediction; ``--calls`` of each kind, one after another on one kept-alive connection.

    .venv/bin/python -m benchmarks.push_design.request_cost --out benchmarks/push_design/request_cost.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.ls_stack import SPAM_CONFIG, start_label_studio, stop_process
from benchmarks.machine import run_record
from tests.support.ls_project import choice

REPO = Path(__file__).resolve().parents[2]


def timed(calls: list[Callable[[], httpx.Response]]) -> dict[str, float]:
    seconds = []
    for call in calls:
        started = time.monotonic()
        call().raise_for_status()
        seconds.append(time.monotonic() - started)
    return {
        "p50_ms": round(statistics.median(seconds) * 1000, 1),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 1),
        "calls": len(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "push_design" / "request_cost.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="textal-request-cost-"))
    studio = start_label_studio(work)
    try:
        http = httpx.Client(base_url=studio.url, headers={"Authorization": f"Token {studio.token}"}, timeout=120)
        pid = http.post("/api/projects/", json={"title": "request cost", "label_config": SPAM_CONFIG}).json()["id"]
        http.post(f"/api/projects/{pid}/import", json=[{"text": f"message {i}"} for i in range(100)]).raise_for_status()
        tasks = http.get("/api/tasks/", params={"project": pid, "page_size": 100}).json()["tasks"]
        result = choice("ham")
        http.post(
            f"/api/projects/{pid}/import/predictions",
            json=[{"task": t["id"], "result": result, "score": 0.5, "model_version": "v0001"} for t in tasks],
        ).raise_for_status()
        ids = [p["id"] for p in http.get("/api/predictions/", params={"project": pid}).json()][: args.calls]
        body = {"result": result, "score": 0.3, "model_version": "v0002"}
        costs = {
            "GET /api/current-user/whoami": timed([lambda: http.get("/api/current-user/whoami")] * len(ids)),
            "GET /api/predictions/<id>/": timed([lambda i=i: http.get(f"/api/predictions/{i}/") for i in ids]),
            "PATCH /api/predictions/<id>/": timed(
                [lambda i=i: http.patch(f"/api/predictions/{i}/", json=body) for i in ids]
            ),
            "DELETE /api/predictions/<id>/": timed([lambda i=i: http.delete(f"/api/predictions/{i}/") for i in ids]),
        }
    finally:
        stop_process(studio.process)
    record = {
        **run_record("benchmarks.push_design.request_cost"),
        "costs": costs,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(costs, indent=1))


if __name__ == "__main__":
    main()
