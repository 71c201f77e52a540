import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textal.models.hf import length_sorted_batches


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=200), max_size=80),
    batch_size=st.integers(min_value=1, max_value=40),
    max_tokens=st.one_of(st.none(), st.integers(min_value=1, max_value=2000)),
)
def test_length_sorted_batches_cover_every_row_once_within_both_limits(lengths, batch_size, max_tokens):
    batches = length_sorted_batches(lengths, batch_size, max_tokens)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    for batch in batches:
        assert 1 <= len(batch) <= batch_size
        padded = len(batch) * max(lengths[i] for i in batch)
        if max_tokens is not None and len(batch) > 1:
            assert padded <= max_tokens


def test_token_budget_packs_short_rows_together_and_long_rows_apart():
    batches = length_sorted_batches([100, 10, 100, 10, 10, 10], batch_size=32, max_tokens=200)
    assert [sorted(b.tolist()) for b in batches] == [[0, 2], [1, 3, 4, 5]]


def test_row_longer_than_the_token_budget_gets_a_batch_of_its_own():
    assert [b.tolist() for b in length_sorted_batches([500, 5], batch_size=8, max_tokens=100)] == [[0], [1]]


def test_without_a_token_budget_batches_are_fixed_size():
    assert [len(b) for b in length_sorted_batches(list(range(1, 11)), batch_size=4)] == [4, 4, 2]


def test_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        length_sorted_batches([3, 4], batch_size=0)
