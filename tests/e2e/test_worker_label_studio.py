"""A real Label Studio, `textal serve` and `textal worker` as separate processes: labels in, a fresher model and
a reordered queue out; missed webhooks caught up; a worse model not promoted; a worker SIGKILLed mid-retrain.

The queue is SQLite in the data folder with Label Studio on SQLite, or (the same test) the production set-up: a real
redis-server and a Label Studio on a real PostgreSQL, all on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ml_backend.scoring.loaded import model_version_name
from tests.support.dataset_rows import read_rows
from tests.support.ls_project import (
    CONFIG,
    EVAL_VIEW,
    INFORMATIVE,
    WORKER_ARGS,
    BackendWatch,
    Project,
    choice,
    current_prediction,
    expected_next,
    field_of,
    next_task,
    unlabelled,
    wait_for,
    work_state,
)

pytestmark = pytest.mark.e2e

N_TASKS = 150  # the evaluation slice is 10 %: 15 tasks


def title_in_postgres(database: str, project_id: int) -> str:
    """The title PostgreSQL holds for Label Studio's project ``project_id``."""
    from urllib.parse import urlsplit

    import psycopg2

    url = urlsplit(database)
    with psycopg2.connect(host=url.hostname, port=url.port, user=url.username, dbname=url.path.strip("/")) as db:
        with db.cursor() as cursor:
            cursor.execute("SELECT title FROM project WHERE id = %s", (project_id,))
            return cursor.fetchone()[0]


