"""`textal export` resolves a project's annotations as the worker does: agreement, disputes, ties, the slice mark."""

from __future__ import annotations

from ml_backend.export import from_mirror, resolved_rows
from ml_backend.labelstudio.schema import parse_label_config
from ml_backend.state.projects import ProjectRef, ProjectRegistry
from ml_backend.state.workfiles import ProjectFiles

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def ann(label: str | None, cancelled: bool = False, aid: int = 0) -> dict:
    result = (
        []
        if label is None
        else [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]
    )
    return {"id": aid, "result": result, "was_cancelled": cancelled, "updated_at": "2026-12-01T00:00:00"}


TASKS = [
    {"id": 1, "annotations": [ann("spam")]},
    {"id": 2, "annotations": [ann("ham"), ann("ham"), ann("spam")]},  # 2 of 3 agree: resolved, not disputed
    {"id": 3, "annotations": [ann("ham"), ann("spam"), ann("spam"), ann("ham"), ann("spam")]},  # 3 of 5: disputed
    {"id": 4, "annotations": [ann("ham"), ann("spam")]},  # a tie: no label
    {"id": 5, "annotations": [ann("spam", cancelled=True)]},  # skipped: not a label
]
TEXTS = {1: "win a prize", 2: "see you at lunch", 3: "call me", 4: "maybe", 5: "skipped one"}


def test_rows_carry_the_resolved_label_agreement_dispute_and_slice_mark_and_ties_are_counted():
    exported = resolved_rows(TASKS, TEXTS, {2}, parse_label_config(CONFIG), threshold=2 / 3)
    rows = {r.task_id: r for r in exported.rows}
    assert sorted(rows) == [1, 2, 3] and exported.ties == 1
    assert (rows[1].label, rows[1].agreement, rows[1].annotations, rows[1].disputed, rows[1].eval) == (
        "spam",
        1.0,
        1,
        False,
        False,
    )
    assert (rows[2].label, rows[2].agreement, rows[2].disputed, rows[2].eval) == ("ham", 0.6667, False, True)
    assert (rows[3].label, rows[3].agreement, rows[3].disputed) == ("spam", 0.6, True)


def test_the_mirror_gives_the_same_rows_without_label_studio(tmp_path):
    registry = ProjectRegistry(tmp_path)
    registry.setup(ProjectRef(3, 1), CONFIG)
    mirror = ProjectFiles(registry, 3).mirror()
    schema = parse_label_config(CONFIG)
    mirror.add([{"id": t["id"], "data": {"text": TEXTS[t["id"]]}} for t in TASKS], schema, 1000)
    mirror.set_eval([2])
    mirror.set_annotations({t["id"]: t["annotations"] for t in TASKS})
    assert from_mirror(tmp_path, 3, 2 / 3) == resolved_rows(TASKS, TEXTS, {2}, schema, 2 / 3)
