"""Several annotators per item: how good each one is, and votes weighed by it.

cleanlab's CROWDLAB (``get_label_quality_multiannotator``) estimates each annotator's quality from their
agreement with the consensus and with a model's out-of-fold probabilities; ``weighted_vote`` then resolves
an item by the summed quality of the annotators behind each label, so one careless annotator no longer
counts as much as a careful one. Single-label tasks.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

NO_LABEL = -1  # in a votes matrix: this annotator did not label this item; in a resolution: a tie


@dataclass(frozen=True)
class AnnotatorStats:
    """One annotator's figures over the items several annotators labelled."""

    annotator: str
    labels: int  # items labelled
    agreement: float  # share of their labels that agree with the consensus
    quality: float  # cleanlab's annotator quality, 0 (random) .. 1 (always right)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def annotator_stats(votes: np.ndarray, pred_probs: np.ndarray, annotators: Sequence[str]) -> list[AnnotatorStats]:
    """Per annotator (a column of ``votes``: class index, or ``NO_LABEL``), from the items at least two of them
    labelled, with the model's out-of-fold ``pred_probs`` for those items; empty when no item has two labels."""
    from cleanlab.multiannotator import get_label_quality_multiannotator

    votes = np.asarray(votes)
    shared = (votes != NO_LABEL).sum(axis=1) >= 2
    active = (votes[shared] != NO_LABEL).any(axis=0)
    if shared.sum() < 2 or active.sum() < 2:
        return []
    matrix = np.where(votes[shared][:, active] == NO_LABEL, np.nan, votes[shared][:, active]).astype(float)
    names = [a for a, keep in zip(annotators, active) if keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about annotators with few labels; the figures stand
        out = get_label_quality_multiannotator(
            matrix, np.asarray(pred_probs)[shared], verbose=False, return_detailed_quality=False
        )
    stats = out["annotator_stats"]
    return sorted(
        (
            AnnotatorStats(
                names[int(i)],
                int(row["num_examples_labeled"]),
                round(float(row["agreement_with_consensus"]), 4),
                round(float(row["annotator_quality"]), 4),
            )
            for i, row in stats.iterrows()
        ),
        key=lambda s: s.annotator,
    )


def weighted_vote(votes: np.ndarray, weights: np.ndarray | None, n_classes: int) -> np.ndarray:
    """Per item (a row of ``votes``), the label with the largest summed weight of its annotators (all weights 1
    when ``weights`` is None: the majority); ``NO_LABEL`` on a tie or when nobody labelled the item."""
    votes = np.asarray(votes)
    w = np.ones(votes.shape[1]) if weights is None else np.asarray(weights, dtype=float)
    totals = np.zeros((len(votes), n_classes))
    for j in range(votes.shape[1]):
        given = votes[:, j] != NO_LABEL
        np.add.at(totals, (np.flatnonzero(given), votes[given, j]), w[j])
    best = totals.argmax(axis=1)
    top = totals.max(axis=1)
    tied = (np.isclose(totals, top[:, None]).sum(axis=1) > 1) | (top <= 0)
    return np.where(tied, NO_LABEL, best)
