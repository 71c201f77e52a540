"""Annotators in Label Studio's label stream, in a real browser, while textal's worker retrains after every label:
every Submit is saved, none is refused, whatever the pace and however many annotators label at once.

A push that deleted the prediction an open editor had pre-filled made Label Studio refuse that editor's Submit (400,
``parent_prediction``: "Invalid pk"), and the annotator's answer was lost (issue 25). The worker here deletes
replaced labels after 20 s, so deletions happen all through the run, never under an open editor.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml_backend.worker.push_labels import version_of
from tests.support.browser import AnnotatorBrowser, chromium_available
from tests.support.dataset_rows import read_rows
from tests.support.ls_project import (
    WORKER_ARGS,
    Project,
    connected_project,
    current_prediction,
    unlabelled,
    wait_for,
    work_state,
)
from tests.support.servers import Worker
from tests.support.stream_annotator import (
    Submit,
    VersionWatch,
    add_annotator,
    label_in_stream,
    lost,
    pace,
    refused_in_log,
    saved_labels,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARGS = (*WORKER_ARGS, "--promote-margin", "inf", "--keep-replaced", "20")  # every version promoted: a push per label
ROWS = 180


@dataclass
class Stream:
    """A project the worker orders, ready to label: its gold labels, the worker, its data folder, and where Label
    Studio's log stood before it (refusals are looked for after that)."""

    project: Project
    gold: dict[int, str]
    worker: Worker
    state: Path
    log_offset: int


@pytest.fixture
def stream(label_studio, start_backend, start_worker, data_dir, tmp_path, request) -> Stream:
    reason = chromium_available()
    assert reason is None, reason
    log_offset = label_studio.log_path.stat().st_size
    state = tmp_path / "backend-data"
    worker = start_worker(state, *ARGS)
    backend = start_backend(tmp_path / "no-store", data_dir=state)
    rows = read_rows(data_dir / "sms_spam" / "test.csv", ROWS)
    project, _, gold = connected_project(label_studio, backend.url, state, request.node.name[:50], rows)
    wait_for(lambda: project.model_version() == "textal-cold-start", 120, "the cold-start order", worker.log)
    return Stream(project, gold, worker, state, log_offset)


def check_every_submit_saved(submits: list[Submit], label_studio, project_id: int, log_offset: int) -> None:
    refused = [s for s in submits if s.how == "refused"]
    assert not refused, f"{len(refused)} of {len(submits)} submits refused: {refused[:3]}"
    lines = refused_in_log(label_studio.log_path, log_offset)
    assert not lines, f"Label Studio refused submits: {lines[:3]}"
    missing = lost(submits, saved_labels(label_studio.url, label_studio.token, project_id))
    assert not missing, f"{len(missing)} submitted labels are not in Label Studio: {missing[:3]}"


def test_every_submit_in_the_label_stream_is_saved_while_the_worker_retrains_after_each_label(
    label_studio, stream, tmp_path
):
    project, gold, worker, log_offset = stream.project, stream.gold, stream.worker, stream.log_offset
    with (
        VersionWatch(label_studio.url, label_studio.token, project.id) as watch,
        AnnotatorBrowser(failure_screenshot=tmp_path / "failure.png") as browser,
    ):
        browser.login(label_studio.url, label_studio.email, label_studio.password)
        calm = label_in_stream(browser, label_studio.url, project.id, gold, 25, pace(0.3, 1.2))
        rushed = label_in_stream(browser, label_studio.url, project.id, gold, 35, pace(0.0, 0.0))
        wait_for(project.idle, 120, "the worker to take the last label in", worker.log)
    submits = calm + rushed
    assert len(submits) == 60 and all(s.how == "next" for s in submits), Counter(s.how for s in submits)
    check_every_submit_saved(submits, label_studio, project.id, log_offset)
    # the worker retrained all along: Label Studio switched to new versions while the labels came
    versions = {version_of(mv) for mv in watch.seen if mv and mv.startswith("v")}
    assert len(versions) >= len(submits) // 4, watch.seen
    assert "predictions of" in worker.log() and "deleted" in worker.log()  # replaced labels were retired meanwhile
    assert len(project.records()) >= len(versions)


def test_three_annotators_at_once_lose_nothing_and_get_a_task_each(label_studio, stream, tmp_path):
    project, gold, worker, log_offset = stream.project, stream.gold, stream.worker, stream.log_offset
    people = [(label_studio.email, label_studio.password)]
    for n in (2, 3):
        people.append((f"annotator{n}-{project.id}@textal.test", f"annotator-{n}-password"))
        add_annotator(label_studio.url, *people[-1]).close()
    each, submits, errors = 10, [], []
    lock = threading.Lock()

    def annotate(n: int) -> None:
        try:
            with AnnotatorBrowser(failure_screenshot=tmp_path / f"failure-{n}.png") as browser:
                browser.login(label_studio.url, *people[n])
                done = label_in_stream(
                    browser, label_studio.url, project.id, gold, each, pace(0.5, 2.0, seed=n), annotator=people[n][0]
                )
            with lock:
                submits.extend(done)
        except BaseException as exc:  # noqa: BLE001 (reported below, with the others' results)
            errors.append(exc)

    with VersionWatch(label_studio.url, label_studio.token, project.id) as watch:
        threads = [threading.Thread(target=annotate, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        wait_for(project.idle, 120, "the worker to take the last label in", worker.log)
    assert not errors, errors
    assert len(submits) == 3 * each, Counter(s.annotator for s in submits)
    check_every_submit_saved(submits, label_studio, project.id, log_offset)
    # Label Studio locks a served task to its annotator until the Submit, but its /next writes the lock after it
    # reads the free tasks: two requests in the same instant can both get one task (seen twice in 30 submits' runs
    # under `make test`'s load, once per run). Both submits are saved (checked above); more than one such task is
    # more than that race.
    by_task = defaultdict(list)
    for s in submits:
        by_task[s.task_id].append(s)
    shared = {task_id: [s.annotator for s in held] for task_id, held in by_task.items() if len(held) > 1}
    assert len(shared) <= 1, f"tasks served to two annotators: {shared}"
    # the order followed the retrains: new versions while the three labelled, and the stream serves the last one's
    versions = {version_of(mv) for mv in watch.seen if mv and mv.startswith("v")}
    assert len(versions) >= len(submits) // 6, watch.seen
    label = work_state(stream.state, project.id)["pushed_version"]
    wait_for(lambda: project.model_version() == label, 60, "Label Studio on the worker's last push", worker.log)
    # a newcomer holds no lock (each annotator's stream holds the task it opened after its last Submit): Label Studio
    # serves them one of the first (annotators + 1) of the last push's order that nobody holds
    newcomer = add_annotator(label_studio.url, f"newcomer-{project.id}@textal.test", "newcomer-password")
    try:
        served = newcomer.get(f"/api/projects/{project.id}/next")
    finally:
        newcomer.close()
    assert served.status_code == 200, served.text
    assert served.json()["id"] in first_served(project.tasks(), label, len(people) + 1 + len(people))


def first_served(tasks, label: str, n: int) -> set[int]:
    """The ``n`` open tasks with the lowest score of ``label`` (with several annotators Label Studio serves one of
    the first (annotators + 1) at random, passing over the tasks others hold)."""
    scored = [(p.score, t.id) for t in unlabelled(tasks) for p in current_prediction(t, label)]
    return {tid for _, tid in sorted(scored)[:n]}
