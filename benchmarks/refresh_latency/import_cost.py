"""What one push costs Label Studio as the project grows: delete 100 tasks' predictions, import 100, switch version.

Starts a real Label Studio (fresh SQLite data folder), imports tasks in steps up to each size, gives
every task a prediction of an old version (a project after the background fill), then times, twice
per size, the three calls the worker makes for a head of 100 tasks, through textal's own client.

    .venv/bin/python -m benchmarks.refresh_latency.import_cost                   # Label Studio as textal starts it
    .venv/bin/python -m benchmarks.refresh_latency.import_cost --default-import  # its default prediction import
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.ls_stack import SPAM_CONFIG, label_studio_server, stop_process
from ml_backend.labelstudio.client import Studio
from ml_backend.labelstudio.server_env import BATCHED_PREDICTION_IMPORT
from tests.support.ls_project import choice

REPO = Path(__file__).resolve().parents[2]


def prediction(task: int, label: str, score: float, version: str) -> dict:
    return {
        "task": task,
        "score": score,
        "model_version": version,
        "result": choice(label),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,40000", help="project sizes, comma-separated, ascending")
    parser.add_argument(
        "--default-import",
        action="store_true",
        help="run Label Studio without the batched prediction import textal turns on",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="textal-import-cost-"))
    # without the flag: Label Studio's default prediction import
    studio_server = label_studio_server(work, without=tuple(BATCHED_PREDICTION_IMPORT) if args.default_import else ())
    studio_server.launch()
    print(
        "- command: `.venv/bin/python -m benchmarks.refresh_latency.import_cost"
        + (f" --sizes {args.sizes}" if args.sizes != "1000,10000,40000" else "")
        + (" --default-import" if args.default_import else "")
        + "`"
    )
    print(
        "- Label Studio's prediction import: "
        f"{'its default' if args.default_import else 'batched (textal sets the flag)'}\n"
    )
    print("| tasks | delete 100 tasks' predictions s | import 100 predictions s | set model_version s |")
    print("|---|---|---|---|")
    try:
        studio_server.wait_until_up()
        url, token = studio_server.url, studio_server.token
        studio = Studio(url, token, timeout=600)
        from label_studio_sdk import LabelStudio

        sdk = LabelStudio(base_url=url, api_key=token, timeout=600)
        pid = sdk.projects.create(title="import cost", label_config=SPAM_CONFIG).id
        ids: list[int] = []
        for size in (int(s) for s in args.sizes.split(",")):
            fresh = len(ids)
            while len(ids) < size:
                n = min(5000, size - len(ids))
                tasks = [{"text": f"text {len(ids) + i}"} for i in range(n)]
                ids += sorted(sdk.projects.import_tasks(id=pid, request=tasks, return_task_ids=True).task_ids)
            for start_at in range(fresh, len(ids), 1000):
                studio.import_predictions(
                    pid, [prediction(t, "spam", 0.5, "old") for t in ids[start_at : start_at + 1000]], chunk=1000
                )
            for rep in range(2):
                head, version = ids[rep * 100 : rep * 100 + 100], f"v{size}-{rep}"
                t0 = time.perf_counter()
                studio.delete_task_predictions(pid, head)
                t1 = time.perf_counter()
                studio.import_predictions(pid, [prediction(t, "ham", 0.1, version) for t in head], chunk=250)
                t2 = time.perf_counter()
                studio.set_model_version(pid, version)
                t3 = time.perf_counter()
                print(f"| {size:,} | {t1 - t0:.2f} | {t2 - t1:.2f} | {t3 - t2:.2f} |", flush=True)
    finally:
        stop_process(studio_server.process)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
