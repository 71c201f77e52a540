"""What a push costs Label Studio when it never deletes a prediction an open editor may hold, against the design it
replaced (delete the head's predictions, then import).

A real Label Studio (fresh SQLite data folder, started as textal starts it); per size, a project whose every task
holds one prediction (a project after the background fill); then ``--refreshes`` refreshes in a row, each a new
version pushed to a head of 100 tasks that shifts a little every time (90 stay, 10 new), as labels do to it:

- ``replace`` (before issue 25): delete the head's predictions, import the new ones, switch the model_version;
- ``add`` (now): import the new ones under a new label, switch, and delete each replaced label whole once
  ``--keep`` refreshes have passed (the worker's ``--keep-replaced`` seconds over the pace of labels).

Per refresh it times the push, an annotator's ``GET /api/projects/<id>/next`` and the Data Manager's first page
ordered by score; at the end it counts the prediction rows and the database's size.

    .venv/bin/python -m benchmarks.push_design.run --out benchmarks/push_design/results.json
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.ls_stack import SPAM_CONFIG, start_label_studio, stop_process
from benchmarks.machine import run_record
from ml_backend.labelstudio.client import Studio
from tests.support.ls_project import choice

REPO = Path(__file__).resolve().parents[2]

HEAD = 100


def prediction(task: int, score: float, version: str) -> dict:
    return {
        "task": task,
        "score": score,
        "model_version": version,
        "result": choice("ham"),
    }


def heads(ids: list[int], refreshes: int, seed: int) -> list[list[int]]:
    """A head per refresh: 90 of the last one stay, 10 come from the rest."""
    rng = random.Random(seed)
    head, out = rng.sample(ids, HEAD), []
    for _ in range(refreshes):
        rest = list(set(ids) - set(head))
        head = rng.sample(head, HEAD - 10) + rng.sample(rest, 10)
        out.append(list(head))
    return out


def p(values: list[float], q: float) -> float:
    return (
        round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 4)
        if len(values) > 1
        else round(values[0], 4)
    )


def run_design(
    studio: Studio, http: httpx.Client, db: Path, size: int, design: str, refreshes: int, keep: int, seed: int
) -> dict:
    pid = studio.sdk.projects.create(title=f"{design} {size}", label_config=SPAM_CONFIG).id
    for start_at in range(0, size, 5000):
        http.post(
            f"/api/projects/{pid}/import",
            json=[{"text": f"message {i} of {size}"} for i in range(start_at, min(size, start_at + 5000))],
        ).raise_for_status()
    ids = studio.task_ids(pid)
    for start_at in range(0, size, 1000):
        studio.import_predictions(
            pid, [prediction(t, 0.5, "fill") for t in ids[start_at : start_at + 1000]], chunk=1000
        )
    studio.set_model_version(pid, "fill")
    studio.set_sampling(pid)
    push_s, next_s, page_s, replaced = [], [], [], ["fill"]
    rng = random.Random(seed)
    for n, head in enumerate(heads(ids, refreshes, seed)):
        label = f"v{n + 1:04d}"
        items = [prediction(t, rng.random() / 10, label) for t in head]
        started = time.monotonic()
        if design == "replace":
            studio.delete_task_predictions(pid, head)
        studio.import_predictions(pid, items, chunk=250)
        studio.set_model_version(pid, label)
        if design == "add":
            while len(replaced) > keep:
                studio.delete_model_version(pid, replaced.pop(0))
            replaced.append(label)
        push_s.append(time.monotonic() - started)
        started = time.monotonic()
        http.get(f"/api/projects/{pid}/next").raise_for_status()
        next_s.append(time.monotonic() - started)
        started = time.monotonic()
        http.get(
            "/api/tasks/",
            params={
                "project": pid,
                "page": 1,
                "page_size": 30,
                "fields": "all",
                "query": json.dumps({"ordering": ["tasks:predictions_score"]}),
            },
        ).raise_for_status()
        page_s.append(time.monotonic() - started)
    with sqlite3.connect(db) as con:
        rows = con.execute("select count(*) from prediction where project_id = ?", (pid,)).fetchone()[0]
        con.execute("pragma wal_checkpoint(TRUNCATE)")
    return {
        "size": size,
        "design": design,
        "refreshes": refreshes,
        "keep": keep if design == "add" else None,
        "push_s_p50": p(push_s, 50),
        "push_s_p95": p(push_s, 95),
        "next_task_s_p50": p(next_s, 50),
        "next_task_s_p95": p(next_s, 95),
        "dm_page_s_p50": p(page_s, 50),
        "dm_page_s_p95": p(page_s, 95),
        "prediction_rows": rows,
        "tasks": size,
        "db_mb_after": round(db.stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--refreshes", type=int, default=240)
    parser.add_argument(
        "--keep", type=int, default=180, help="refreshes a replaced label stays (900 s at a label per 5 s)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "push_design" / "results.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="textal-push-design-"))
    ls = start_label_studio(work)
    results = []
    try:
        url, token = ls.url, ls.token
        studio = Studio(url, token, timeout=600)
        http = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=600)
        for size in (int(s) for s in args.sizes.split(",")):
            for design in ("replace", "add"):
                result = run_design(
                    studio,
                    http,
                    ls.data_dir / "label_studio.sqlite3",
                    size,
                    design,
                    args.refreshes,
                    args.keep,
                    seed=size,
                )
                print(json.dumps(result), flush=True)
                results.append(result)
    finally:
        stop_process(ls.process)
    record = {
        **run_record("benchmarks.push_design.run"),
        "results": results,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
