"""Informativeness on the absolute scale: the same item scores the same in any batch, within [0, 1], order kept."""

from __future__ import annotations

import numpy as np
import pytest

from textal.errors import TextalError
from textal.ranking.scale import Scorer, squash
from textal.strategies import list_strategies
from textal.strategies.measures import entropy
from textal.strategies.registry import Pool, Selection, Strategy


class Margin(Strategy):
    """1 - (top1 - top2): a per-item strategy whose range the scorer must find on its own."""

    name = "test-margin"
    needs = frozenset({"proba"})

    def scores(self, pool: Pool) -> np.ndarray:
        top = np.sort(pool.proba, axis=1)
        return 3.0 * (1.0 - (top[:, -1] - top[:, -2])) + 2.0  # an arbitrary affine range on purpose

    def select(self, pool, n, rng):
        return Selection(np.argsort(-self.scores(pool))[:n], self.scores(pool))


class Spread(Strategy):
    """Reads embeddings: no known bound, so the scorer squashes it."""

    name = "test-spread"
    needs = frozenset({"proba", "embeddings"})

    def scores(self, pool: Pool) -> np.ndarray:
        return np.linalg.norm(pool.embeddings, axis=1) * 10.0

    def select(self, pool, n, rng):
        return Selection(np.argsort(-self.scores(pool))[:n], self.scores(pool))


class NeedsCommittee(Margin):
    name = "test-committee"
    needs = frozenset({"committee"})


def uniform(k):
    return np.full((1, k), 1.0 / k)


def one_hot(k):
    row = np.zeros((1, k))
    row[0, k - 1] = 1.0
    return row


@pytest.mark.parametrize("k", [2, 3, 5, 77])
def test_entropy_informativeness_is_entropy_over_its_maximum(k):
    rows = np.random.default_rng(k).dirichlet(np.ones(k), size=20)
    expected = entropy(rows, False)  # already H / log k
    np.testing.assert_allclose(Scorer("entropy").informativeness(rows, False), expected, atol=1e-9)


def test_multi_label_entropy_informativeness_is_one_at_one_half_everywhere():
    scorer = Scorer("entropy")
    assert scorer.informativeness(np.full((1, 4), 0.5), True)[0] == pytest.approx(1.0)
    assert scorer.informativeness(np.array([[1.0, 0.0, 0.0]]), True)[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("k", [2, 4])
def test_the_default_entropy_scorer_spans_zero_to_one(k):
    scorer = Scorer("entropy")
    assert scorer.informativeness(uniform(k), False)[0] == pytest.approx(1.0)
    assert scorer.informativeness(one_hot(k), False)[0] == pytest.approx(0.0, abs=1e-9)


def test_a_per_item_strategy_is_calibrated_on_its_extremes():
    scorer = Scorer("test-margin", strategy=Margin())
    assert scorer.informativeness(uniform(3), False)[0] == pytest.approx(1.0)
    assert scorer.informativeness(one_hot(3), False)[0] == pytest.approx(0.0)
    row = np.array([[0.6, 0.3, 0.1]])
    assert scorer.informativeness(row, False)[0] == pytest.approx(1.0 - 0.3)


def test_an_item_scores_the_same_alone_and_in_any_batch():
    rng = np.random.default_rng(0)
    batch = rng.dirichlet(np.ones(4), size=50)
    for scorer in (Scorer("entropy"), Scorer("test-margin", strategy=Margin())):
        together = scorer.informativeness(batch, False)
        alone = np.array([scorer.informativeness(batch[i : i + 1], False)[0] for i in range(50)])
        np.testing.assert_allclose(together, alone)
        assert together.min() >= 0.0 and together.max() <= 1.0


def test_an_unbounded_strategy_is_squashed_keeping_order():
    scorer = Scorer("test-spread", strategy=Spread())
    emb = np.arange(1, 6, dtype=float)[:, None] * np.ones((5, 3))
    values = scorer.informativeness(np.full((5, 2), 0.5), False, embeddings=emb)
    assert np.all(np.diff(values) > 0) and values.min() > 0.0 and values.max() < 1.0
    np.testing.assert_allclose(values, squash(np.linalg.norm(emb, axis=1) * 10.0))


def test_an_unknown_strategy_is_refused():
    with pytest.raises(TextalError, match="no-such-strategy"):
        Scorer("no-such-strategy")


def test_a_strategy_needing_what_a_batch_lacks_is_refused_for_batches():
    scorer = Scorer("test-committee", strategy=NeedsCommittee())
    assert not scorer.per_batch
    with pytest.raises(TextalError, match="committee"):
        scorer.require_per_batch()


def test_every_registered_strategy_maps_a_batch_into_zero_one_or_is_refused_for_batches():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), size=40)
    emb = rng.normal(size=(40, 8))
    checked = refused = 0
    for name, _ in list_strategies():
        scorer = Scorer(name)
        if not scorer.per_batch:
            with pytest.raises(TextalError):
                scorer.require_per_batch()
            refused += 1
            continue
        values = scorer.informativeness(proba, False, embeddings=emb, texts=[f"t{i}" for i in range(40)])
        assert values.shape == (40,) and values.min() >= 0.0 and values.max() <= 1.0, name
        checked += 1
    assert checked >= 6 and refused >= 2  # uncertainty and diversity strategies score batches; committees cannot
