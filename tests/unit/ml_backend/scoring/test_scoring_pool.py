"""Whole-pool scores under a project's strategy."""

from __future__ import annotations

import numpy as np
import pytest

from ml_backend.scoring.pool_ranking import PoolScorer
from textal.models.committee import BootstrapCommittee
from textal.ranking.scale import Scorer


@pytest.fixture(scope="module")
def pool():
    """200 points in two blobs (a "ham" and a "spam" side), a model's probabilities, 20 labelled, 20 held out."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-1, 1, (100, 8)), rng.normal(1, 1, (100, 8))]).astype(np.float32)
    p_spam = 1 / (1 + np.exp(-2 * X[:, 0]))
    proba = np.column_stack([1 - p_spam, p_spam])
    labelled = np.zeros(200, dtype=bool)
    labelled[rng.choice(200, 20, replace=False)] = True
    held_out = np.zeros(200, dtype=bool)
    held_out[rng.choice(np.flatnonzero(~labelled), 20, replace=False)] = True
    texts = [
        f"text {chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(200)
    ]  # distinct (digits would count as duplicates)
    y = np.where(np.arange(200) < 100, "ham", "spam")
    return X, proba, labelled, held_out, texts, y


def test_per_item_strategies_score_exactly_as_the_backend_does(pool):
    X, proba, labelled, held_out, texts, _ = pool
    inf, batch = PoolScorer("margin").score(
        proba=proba, embeddings=X, texts=texts, labelled=labelled, held_out=held_out, multi_label=False, batch=10
    )
    assert np.allclose(inf, Scorer("margin").informativeness(proba, False))
    assert len(batch) == 10 and not (labelled | held_out)[batch].any()


@pytest.mark.parametrize("name", ["vote_entropy", "kl_consensus", "coreset", "badge", "hybrid", "kmeans"])
def test_pool_strategies_work_over_the_whole_pool_and_never_pick_labelled_or_held_out_tasks(pool, name):
    X, proba, labelled, held_out, texts, y = pool
    committee = BootstrapCommittee(size=4, classes=["ham", "spam"]).fit(X[labelled], list(y[labelled])).predict_proba(X)
    scorer = PoolScorer(name)
    inf, batch = scorer.score(
        proba=proba,
        embeddings=X,
        texts=texts,
        labelled=labelled,
        held_out=held_out,
        multi_label=False,
        committee=committee if scorer.needs_committee else None,
        batch=15,
    )
    assert inf.shape == (200,) and np.all((0 <= inf) & (inf <= 1))
    assert len(batch) == 15 and len(set(batch.tolist())) == 15 and not (labelled | held_out)[batch].any()
