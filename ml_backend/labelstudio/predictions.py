"""The one prediction builder: a scored task (``Row``) as Label Studio wants it, in a /predict answer or a bulk import.

Held-out (evaluation-slice) tasks get no pre-filled choice, so the annotator has no guess to anchor
on; choices the config does not have are never emitted; a task textal cannot read carries the reason
(``skipped``) in a /predict answer. Where the config has the guess line (``schema.GUESS_NAME``), a guess
also writes "Model's guess: spam (87 % sure)" into it, in the same prediction: no request more per task.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ml_backend.labelstudio.schema import TaskSchema

NO_MODEL_VERSION = "no-model"  # the model_version answered before any model is published
COLD_START_VERSION = "textal-cold-start"  # model_version of the coverage ordering before any model exists
TEXTAL_VERSION_RE = re.compile(
    rf"^((base-)?v\d{{4,}}|{COLD_START_VERSION})(\.\d+)?$"
)  # the model_versions textal pushes (".N": a push again)


@dataclass(frozen=True)
class Row:
    """One scored task: the labels to pre-fill (None: none), its score and cluster, whether it is held out,
    why it could not be read (None when it could), how informative it is and how sure the model is of
    its guess (each None when unknown)."""

    task_id: int | None
    choices: list[str] | None
    score: float
    cluster: int | None
    held_out: bool
    skipped: str | None = None
    informativeness: float | None = None
    confidence: float | None = None


def guess_line(labels: Sequence[str], confidence: float | None) -> str:
    """What the guess line says: the model's guess, and how sure it is when known (whole percent, rounded down,
    so that it never claims more than the model)."""
    line = f"Model's guess: {', '.join(labels)}"
    if confidence is None:
        return line
    percent = min(100, max(0, math.floor(float(confidence) * 100 + 1e-9)))
    return f"{line} ({percent} % sure)"


def guess_result(row: Row, schema: TaskSchema) -> list[dict[str, Any]]:
    """The regions that pre-fill a task's guess: the choice first (its ``score``: the model's confidence, kept for
    API readers; Label Studio 1.23 does not show it), then the guess line when the config has one. Empty for a
    held-out task, or when no guessed label is one of the config's choices."""
    if not row.choices or row.held_out:
        return []
    known = set(schema.labels)
    chosen = [c for c in row.choices if c in known]
    if not chosen:
        return []
    choice = schema.choices_result(chosen)
    if row.confidence is not None:
        choice["score"] = round(float(row.confidence), 4)
    line = schema.guess_result(guess_line(chosen, row.confidence))
    return [choice] if line is None else [choice, line]


def prediction(row: Row, schema: TaskSchema, model_version: str) -> dict[str, Any]:
    """The /predict answer for one task: its guess (``guess_result``) and its place in textal's order (``score``)."""
    item: dict[str, Any] = {
        "result": guess_result(row, schema),
        "score": float(row.score),
        "model_version": model_version,
    }
    if row.cluster is not None:
        item["cluster"] = int(row.cluster)
    if row.skipped is not None:
        item["skipped"] = row.skipped
    return item


def predictions(rows: Sequence[Row], schema: TaskSchema, model_version: str) -> list[dict[str, Any]]:
    """Prediction dicts for Label Studio's bulk ``import_predictions`` (each names its task)."""
    out = []
    for row in rows:
        item = prediction(row, schema, model_version)
        item.pop("skipped", None)
        if row.task_id is None:  # a bulk prediction names its task (what int(None) would raise, said plainly)
            raise TypeError("a prediction for Label Studio's bulk import needs the task's id")
        out.append({"task": int(row.task_id), **item})
    return out


def no_model_results(n: int, reason: str) -> list[dict[str, Any]]:
    """An empty prediction per task when no model is published yet."""
    return [{"result": [], "model_version": NO_MODEL_VERSION, "skipped": reason} for _ in range(n)]
