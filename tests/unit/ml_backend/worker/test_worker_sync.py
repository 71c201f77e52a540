"""Label Studio -> the mirror: new tasks, deleted tasks, and annotations read only where tasks changed."""

from __future__ import annotations

from ml_backend.worker.sync import LabelSync


def test_new_tasks_are_mirrored_and_deleted_ones_dropped(harness, pool):
    project = harness.project()
    assert LabelSync(project).sync_pool() == sorted(pool)
    harness.studio.delete_task(3)
    new = harness.studio.add_tasks(["a late text"])
    project = harness.project()
    assert LabelSync(project).sync_pool() == new
    assert {t.id for t in project.mirror.tasks()} == (set(pool) - {3}) | set(new)


def test_annotations_are_read_incrementally_after_the_first_full_read(harness, pool):
    harness.label([1, 2, 3], pool)
    project = harness.project()
    sync = LabelSync(project)
    sync.sync_pool()
    first = sync.read_labels()
    assert set(first.votes) == {1, 2, 3} and first.votes[1] == [pool[1]]
    harness.label([4], pool)
    harness.studio.calls.clear()
    project = harness.project()
    second = LabelSync(project).read_labels()
    assert set(second.votes) == {1, 2, 3, 4}
    assert second.fingerprint != first.fingerprint
    assert [c for c in harness.studio.calls if c != "iter_tasks"] == ["tasks_updated_since"]  # no full read


def test_a_skipped_task_counts_as_annotated_but_gives_no_vote(harness, pool):
    harness.studio.annotate(5, "ham", cancelled=True)
    harness.label([6], pool)
    project = harness.project()
    sync = LabelSync(project)
    sync.sync_pool()
    snapshot = sync.read_labels()
    assert set(snapshot.votes) == {6} and 5 not in snapshot.annotated


def test_counts_that_disagree_with_the_mirror_lead_to_a_full_read(harness, pool):
    harness.label([1, 2], pool)
    project = harness.project()
    sync = LabelSync(project)
    sync.sync_pool()
    sync.read_labels()
    # an annotation whose task's updated_at lies before the cursor: the incremental read cannot see it
    harness.studio.annotate(9, pool[9])
    harness.studio.tasks[9]["updated_at"] = harness.studio.tasks[1]["updated_at"].replace(year=2025)
    harness.studio.calls.clear()
    snapshot = LabelSync(harness.project()).read_labels()
    assert set(snapshot.votes) == {1, 2, 9}
    assert harness.studio.calls.count("tasks_updated_since") == 3 and harness.studio.calls[-2:] == [
        "labelled_tasks",
        "iter_tasks",
    ]


def test_a_full_read_ignores_the_cursor(harness, pool):
    harness.label([1], pool)
    sync = LabelSync(harness.project())
    sync.sync_pool()
    sync.read_labels()
    harness.studio.calls.clear()
    LabelSync(harness.project()).read_labels(full=True)
    assert [c for c in harness.studio.calls if c != "iter_tasks"] == ["labelled_tasks"]  # no incremental step
