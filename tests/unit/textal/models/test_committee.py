"""Committees: class-covering bootstrap heads, MC dropout of a real transformer, mixed classifiers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textal.errors import ModelError
from textal.models.committee import (
    BootstrapCommittee,
    MCDropoutCommittee,
    MixedCommittee,
    align_columns,
    covering_bootstrap,
    make_committee,
)
from textal.models.linear import LinearClassifier
from textal.strategies import Pool, get_strategy

SPAM = ["win cash prize now", "free money claim now", "urgent reward call now txt stop", "claim your free prize"]
HAM = ["meet for lunch tomorrow", "see you at home later", "thanks love see you tonight", "sorry going to sleep"]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 80), k=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_a_covering_bootstrap_holds_every_labelled_class_and_keeps_the_sample_size(n, k, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    rows = covering_bootstrap(y, False, rng)
    assert set(y[rows].tolist()) == set(y.tolist())
    assert len(rows) == max(n, len(set(y.tolist())))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_a_multi_label_covering_bootstrap_holds_a_yes_and_a_no_of_every_label_that_has_both(n, k, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, k)) < 0.3).astype(np.float32)
    sample = y[covering_bootstrap(y, True, rng)]
    for j in range(k):
        if 0 < y[:, j].sum() < n:
            assert 0 < sample[:, j].sum() < len(sample)


def embedded_toy(n_per: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.eye(4, 8) * 3
    X = np.concatenate(
        [c + rng.standard_normal((n_per, 8)) for c in centres[:3]] + [centres[3] + rng.standard_normal((1, 8))]
    )
    labels = ["a"] * n_per + ["b"] * n_per + ["c"] * n_per + ["rare"]
    return X, labels


def test_bootstrap_committee_answers_over_every_declared_class_in_one_order():
    X, labels = embedded_toy()
    classes = ["a", "b", "c", "rare", "never seen"]
    committee = BootstrapCommittee(size=4, classes=classes).fit(X, labels)
    proba = committee.predict_proba(X)
    assert proba.shape == (4, len(X), 5) and committee.labels_ == classes
    np.testing.assert_allclose(proba.sum(axis=2), 1.0, atol=1e-6)
    assert (proba[:, :, 4] < 0.05).all()  # no example yet: never predicted


def test_every_bootstrap_member_knows_a_class_with_a_single_example():
    X, labels = embedded_toy()
    proba = BootstrapCommittee(size=8).fit(X, labels).predict_proba(X[-1:])
    rare = proba[:, 0, ["a", "b", "c", "rare"].index("rare")]
    assert (rare > 0.2).all()


def test_bootstrap_members_differ_but_the_committee_is_reproducible():
    X, labels = embedded_toy()
    a = BootstrapCommittee(size=3, random_state=1).fit(X, labels).predict_proba(X)
    b = BootstrapCommittee(size=3, random_state=1).fit(X, labels).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])


def test_bootstrap_committee_feeds_the_committee_strategies():
    X, labels = embedded_toy()
    committee = BootstrapCommittee(size=5).fit(X[::2], labels[::2]).predict_proba(X)
    sel = get_strategy("vote_entropy.v1").select(Pool(committee=committee, embeddings=X), 5, np.random.default_rng(0))
    assert len(sel.indices) == 5


def test_multi_label_bootstrap_committee_gives_independent_probabilities():
    X, _ = embedded_toy()
    labels = [("x",) if i % 3 else ("x", "y") for i in range(len(X))]
    proba = BootstrapCommittee(size=3, multi_label=True).fit(X, labels).predict_proba(X)
    assert proba.shape == (3, len(X), 2)
    assert proba[:, :, 0].min() > 0.5 and proba.sum(axis=2).max() > 1.0


def test_bootstrap_committee_refuses_bad_input():
    X, labels = embedded_toy()
    with pytest.raises(ModelError, match="size"):
        BootstrapCommittee(size=0).fit(X, labels)
    with pytest.raises(ModelError, match="labels"):
        BootstrapCommittee().fit(X[:5], labels)
    with pytest.raises(ModelError, match="not fitted"):
        BootstrapCommittee().predict_proba(X)
    fitted = BootstrapCommittee(size=2).fit(X, labels)
    with pytest.raises(ModelError, match="8 dimensions"):
        fitted.predict_proba(X[:, :3])
    with pytest.raises(ModelError, match="NaN"):
        BootstrapCommittee().fit(np.full_like(X, np.nan), labels)


def test_mixed_committee_of_unlike_models_aligns_their_columns():
    texts, labels = (SPAM + HAM) * 3, (["spam"] * 4 + ["ham"] * 4) * 3
    members = [LinearClassifier(C=10.0), LinearClassifier(C=0.1, word_ngrams=(1, 1), char_ngrams=(3, 3))]
    committee = MixedCommittee(members=members, classes=["spam", "ham", "other"]).fit(texts, labels)
    proba = committee.predict_proba(SPAM[:2])
    assert proba.shape == (2, 2, 3)
    assert committee.labels_ == ["spam", "ham", "other"]
    assert (proba[:, :, 0] > proba[:, :, 1]).all()  # spam column is spam for both members


def test_mixed_committee_builds_its_members_from_model_kinds():
    texts, labels = (SPAM + HAM) * 3, (["spam"] * 4 + ["ham"] * 4) * 3
    committee = make_committee("mixed", kinds=["linear", "linear"], member_params={"linear": {"C": 1.0}})
    proba = committee.fit(texts, labels).predict_proba(HAM[:3])
    assert proba.shape == (2, 3, 2)


def test_align_columns_reorders_by_label_name_and_fills_unknown_labels_with_zero():
    out = align_columns(np.array([[0.3, 0.7]]), ["b", "a"], ["a", "b", "c"])
    np.testing.assert_allclose(out, [[0.7, 0.3, 0.0]])
    with pytest.raises(ModelError, match="'z'"):
        align_columns(np.array([[1.0]]), ["z"], ["a"])


def test_make_committee_picks_the_source_and_checks_the_configuration():
    assert isinstance(make_committee(), BootstrapCommittee) and make_committee().size == 5
    assert make_committee("bootstrap", size=9).size == 9
    with pytest.raises(ModelError, match="model="):
        make_committee("mc_dropout")
    with pytest.raises(ModelError, match="one member per kind"):
        make_committee("mixed", size=5, kinds=["linear", "spacy"])
    with pytest.raises(ModelError, match="unknown committee source"):
        make_committee("crowd")
    with pytest.raises(ModelError, match="at least two"):
        MixedCommittee(kinds=["linear"]).fit(SPAM + HAM, ["spam"] * 4 + ["ham"] * 4)


def test_mc_dropout_needs_a_model_with_dropout():
    model = LinearClassifier().fit(SPAM + HAM, ["spam"] * 4 + ["ham"] * 4)
    with pytest.raises(ModelError, match="no dropout"):
        MCDropoutCommittee(model).predict_proba(SPAM)


def test_mc_dropout_passes_of_a_real_transformer_form_a_committee(tiny_bert_dir):
    from textal.models.transformer import TransformerClassifier

    model = TransformerClassifier(model=str(tiny_bert_dir), epochs=2, learning_rate=3e-3, batch_size=8, seed=0)
    committee = make_committee("mc_dropout", size=4, model=model).fit(
        (SPAM + HAM) * 2, (["spam"] * 4 + ["ham"] * 4) * 2
    )
    proba = committee.predict_proba(SPAM + HAM)
    assert proba.shape == (4, 8, 2) and committee.labels_ == ["ham", "spam"]
    assert not np.allclose(proba[0], proba[1])  # dropout makes the passes differ
    np.testing.assert_array_equal(proba, committee.predict_proba(SPAM + HAM))  # seeded
    sel = get_strategy("kl_consensus.v1").select(Pool(committee=proba), 3, np.random.default_rng(0))
    assert len(sel.indices) == 3
