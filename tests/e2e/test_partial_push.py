"""A project bigger than the worker's head: right after a refresh, while most tasks still hold no prediction of the new
version, Label Studio's label stream already serves the new order's best-ranked task, and textal's view lists the
tasks with a current score first; the rest then fills in without a second copy of any prediction, and no prediction
is deleted while an editor may hold it."""

from __future__ import annotations

import pytest

from ml_backend.scoring.loaded import model_version_name
from tests.support.dataset_rows import read_rows
from tests.support.ls_project import (
    INFORMATIVE,
    WORKER_ARGS,
    choice,
    connected_project,
    current_prediction,
    expected_next,
    field_of,
    next_task,
    unlabelled,
    wait_for,
)
from tests.support.waits import wait_until

pytestmark = pytest.mark.e2e

N_TASKS = 150
HEAD = 20  # the tasks a new version reaches before Label Studio switches to it
CHUNK = 10  # then this many per background step


def test_right_after_a_refresh_the_stream_serves_the_new_orders_best_task_though_most_tasks_wait_for_theirs(
    label_studio, start_backend, start_worker, data_dir, tmp_path
):
    state = tmp_path / "backend-data"
    backend = start_backend(tmp_path / "no-store", data_dir=state)
    p, ids, gold = connected_project(
        label_studio,
        backend.url,
        state,
        "textal e2e: partial push",
        read_rows(data_dir / "sms_spam" / "test.csv", N_TASKS),
    )
    ls = p.ls
    args = (*WORKER_ARGS, "--promote-margin", "inf", "--head", str(HEAD), "--push-chunk", str(CHUNK))
    worker = start_worker(state, *args)
    wait_for(
        lambda: p.idle() and p.counts().get("textal-cold-start") == N_TASKS,
        180,
        "the cold-start order, filled in",
        worker.log,
    )

    worker.kill()  # the labels arrive while no worker runs, so that one version learns them all
    train = [t for t in ids if gold[t] == "spam"][:5] + [t for t in ids if gold[t] == "ham"][:5]
    for tid in train:
        ls.annotations.create(id=tid, result=choice(gold[tid]))
    worker = start_worker(state, *args)

    def switched() -> str | None:
        version = p.model_version() or ""
        return version if version.startswith("v") else None

    mv = wait_until(  # catch the switch as it happens
        switched,
        180,
        0.02,
        what="Label Studio to switch to a version",
        details=lambda: worker.log()[-4000:],
    )
    served = next_task(ls, p.id)
    views = {(v.data or {}).get("title"): v.id for v in ls.views.list(project=p.id)}
    view = list(ls.tasks.list(project=p.id, view=views[INFORMATIVE], fields="all", page_size=1000))  # one snapshot
    current = [current_prediction(t, mv) for t in view]
    held = sum(bool(c) for c in current)
    assert HEAD <= held < N_TASKS - len(train), "the switch came before the rest was filled in"
    # textal's view: the tasks with a current score first, by score; the others after them (no stale score shown)
    assert [bool(c) for c in current] == [True] * held + [False] * (len(view) - held)
    scores = [field_of(c[0], "score") for c in current[:held]]
    assert scores == sorted(scores)

    wait_for(
        lambda: p.settled(lambda: p.counts().get(mv) == N_TASKS - len(train)), 180, "the rest filled in", worker.log
    )
    assert p.model_version() == mv == model_version_name(p.store.latest()) and p.records()[-1]["labels"] == len(train)
    tasks = p.tasks()
    assert all(len(current_prediction(t, mv)) == 1 for t in unlabelled(tasks))  # never a second copy
    # nothing deleted under an editor that may be open: the cold-start predictions stay until --keep-replaced passes
    assert all(len(current_prediction(t, "textal-cold-start")) == 1 for t in unlabelled(tasks))
    assert served in expected_next(tasks, mv)  # what the stream served at the switch is the full order's best
