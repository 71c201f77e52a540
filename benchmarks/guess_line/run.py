"""What the guess line costs a push: Label Studio's bulk import of N predictions, with the line and without it.

Starts a real Label Studio (textal's settings: its batched prediction import), makes two projects of the same
``--tasks`` SMS texts, one with the spam recipe's label config (the guess line, TextArea ``textal_guess``) and one
with the same config less the line, and times ``import_predictions`` (ONE request, as the worker's push sends it)
of 100 and 1,000 predictions built by textal's one prediction builder. Before each import the tasks' predictions
are deleted (untimed), as a push replaces them. The two variants alternate, ``--repeats`` times each.

    .venv/bin/python -m benchmarks.guess_line.run --tasks 1000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.ls_stack import start_label_studio, stop_process
from benchmarks.machine import cpu_name
from ml_backend.labelstudio.predictions import Row, predictions
from ml_backend.labelstudio.schema import parse_label_config

REPO = Path(__file__).resolve().parents[2]

WITH_LINE = (REPO / "recipes" / "spam" / "label_config.xml").read_text()
WITHOUT_LINE = (
    '<View><Header value="Is this message spam?"/><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single" showInline="true"><Choice value="ham" hotkey="1"/>'
    '<Choice value="spam" hotkey="2"/></Choices></View>'
)
SIZES = (100, 1000)


def rows(task_ids: list[int], seed: int) -> list[Row]:
    """Scored rows as a push has them: a guess with its confidence, a tenth held out."""
    rng = random.Random(seed)
    return [
        Row(
            t,
            [rng.choice(["ham", "spam"])],
            rng.random(),
            rng.randrange(8),
            rng.random() < 0.1,
            confidence=0.5 + rng.random() / 2,
        )
        for t in task_ids
    ]


def timed_import(ls, project_id: int, items: list[dict]) -> float:
    """Seconds for one bulk import of ``items``, their tasks' predictions deleted first (untimed)."""
    ls.actions.create(
        id="delete_tasks_predictions",
        project=project_id,
        selected_items={"all": False, "included": [i["task"] for i in items]},
    )
    t = time.perf_counter()
    ls.projects.import_predictions(id=project_id, request=items)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="textal-guess-line-"))
    studio = start_label_studio(work)
    try:
        from label_studio_sdk import LabelStudio

        ls = LabelStudio(base_url=studio.url, api_key=studio.token, timeout=600)
        projects = {}
        for name, config in (("without", WITHOUT_LINE), ("with", WITH_LINE)):
            project = ls.projects.create(title=f"guess line {name}", label_config=config)
            ls.projects.import_tasks(
                id=project.id, request=[{"text": f"message {i}: call me back"} for i in range(args.tasks)]
            )
            ids = sorted(t.id for t in ls.tasks.list(project=project.id, fields="all", page_size=1000))
            projects[name] = (project.id, ids, parse_label_config(config))
        times: dict[tuple[str, int], list[float]] = {}
        sizes: dict[tuple[str, int], int] = {}
        for n in SIZES:
            for rep in range(args.repeats):
                for name, (pid, ids, schema) in projects.items():
                    items = predictions(rows(ids[:n], rep), schema, f"v{rep + 1:04d}")
                    sizes[(name, n)] = len(json.dumps(items))
                    times.setdefault((name, n), []).append(timed_import(ls, pid, items))
        print(f"Label Studio bulk import, {args.tasks} tasks per project, {args.repeats} repeats, {cpu_name()}")
        print("| predictions | guess line | median s | min s | max s | request bytes |")
        print("|---:|---|---:|---:|---:|---:|")
        for (name, n), values in times.items():
            print(
                f"| {n} | {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} "
                f"| {sizes[(name, n)]:,} |"
            )
    finally:
        stop_process(studio.process)


if __name__ == "__main__":
    main()
