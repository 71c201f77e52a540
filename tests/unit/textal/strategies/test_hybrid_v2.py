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


@pytest.mark.parametrize(
    ("labelled", "k", "factor"),
    [(0, 4, 30.0), (31, 4, 30.0), (32, 4, 10.0), (79, 4, 10.0), (80, 4, 3.0), (100, 77, 30.0), (1540, 77, 3.0)],
)
def test_factor_falls_as_labels_per_class_pass_the_thresholds(labelled, k, factor):
    assert get_strategy("hybrid.v2").factor_for(pool_with(labelled, k)) == factor


def test_a_model_trained_elsewhere_counts_its_labels_for_the_schedule():
    # textal score ranks a new pool with a published model: none of its labels is in the pool
    pool = pool_with(0, 4)
    pool.trained_on = 4000
    assert get_strategy("hybrid.v2").factor_for(pool) == 3.0
    pool.trained_on = 0
    assert get_strategy("hybrid.v2").factor_for(pool) == 30.0


def test_bare_name_hybrid_means_the_newest_version():
    assert resolve_name("hybrid") == "hybrid.v2"


def test_with_one_stage_it_selects_exactly_as_hybrid_v1():
    pool = pool_with(10, 3)
    v1 = get_strategy("hybrid.v1", factor=5.0).select(pool, 12, np.random.default_rng(3))
    v2 = get_strategy("hybrid.v2", factors=(5.0,), per_class=()).select(pool, 12, np.random.default_rng(3))
    np.testing.assert_array_equal(v1.indices, v2.indices)
    np.testing.assert_array_equal(v1.scores, v2.scores)


@pytest.mark.parametrize(
    ("factors", "per_class"),
    [((30.0, 3.0), (8.0, 20.0)), ((30.0, 10.0, 3.0), (20.0, 8.0)), ((30.0, 0.5, 3.0), (8.0, 20.0))],
)
def test_inconsistent_schedules_are_rejected(factors, per_class):
    with pytest.raises(StrategyError):
        get_strategy("hybrid.v2", factors=factors, per_class=per_class)


# Batches hybrid.v2 chose when it still stored each call's factor on itself (captured before the change).
RECORDED = [
    ((0, 4, 0, 5), [71, 137, 139, 217, 69]),
    ((40, 4, 1, 6), [286, 95, 254, 184, 63, 274]),
    ((100, 4, 2, 8), [199, 154, 220, 77, 178, 252, 28, 6]),
    ((100, 77, 3, 4), [275, 264, 9, 183]),
    ((1540, 77, 4, 9), [17, 218, 171, 42, 108, 190, 242, 115, 138]),
]


@pytest.mark.parametrize(("setting", "batch"), RECORDED)
def test_it_selects_the_batches_it_always_selected_for_the_same_seed(setting, batch):
    labelled, k, seed, n = setting
    sel = get_strategy("hybrid.v2").select(pool_with(labelled, k, seed=seed), n, np.random.default_rng(seed))
    assert sel.indices.tolist() == batch


def test_one_strategy_object_reused_across_stages_keeps_its_parameters_and_past_selections():
    strategy = get_strategy("hybrid.v2")
    before = dict(vars(strategy))
    batches = [
        strategy.select(pool_with(labelled, 4, seed=7), 6, np.random.default_rng(7)).indices.tolist()
        for labelled in (100, 0, 40)
    ]
    assert batches == [[256, 2, 162, 11, 175, 167], [10, 151, 145, 262, 124, 241], [151, 249, 237, 238, 240, 96]]
    assert vars(strategy) == before and not hasattr(strategy, "factor")
