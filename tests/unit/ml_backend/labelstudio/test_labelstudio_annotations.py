"""Label Studio annotations -> votes per task, and the label-set fingerprint that decides whether to retrain."""

from __future__ import annotations

from ml_backend.labelstudio.annotations import annotation_vote, read_snapshot
from ml_backend.labelstudio.schema import parse_label_config

SINGLE = parse_label_config(
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
MULTI = parse_label_config(
    '<View><Text name="text" value="$text"/>'
    '<Choices name="topic" toName="text" choice="multiple"><Choice '
    'value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>'
)


def ann(aid, choices, *, from_name="label", cancelled=False, updated="2026-01-01T00:00:00Z"):
    result = (
        []
        if choices is None
        else [{"from_name": from_name, "to_name": "text", "type": "choices", "value": {"choices": choices}}]
    )
    return {"id": aid, "result": result, "was_cancelled": cancelled, "updated_at": updated}


def test_cancelled_and_unusable_annotations_give_no_vote_but_usable_ones_do():
    tasks = [
        {"id": 1, "annotations": [ann(1, ["spam"]), ann(2, ["ham"])]},
        {"id": 2, "annotations": [ann(3, None, cancelled=True)]},  # skipped: not labelled at all
        {"id": 3, "annotations": [ann(4, None)]},  # submitted without a choice
        {"id": 4, "annotations": [ann(5, ["spam", "ham"])]},  # two choices in a single-choice control
        {"id": 5, "annotations": [ann(6, ["ham"], from_name="other")]},  # another control
    ]
    snap = read_snapshot(tasks, SINGLE)
    assert snap.votes == {1: ["spam", "ham"]}
    assert snap.annotated == {1, 3, 4, 5}
    assert snap.annotations == 6 and snap.unusable == 3


def test_choices_the_config_no_longer_has_are_dropped_and_counted():
    snap = read_snapshot(
        [{"id": 1, "annotations": [ann(1, ["eggs"])]}, {"id": 2, "annotations": [ann(2, ["ham"])]}], SINGLE
    )
    assert snap.votes == {2: ["ham"]} and snap.unknown_labels == {"eggs": 1}


def test_multi_label_votes_are_sorted_label_sets_and_an_empty_choice_is_a_vote_for_none():
    assert annotation_vote(ann(1, ["c", "a", "c"], from_name="topic"), MULTI) == (("a", "c"), [])
    assert annotation_vote(ann(1, [], from_name="topic"), MULTI) == ((), [])
    assert annotation_vote(ann(1, None, from_name="topic"), MULTI) == (None, [])


def test_the_fingerprint_changes_when_an_annotation_is_added_edited_cancelled_or_deleted():
    base = [{"id": 1, "annotations": [ann(1, ["spam"])]}, {"id": 2, "annotations": [ann(2, ["ham"])]}]
    fp = read_snapshot(base, SINGLE).fingerprint
    assert read_snapshot([dict(t) for t in base], SINGLE).fingerprint == fp  # same set, same print
    assert read_snapshot(base + [{"id": 3, "annotations": [ann(3, ["ham"])]}], SINGLE).fingerprint != fp
    edited = [base[0], {"id": 2, "annotations": [ann(2, ["spam"], updated="2026-01-02T00:00:00Z")]}]
    assert read_snapshot(edited, SINGLE).fingerprint != fp
    cancelled = [base[0], {"id": 2, "annotations": [ann(2, ["ham"], cancelled=True)]}]
    assert read_snapshot(cancelled, SINGLE).fingerprint != fp
    assert read_snapshot(base[:1], SINGLE).fingerprint != fp  # deleted


def test_the_guess_line_a_prefilled_prediction_copies_into_the_annotation_is_ignored_and_the_choice_is_read():
    guessed = parse_label_config(
        '<View><Text name="text" value="$text"/><TextArea name="textal_guess" toName="text" editable="false"/>'
        '<Choices name="label" toName="text" choice="single"><Choice '
        'value="ham"/><Choice value="spam"/></Choices></View>'
    )
    # as Label Studio 1.23 saves an annotation whose annotator changed the pre-filled guess "spam" to "ham"
    line = {
        "id": "Vma7TRCRNv",
        "from_name": "textal_guess",
        "to_name": "text",
        "type": "textarea",
        "value": {"text": ["Model's guess: spam (87 % sure)"]},
        "origin": "prediction",
        "readonly": True,
    }
    changed = {
        "id": "R1uuUNxvWg",
        "from_name": "label",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": ["ham"]},
        "origin": "prediction-changed",
        "score": 0.87,
    }
    assert annotation_vote({"result": [changed, line]}, guessed) == ("ham", [])
    assert annotation_vote({"result": [line, changed]}, SINGLE) == ("ham", [])  # a config without the line: same
    assert annotation_vote({"result": [line]}, guessed) == (None, [])  # the choice cleared: no vote, not "spam"
    snapshot = read_snapshot([{"id": 7, "annotations": [{"id": 1, "result": [line, changed]}]}], guessed)
    assert snapshot.votes == {7: ["ham"]} and snapshot.unusable == 0 and not snapshot.unknown_labels
