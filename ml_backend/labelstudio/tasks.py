"""A Label Studio task as textal reads it: the text it classifies (or why it has none), and the evaluation mark."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_backend.labelstudio.schema import TaskSchema

EVAL_KEY = "textal_eval"  # task data field that marks the evaluation slice in Label Studio
REVIEW_KEY = "textal_review"  # how likely the task's label is wrong (0: not marked), for the review view
SUGGESTION_KEY = "textal_suggestion"  # the label the review suggests, with the model's probability


def is_eval(data: dict[str, Any]) -> bool:
    """True when task data marks the task as part of the evaluation slice."""
    value = data.get(EVAL_KEY)
    return isinstance(value, (bool, int, float, str)) and value in (1, "1", "true")  # True == 1


def is_marked(data: dict[str, Any]) -> bool:
    """True when task data carries a review mark (its label is probably wrong)."""
    value = data.get(REVIEW_KEY)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class TaskText:
    """A task's text, or why it has none."""

    text: str | None
    skipped: str | None = None


def task_text(task: dict[str, Any], schema: TaskSchema, max_chars: int) -> TaskText:
    """The text textal classifies for ``task``, or the reason it cannot: a reason that never echoes the task (only the
    config's data key, bounded by ``schema.MAX_NAME_CHARS``), so every task's reason has a bounded length."""
    data = task.get("data")
    if not isinstance(data, dict):
        return TaskText(None, "task has no 'data' object")
    if schema.text_key not in data:
        return TaskText(
            None,
            f"task data has no {schema.text_key!r} key (the config's Text reads it; the task has "
            f"{len(data)} other key{'' if len(data) == 1 else 's'})",
        )
    text = data[schema.text_key]
    if not isinstance(text, str):
        return TaskText(None, f"task data {schema.text_key!r} is {type(text).__name__}, not text")
    if not text.strip():
        return TaskText(None, f"task data {schema.text_key!r} is empty")
    if len(text) > max_chars:
        return TaskText(None, f"text has {len(text)} characters; the limit is {max_chars} (TEXTAL_MAX_TEXT_CHARS)")
    return TaskText(text)
