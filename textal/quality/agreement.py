"""Several annotations per item -> one label, the agreement behind it, and Krippendorff's alpha.

Single-label: the resolved label is the majority vote; an item's agreement ratio is the
majority's share of its annotations. A tie has no majority: the item is resolved to None and flagged.
Multi-label: every label is a yes/no decision per annotator; a label belongs to the resolved set
when more than half of the item's annotators chose it, and the item's agreement ratio is the mean,
over the labels anyone chose for it, of the share that sided with the majority on that label
(a label exactly half chose is a tie: the item is flagged).

Items below ``threshold`` (or tied) are flagged: ``training_labels`` leaves them out unless asked,
and ``flagged`` lists them for review. Items with one annotation cannot disagree: ratio 1.0.

Krippendorff's alpha (nominal) is computed over the items with two or more annotations; for
multi-label tasks over every (item, label) yes/no decision of the label set (each annotator
decided every label, if only by not choosing it). Alpha is None when it is undefined: fewer than
two comparable annotations, or a single value used throughout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from textal.errors import TextalError

Label = Any  # a string (single-label) or a collection of strings (multi-label)
K = TypeVar("K", bound=Hashable)  # what names an item (a task id, a row)


class AgreementError(TextalError, ValueError):
    """Annotations that cannot be resolved (no annotations, mixed single and multi-label, bad threshold)."""


@dataclass(frozen=True)
class ItemAgreement(Generic[K]):
    """One item's resolved label and how far its annotators agreed."""

    item: K
    label: str | tuple[str, ...] | None  # None: a single-label tie
    ratio: float
    annotations: int
    flagged: bool


@dataclass(frozen=True)
class AgreementReport(Generic[K]):
    """Per-item results and the round's figures."""

    items: list[ItemAgreement[K]]
    alpha: float | None
    threshold: float
    multi_label: bool
    label_set: tuple[str, ...] = field(default=())

    @property
    def flagged(self) -> list[K]:
        """Items below the threshold or tied: kept out of training, listed for review."""
        return [it.item for it in self.items if it.flagged]

    @property
    def mean_ratio(self) -> float | None:
        """Mean agreement ratio over items with two or more annotations (None if there are none)."""
        ratios = [it.ratio for it in self.items if it.annotations >= 2]
        return float(np.mean(ratios)) if ratios else None

    def training_labels(self, include_flagged: bool = False) -> dict[K, str | tuple[str, ...]]:
        """Resolved labels to train on; flagged items only when asked (a tie never: it has no label)."""
        return {it.item: it.label for it in self.items if it.label is not None and (include_flagged or not it.flagged)}

    def summary(self) -> dict[str, Any]:
        """The round's figures for a report or a model card."""
        return {
            "items": len(self.items),
            "multi_annotated": sum(it.annotations >= 2 for it in self.items),
            "alpha": self.alpha,
            "mean_ratio": self.mean_ratio,
            "threshold": self.threshold,
            "flagged": len(self.flagged),
        }


def resolve(
    annotations: Mapping[K, Sequence[Label]],
    threshold: float = 2 / 3,
    multi_label: bool | None = None,
    label_set: Sequence[str] | None = None,
) -> AgreementReport[K]:
    """Resolve every item's annotations (item -> list of labels, one per annotator) into a report.

    ``multi_label`` None guesses from the annotations (strings: single-label). ``label_set`` names
    the labels of a multi-label task (default: every label used); it bounds the alpha computation.
    """
    if not 0.0 <= float(threshold) <= 1.0:
        raise AgreementError(f"threshold must lie in [0, 1], not {threshold!r}")
    multi = _guess_multi(annotations) if multi_label is None else multi_label
    items: list[ItemAgreement[K]] = []
    for item, labels in annotations.items():
        if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
            raise AgreementError(f"item {item!r}: annotations must be a list of labels, one per annotator")
        labels = list(labels)
        if not labels:
            raise AgreementError(f"item {item!r} has no annotations")
        items.append(_resolve_multi(item, labels, threshold) if multi else _resolve_single(item, labels, threshold))
    if multi:
        used = sorted({lab for labels in annotations.values() for ann in labels for lab in _as_set(ann)})
        labels_of_task = tuple(label_set) if label_set is not None else tuple(used)
        unknown = sorted(set(used) - set(labels_of_task))
        if unknown:
            raise AgreementError(f"labels {unknown} are not in the label set {list(labels_of_task)}")
        units = [[lab in _as_set(ann) for ann in labels] for labels in annotations.values() for lab in labels_of_task]
    else:
        labels_of_task = tuple(sorted({lab for labels in annotations.values() for lab in labels}))
        units = [list(labels) for labels in annotations.values()]
    return AgreementReport(items, krippendorff_alpha(units), float(threshold), multi, labels_of_task)


def per_round(
    rounds: Mapping[Hashable, Mapping[K, Sequence[Label]]], threshold: float = 2 / 3, **kwargs: Any
) -> dict[Hashable, AgreementReport[K]]:
    """One report per round (round -> item -> annotations), for agreement over time."""
    return {name: resolve(anns, threshold, **kwargs) for name, anns in rounds.items()}


def krippendorff_alpha(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal data; each unit lists the values its coders gave.

    Units with fewer than two values cannot be paired and are skipped. None when undefined.
    """
    pairable = [list(u) for u in units if len(u) >= 2]
    if not pairable:
        return None
    values = sorted({v for u in pairable for v in u}, key=repr)
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in pairable:
        counts = np.bincount([index[v] for v in unit], minlength=len(values)).astype(np.float64)
        o += (np.outer(counts, counts) - np.diag(counts)) / (len(unit) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    observed = o.sum() - np.trace(o)
    expected = (n_c.sum() ** 2 - (n_c**2).sum()) / (n - 1)
    if expected <= 0:
        return None
    return float(1.0 - observed / expected)


def _resolve_single(item: K, labels: list[Label], threshold: float) -> ItemAgreement[K]:
    for lab in labels:
        if not isinstance(lab, str):
            raise AgreementError(f"item {item!r}: single-label annotations must be strings, got {lab!r}")
    counts = Counter(labels).most_common()
    top, top_count = counts[0]
    tie = len(counts) > 1 and counts[1][1] == top_count
    ratio = top_count / len(labels)
    return ItemAgreement(item, None if tie else top, ratio, len(labels), tie or ratio < threshold)


def _resolve_multi(item: K, labels: list[Label], threshold: float) -> ItemAgreement[K]:
    sets = [_as_set(ann) for ann in labels]
    n = len(sets)
    chosen = Counter(lab for s in sets for lab in s)
    resolved = tuple(sorted(lab for lab, c in chosen.items() if 2 * c > n))
    tie = any(2 * c == n for c in chosen.values())
    ratio = float(np.mean([max(c, n - c) / n for c in chosen.values()])) if chosen else 1.0
    return ItemAgreement(item, resolved, ratio, n, tie or ratio < threshold)


def _as_set(annotation: Label) -> frozenset[str]:
    if isinstance(annotation, str):
        return frozenset([annotation])
    try:
        return frozenset(annotation)
    except TypeError:
        raise AgreementError(f"a multi-label annotation must be a list of labels, got {annotation!r}") from None


def _guess_multi(annotations: Mapping[K, Sequence[Label]]) -> bool:
    kinds = {isinstance(ann, str) for labels in annotations.values() if not isinstance(labels, str) for ann in labels}
    if len(kinds) > 1:
        raise AgreementError("annotations mix single labels and label lists; pass multi_label explicitly")
    return kinds == {False}
