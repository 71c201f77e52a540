"""The one prediction builder: /predict answers and bulk-import items from scored rows."""

from __future__ import annotations

from ml_backend.labelstudio.predictions import Row, prediction, predictions
from ml_backend.labelstudio.schema import parse_label_config

SCHEMA = parse_label_config(
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def test_held_out_tasks_get_no_prefilled_guess_and_unknown_labels_are_never_emitted():
    rows = [Row(1, ["spam"], 0.2, 3, False), Row(2, ["ham"], 0.0, 1, True), Row(3, None, 1.0, None, False),
            Row(4, ["eggs"], 0.5, 0, False)]
    out = predictions(rows, SCHEMA, "v0007")
    assert out[0] == {"task": 1, "result": [SCHEMA.choices_result(["spam"])], "score": 0.2, "model_version": "v0007", "cluster": 3}
    assert out[1]["result"] == [] and out[1]["score"] == 0.0
    assert out[2] == {"task": 3, "result": [], "score": 1.0, "model_version": "v0007"}
    assert out[3]["result"] == []


def test_a_predict_answer_carries_the_skip_reason_and_an_import_item_does_not():
    row = Row(9, None, 1.0, None, False, skipped="task data has no 'text' key")
    assert prediction(row, SCHEMA, "v0001") == {"result": [], "score": 1.0, "model_version": "v0001",
                                                "skipped": "task data has no 'text' key"}
    assert predictions([row], SCHEMA, "v0001") == [{"task": 9, "result": [], "score": 1.0, "model_version": "v0001"}]
