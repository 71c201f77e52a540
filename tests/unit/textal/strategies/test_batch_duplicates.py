"""Exact and near-duplicate texts never share a batch, whatever the strategy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textal.data.corpus import duplicate_groups
from textal.strategies import get_strategy, list_strategies

NAMES = [name for name, _ in list_strategies()]
VARIANTS = ["Call 0800 123 NOW!!", "call 0800-124 now", "CALL 0800 999 now", "Call 0800 123 NOW!!"]


def texts_with_duplicates(size: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(size):
        if rng.random() < 0.5:
            texts.append(VARIANTS[rng.integers(len(VARIANTS))])
        else:
            texts.append(f"message {rng.integers(size // 2 + 1)}")  # exact repeats too
    return texts


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(size=st.integers(2, 40), n=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_no_two_items_of_a_batch_are_duplicates(pool_factory, name, size, n, seed):
    pool = pool_factory(size, seed=seed)
    pool.texts = texts_with_duplicates(size, seed)
    groups = np.asarray(duplicate_groups(pool.texts))
    sel = get_strategy(name).select(pool, n, np.random.default_rng(seed))
    picked = groups[sel.indices]
    assert len(set(picked.tolist())) == len(picked)
    distinct_selectable = len(set(groups[~pool.excluded].tolist()))
    assert len(sel.indices) == min(n, distinct_selectable)


def test_the_most_informative_duplicates_give_way_to_the_next_distinct_text(pool_factory):
    pool = pool_factory(4, k=2, seed=0, excluded_fraction=0.0)
    pool.proba = np.array([[0.5, 0.5], [0.5, 0.5], [0.6, 0.4], [0.99, 0.01]])
    pool.texts = ["Win a PRIZE now!", "win a prize now", "see you at lunch", "ok"]
    sel = get_strategy("margin.v1", random_fraction=0).select(pool, 2, np.random.default_rng(0))
    assert sel.indices[1] == 2 and sel.indices[0] in (0, 1)


def test_groups_are_computed_once_and_kept_on_the_pool(pool_factory):
    pool = pool_factory(6, seed=1)
    pool.texts = ["a", "A!", "b", "c", "d", "e"]
    get_strategy("entropy.v1").select(pool, 2, np.random.default_rng(0))
    assert pool.groups.tolist() == duplicate_groups(pool.texts)
