"""A project's strategy over its whole pool (the worker's view): informativeness of every task and the next batch.

The worker holds the whole pool, so every strategy works here, committee and diversity ones
included. Informativeness is on ``textal.ranking.scale``'s absolute scale: for per-item strategies the
very figure /predict computes for the same probabilities, for the others the strategy's pool-wide
score through the same fixed squash.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textal.ranking.scale import Scorer
from textal.strategies.measures import COMMITTEE_MEASURES
from textal.strategies.selection import select_batch


class PoolScorer:
    """A project's strategy over a whole pool: normalised informativeness and the next batch."""

    def __init__(self, name: str) -> None:
        self.scorer = Scorer(name)
        self.strategy = self.scorer.strategy
        self.name = self.scorer.name

    @property
    def needs_committee(self) -> bool:
        """True when the strategy reads a committee (a committee strategy, or hybrid over a committee measure)."""
        return "committee" in self.strategy.needs or getattr(self.strategy, "measure", None) in COMMITTEE_MEASURES

    def score(
        self,
        *,
        proba: np.ndarray,
        embeddings: np.ndarray,
        texts: Sequence[str],
        labelled: np.ndarray,
        held_out: np.ndarray,
        multi_label: bool,
        committee: np.ndarray | None = None,
        batch: int = 0,
        seed: int = 0,
        groups: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(informativeness in [0, 1] for every row, indices of the next ``batch`` rows to ask, best first);
        ``groups``: the texts' duplicate groups, when known."""
        selection = select_batch(
            self.strategy,
            max(int(batch), 0),
            np.random.default_rng(seed),
            labelled=labelled,
            held_out=held_out,
            proba=proba,
            embeddings=embeddings,
            committee=committee,
            texts=list(texts),
            groups=groups,
            multi_label=multi_label,
        )
        if self.scorer.per_item:
            informativeness = self.scorer.informativeness(proba, multi_label)
        else:
            informativeness = self.scorer.scale(selection.scores, np.asarray(proba).shape[1], multi_label)
        return informativeness, np.asarray(selection.indices, dtype=np.int64)
