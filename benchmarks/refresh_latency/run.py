"""Label-to-refresh latency: an annotation submitted in Label Studio -> new scores visible in Label Studio.

Starts a real Label Studio (fresh SQLite data dir in a temp folder), `textal serve` and `textal worker`
as separate processes, as a user would. A project gets 1,000 SMS spam tasks (test split); the
worker sets it up (uncertainty sampling, views, a 10 % evaluation slice) and embeds the pool once.
Ten seed labels (5 spam, 5 ham) give the first fast-tier model. Then, one annotation per round,
submitted through the API with its gold label, on:

1. the task Label Studio serves next (`GET /api/projects/<id>/next`; one in three is a slice task
   now that the evaluation slice is interleaved; the code before 2026-12-01 served the slice first);
2. the first task of the "textal: most informative first" view (training tasks);
3. the same, after a 1 s pause: the background fill of the version before is under way (before
   2026-12-01, a pause until the worker was deleting a stale version's predictions).

The clock runs from just before the POST until the project's ``model_version`` has switched to a
new version, which the worker sets once the head of the new order (``--head`` open tasks, all of
them in a small project) holds a prediction of it (checked after each round). A version the promotion rule holds
back changes no score; such rounds are counted, not timed. A last scenario submits a burst of annotations back to
back and times the refresh that includes all of them (coalescing: one retrain waits while one runs).

    .venv/bin/python -m benchmarks.refresh_latency.run     # 15 + 10 + 3 rounds, then a burst of 10
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

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
from ml_backend.config import WorkerSettings
from ml_backend.worker.eval_slice import eval_target
from tests.support.memory import peak_rss_mb
from tests.support.servers import postgres_server

REPO = Path(__file__).resolve().parents[2]


def rows(n: int) -> list[dict[str, str]]:
    """The first ``n`` SMS of the test split; past its end, test and train repeated, each copy's texts suffixed
    " [k]" so that every task differs (the labels are the originals')."""

    def read(name: str) -> list[dict[str, str]]:
        with open(DATA / "sms_spam" / name, newline="") as fh:
            return list(csv.DictReader(fh))

    test = read("test.csv")
    if n <= len(test):
        return test[:n]
    pool, out, copy = test + read("train.csv"), [], 0
    while len(out) < n:
        out += [{"text": r["text"] + (f" [{copy}]" if copy else ""), "label": r["label"]} for r in pool]
        copy += 1
    return out[:n]


def database_mb(folder: Path, database: str | None = None) -> float:
    """Label Studio's database, MB: its SQLite file with the write-ahead log, or the PostgreSQL ``database`` names."""
    if database is None:
        return sum(p.stat().st_size for p in folder.glob("label_studio.sqlite3*")) / 2**20
    from urllib.parse import urlsplit

    import psycopg2

    url = urlsplit(database)
    with psycopg2.connect(host=url.hostname, port=url.port, user=url.username, dbname=url.path.strip("/")) as db:
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return float(cursor.fetchone()[0]) / 2**20


IMPORT_BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=15, help="single-annotation rounds on the task Label Studio serves next"
    )
    parser.add_argument(
        "--view-rounds",
        type=int,
        default=10,
        help="single-annotation rounds on the first task of the 'most informative first' view",
    )
    parser.add_argument(
        "--pause-rounds",
        type=int,
        default=3,
        help="rounds after a 1 s pause (the background fill of the version before under way)",
    )
    parser.add_argument("--burst", type=int, default=10, help="annotations in the burst scenario (0: skip)")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="Label Studio's database: SQLite (its default) or a PostgreSQL this script starts (Debian's)",
    )
    parser.add_argument("--json", type=Path, default=None, help="append the run's raw figures (one JSON line) here")
    parser.add_argument(
        "--embeddings-from",
        type=Path,
        default=None,
        help="a worker data folder whose embedding cache to start from (a run before on the same "
        "tasks): the pool is then not embedded again, and the pool set-up is not what it times",
    )
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="textal-refresh-"))
    servers = contextlib.ExitStack()
    database = servers.enter_context(postgres_server(work)) if args.database == "postgresql" else None
    studio = label_studio_server(work, database=database)
    procs: list[subprocess.Popen] = []
    backend_port = free_port()
    env = textal_env(studio.url)  # serve and worker need the Label Studio they serve
    state = work / "backend-data"
    worker_log = work / "worker.log"
    if args.embeddings_from is not None:
        from ml_backend.state.layout import DataLayout

        shutil.copytree(DataLayout(args.embeddings_from).embeddings, DataLayout(state).embeddings)
    try:
        t = time.perf_counter()
        studio.launch()
        procs.append(studio.process)
        procs.append(start_worker(state, worker_log, env))
        procs.append(
            start_serve(work / "no-store", state, backend_port, work / "serve.log", env, "--log-level", "warning")
        )
        studio.wait_until_up()
        url, token = studio.url, studio.token
        wait_for_serve(backend_port, work / "serve.log")
        print(f"# Label Studio, textal serve and textal worker up in {time.perf_counter() - t:.0f} s", file=sys.stderr)

        from label_studio_sdk import LabelStudio

        ls = LabelStudio(base_url=url, api_key=token, timeout=300)
        http = ls._client_wrapper.httpx_client
        project = ls.projects.create(title="refresh latency", label_config=CONFIG)
        pid = project.id
        ls.ml.create(url=f"http://127.0.0.1:{backend_port}", project=pid, title="textal")
        data = rows(args.tasks)
        t = time.perf_counter()
        ids = []
        for start_at in range(0, len(data), IMPORT_BATCH):
            part = data[start_at : start_at + IMPORT_BATCH]
            ids += sorted(
                ls.projects.import_tasks(
                    id=pid, request=[{"text": r["text"]} for r in part], return_task_ids=True
                ).task_ids
            )
        import_s = time.perf_counter() - t
        gold = {tid: r["label"] for tid, r in zip(ids, data)}
        print(f"# {len(ids)} tasks imported in {import_s:.0f} s", file=sys.stderr)

        def mv() -> str | None:
            return ls.projects.get(id=pid).model_version or None

        wait(lambda: mv(), 3600, "the first predictions (the cold-start order)", worker_log, 0.5)
        first_s = time.perf_counter() - t
        wait(
            lambda: "scored new tasks" in worker_log.read_text(), 3600, "the first scoring of the pool", worker_log, 0.5
        )
        setup_s = time.perf_counter() - t
        print(
            f"# first predictions {first_s:.0f} s after the import began; pool set up and embedded in {setup_s:.0f} s",
            file=sys.stderr,
        )

        eval_ids = slice_ids(ls, pid, eval_target(args.tasks, WorkerSettings.eval_fraction, WorkerSettings.eval_min))
        print(f"# evaluation slice: {len(eval_ids)} tasks", file=sys.stderr)
        seed = [t for t in ids if t not in eval_ids and gold[t] == "spam"][:5] + [
            t for t in ids if t not in eval_ids and gold[t] == "ham"
        ][:5]
        for tid in seed:
            ls.annotations.create(id=tid, result=choice(gold[tid]))
        wait(lambda: (mv() or "").startswith("v"), 600, "the first model", worker_log, 0.2)
        time.sleep(3)
        labelled = set(seed)
        db_before, retrains_before = database_mb(studio.data_dir, database), len(_records(state, pid))

        views = {(v.data or {}).get("title"): v.id for v in ls.views.list(project=pid)}

        def from_stream() -> int:  # what an annotator pressing "Label All Tasks" gets
            return http.request(f"api/projects/{pid}/next", method="GET").json()["id"]

        def from_view() -> int:  # the first task of "textal: most informative first" (outside the slice)
            return next(
                iter(
                    ls.tasks.list(project=pid, view=views["textal: most informative first"], include="id", page_size=1)
                )
            ).id

        head = WorkerSettings(data_dir=state).head
        latencies, phases, held_back, served_eval = [], [], 0, 0
        kinds = []
        plan = [(from_stream, None)] * args.rounds + [(from_view, None)] * args.view_rounds
        plan += [(from_view, "after a pause")] * args.pause_rounds
        for pick, pause in plan:
            if pause:  # the fill of the version before under way
                time.sleep(1.0)
            before, records = mv(), _records(state, pid)
            tid = pick()
            assert tid not in labelled, "a labelled task was offered"
            served_eval += tid in eval_ids
            started = time.perf_counter()
            ls.annotations.create(id=tid, result=choice(gold[tid]))
            labelled.add(tid)

            def refreshed(before: str | None = before, records: list[dict] = records) -> str | None:
                if mv() != before:
                    return "new"
                new = _records(state, pid)[len(records) :]
                return "held back" if any(not r["promoted"] for r in new) else None

            outcome = wait(refreshed, 120, "a new model_version", worker_log)
            elapsed = time.perf_counter() - started
            if outcome == "held back":  # published but not promoted: no new scores to time
                held_back += 1
                continue
            latencies.append(elapsed)
            kinds.append(pause or ("slice" if tid in eval_ids else "training"))
            now = mv()
            counts = http.request(f"api/projects/{pid}/model-versions/", method="GET").json()
            open_tasks = args.tasks - len(labelled)
            assert counts.get(now, 0) >= min(head, open_tasks), (now, counts.get(now), open_tasks)
            phases.append(_last_record(state, pid))
            time.sleep(1.0)

        burst_s, burst_outcome = None, None
        if args.burst:
            pool = [t for t in ids if t not in labelled and t not in eval_ids][: args.burst]
            t0 = time.perf_counter()
            for tid in pool:
                ls.annotations.create(id=tid, result=choice(gold[tid]))
            submitted = time.perf_counter() - t0
            labelled |= set(pool)

            def burst_judged() -> str | None:
                """'new' once Label Studio orders by a version trained on every label, 'held back' once such a
                version was published but not promoted (the one serving stays: no new scores to wait for)."""
                record = _last_record(state, pid)
                if not record or record["labels"] != len(labelled):
                    return None
                if not record["promoted"]:
                    return "held back"
                return "new" if mv() == record["model_version"] else None

            burst_outcome = wait(burst_judged, 300, "a version trained on the whole burst", worker_log)
            burst_s = (submitted, time.perf_counter() - t0)
        db_after, retrains = database_mb(studio.data_dir, database), len(_records(state, pid)) - retrains_before
        worker_peak = peak_rss_mb(procs[1].pid)
    finally:
        for proc in reversed(procs):
            stop_process(proc)
        servers.close()

    lat = np.array(latencies)
    import torch

    keys = ["read", "embed", "fit", "evaluate", "centroids", "publish", "score", "push"]
    print(f"### Label-to-refresh latency, SMS spam, {args.tasks} tasks, fast tier (frozen MiniLM + logistic head)\n")
    print("- command: `.venv/bin/python -m benchmarks.refresh_latency.run" + _args_text(args) + "`")
    print(
        f"- machine: {cpu_name()}, {os.cpu_count()} cores visible, torch threads {torch.get_num_threads()}, no GPU; "
        f"Label Studio, textal serve, textal worker and this client on the same machine"
    )
    print(
        f"- versions: python {platform.python_version()}, label-studio {version('label-studio')}, label-studio-sdk "
        f"{version('label-studio-sdk')}, torch {torch.__version__}, huey {version('huey')}, textal {version('textal')}"
    )
    print(f"- load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    if args.tasks > 1115:
        print(
            f'- tasks: SMS spam test then train, repeated with a " [k]" suffix on each copy\'s texts to reach '
            f"{args.tasks}"
        )
    print(
        f"- import ({IMPORT_BATCH:,} tasks per request): {import_s:.0f} s; first predictions (Label Studio ordered by "
        f"the cold-start version) {first_s:.0f} s after the import began"
    )
    print(
        f"- pool set-up (sync {args.tasks} tasks, evaluation slice marked, pool embedded once): {setup_s:.0f} s"
        + (" (embeddings from the cache of a run before: not embedded here)" if args.embeddings_from else "")
    )
    print(
        f"- worker peak RSS (VmHWM): {worker_peak:.0f} MB; Label Studio's database: {db_before:.1f} MB at the first "
        f"model, {db_after:.1f} MB after {retrains} more retrains"
    )
    print(
        f"- labelled tasks from the evaluation slice (Label Studio offers them first): {served_eval}; "
        f"versions published but not promoted (not timed): {held_back}\n"
    )
    print(f"- Label Studio's database: {args.database}\n")
    print("| labelled task | rounds | p50 s | p95 s | p99 s | mean s | min s | max s | under 3 s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in ("slice", "training", "after a pause", "all"):
        sel = lat if kind == "all" else np.array([x for x, k in zip(latencies, kinds) if k == kind])
        if len(sel):
            print(
                f"| {kind} | {len(sel)} | {np.percentile(sel, 50):.2f} | {np.percentile(sel, 95):.2f} "
                f"| {np.percentile(sel, 99):.2f} | {sel.mean():.2f} "
                f"| {sel.min():.2f} | {sel.max():.2f} | {int((sel < 3).sum())}/{len(sel)} |"
            )
    print("\nWorker time per retrain (median over the rounds, seconds; from the worker's history):\n")
    print("| " + " | ".join(keys) + " | worker total |")
    print("|" + "---|" * (len(keys) + 1))
    med = {k: np.median([(p or {}).get("timings", {}).get(k, 0.0) for p in phases]) for k in keys}
    total = np.median([(p or {}).get("seconds", 0.0) for p in phases])
    print("| " + " | ".join(f"{med[k]:.2f}" for k in keys) + f" | {total:.2f} |")
    if args.json is not None:
        record = {
            **run_record("benchmarks.refresh_latency.run"),
            "cpu": cpu_name(),
            "tasks": args.tasks,
            "database": args.database,
            "latencies_s": [round(float(x), 3) for x in latencies],
            "kinds": kinds,
            "p50_s": float(np.percentile(lat, 50)),
            "p95_s": float(np.percentile(lat, 95)),
            "p99_s": float(np.percentile(lat, 99)),
            "worker_median_s": {**{k: float(med[k]) for k in keys}, "total": float(total)},
            "database_mb": [db_before, db_after],
            "burst_s": list(burst_s) if burst_s is not None else None,
            "burst_outcome": burst_outcome,
            "import_s": import_s,
            "setup_s": setup_s,
        }
        with open(args.json, "a") as fh:
            fh.write(json.dumps(record) + "\n")
    if burst_s is not None:
        done = (
            "scores including all of them visible"
            if burst_outcome == "new"
            else "a version trained on all of them published but held back by the promotion rule (no new scores)"
        )
        print(
            f"\nBurst: {args.burst} annotations submitted in {burst_s[0]:.1f} s; {done} "
            f"{burst_s[1]:.1f} s after the first submit ({burst_s[1] - burst_s[0]:.1f} s after the last)."
        )


def _records(state: Path, pid: int) -> list[dict]:
    from textal.store.history import read_records

    return read_records(state / "projects" / str(pid) / "worker" / "history.jsonl")


def _last_record(state: Path, pid: int) -> dict | None:
    records = _records(state, pid)
    return records[-1] if records else None


def slice_ids(ls: Any, project: int, target: int, tries: int = 60) -> set[int]:
    """The evaluation slice's task ids once Label Studio holds all ``target`` of them (the worker marks them after
    the first scoring; a round must know which of its tasks are slice tasks)."""
    ids: set[int] = set()
    for _ in range(tries):
        tasks = ls.tasks.list(project=project, include="id,data", page_size=1000)
        ids = {t.id for t in tasks if t.data.get("textal_eval") == 1}
        if len(ids) >= target:
            return ids
        time.sleep(5.0)
    raise SystemExit(f"the evaluation slice has {len(ids)} tasks in Label Studio, not the {target} the worker marks")


def _args_text(args) -> str:
    defaults = {
        "tasks": 1000,
        "rounds": 15,
        "view_rounds": 10,
        "pause_rounds": 3,
        "burst": 10,
        "embeddings_from": None,
        "database": "sqlite",
        "json": None,
    }
    return "".join(
        f" --{k.replace('_', '-')} {'DIR' if k == 'embeddings_from' else v}"
        for k, v in vars(args).items()
        if defaults.get(k) != v
    )


if __name__ == "__main__":
    main()
