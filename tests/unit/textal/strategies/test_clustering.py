"""The fast geometry agrees with its slow textbook form."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from textal.strategies.clustering import cluster_rank_scores, d2_sample, euclidean_dist_fn, greedy_k_center


def brute_k_center(X: np.ndarray, n: int, centres: np.ndarray) -> list[int]:
    picks: list[int] = []
    for _ in range(n):
        ref = np.vstack([centres, X[picks]]) if picks else centres
        d = ((X[:, None, :] - ref[None]) ** 2).sum(-1).min(axis=1)
        d[picks] = -1
        picks.append(int(d.argmax()))
    return picks


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 60), n=st.integers(0, 20), labelled=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_lazy_greedy_k_center_picks_exactly_what_the_brute_force_picks(size, n, labelled, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((size, 4))
    centres = rng.standard_normal((labelled, 4))
    picks, gap = greedy_k_center(X, n, np.ones(size, dtype=bool), centres)
    assert picks == brute_k_center(X, min(n, size), centres)
    expected_gap = np.sqrt(((X[:, None, :] - centres[None]) ** 2).sum(-1).min(axis=1))
    np.testing.assert_allclose(gap, expected_gap, atol=1e-6)


def test_without_labelled_items_k_center_starts_from_the_most_central_item():
    X = np.array([[0.0, 0.0], [10.0, 0.0], [-10.0, 0.0], [0.0, 9.0], [0.1, 0.1]])
    picks, _ = greedy_k_center(X, 2, np.ones(5, dtype=bool), None)
    assert picks[0] in (0, 4) and picks[1] in (1, 2)


def test_d2_sampling_draws_from_the_d2_distribution():
    # 5 points on a line; first centre fixed at 0: check the joint law of the next two picks
    X = np.array([[0.0], [1.0], [2.0], [4.0], [7.0]])
    dist = euclidean_dist_fn(X)
    rng = np.random.default_rng(0)
    runs = 4000
    counts: dict[tuple[int, int], int] = {}
    for _ in range(runs):
        picks = d2_sample(5, 3, dist, rng, 0, np.ones(5, dtype=bool))
        key = (picks[1], picks[2])
        counts[key] = counts.get(key, 0) + 1
    expected = {}
    d1 = (X[:, 0] - X[0, 0]) ** 2
    for j in range(1, 5):
        d2 = np.minimum(d1, (X[:, 0] - X[j, 0]) ** 2)
        for k in range(1, 5):
            if k != j:
                expected[(j, k)] = d1[j] / d1.sum() * d2[k] / d2.sum()
    for key, p in expected.items():
        assert abs(counts.get(key, 0) / runs - p) < 0.03, key


def test_d2_sampling_stops_when_every_remaining_point_sits_on_a_centre():
    X = np.zeros((6, 3))
    picks = d2_sample(6, 4, euclidean_dist_fn(X), np.random.default_rng(0), 2, np.ones(6, dtype=bool))
    assert picks == [2]


def test_cluster_rank_scores_give_each_cluster_one_top_member(blob_factory):
    X, region = blob_factory([30, 5, 12])
    scores = cluster_rank_scores(X, 3, np.random.default_rng(0), np.ones(len(X), dtype=bool))
    top = np.argsort(-scores)[:3]
    assert sorted(region[top].tolist()) == [0, 1, 2]
    assert ((scores > 0) & (scores <= 1)).all()