@pytest.mark.parametrize("queue", ["sqlite", "redis"], ids=["sqlite", "redis-and-postgresql"])
def test_the_worker_keeps_label_studio_ordered_by_the_freshest_good_model(
    queue, start_backend, start_worker, data_dir, tmp_path, request
):
    started = time.monotonic()
    production = queue == "redis"  # a Redis queue, and Label Studio on PostgreSQL
    label_studio = request.getfixturevalue("label_studio_postgres" if production else "label_studio")
    env = {"LABEL_STUDIO_URL": label_studio.url}
    if production:
        env["TEXTAL_QUEUE_URL"] = request.getfixturevalue("redis_url")
    queue_url = env.get("TEXTAL_QUEUE_URL")
    state = tmp_path / "backend-data"
    no_store = tmp_path / "no-store"  # no base model: the project starts cold
    # every version promoted while the order is checked (a 20-label version can lose to a 4-label one on a 15-task
    # slice now and then); the restarted worker below judges with the default margin
    worker = start_worker(state, *WORKER_ARGS, "--promote-margin", "inf", env=env)
    backend = start_backend(no_store, data_dir=state, env=env)
    ls = label_studio.client()
    project = ls.projects.create(title=f"textal worker e2e ({queue})", label_config=CONFIG)
    if production:  # Label Studio keeps it in PostgreSQL's tables, not in a SQLite file
        assert title_in_postgres(label_studio.database, project.id) == f"textal worker e2e ({queue})"
    ls.ml.create(url=backend.url, project=project.id, title="textal")
    p = Project(ls, project.id, state, queue_url)
    logs = worker.log

    rows = read_rows(data_dir / "sms_spam" / "test.csv", N_TASKS)
    imported = ls.projects.import_tasks(id=p.id, request=[{"text": r["text"]} for r in rows], return_task_ids=True)
    ids = sorted(imported.task_ids)
    gold = {tid: r["label"] for tid, r in zip(ids, rows)}
    text_of = {tid: r["text"] for tid, r in zip(ids, rows)}

    # TASKS_CREATED -> before any model, every task in coverage order, the band (coverage picks with the slice
    # interleaved) first, no guesses
    def cold_order() -> bool:
        band = work_state(state, p.id).get("band") or []
        return p.model_version() == "textal-cold-start" and band and p.counts().get("textal-cold-start") == N_TASKS

    wait_for(cold_order, 120, "the cold-start order", logs)
    cold = {t.id: current_prediction(t, "textal-cold-start")[0] for t in p.tasks()}
    band = work_state(state, p.id)["band"]
    assert sorted(cold, key=lambda t: field_of(cold[t], "score"))[: len(band)] == band  # served in the band's order
    assert ls.projects.get(id=p.id).sampling == "Uncertainty sampling"
    slice_ids = wait_for(lambda: len(p.view(EVAL_VIEW)) == 15 and p.view(EVAL_VIEW), 60, "the slice marked", logs)
    tasks = {t.id: t for t in p.tasks()}
    for tid in slice_ids:
        assert tasks[tid].data["textal_eval"] == 1
    assert all(
        field_of(current_prediction(tasks[t], "textal-cold-start")[0], "result") == []
        for t in work_state(state, p.id)["band"]
    )

    # the label stream: one slice task in every three served, from the first labels on
    served = []
    for _ in range(6):
        tid = next_task(ls, p.id)
        served.append(tid)
        ls.annotations.create(id=tid, result=choice(gold[tid]))
        wait_for(p.idle, 60, f"the worker to take label {len(served)} in", logs)  # the webhook queued a retrain
    assert [t in slice_ids for t in served].count(True) == 2 and served[2] in slice_ids and served[5] in slice_ids

    # label the rest of the slice and more training tasks (balanced), through the API: coalesced retrains
    pool = [tid for tid in ids if tid not in slice_ids and tid not in served]
    train = [t for t in served if t not in slice_ids]
    train += [t for t in pool if gold[t] == "spam"][: 10 - sum(gold[t] == "spam" for t in train)]
    train += [t for t in pool if gold[t] == "ham"][: 20 - len(train)]
    before = p.view(INFORMATIVE)[:10]
    with BackendWatch(backend.url, p.id, [text_of[i] for i in ids[:5]]) as watch:
        annotations = {tid: a.id for tid in served for a in ls.annotations.list(id=tid)}
        for tid in [t for t in slice_ids if t not in served] + [t for t in train if t not in served]:
            annotations[tid] = ls.annotations.create(id=tid, result=choice(gold[tid])).id
        wait_for(
            lambda: p.settled(lambda: p.records() and p.records()[-1]["train_size"] == 20),
            120,
            "a version trained on the 20 labels",
            logs,
        )
    mv = p.model_version()
    assert mv.startswith("v") and mv == model_version_name(p.store.latest())
    assert len(p.store.versions()) < len(annotations)  # coalesced: far fewer retrains than webhooks
    card = p.store.card()
    assert card["training_size"] == 20 and card["eval_size"] == 15 and card["metrics"]["n"] == 15
    assert {s for s, _ in watch.answers} == {200} and len(
        watch.answers
    ) >= 2  # each answer may wait for a version to load

    # a prediction of the new version for every unlabelled task, none for the labelled ones; LS orders by it
    tasks = p.tasks()
    open_tasks = unlabelled(tasks)
    assert len(open_tasks) == N_TASKS - 35 and p.counts()[mv] == len(open_tasks)
    assert all(len(current_prediction(t, mv)) == 1 for t in open_tasks)
    after = p.view(INFORMATIVE)
    score = {t.id: field_of(current_prediction(t, mv)[0], "score") for t in open_tasks}
    assert set(after) == {t.id for t in open_tasks} and [score[i] for i in after] == sorted(score[i] for i in after)
    assert after[:10] != before
    assert next_task(ls, p.id) in expected_next(tasks, mv)
    # readable scores: spread over [0, 1] by rank, so the Data Manager's three decimals keep them apart
    assert len({f"{v:.3f}" for v in score.values()}) > 0.8 * len(score) and max(score.values()) > 0.9
    guesses = [field_of(current_prediction(t, mv)[0], "result") for t in open_tasks if t.id not in slice_ids]
    sure = [g[0]["score"] for g in guesses if g]
    assert sure and all(0.6 <= s <= 1.0 for s in sure)  # the model's confidence in each guess it pre-fills

    if queue == "redis":
        return  # what follows (deletions, promotion, reconciliation) is the same whichever queue carried the jobs

    # a deleted annotation is dropped from training
    ls.annotations.delete(id=annotations.pop(train[-1]))
    wait_for(
        lambda: p.settled(lambda: p.records()[-1]["train_size"] == 19), 60, "a version without the deleted label", logs
    )

    # a version worse than its parent on the slice is published but not promoted; Label Studio and the backend keep
    # the good one
    worker.process.terminate()  # labels change while no worker runs: the webhooks wait on the queue
    worker.process.wait(30)
    good = p.store.latest()
    flip = {"ham": "spam", "spam": "ham"}
    for tid, aid in annotations.items():
        if tid not in slice_ids:
            ls.annotations.update(id=aid, result=choice(flip[gold[tid]]))
    worker = start_worker(state, *WORKER_ARGS, env=env)
    logs = worker.log
    wait_for(lambda: p.settled(lambda: not p.records()[-1]["promoted"]), 90, "a version that is not promoted", logs)
    last = p.records()[-1]
    assert last["version"] == p.store.versions()[-1] != good and p.store.latest() == good
    assert last["metrics"]["macro_f1"] < last["parent_metrics"]["macro_f1"] - 0.02
    assert p.model_version() == model_version_name(good)
    answer = httpx.post(
        f"{backend.url}/predict", json={"tasks": [{"id": 1, "data": {"text": "hi"}}], "project": str(p.id)}, timeout=60
    )
    assert answer.json()["model_version"] == model_version_name(good)

    # missed webhooks (the backend is down): reconciliation catches up; new tasks get predictions without a retrain
    backend.process.terminate()
    backend.process.wait(30)
    for tid in [t for t in pool if t not in train][:2]:
        annotations[tid] = ls.annotations.create(id=tid, result=choice(gold[tid])).id
    extra = read_rows(data_dir / "sms_spam" / "test.csv", 5, offset=N_TASKS)
    ls.projects.import_tasks(id=p.id, request=[{"text": r["text"]} for r in extra])

    def caught_up() -> bool:
        tasks = p.tasks()
        mv = p.model_version()
        return len(tasks) == N_TASKS + 5 and all(current_prediction(t, mv) for t in unlabelled(tasks))

    wait_for(
        lambda: p.settled(lambda: p.records()[-1]["train_size"] == 21 and caught_up()),
        60,
        "a retrain found by reconciliation, and predictions for the new tasks",
        logs,
    )
    mv = p.model_version()
    counts = {t.id: len(current_prediction(t, mv)) for t in unlabelled(p.tasks())}
    assert len(counts) == N_TASKS + 5 - 36 and set(counts.values()) == {1}, {i: c for i, c in counts.items() if c != 1}
    print(f"worker e2e ({queue}): {time.monotonic() - started:.1f} s")


