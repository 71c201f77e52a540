"""Whether a newly trained version may replace the one serving: compared with its parent on the same
held-out labels, so that annotators never get a worse model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from textal.quality.calibration import encode_held_out_labels

DEFAULT_MARGIN = 0.02  # macro-F1 a new version may lose against its parent and still be promoted
DEFAULT_MIN_EVAL = 20  # held-out labels needed before the promotion rule judges at all
MIN_WORSE_ITEMS = 2  # a drop is only held against a version when it gets at least this many more items wrong


def net_worse_items(
    proba: np.ndarray,
    parent_proba: np.ndarray,
    labels: Sequence[Any],
    classes: Sequence[str],
    multi_label: bool,
    threshold: float = 0.5,
) -> int:
    """Held-out items the new version gets wrong and its parent right, minus the reverse (multi-label: exact match)."""
    gold = encode_held_out_labels(list(labels), list(classes), multi_label)

    def right(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if multi_label:
            return ((p >= threshold) == (gold >= 0.5)).all(axis=1)
        return p.argmax(axis=1) == gold

    new, old = right(proba), right(parent_proba)
    return int((old & ~new).sum()) - int((new & ~old).sum())


@dataclass(frozen=True)
class Promotion:
    """Whether a new version replaces the one serving, and why."""

    promote: bool
    reason: str
    metric: str
    value: float | None
    parent_value: float | None
    margin: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def promotion(
    metrics: dict[str, float] | None,
    parent_metrics: dict[str, float] | None,
    *,
    margin: float = DEFAULT_MARGIN,
    metric: str = "macro_f1",
    min_eval: int = DEFAULT_MIN_EVAL,
    worse_items: int | None = None,
    train_size: int | None = None,
    parent_train_size: int | None = None,
) -> Promotion:
    """Whether a new version replaces its parent (the version serving), judged on the same held-out labels.

    - No parent: promoted.
    - Fewer than ``min_eval`` held-out labels: too few to judge, so the version trained on more labels
      serves: the new one is promoted only if ``train_size`` is at least ``parent_train_size`` (a
      two-label model never replaces one trained on thousands); with either size unknown, promoted.
    - Otherwise promoted unless it scores more than ``margin`` below the parent and (when ``worse_items``,
      from ``net_worse_items``, is given) gets at least ``MIN_WORSE_ITEMS`` more of the items wrong. The
      second condition keeps one item of a small slice from freezing the model: on 15 items a single
      extra error costs 0.07 of accuracy. An infinite ``margin`` always promotes.
    """
    value = None if metrics is None else metrics.get(metric)
    parent = None if parent_metrics is None else parent_metrics.get(metric)
    n = 0 if metrics is None else int(metrics.get("n", 0))
    if parent_metrics is None and parent_train_size is None:
        return Promotion(True, "no parent version to compare with", metric, value, None, margin)
    if margin == math.inf:
        return Promotion(True, "promotion margin is infinite: every version is promoted", metric, value, parent, margin)
    if value is None or parent is None or n < min_eval:
        why = f"{n} held-out labels, fewer than the {min_eval} a comparison needs"
        if train_size is not None and parent_train_size is not None and train_size < parent_train_size:
            return Promotion(
                False,
                f"{why}; the serving version was trained on more labels ({parent_train_size} against {train_size})",
                metric,
                value,
                parent,
                margin,
            )
        return Promotion(True, why, metric, value, parent, margin)
    if value < parent - margin and worse_items is not None and worse_items < MIN_WORSE_ITEMS:
        return Promotion(
            True,
            f"{metric} {value:.4f} against the parent's {parent:.4f}, but only {max(worse_items, 0)} more of the {n} "
            f"held-out items wrong (fewer than {MIN_WORSE_ITEMS})",
            metric,
            value,
            parent,
            margin,
        )
    if value < parent - margin:
        return Promotion(
            False,
            f"{metric} {value:.4f} is more than {margin} below the "
            f"parent's {parent:.4f} on the same {n} held-out labels",
            metric,
            value,
            parent,
            margin,
        )
    return Promotion(
        True,
        f"{metric} {value:.4f} against the parent's {parent:.4f} on {n} held-out labels",
        metric,
        value,
        parent,
        margin,
    )
