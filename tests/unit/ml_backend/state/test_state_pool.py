"""The pool mirror and the evaluation slice: which tasks are held out, and that they stay held out."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.schema import parse_label_config
from ml_backend.labelstudio.tasks import EVAL_KEY, is_eval
from ml_backend.state.pool_mirror import PoolMirror
from ml_backend.worker.eval_slice import choose_eval_topup, eval_target

SCHEMA = parse_label_config(
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def tasks(ids, **extra):
    return [{"id": i, "data": {"text": f"text number {i}", **extra}} for i in ids]


def test_the_mirror_keeps_texts_flags_and_drops_deleted_tasks(tmp_path):
    mirror = PoolMirror(tmp_path)
    mirror.add(
        tasks(range(1, 6)) + [{"id": 6, "data": {"text": "  "}}, {"id": 7, "data": {"other": "x"}}], SCHEMA, 1000
    )
    mirror.add([{"id": 8, "data": {"text": "marked by a person", EVAL_KEY: 1}}], SCHEMA, 1000)
    by_id = {t.id: t for t in mirror.tasks()}
    assert len(mirror) == 8 and mirror.max_id() == 8
    assert by_id[6].text is None and by_id[7].text is None and by_id[1].text == "text number 1"
    assert by_id[8].eval and not by_id[1].eval
    mirror.set_labelled([1, 2])
    mirror.set_labelled([2, 3])  # a deleted annotation un-labels task 1
    mirror.set_trained([2])
    mirror.set_scored([4, 5], "v0002")
    by_id = {t.id: t for t in mirror.tasks()}
    assert [i for i, t in by_id.items() if t.labelled] == [2, 3] and by_id[2].trained and by_id[4].scored == "v0002"
    assert mirror.keep_only([1, 2, 3, 4]) == [5, 6, 7, 8]
    assert [t.id for t in PoolMirror(tmp_path).tasks()] == [1, 2, 3, 4]


def test_a_task_once_in_the_slice_stays_there_when_its_data_is_read_again(tmp_path):
    mirror = PoolMirror(tmp_path)
    mirror.add(tasks([1, 2]), SCHEMA, 1000)
    mirror.set_eval([1])  # chosen, not yet marked in Label Studio
    mirror.add(tasks([1, 2]), SCHEMA, 1000)
    assert [t.id for t in mirror.tasks() if t.eval] == [1]


@pytest.mark.parametrize(
    "value, marked", [(1, True), (True, True), ("1", True), ("true", True), (0, False), (None, False), ([1], False)]
)
def test_the_eval_mark_in_task_data(value, marked):
    assert is_eval({EVAL_KEY: value}) is marked


@pytest.mark.parametrize(
    "n, fraction, minimum, size",
    [
        (1000, 0.1, 50, 100),
        (200, 0.1, 50, 50),
        (60, 0.1, 50, 30),
        (0, 0.1, 50, 0),
        (1, 0.1, 50, 0),
        (5000, 0.05, 50, 250),
    ],
)
def test_the_slice_is_a_fraction_of_the_pool_at_least_the_minimum_at_most_half(n, fraction, minimum, size):
    assert eval_target(n, fraction, minimum) == size


def test_the_slice_is_topped_up_from_readable_tasks_never_labelled_or_trained_on(tmp_path):
    mirror = PoolMirror(tmp_path)
    mirror.add(tasks(range(1, 201)) + [{"id": 201, "data": {"text": ""}}], SCHEMA, 1000)
    mirror.set_labelled(range(1, 31))
    mirror.set_trained(range(31, 61))
    first = choose_eval_topup(mirror, 0.1, 10, seed=3)
    assert len(first) == 20 and all(61 <= i <= 200 for i in first)
    assert choose_eval_topup(mirror, 0.1, 10, seed=3) == first  # same pool, same seed: same slice
    mirror.set_eval(first)
    assert choose_eval_topup(mirror, 0.1, 10, seed=3) == []
    mirror.add(tasks(range(300, 400)), SCHEMA, 1000)  # an import of 100 more tasks
    more = choose_eval_topup(mirror, 0.1, 10, seed=3)
    assert len(more) == 10 and not set(more) & set(first)


def test_mirrored_annotations_are_replaced_per_task_or_all_at_once(tmp_path):
    mirror = PoolMirror(tmp_path)
    mirror.add(tasks([1, 2, 3]), SCHEMA, 1000)
    ann = {
        "id": 9,
        "updated_at": "2026-01-01T00:00:00Z",
        "was_cancelled": False,
        "result": [],
        "completed_by": 1,
        "lead_time": 3.2,
        "task": 1,
    }
    mirror.set_annotations({1: [ann], 2: [ann]})
    assert [t["id"] for t in mirror.annotated()] == [1, 2]
    kept = ("id", "updated_at", "was_cancelled", "result", "completed_by")  # the annotator, for annotator quality
    assert mirror.annotated()[0]["annotations"] == [{k: ann[k] for k in kept}]
    mirror.set_annotations({2: []})  # its annotation was deleted
    assert [t["id"] for t in mirror.annotated()] == [1]
    mirror.set_annotations({3: [ann]}, replace_all=True)  # a full read: only what it found
    assert [t["id"] for t in mirror.annotated()] == [3]


def test_the_kept_copy_of_the_tasks_follows_every_write_as_the_file_does(tmp_path):
    mirror = PoolMirror(tmp_path)
    mirror.add(tasks(range(1, 7)), SCHEMA, 1000)
    mirror.tasks()  # kept from here on
    mirror.set_labelled([1, 2])
    mirror.set_labelled([2, 3])
    mirror.set_eval([6])
    mirror.set_trained([2])
    mirror.set_scored([4, 5], "v0003")
    mirror.add(tasks([9]), SCHEMA, 1000)
    mirror.set_scored([9], "v0003")
    mirror.keep_only([1, 2, 3, 4, 6, 9])
    assert mirror.tasks() == PoolMirror(tmp_path).tasks()  # the copy and a fresh read of the file agree
    assert [t.id for t in mirror.tasks() if t.labelled] == [2, 3] and [t.id for t in mirror.tasks()] == [
        1,
        2,
        3,
        4,
        6,
        9,
    ]


def test_a_new_mirror_starts_from_this_processs_copy_when_nobody_else_wrote(tmp_path, monkeypatch):
    first = PoolMirror(tmp_path)
    first.add(tasks(range(1, 4)), SCHEMA, 1000)
    first.tasks()
    first.set_scored([1, 2], "v0001")
    second = PoolMirror(tmp_path)
    monkeypatch.setattr(second, "_db", _no_rows_read(second._db))  # the file's rows must not be read again
    assert [t.scored for t in second.tasks()] == ["v0001", "v0001", None]


def test_a_write_by_another_process_makes_the_next_mirror_read_the_file(tmp_path):
    import sqlite3

    first = PoolMirror(tmp_path)
    first.add(tasks(range(1, 4)), SCHEMA, 1000)
    first.tasks()
    first.set_labelled([1])
    other = sqlite3.connect(first.path)  # another worker process on the same data folder
    with other:
        other.execute("UPDATE tasks SET scored = 'v0009' WHERE id = 3")
        other.execute("UPDATE generation SET n = n + 1")
    other.close()
    by_id = {t.id: t for t in PoolMirror(tmp_path).tasks()}
    assert by_id[3].scored == "v0009" and by_id[1].labelled


def test_a_mirror_that_missed_a_write_does_not_share_its_stale_copy(tmp_path):
    first = PoolMirror(tmp_path)
    first.add(tasks(range(1, 4)), SCHEMA, 1000)
    first.tasks()
    PoolMirror(tmp_path).set_eval([2])  # a write this mirror never saw
    first.set_scored([1], "v0001")  # its copy shows neither the file before nor after this write
    by_id = {t.id: t for t in PoolMirror(tmp_path).tasks()}
    assert by_id[2].eval and by_id[1].scored == "v0001"


def _no_rows_read(connect):
    """A connection factory whose connections refuse to list the tasks' rows."""
    import sqlite3

    class Guarded(sqlite3.Connection):
        def execute(self, sql, *args):
            assert "FROM tasks ORDER BY id" not in sql, "the pool was read again"
            return super().execute(sql, *args)

    def guarded():
        return sqlite3.connect(connect().execute("PRAGMA database_list").fetchone()[2], factory=Guarded, timeout=30)

    return guarded
