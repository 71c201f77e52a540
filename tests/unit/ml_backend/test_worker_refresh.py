"""Whole-pool scores under a project's strategy and the predictions pushed from them."""

from __future__ import annotations

import numpy as np
import pytest

from ml_backend.labelconfig import parse_label_config
from ml_backend.refresh import BATCH_BAND, PoolScorer, Row, chosen_labels, ls_scores, predictions
from ml_backend.scoring import Scorer
from textal.models.committee import BootstrapCommittee

SCHEMA = parse_label_config(
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


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
    texts = [f"text {chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(200)]  # distinct (digits would count as duplicates)
    y = np.where(np.arange(200) < 100, "ham", "spam")
    return X, proba, labelled, held_out, texts, y


def test_per_item_strategies_score_exactly_as_the_backend_does(pool):
    X, proba, labelled, held_out, texts, _ = pool
    inf, batch = PoolScorer("margin").score(proba=proba, embeddings=X, texts=texts, labelled=labelled,
                                            held_out=held_out, multi_label=False, batch=10)
    assert np.allclose(inf, Scorer("margin").informativeness(proba, False))
    assert len(batch) == 10 and not (labelled | held_out)[batch].any()


@pytest.mark.parametrize("name", ["vote_entropy", "kl_consensus", "coreset", "badge", "hybrid", "kmeans"])
def test_pool_strategies_work_over_the_whole_pool_and_never_pick_labelled_or_held_out_tasks(pool, name):
    X, proba, labelled, held_out, texts, y = pool
    committee = BootstrapCommittee(size=4, classes=["ham", "spam"]).fit(X[labelled], list(y[labelled])).predict_proba(X)
    scorer = PoolScorer(name)
    inf, batch = scorer.score(proba=proba, embeddings=X, texts=texts, labelled=labelled, held_out=held_out,
                              multi_label=False, committee=committee if scorer.needs_committee else None, batch=15)
    assert inf.shape == (200,) and np.all((0 <= inf) & (inf <= 1))
    assert len(batch) == 15 and len(set(batch.tolist())) == 15 and not (labelled | held_out)[batch].any()


def test_scores_put_the_open_slice_first_then_the_batch_in_order_then_the_rest_by_informativeness():
    inf = np.array([0.9, 0.1, 0.5, 0.99, 0.3])
    scores = ls_scores(inf, batch=np.array([4, 1]), eval_open=np.array([False, False, False, True, False]))
    assert scores[3] == 0.0
    assert 0 < scores[4] < scores[1] < BATCH_BAND <= scores[0] < scores[2]
    assert scores[0] == pytest.approx(1 - 0.9, abs=BATCH_BAND)
    assert np.argsort(scores).tolist() == [3, 4, 1, 0, 2]


def test_held_out_tasks_get_no_prefilled_guess_and_unknown_labels_are_never_emitted():
    rows = [Row(1, ["spam"], 0.2, 3, False), Row(2, ["ham"], 0.0, 1, True), Row(3, None, 1.0, None, False),
            Row(4, ["eggs"], 0.5, 0, False)]
    out = predictions(rows, SCHEMA, "v0007")
    assert out[0] == {"task": 1, "result": [SCHEMA.choices_result(["spam"])], "score": 0.2, "model_version": "v0007", "cluster": 3}
    assert out[1]["result"] == [] and out[1]["score"] == 0.0
    assert out[2] == {"task": 3, "result": [], "score": 1.0, "model_version": "v0007"}
    assert out[3]["result"] == []


def test_the_chosen_labels_are_the_top_one_or_all_over_their_threshold():
    assert chosen_labels(np.array([0.3, 0.7]), ["ham", "spam"], False) == ["spam"]
    assert chosen_labels(np.array([0.6, 0.2, 0.9]), ["a", "b", "c"], True) == ["a", "c"]
    assert chosen_labels(np.array([0.6, 0.2, 0.9]), ["a", "b", "c"], True, {"c": 0.95}) == ["a"]
