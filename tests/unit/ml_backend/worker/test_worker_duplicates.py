"""A project's duplicate groups are kept while its texts stay the same, and computed again when they change."""

from __future__ import annotations

import numpy as np

from ml_backend.worker.duplicates import PoolDuplicates
from textal.data.corpus import duplicate_groups


def test_groups_are_kept_for_the_same_texts_and_redone_for_new_ones():
    kept = PoolDuplicates()
    texts = ["Win cash now", "win cash now!", "see you at lunch", "WIN CASH NOW"]
    first = kept.groups(1, texts)
    np.testing.assert_array_equal(first, duplicate_groups(texts, near=True))
    assert kept.groups(1, list(texts)) is first  # an equal list of texts: no work
    more = kept.groups(1, [*texts, "see you at lunch."])
    assert more is not first and len(more) == 5 and more[4] == more[2]
    kept.groups(2, texts)
    assert kept.groups(1, [*texts, "see you at lunch."]) is more  # another project's texts leave this one's kept
