"""One scoring path: for the same task and version, the score the worker pushes is the score /predict answers."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient
from worker_fakes import CONFIG, PROJECT_ID, Harness, sms_like

from ml_backend.config import DEFAULT_STRATEGY, ServerSettings
from ml_backend.labelstudio.tasks import EVAL_KEY
from ml_backend.server.app import create_app


def test_predict_answers_the_score_label_and_cluster_the_worker_pushed(tmp_path, tiny_bert_dir):
    data = tmp_path / "data"
    harness = Harness(data, encoder=str(tiny_bert_dir), batch=5)
    from ml_backend.worker.embeddings import PoolEmbedder

    harness.ctx.embedder = PoolEmbedder(data / "embeddings")  # the real encoder path, on a tiny BERT
    texts, labels = zip(*(sms_like(i) for i in range(40)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    slice_ids = [t for t, task in harness.studio.tasks.items() if task["data"].get(EVAL_KEY) == 1]
    harness.label([t for t in truth if t not in slice_ids][:12], truth)
    assert harness.retrain()["version"] == "v0001"
    pushed = harness.studio.current()
    band = set(harness.project().work["band"])

    app = create_app(ServerSettings.create(tmp_path / "no-base-store", data, DEFAULT_STRATEGY, environ={}))
    with TestClient(app) as client:
        assert client.post("/setup", json={"project": f"{PROJECT_ID}.1717000000", "schema": CONFIG}).status_code == 200
        tasks = [{"id": tid, "data": harness.studio.tasks[tid]["data"]} for tid in sorted(pushed)]
        answer = client.post("/predict", json={"tasks": tasks, "project": f"{PROJECT_ID}.1717000000"})
    assert answer.status_code == 200, answer.text
    results = dict(zip(sorted(pushed), answer.json()["results"]))
    compared = 0
    for tid, served in results.items():
        assert served["model_version"] == "v0001"
        if tid in band:
            continue  # the band (next batch, slice share): only the worker, which sees the whole pool, knows it
        np.testing.assert_allclose(served["score"], pushed[tid]["score"], atol=1e-6)
        assert served["result"] == pushed[tid]["result"] and served["cluster"] == pushed[tid]["cluster"]
        compared += 1
    assert compared >= 15
    slice_open = [t for t in slice_ids if t in results]
    assert slice_open and all(results[t]["result"] == pushed[t]["result"] == [] for t in slice_open)  # never a guess
