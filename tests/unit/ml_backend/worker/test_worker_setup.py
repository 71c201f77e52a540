"""Set-up of a project: the evaluation slice is held out before it is marked, marked in one request, the stop set
fixed."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.client import StudioUnavailable
from ml_backend.labelstudio.tasks import EVAL_KEY
from ml_backend.worker.setup import ensure_setup, mark_slice
from ml_backend.worker.sync import LabelSync


def set_up(harness):
    project = harness.project()
    sync = LabelSync(project)
    sync.sync_pool()
    sync.read_labels()  # as a retrain does before its set-up
    ensure_setup(project)
    return project


def marked(harness):
    return {tid for tid, t in harness.studio.tasks.items() if t["data"].get(EVAL_KEY) == 1}


def test_the_slice_is_held_out_at_once_and_marked_in_one_request_later(harness, pool):
    project = set_up(harness)
    held = {t.id for t in project.mirror.tasks() if t.eval}
    assert len(held) == 6 and marked(harness) == set()  # held out in the mirror, not marked yet
    harness.studio.calls.clear()
    assert mark_slice(project) == 6
    assert marked(harness) == held and harness.studio.calls == ["set_task_field"]
    assert mark_slice(harness.project()) == 0  # nothing left to mark


def test_a_failed_mark_is_tried_again_by_the_next_job(harness, pool, monkeypatch):
    def down(*args, **kwargs):
        raise StudioUnavailable("Label Studio at http://127.0.0.1:9 timed out while marking 6 tasks")

    project = set_up(harness)
    real = harness.studio.set_task_field
    monkeypatch.setattr(harness.studio, "set_task_field", down)
    with pytest.raises(StudioUnavailable):
        mark_slice(project)
    monkeypatch.setattr(harness.studio, "set_task_field", real)
    assert mark_slice(harness.project()) == 6 and len(marked(harness)) == 6


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
