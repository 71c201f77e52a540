"""Label Studio killed in the middle of the worker's push of a new version, and started again: the worker waits for it,
pushes that version again from the start, and Label Studio ends with exactly one prediction of it per open task."""

from __future__ import annotations

import time

import pytest

from ml_backend.scoring.loaded import model_version_name
from tests.support.dataset_rows import read_rows
from tests.support.ls_project import (
    WORKER_ARGS,
    choice,
    connected_project,
    current_prediction,
    unlabelled,
    wait_for,
    work_state,
)
from tests.support.waits import wait_until

pytestmark = pytest.mark.e2e

N_TASKS = 200
CHUNK = 5  # predictions per request: a push is dozens of requests, so a kill lands inside one


def test_label_studio_killed_mid_push_ends_with_one_prediction_of_the_new_version_per_open_task(
    label_studio, start_backend, start_worker, data_dir, tmp_path
):
    state = tmp_path / "backend-data"
    backend = start_backend(tmp_path / "no-store", data_dir=state)
    p, ids, gold = connected_project(
        label_studio,
        backend.url,
        state,
        "textal reliability: LS restarted mid-push",
        read_rows(data_dir / "sms_spam" / "test.csv", N_TASKS),
    )
    ls = p.ls
    worker = start_worker(state, *WORKER_ARGS, "--push-chunk", str(CHUNK))
    wait_for(lambda: p.counts().get(p.model_version() or "", 0) == N_TASKS, 180, "the cold-start order", worker.log)
    cold = p.model_version()

    train = [t for t in ids if gold[t] == "spam"][:5] + [t for t in ids if gold[t] == "ham"][:5]
    for tid in train:
        ls.annotations.create(id=tid, result=choice(gold[tid]))
    # watch the first version's predictions arrive, and kill Label Studio as soon as some have
    partial = wait_until(
        lambda: {v: n for v, n in p.counts().items() if v.startswith("v")},
        180,
        0.02,
        what="a version's predictions to be pushed",
        details=lambda: worker.log()[-4000:],
    )
    label_studio.kill()
    ((new_version, pushed_before_kill),) = partial.items()
    assert 0 < pushed_before_kill < N_TASKS - len(train), "the kill did not land inside the push"
    time.sleep(3)  # the worker meets a dead Label Studio
    label_studio.start()

    def caught_up() -> bool:
        records = p.records()
        return bool(records) and records[-1]["labels"] == len(train)

    wait_for(lambda: p.settled(caught_up), 240, "the version pushed again in full", worker.log)
    mv = p.model_version()
    assert mv != cold and mv == model_version_name(p.store.latest())
    open_tasks = unlabelled(p.tasks())
    assert len(open_tasks) == N_TASKS - len(train)
    assert all(len(current_prediction(t, mv)) == 1 for t in open_tasks), "a prediction duplicated or missing"
    assert p.counts().get(mv) == len(open_tasks)
    assert "gave_up" not in work_state(state, p.id)
    assert "Traceback" not in worker.log()
