"""Labels through Label Studio's label stream in real browsers, on the stack `make run` starts (`textal up`: a real
Label Studio, `textal serve`, `textal worker`, the SMS spam recipe): how many submits were refused or lost, submit ->
next task shown, and submit -> a new model_version in Label Studio; one annotator or several at once.

    .venv/bin/python -m benchmarks.label_stream_ui.run --labels 300 --out benchmarks/label_stream_ui/results.json
    .venv/bin/python -m benchmarks.label_stream_ui.run --labels 150 --annotators 3 \
        --out benchmarks/label_stream_ui/three.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from benchmarks.machine import run_record
from ml_backend.stack.up import ADMIN_EMAIL
from tests.support.browser import AnnotatorBrowser
from tests.support.servers import launch_up, up_args
from tests.support.stream_annotator import (
    Submit,
    VersionWatch,
    add_annotator,
    label_in_stream,
    lost,
    pace,
    refused_in_log,
    saved_labels,
)
from tests.support.waits import wait_until

REPO = Path(__file__).resolve().parents[2]

DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))
PACES = {"annotator": (1.0, 3.0), "none": (0.0, 0.0)}  # seconds an annotator spends on a task


def quantile(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return round(values[0], 3) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=int, default=300)
    ap.add_argument(
        "--pace", choices=sorted(PACES), default="annotator", help="annotator: 1-3 s a task; none: no pause"
    )
    ap.add_argument("--annotators", type=int, default=1, help="browsers labelling at once, each its own user")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "label_stream_ui" / "results.json")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="textal-ui-bench-")) / "home"
    log = home.parent / "up.log"
    proc = launch_up(up_args("spam", DATA / "sms_spam" / "test.csv", home), log)
    try:

        def ready() -> bool:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            return "Press Ctrl-C to stop" in (log.read_text(errors="replace") if log.exists() else "")

        wait_until(
            ready, 600, 1.0, what="textal up to be ready", details=lambda: log.read_text(errors="replace")[-3000:]
        )
        ports = json.loads((home / "ports.json").read_text())
        url, key = f"http://127.0.0.1:{ports['label_studio']}", (home / "ls-key").read_text().strip()
        password = (home / "ls-password").read_text().strip()
        http = httpx.Client(base_url=url, headers={"Authorization": f"Token {key}"}, timeout=60)
        [project] = [p for p in http.get("/api/projects/").json()["results"] if p["title"] == "SMS spam"]
        gold = gold_by_task(http, project["id"])
        ls_log = home / "logs" / "label-studio.log"
        offset = ls_log.stat().st_size
        people = [(ADMIN_EMAIL, password)] + [
            (f"annotator{n}@textal.test", f"annotator-{n}-password") for n in range(2, args.annotators + 1)
        ]
        for person in people[1:]:
            add_annotator(url, *person).close()
        with VersionWatch(url, key, project["id"]) as watch:
            submits = label_at_once(url, project["id"], gold, people, args.labels // len(people), args.pace)
            time.sleep(10)  # the last labels' versions
        refused_lines = refused_in_log(ls_log, offset)
        missing = lost(submits, saved_labels(url, key, project["id"]))
    finally:
        subprocess.run(
            [str(Path(sys.executable).parent / "textal"), "down", "--home", str(home)], capture_output=True, timeout=120
        )
    to_next = [s.seconds for s in submits if s.how == "next"]
    to_version = [t for t in (watch.first_change_after(s.submitted_at) for s in submits) if t is not None]
    record = {
        **run_record("benchmarks.label_stream_ui.run"),
        "labels": len(submits),
        "annotators": args.annotators,
        "pace": args.pace,
        "outcomes": dict(Counter(s.how for s in submits)),
        "refused_in_label_studio_log": len(refused_lines),
        "lost": len(missing),
        "model_versions_seen": len(set(watch.seen)),
        "submit_to_next_task_s": {
            "p50": quantile(to_next, 50),
            "p95": quantile(to_next, 95),
            "max": max(to_next, default=None),
        },
        "submit_to_new_model_version_s": {
            "p50": quantile(to_version, 50),
            "p95": quantile(to_version, 95),
            "max": round(max(to_version), 3) if to_version else None,
        },
        "submits": [s.__dict__ for s in submits],
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "submits"}, indent=1))


def label_at_once(
    url: str, project_id: int, gold: dict[int, str], people: list[tuple[str, str]], each: int, kind: str
) -> list[Submit]:
    """Every person labels ``each`` tasks in a browser of their own, all at the same time."""
    submits: list[Submit] = []
    errors: list[BaseException] = []

    def annotate(n: int) -> None:
        try:
            with AnnotatorBrowser() as browser:
                browser.login(url, *people[n])
                submits.extend(
                    label_in_stream(
                        browser, url, project_id, gold, each, pace(*PACES[kind], seed=n), annotator=people[n][0]
                    )
                )
        except BaseException as exc:  # noqa: BLE001 (raised below)
            errors.append(exc)

    threads = [threading.Thread(target=annotate, args=(n,)) for n in range(len(people))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sorted(submits, key=lambda s: s.submitted_at)


def gold_by_task(http: httpx.Client, project_id: int) -> dict[int, str]:
    """Each task's gold label, from the demo file's label column by text."""
    import csv

    with open(DATA / "sms_spam" / "test.csv", newline="") as fh:
        by_text = {r["text"]: r["label"] for r in csv.DictReader(fh)}
    out, page = {}, 1
    while True:
        answer = http.get("/api/tasks/", params={"project": project_id, "page": page, "page_size": 500})
        if answer.status_code == 404:
            return out
        data = answer.json()
        out.update({t["id"]: by_text[t["data"]["text"]] for t in data["tasks"]})
        if page * 500 >= data["total"]:
            return out
        page += 1


if __name__ == "__main__":
    main()
