"""Annotator quality (cleanlab's CROWDLAB) and votes weighed by it."""

from __future__ import annotations

import numpy as np

from textal.quality.annotator_quality import NO_LABEL, annotator_stats, weighted_vote


def panel(n=400, errors=(0.45, 0.05, 0.05), seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    votes = np.stack([np.where(rng.random(n) < e, (y + rng.integers(1, 3, n)) % 3, y) for e in errors], axis=1)
    return y, votes


def test_the_careless_annotator_gets_the_lowest_quality_and_agreement():
    y, votes = panel()
    proba = np.full((len(y), 3), 0.15)
    proba[np.arange(len(y)), y] = 0.7  # a decent model
    stats = {s.annotator: s for s in annotator_stats(votes, proba, ["careless", "ann", "bob"])}
    assert stats["careless"].quality < min(stats["ann"].quality, stats["bob"].quality)
    assert stats["careless"].agreement < min(stats["ann"].agreement, stats["bob"].agreement)
    assert stats["ann"].labels == len(y)


def test_without_overlap_there_is_nothing_to_estimate():
    votes = np.array([[0, NO_LABEL], [NO_LABEL, 1], [1, NO_LABEL]])
    assert annotator_stats(votes, np.full((3, 2), 0.5), ["a", "b"]) == []


def test_a_weighted_vote_follows_the_better_annotators_and_reports_ties():
    votes = np.array([[0, 1, NO_LABEL], [2, 2, 1], [0, 1, 2], [NO_LABEL] * 3])
    assert weighted_vote(votes, None, 3).tolist() == [NO_LABEL, 2, NO_LABEL, NO_LABEL]  # majority: ties are no label
    assert weighted_vote(votes, np.array([0.2, 0.9, 0.5]), 3).tolist() == [1, 2, 1, NO_LABEL]