def test_a_project_with_tasks_is_ordered_at_once_and_the_base_model_is_kept_over_a_two_label_version(
    label_studio, start_backend, start_worker, linear_spam_store, data_dir, tmp_path
):
    state = tmp_path / "backend-data"
    slow_reconcile = (
        "--eval-min",
        "10",
        "--min-eval",
        "10",
        "--reconcile-every",
        "600",
        "--batch",
        "10",
        "--full-every",
        "0",
    )
    worker = start_worker(state, "--store", str(linear_spam_store), *slow_reconcile)
    backend = start_backend(linear_spam_store, data_dir=state)
    ls = label_studio.client()
    project = ls.projects.create(title="textal worker e2e: connect", label_config=CONFIG)
    p = Project(ls, project.id, state, None)
    rows = read_rows(data_dir / "sms_spam" / "test.csv", 100, offset=400)
    ids = sorted(
        ls.projects.import_tasks(id=p.id, request=[{"text": r["text"]} for r in rows], return_task_ids=True).task_ids
    )
    gold = dict(zip(ids, (r["label"] for r in rows)))

    # connecting to a project that already has tasks: set-up and scoring start at once (no reconciliation for 10 min)
    connected = time.monotonic()
    ls.ml.create(url=backend.url, project=p.id, title="textal")
    wait_for(
        lambda: p.model_version() == "base-v0001" and p.counts().get("base-v0001") == 100,
        60,
        "every task predicted by the base model",
        worker.log,
    )
    print(f"connect to every task predicted: {time.monotonic() - connected:.1f} s for 100 tasks")
    health = httpx.get(f"{backend.url}/health", timeout=10).json()
    versions = httpx.get(f"{backend.url}/versions", timeout=10).json()
    assert health["projects"] == {str(p.id): "base-v0001"} and versions["serving"] == {str(p.id): "base-v0001"}

    # two labels make a version, but the base model (1,500 labels) keeps serving until the slice says otherwise
    slice_ids = wait_for(lambda: len(p.view(EVAL_VIEW)) == 10 and p.view(EVAL_VIEW), 60, "the slice marked", worker.log)
    two = [next(t for t in ids if gold[t] == label and t not in slice_ids) for label in ("ham", "spam")]
    for tid in two:
        ls.annotations.create(id=tid, result=choice(gold[tid]))
    wait_for(
        lambda: p.records() and p.records()[-1].get("version") == "v0001" and p.idle(),
        60,
        "a first version",
        worker.log,
    )
    record = p.records()[-1]
    assert not record["promoted"] and "trained on more labels (1500 against 2)" in record["promotion"]["reason"]
    assert p.model_version() == "base-v0001" and p.store.latest() is None
    versions = httpx.get(f"{backend.url}/versions", timeout=10).json()
    assert versions["versions"][:2] == ["v0001", "base-v0001"] and versions["serving"] == {str(p.id): "base-v0001"}
    answer = httpx.post(
        f"{backend.url}/predict", json={"tasks": [{"id": 1, "data": {"text": "hi"}}], "project": str(p.id)}, timeout=60
    )
    assert answer.json()["model_version"] == "base-v0001"


