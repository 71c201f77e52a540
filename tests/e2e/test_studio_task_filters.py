"""The worker's task filters against a real Label Studio: labelled tasks and textal's view are selected through the
annotations themselves (a prediction import can leave a task's ``total_annotations`` counter stale)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ml_backend.labelstudio.client import Studio
from ml_backend.labelstudio.ordering import INFORMATIVE_VIEW, ensure_ordering
from tests.support.ls_project import CONFIG, choice

pytestmark = pytest.mark.e2e


def test_labelled_tasks_come_once_each_with_skips_and_the_view_lists_only_tasks_nobody_answered(label_studio):
    ls = label_studio.client()
    project = ls.projects.create(title="textal: task filters", label_config=CONFIG)
    ids = sorted(
        ls.projects.import_tasks(
            id=project.id, request=[{"text": f"message {i}"} for i in range(5)], return_task_ids=True
        ).task_ids
    )
    twice, once, skipped, *open_ids = ids
    ls.annotations.create(id=twice, result=choice("spam"))
    ls.annotations.create(id=twice, result=choice("ham"))
    ls.annotations.create(id=once, result=choice("ham"))
    ls.annotations.create(id=skipped, result=[], was_cancelled=True)
    # what the race leaves behind: a prediction import's recount wrote 0 over the counter of a task just labelled
    with sqlite3.connect(Path(label_studio.data_dir) / "label_studio.sqlite3", timeout=30) as db:
        db.execute("UPDATE task SET total_annotations = 0 WHERE id = ?", (once,))
    assert ls.tasks.get(id=once).total_annotations == 0

    studio = Studio(label_studio.url, label_studio.token)
    labelled = studio.labelled_tasks(project.id)
    assert [t["id"] for t in labelled] == [twice, once, skipped]
    assert [len(t["annotations"]) for t in labelled] == [2, 1, 1]

    views = ensure_ordering(studio, project.id, None)
    listed = [t.id for t in ls.tasks.list(project=project.id, view=views[INFORMATIVE_VIEW], include="id")]
    assert sorted(listed) == open_ids
