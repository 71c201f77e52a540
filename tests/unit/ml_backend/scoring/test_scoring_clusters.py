"""Cluster ids: fixed per model version, from shipped centroids or else seeded hyperplane hashing."""

from __future__ import annotations

import numpy as np

from ml_backend.scoring.clusters import (
    LSH_BITS,
    ClusterAssigner,
    fit_centroids,
    load_centroids,
    save_centroids,
)
from textal.store.model_store import ModelStore


def test_hashing_is_the_same_for_every_assigner_and_every_batch():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 16))
    ids = ClusterAssigner().assign(emb)
    assert ids.min() >= 0 and ids.max() < 2**LSH_BITS
    np.testing.assert_array_equal(ids, ClusterAssigner().assign(emb))
    np.testing.assert_array_equal(ids[5:9], ClusterAssigner().assign(emb[5:9]))
    np.testing.assert_array_equal(ids, ClusterAssigner().assign(emb * 3.0))  # direction only


def test_centroids_separate_clear_groups_and_survive_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(loc=(5, 0, 0), scale=0.1, size=(20, 3))
    b = rng.normal(loc=(0, 5, 0), scale=0.1, size=(20, 3))
    centroids = fit_centroids(np.vstack([a, b]), k=2)
    save_centroids(tmp_path, centroids)
    assigner = ClusterAssigner(load_centroids(tmp_path))
    assert assigner.scheme == "centroids"
    ids = assigner.assign(np.vstack([a, b]))
    assert len(set(ids[:20])) == 1 and len(set(ids[20:])) == 1 and ids[0] != ids[20]


def test_centroids_published_with_a_version_decide_the_clusters_it_serves(
    make_client, tmp_path, spam_model, pool_texts, spam_config, tasks_for
):
    centroids = fit_centroids(spam_model.embed(pool_texts), k=4)

    def write(model, path):
        model.save(path)
        save_centroids(path, centroids)

    store = tmp_path / "store-with-centroids"
    ModelStore(store).publish(spam_model, write=write)
    c = make_client(store)
    assert c.post("/setup", json={"project": "2.1", "schema": spam_config}).status_code == 200
    results = c.post("/predict", json={"tasks": tasks_for(pool_texts), "project": "2.1"}).json()["results"]
    expected = ClusterAssigner(centroids).assign(spam_model.embed(pool_texts))
    assert [r["cluster"] for r in results] == expected.tolist()
    assert len(set(expected.tolist())) > 1
