"""``textal export``: a project's labels, resolved as the worker resolves them, in a file ready to train on.

Labels come from Label Studio (the truth now) or, with ``--data-dir``, from the worker's mirror of the
project (as of its last read; no Label Studio needed). Several annotations per task are resolved by
the agreement rule (``textal.quality.agreement``); each row carries its agreement ratio, whether annotators
disputed it, whether it is in the evaluation slice, and whether the last review marked its label as
probably wrong. A task whose annotators tied has no label to
export and is counted instead. The writers are ``textal.data.writers``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_backend.config import MAX_TEXT_CHARS
from ml_backend.labelstudio.annotations import read_snapshot
from ml_backend.labelstudio.client import Studio
from ml_backend.labelstudio.schema import TaskSchema, parse_label_config
from ml_backend.labelstudio.tasks import is_eval, is_marked, task_text
from ml_backend.state.projects import ProjectRegistry
from ml_backend.state.workfiles import ProjectFiles
from textal.data.writers import ExportRow
from textal.errors import DataError
from textal.quality.agreement import resolve


@dataclass(frozen=True)
class Exported:
    rows: list[ExportRow]
    schema: TaskSchema
    ties: int  # tasks whose annotators tied: no label, not exported
    unreadable: int  # labelled tasks without a readable text


def resolved_rows(
    tasks: Iterable[dict[str, Any]],
    texts: dict[int, str | None],
    evals: set[int],
    schema: TaskSchema,
    threshold: float,
    marked: set[int] | frozenset[int] = frozenset(),
) -> Exported:
    """Rows for the labelled tasks among ``tasks`` (each with its ``annotations``); ``marked``: the tasks the last
    review marked as probably wrong."""
    snapshot = read_snapshot(tasks, schema)
    report = resolve(snapshot.votes, threshold=threshold, multi_label=schema.multi_label, label_set=schema.labels)
    rows, ties, unreadable = [], 0, 0
    for item in sorted(report.items, key=lambda it: it.item):
        text = texts.get(int(item.item))
        if item.label is None:
            ties += 1
        elif text is None:
            unreadable += 1
        else:
            rows.append(
                ExportRow(
                    int(item.item),
                    text,
                    item.label,
                    round(float(item.ratio), 4),
                    item.annotations,
                    bool(item.flagged),
                    int(item.item) in evals,
                    int(item.item) in marked,
                )
            )
    return Exported(rows, schema, ties, unreadable)


def from_studio(studio: Studio, project_id: int, threshold: float) -> Exported:
    """The project's labels as Label Studio holds them now."""
    config = studio._raw("GET", f"api/projects/{project_id}/", f"reading project {project_id}").get("label_config", "")
    schema = parse_label_config(config)
    tasks = studio.labelled_tasks(project_id)
    texts = {t["id"]: task_text(t, schema, MAX_TEXT_CHARS).text for t in tasks}
    evals = {t["id"] for t in tasks if is_eval(t["data"])}
    return resolved_rows(tasks, texts, evals, schema, threshold, {t["id"] for t in tasks if is_marked(t["data"])})


def from_mirror(data_dir: Path, project_id: int, threshold: float) -> Exported:
    """The project's labels as the worker last read them into its data folder."""
    registry = ProjectRegistry(data_dir)
    state = registry.get(project_id)
    if state is None:
        known = ", ".join(map(str, registry.ids())) or "none"
        raise DataError(f"{data_dir}: no project {project_id} (projects there: {known})")
    files = ProjectFiles(registry, project_id)
    mirror = files.mirror()
    pool = {t.id: t for t in mirror.tasks()}
    marked = {int(t) for t in (files.state().get("review_marks") or {})}
    return resolved_rows(
        mirror.annotated(),
        {i: t.text for i, t in pool.items()},
        {i for i, t in pool.items() if t.eval},
        state.schema,
        threshold,
        marked,
    )