def test_the_worker_refuses_to_start_with_a_key_label_studio_refuses(label_studio, tmp_path):
    worker = subprocess.run(
        [str(Path(sys.executable).parent / "textal"), "worker", "--data-dir", str(tmp_path / "data")],
        env={
            **os.environ,
            "LABEL_STUDIO_URL": label_studio.url,
            "LABEL_STUDIO_API_KEY": "0" * 40,
            "HF_HUB_OFFLINE": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 2
    lines = [line for line in worker.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "refuses LABEL_STUDIO_API_KEY" in lines[0] and "Traceback" not in worker.stderr
    assert "0" * 40 not in worker.stderr + worker.stdout


def test_a_worker_killed_mid_retrain_leaves_a_consistent_store_and_the_retrain_completes_on_restart(
    label_studio, start_backend, start_worker, data_dir, tmp_path
):
    started = time.monotonic()
    state = tmp_path / "backend-data"
    no_store = tmp_path / "no-store"  # cold start: the first version has no parent and is promoted
    backend = start_backend(no_store, data_dir=state)
    ls = label_studio.client()
    project = ls.projects.create(title="textal worker e2e: SIGKILL", label_config=CONFIG)
    ls.ml.create(url=backend.url, project=project.id, title="textal")
    p = Project(ls, project.id, state, None)
    rows = read_rows(data_dir / "sms_spam" / "test.csv", 100, offset=200)
    ids = sorted(
        ls.projects.import_tasks(id=p.id, request=[{"text": r["text"]} for r in rows], return_task_ids=True).task_ids
    )
    gold = dict(zip(ids, (r["label"] for r in rows)))
    train = [t for t in ids if gold[t] == "spam"][:5] + [t for t in ids if gold[t] == "ham"][:5]
    for tid in train:  # no worker yet: the jobs wait on the queue
        ls.annotations.create(id=tid, result=choice(gold[tid]))
    assert {j["name"] for j in p.jobs.pending()} == {"score_tasks", "retrain"}

    worker = start_worker(state, *WORKER_ARGS)
    wait_for(lambda: "training the fast tier" in worker.log(), 120, "the retrain to start training", worker.log)
    worker.kill()
    assert "trained on" not in worker.log()  # killed before it published
    assert p.store.versions() == [] and p.store.latest() is None
    assert p.jobs.gate.lease("project", p.id) is not None  # left behind by the dead worker

    with BackendWatch(backend.url, p.id, [r["text"] for r in rows[:5]]) as watch:
        again = start_worker(state, *WORKER_ARGS)
        wait_for(lambda: p.settled(), 120, "the retrain to complete after the restart", again.log)
    assert "lease of a dead worker" in again.log()
    versions = p.store.versions()
    assert p.store.latest() in versions and len(versions) >= 1
    for version in versions:  # every version whole: model and card
        folder = p.store.path(version)
        assert (folder / "card.json").is_file() and (folder / "model" / "textal_model.json").is_file()
    assert not list((p.store.root / ".staging").glob("*"))
    assert p.store.card()["training_size"] == sum(t not in p.view(EVAL_VIEW) for t in train)
    mv = p.model_version()
    assert mv == model_version_name(p.store.latest())
    assert all(len(current_prediction(t, mv)) == 1 for t in unlabelled(p.tasks()))
    assert {s for s, _ in watch.answers} == {200}
    print(f"worker SIGKILL e2e: {time.monotonic() - started:.1f} s")
