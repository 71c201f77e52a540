"""Push labels: every push gets a model_version never used before in the project, and a replaced one is retired only
once its time is up."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.client import StudioError, StudioHopeless
from ml_backend.worker import push_labels
from ml_backend.worker.push_labels import due, labels_after_push, next_label, retire, version_of


@pytest.fixture
def clock(monkeypatch):
    now = [5_000.0]
    monkeypatch.setattr(push_labels, "now", lambda: now[0])
    return now


def test_a_version_is_labelled_by_its_name_first_and_numbered_when_pushed_again():
    work: dict = {}
    assert next_label(work, "v0003") == "v0003"
    work.update(labels_after_push(work, "v0003", "v0003"))
    assert next_label(work, "v0003") == "v0003.1"
    work.update(labels_after_push(work, "v0003", "v0003.1"))
    assert next_label(work, "v0003") == "v0003.2" and next_label(work, "v0004") == "v0004"


@pytest.mark.parametrize(
    "label, version",
    [
        ("v0007", "v0007"),
        ("v0007.12", "v0007"),
        ("textal-cold-start.1", "textal-cold-start"),
        ("base-v0001", "base-v0001"),
        (None, None),
    ],
)
def test_the_version_of_a_label_drops_only_the_push_number(label, version):
    assert version_of(label) == version


def test_a_replaced_label_is_due_only_after_the_time_kept(clock):
    work: dict = {}
    work.update(labels_after_push(work, "v0001", "v0001"))
    assert work["replaced_labels"] == []  # nothing was replaced by the first push
    work.update(labels_after_push(work, "v0002", "v0002"))
    assert due(work, keep_s=60) == []
    clock[0] += 59.0
    assert due(work, keep_s=60) == []
    clock[0] += 1.0
    assert due(work, keep_s=60) == ["v0001"]


def test_the_projects_own_label_is_never_due_even_if_it_was_once_replaced(clock):
    work = {"pushed_version": "v0002", "replaced_labels": [["v0002", 0.0], ["v0001", 0.0]]}
    assert due(work, keep_s=0) == ["v0001"]


class RefusingStudio:
    """Label Studio refusing to delete one label's predictions (as an HTTP 4xx/5xx answer does)."""

    def __init__(self, refused: str) -> None:
        self.refused, self.deleted = refused, []

    def delete_model_version(self, project_id, label):
        if label == self.refused:
            raise StudioError(f"Label Studio answered 500 while deleting {label}")
        self.deleted.append(label)
        return 100


class Project:
    def __init__(self, work, studio) -> None:
        self.id, self.work, self.studio = 7, work, studio
        self.settings = type("Settings", (), {"keep_replaced_s": 0.0})()

    def save(self, **fields) -> None:
        self.work = {**self.work, **fields}


def test_a_deletion_label_studio_refuses_is_kept_for_next_time_and_holds_up_nothing(clock):
    work = {"pushed_version": "v0003", "replaced_labels": [["v0001", 0.0], ["v0002", 0.0]]}
    project = Project(work, RefusingStudio(refused="v0001"))
    assert retire(project) == 100
    assert project.studio.deleted == ["v0002"] and project.work["replaced_labels"] == [["v0001", 0.0]]
    project.studio.refused = None
    assert retire(project) == 100 and project.work["replaced_labels"] == []


def test_a_hopeless_label_studio_is_not_swallowed(clock):
    class Gone(RefusingStudio):
        def delete_model_version(self, project_id, label):
            raise StudioHopeless("Label Studio has no project 7 (404)")

    with pytest.raises(StudioHopeless):
        retire(Project({"pushed_version": "v0002", "replaced_labels": [["v0001", 0.0]]}, Gone(refused="")))
