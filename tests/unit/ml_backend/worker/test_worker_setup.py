"""Set-up of a project: the evaluation slice is held out before it is marked, marks survive a failure, the stop set is fixed."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.client import StudioUnavailable
from ml_backend.labelstudio.tasks import EVAL_KEY
from ml_backend.worker.setup import ensure_setup
from ml_backend.worker.sync import LabelSync


def set_up(harness):
    project = harness.project()
    sync = LabelSync(project)
    sync.sync_pool()
    sync.read_labels()  # as a retrain does before its set-up
    ensure_setup(project, sync)
    return project


def test_a_failed_mark_leaves_the_task_held_out_and_the_mark_for_the_next_run(harness, pool, monkeypatch):
    real = harness.studio.update_task_data
    calls = []

    def flaky(task_id, data):
        calls.append(task_id)
        if len(calls) == 3:
            raise StudioUnavailable("Label Studio at http://127.0.0.1:9 timed out while updating a task")
        real(task_id, data)

    monkeypatch.setattr(harness.studio, "update_task_data", flaky)
    with pytest.raises(StudioUnavailable):
        set_up(harness)
    project = harness.project()
    held = {t.id for t in project.mirror.tasks() if t.eval}
    assert len(held) == 6 and len(project.work["eval_to_mark"]) == 6  # chosen, held out, not all marked yet
    marked = {tid for tid, t in harness.studio.tasks.items() if t["data"].get(EVAL_KEY) == 1}
    assert marked == set(calls[:2])
    monkeypatch.setattr(harness.studio, "update_task_data", real)
    project = set_up(harness)
    assert project.work["eval_to_mark"] == []
    assert {tid for tid, t in harness.studio.tasks.items() if t["data"].get(EVAL_KEY) == 1} == held


def test_the_slice_grows_with_the_pool_and_never_takes_a_labelled_task(harness, pool):
    set_up(harness)
    new = harness.studio.add_tasks([f"more text number {chr(97 + i % 26)}{i}" for i in range(40)])
    harness.label(new[:30], {t: "ham" for t in new})
    project = set_up(harness)
    held = {t.id for t in project.mirror.tasks() if t.eval}
    assert len(held) == 10 and not held & set(new[:30])


def test_the_stop_set_is_chosen_once_outside_the_slice(harness, pool):
    project = set_up(harness)
    stop_set = project.work["stop_set"]
    held = {t.id for t in project.mirror.tasks() if t.eval}
    assert len(stop_set) == 54 and not set(stop_set) & held
    harness.studio.add_tasks(["one more"])
    assert set_up(harness).work["stop_set"] == stop_set
