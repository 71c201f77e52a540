"""Each project's near-duplicate groups, kept between jobs while the pool's texts stay the same.

Strategies keep near-duplicates out of a batch; grouping a large pool's texts costs more than the
rest of a refresh's scoring, and the texts change only when tasks come or go.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from textal.strategies import Pool
from textal.strategies.checks import pool_groups


class PoolDuplicates:
    """Duplicate-group ids per project, for one list of texts at a time; thread-safe."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[int, np.ndarray]] = {}
        self._lock = threading.Lock()

    def groups(self, project_id: int, texts: Sequence[str]) -> np.ndarray:
        """(n,) group ids of ``texts``: the kept ones when the texts are those of the project's last call."""
        key = hash(tuple(texts))
        with self._lock:
            kept = self._kept.get(project_id)
        if kept is not None and kept[0] == key and len(kept[1]) == len(texts):
            return kept[1]
        groups = pool_groups(Pool(texts=list(texts)), len(texts))
        with self._lock:
            self._kept[project_id] = (key, groups)
        return groups
