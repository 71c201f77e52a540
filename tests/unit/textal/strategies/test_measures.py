"""The informativeness measures: their defining values and their symmetry in the classes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from textal.strategies import measures

FAST = settings(max_examples=40, deadline=None)


def random_proba(seed: int, n: int, k: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.full(k, 0.5), size=n)


@FAST
@given(k=st.integers(2, 30), seed=st.integers(0, 10_000))
def test_entropy_is_one_for_a_uniform_row_and_at_most_that_for_any_other(k, seed):
    rows = np.vstack([np.full(k, 1.0 / k), random_proba(seed, 20, k)])
    h = measures.entropy(rows)
    assert np.isclose(h[0], 1.0)
    assert (h[1:] <= h[0] + 1e-12).all()


@FAST
@given(k=st.integers(1, 30), hot=st.data())
def test_entropy_margin_and_least_confidence_are_zero_for_a_one_hot_row(k, hot):
    j = hot.draw(st.integers(0, k - 1))
    row = np.zeros((1, k))
    row[0, j] = 1.0
    for measure in (measures.entropy, measures.margin, measures.least_confidence):
        assert measure(row)[0] == 0.0


def test_one_class_only_gives_zero_uncertainty_everywhere():
    proba = np.ones((5, 1))
    for measure in (measures.entropy, measures.margin, measures.least_confidence):
        np.testing.assert_array_equal(measure(proba), np.zeros(5))


def test_margin_is_one_when_the_two_best_classes_tie():
    assert measures.margin(np.array([[0.4, 0.4, 0.2]]))[0] == 1.0
    assert np.isclose(measures.margin(np.array([[0.6, 0.3, 0.1]]))[0], 1.0 - (0.6 - 0.3))


@FAST
@given(k=st.integers(1, 12), m=st.integers(1, 6), seed=st.integers(0, 10_000), multi=st.booleans())
def test_every_measure_is_unchanged_by_reordering_the_classes(k, m, seed, multi):
    rng = np.random.default_rng(seed)
    committee = rng.random((m, 15, k)) if multi else rng.dirichlet(np.ones(k), size=(m, 15))
    proba = committee[0]
    perm = rng.permutation(k)
    for measure in measures.MEASURES.values():
        np.testing.assert_allclose(measure(proba, multi), measure(proba[:, perm], multi), atol=1e-12)
    for measure in measures.COMMITTEE_MEASURES.values():
        np.testing.assert_allclose(measure(committee, multi), measure(committee[:, :, perm], multi), atol=1e-12)


@FAST
@given(k=st.integers(2, 10), m=st.integers(2, 8), seed=st.integers(0, 10_000), multi=st.booleans())
def test_vote_entropy_is_zero_when_all_members_agree(k, m, seed, multi):
    rng = np.random.default_rng(seed)
    base = rng.dirichlet(np.ones(k), size=20)
    if multi:
        # every member on the same side of 0.5 for every label
        side = rng.random((20, k)) < 0.5
        committee = np.where(side, rng.uniform(0.51, 1.0, (m, 20, k)), rng.uniform(0.0, 0.49, (m, 20, k)))
    else:
        # each member sharpens the same winner differently: same vote, different probabilities
        winner = base.argmax(axis=1)
        committee = rng.dirichlet(np.ones(k), size=(m, 20)) * 0.5
        committee[:, np.arange(20), winner] += 0.6
        committee /= committee.sum(axis=2, keepdims=True)
    np.testing.assert_array_equal(measures.vote_entropy(committee, multi), np.zeros(20))


def test_vote_entropy_is_one_when_every_member_votes_for_a_different_class():
    committee = np.eye(3)[:, None, :]  # 3 members, 1 item, 3 classes
    assert np.isclose(measures.vote_entropy(committee)[0], 1.0)


def test_vote_entropy_splits_a_tied_members_vote_so_column_order_does_not_matter():
    committee = np.array([[[0.5, 0.5, 0.0]], [[0.0, 0.2, 0.8]]])
    a = measures.vote_entropy(committee)
    b = measures.vote_entropy(committee[:, :, ::-1])
    assert a[0] == b[0] > 0


@FAST
@given(k=st.integers(1, 10), m=st.integers(1, 6), seed=st.integers(0, 10_000), multi=st.booleans())
def test_kl_to_consensus_is_zero_for_identical_members_and_within_zero_and_one(k, m, seed, multi):
    rng = np.random.default_rng(seed)
    one = rng.random((10, k)) if multi else rng.dirichlet(np.ones(k), size=10)
    same = np.repeat(one[None], m, axis=0)
    np.testing.assert_allclose(measures.kl_to_consensus(same, multi), 0.0, atol=1e-12)
    varied = rng.random((m, 10, k)) if multi else rng.dirichlet(np.full(k, 0.3), size=(m, 10))
    kl = measures.kl_to_consensus(varied, multi)
    assert ((kl >= 0) & (kl <= 1)).all()


def test_kl_to_consensus_stays_bounded_when_a_member_gives_a_class_zero():
    committee = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert np.isclose(measures.kl_to_consensus(committee)[0], 1.0)


def test_multi_label_aggregation_mean_entropy_and_least_sure_label_margin():
    proba = np.array([[0.5, 1.0], [0.9, 0.1]])
    np.testing.assert_allclose(
        measures.entropy(proba, multi_label=True), [0.5, measures.entropy(np.array([[0.9, 0.1]]))[0]]
    )
    np.testing.assert_allclose(measures.margin(proba, multi_label=True), [1.0, 1.0 - 0.8])
    np.testing.assert_allclose(measures.least_confidence(proba, multi_label=True), [0.25, 0.1])
