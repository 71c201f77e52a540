"""The one prediction builder: /predict answers and bulk-import items from scored rows."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.predictions import Row, guess_line, prediction, predictions
from ml_backend.labelstudio.schema import parse_label_config

SCHEMA = parse_label_config(
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
GUESSED = parse_label_config(  # the shipped recipes' shape: a read-only line for the model's guess
    '<View><Text name="text" value="$text"/><TextArea name="textal_guess" toName="text" editable="false"/>'
    '<Choices name="label" toName="text" choice="multiple"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def test_held_out_tasks_get_no_prefilled_guess_and_unknown_labels_are_never_emitted():
    rows = [
        Row(1, ["spam"], 0.2, 3, False),
        Row(2, ["ham"], 0.0, 1, True),
        Row(3, None, 1.0, None, False),
        Row(4, ["eggs"], 0.5, 0, False),
    ]
    out = predictions(rows, SCHEMA, "v0007")
    assert out[0] == {
        "task": 1,
        "result": [SCHEMA.choices_result(["spam"])],
        "score": 0.2,
        "model_version": "v0007",
        "cluster": 3,
    }
    assert out[1]["result"] == [] and out[1]["score"] == 0.0
    assert out[2] == {"task": 3, "result": [], "score": 1.0, "model_version": "v0007"}
    assert out[3]["result"] == []


def test_a_predict_answer_carries_the_skip_reason_and_an_import_item_does_not():
    row = Row(9, None, 1.0, None, False, skipped="task data has no 'text' key")
    assert prediction(row, SCHEMA, "v0001") == {
        "result": [],
        "score": 1.0,
        "model_version": "v0001",
        "skipped": "task data has no 'text' key",
    }
    assert predictions([row], SCHEMA, "v0001") == [{"task": 9, "result": [], "score": 1.0, "model_version": "v0001"}]


def test_a_guess_writes_the_models_line_with_its_confidence_after_the_choice_in_the_same_prediction():
    [item] = predictions([Row(1, ["spam"], 0.2, 3, False, confidence=0.8749)], GUESSED, "v0007")
    choice, line = item["result"]
    assert choice == {**GUESSED.choices_result(["spam"]), "score": 0.8749}  # first: what readers of result[0] expect
    assert line == GUESSED.guess_result("Model's guess: spam (87 % sure)") and line["readonly"] is True
    assert item["score"] == 0.2  # the prediction's score stays textal's order


def test_no_guess_no_line_held_out_tasks_included_and_unknown_labels_are_left_out_of_it():
    rows = [
        Row(2, ["spam"], 0.0, 1, True, confidence=0.99),
        Row(3, None, 1.0, None, False),
        Row(4, ["eggs"], 0.5, 0, False, confidence=0.9),
        Row(5, [], 0.5, 0, False, confidence=0.9),
        Row(6, ["spam", "eggs"], 0.1, 0, False, confidence=0.7),
    ]
    out = predictions(rows, GUESSED, "v0007")
    assert [item["result"] for item in out[:4]] == [[], [], [], []]
    assert out[4]["result"][1]["value"]["text"] == ["Model's guess: spam (70 % sure)"]


@pytest.mark.parametrize(
    "labels, confidence, line",
    [
        (["spam"], 0.999, "Model's guess: spam (99 % sure)"),  # rounded down: never surer than the model
        (["spam"], 1.0, "Model's guess: spam (100 % sure)"),
        (["spam"], 0.58, "Model's guess: spam (58 % sure)"),  # 0.58 * 100 is 57.99... in floating point
        (["billing", "refund"], 0.61, "Model's guess: billing, refund (61 % sure)"),
        (["spam"], None, "Model's guess: spam"),  # confidence unknown: none claimed
    ],
)
def test_the_guess_line_names_the_guess_and_how_sure_the_model_is(labels, confidence, line):
    assert guess_line(labels, confidence) == line
