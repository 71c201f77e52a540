"""`textal serve` and `textal worker` SIGKILLed twenty times at random points while annotators label: no label is lost,
the store stays whole, and Label Studio ends ordered by the newest good version, which the backend serves."""

from __future__ import annotations

import os
import random
import time

import httpx
import pytest

from ml_backend.scoring.loaded import model_version_name
from tests.support.dataset_rows import read_rows
from tests.support.ls_project import WORKER_ARGS, choice, connected_project, current_prediction, unlabelled, wait_for
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

N_TASKS = 60
KILLS = 20


def read_gold(data_dir, n: int) -> list[dict[str, str]]:
    """``n`` SMS, a third of them spam."""
    rows = read_rows(data_dir / "sms_spam" / "test.csv", 10_000)
    spam = [r for r in rows if r["label"] == "spam"][: n // 3]
    return spam + [r for r in rows if r["label"] == "ham"][: n - len(spam)]


def test_twenty_sigkills_of_backend_and_worker_lose_no_label_and_end_on_the_newest_good_version(
    label_studio, start_backend, start_worker, data_dir, tmp_path
):
    seed = int(os.environ.get("TEXTAL_CRASH_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    print(f"crash loop seed {seed} (TEXTAL_CRASH_SEED={seed} replays the same kill points)")
    state, store, port = tmp_path / "backend-data", tmp_path / "no-store", free_port()
    backend = start_backend(store, data_dir=state, port=port)
    p, ids, gold = connected_project(
        label_studio, backend.url, state, "textal reliability: crash loop", read_gold(data_dir, N_TASKS)
    )
    ls = p.ls
    workers = [start_worker(state, *WORKER_ARGS)]
    wait_for(
        lambda: p.counts().get(p.model_version() or "", 0) == N_TASKS, 180, "the cold-start order", workers[-1].log
    )

    spam, ham = ([t for t in ids if gold[t] == label] for label in ("spam", "ham"))
    queue = [t for pair in zip(spam, ham) for t in pair]  # both classes from the start
    labelled: list[int] = []
    for round_ in range(KILLS):
        for _ in range(rng.choice((1, 2))):
            tid = queue.pop(0)
            ls.annotations.create(id=tid, result=choice(gold[tid]))
            labelled.append(tid)
        time.sleep(rng.uniform(0.0, 3.0))  # anywhere: reading, training, publishing, pushing, idle
        if round_ % 2 == 0:
            workers[-1].kill()
            workers.append(start_worker(state, *WORKER_ARGS))
        else:
            backend.kill()
            backend = start_backend(store, data_dir=state, port=port)

    def caught_up() -> bool:
        records = p.records()
        return bool(records) and records[-1]["labels"] == len(labelled)

    wait_for(lambda: p.settled(caught_up), 300, f"a version trained on all {len(labelled)} labels", workers[-1].log)
    # nothing lost: the newest version learnt from every label, as Label Studio holds them
    assert p.records()[-1]["labels"] == len(labelled)
    # the store whole: every version has its model and card, LATEST names one of them, no half-written folder
    versions = p.store.versions()
    assert versions and p.store.latest() in versions
    for version in versions:
        folder = p.store.path(version)
        assert (folder / "card.json").is_file() and (folder / "model" / "textal_model.json").is_file()
    assert not list((p.store.root / ".staging").glob("*"))
    # the newest good version orders Label Studio, once per open task, and the backend answers with it
    mv = model_version_name(p.store.latest())
    assert p.model_version() == mv
    assert all(len(current_prediction(t, mv)) == 1 for t in unlabelled(p.tasks()))
    answer = httpx.post(
        f"{backend.url}/predict", json={"project": str(p.id), "tasks": [{"id": 1, "data": {"text": "hi"}}]}, timeout=30
    )
    assert answer.status_code == 200 and answer.json()["model_version"] == mv
    assert httpx.get(f"{backend.url}/health", timeout=5).json()["projects"][str(p.id)] == mv
