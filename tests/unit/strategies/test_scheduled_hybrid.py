"""hybrid.v2: the diversity factor follows labels per class; otherwise it behaves as hybrid.v1."""

from __future__ import annotations

import numpy as np
import pytest

from textal.strategies import Pool, StrategyError, get_strategy, resolve_name


def pool_with(labelled: int, k: int, n: int = 300, seed: int = 0) -> Pool:
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(k), size=n)
    emb = rng.normal(size=(n, 8)).astype(np.float32)
    return Pool(proba=proba, embeddings=emb, labelled_embeddings=rng.normal(size=(labelled, 8)) if labelled else None)


@pytest.mark.parametrize(("labelled", "k", "factor"), [(0, 4, 30.0), (31, 4, 30.0), (32, 4, 10.0), (79, 4, 10.0),
                                                       (80, 4, 3.0), (100, 77, 30.0), (1540, 77, 3.0)])
def test_factor_falls_as_labels_per_class_pass_the_thresholds(labelled, k, factor):
    assert get_strategy("hybrid.v2").factor_for(pool_with(labelled, k)) == factor


def test_bare_name_hybrid_means_the_newest_version():
    assert resolve_name("hybrid") == "hybrid.v2"


def test_with_one_stage_it_selects_exactly_as_hybrid_v1():
    pool = pool_with(10, 3)
    v1 = get_strategy("hybrid.v1", factor=5.0).select(pool, 12, np.random.default_rng(3))
    v2 = get_strategy("hybrid.v2", factors=(5.0,), per_class=()).select(pool, 12, np.random.default_rng(3))
    np.testing.assert_array_equal(v1.indices, v2.indices)
    np.testing.assert_array_equal(v1.scores, v2.scores)


@pytest.mark.parametrize(("factors", "per_class"), [((30.0, 3.0), (8.0, 20.0)), ((30.0, 10.0, 3.0), (20.0, 8.0)),
                                                    ((30.0, 0.5, 3.0), (8.0, 20.0))])
def test_inconsistent_schedules_are_rejected(factors, per_class):
    with pytest.raises(StrategyError):
        get_strategy("hybrid.v2", factors=factors, per_class=per_class)
