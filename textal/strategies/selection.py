"""One active-learning round: build the pool a strategy sees, pick the next batch.

The simulation, the retrain worker and the CLI all go through ``select_batch``, so a strategy
behaves the same offline and in Label Studio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from textal.strategies import Pool, Selection, Strategy


def select_batch(
    strategy: Strategy,
    n: int,
    rng: np.random.Generator,
    *,
    labelled: np.ndarray,
    held_out: np.ndarray | None = None,
    proba: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    committee: Callable[[], np.ndarray] | np.ndarray | None = None,
    texts: Sequence[str] | None = None,
    groups: np.ndarray | None = None,
    multi_label: bool = False,
    trained_on: int | None = None,
) -> Selection:
    """Pick ``n`` unlabelled, non-held-out items of a pool by ``strategy``.

    ``labelled`` and ``held_out`` are boolean masks over the pool; neither is ever selected.
    ``committee`` may be a callable, so that committee members are only fitted when the strategy
    asks for them. ``trained_on``: labels the model learned from outside this pool (a published model
    ranking a new pool), for strategies that adapt to how much the model has seen.
    """
    excluded = labelled.copy()
    if held_out is not None:
        excluded |= held_out
    needs = strategy.needs
    members = committee() if callable(committee) and "committee" in needs else committee
    pool = Pool(
        proba=proba,
        embeddings=embeddings,
        committee=members if isinstance(members, np.ndarray) else None,
        texts=texts,
        excluded=excluded,
        labelled_embeddings=embeddings[labelled] if embeddings is not None and labelled.any() else None,
        multi_label=multi_label,
        groups=groups,
        trained_on=trained_on,
    )
    return strategy.select(pool, n, rng)
