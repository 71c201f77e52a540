"""When to stop labelling: rules that read the model's history and say stop or go, with their figures.

* ``stabilising_predictions`` (Bloodgood & Vijay-Shanker, 2009): predictions on a fixed unlabelled
  stop set barely change between consecutive model versions (mean Cohen's kappa over the last
  ``window`` pairs at or above ``threshold``).
* ``overall_uncertainty`` / ``max_uncertainty`` (Zhu et al., 2008): the model is sure of the pool
  on average / even about its least sure item.
* ``metric_plateau``: the held-out metric has not gained ``min_gain`` over its best for ``rounds``
  rounds (default 0.5 points, i.e. 0.005 on a 0-1 metric, for 3 rounds).

Each returns a ``StopVerdict``: the decision, the figure compared with the threshold, a one-line
reason, and the numbers behind it so a report can show why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from textal.errors import TextalError
from textal.strategies import measures


class StoppingError(TextalError, ValueError):
    """A stopping rule got input it cannot judge (mismatched stop sets, bad thresholds)."""


@dataclass(frozen=True)
class StopVerdict:
    """A stopping rule's decision and the figures behind it."""

    rule: str
    stop: bool
    value: float | None  # the figure compared with the threshold (None: not enough history yet)
    threshold: float
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_stop_set(pool_size: int, size: int = 1000, seed: int | np.random.Generator = 0) -> np.ndarray:
    """A fixed random subset of pool rows (sorted) to compare model versions on; kept for the whole project.

    ``seed`` may be a Generator, which then supplies the draws (a caller's stream stays reproducible).
    """
    if pool_size < 0 or size < 0:
        raise StoppingError("pool and stop-set sizes must be 0 or more")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool_size, size=min(size, pool_size), replace=False))


def cohen_kappa(a: Any, b: Any) -> float:
    """Cohen's kappa between two label vectors (or two 0/1 matrices, compared cell by cell).

    Two identical constant vectors agree perfectly: 1.0 (the formula's 0/0 made explicit).
    """
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        raise StoppingError(f"predictions differ in shape: {x.shape} and {y.shape}")
    x, y = x.ravel(), y.ravel()
    if len(x) == 0:
        raise StoppingError("cannot compare predictions on an empty stop set")
    values, codes = np.unique(np.concatenate([x, y]), return_inverse=True)
    cx, cy = codes[: len(x)], codes[len(x) :]
    observed = float((cx == cy).mean())
    px = np.bincount(cx, minlength=len(values)) / len(x)
    py = np.bincount(cy, minlength=len(values)) / len(y)
    expected = float((px * py).sum())
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def stabilising_predictions(predictions: Sequence[Any], window: int = 3, threshold: float = 0.99) -> StopVerdict:
    """Stop when the mean kappa between consecutive versions' stop-set predictions, over the last
    ``window`` pairs, reaches ``threshold``.

    ``predictions`` holds one entry per model version, oldest first: the predicted labels of the
    same stop-set items (multi-label: a 0/1 matrix, compared label by label).
    """
    _check_positive_int(window, "window")
    _check_unit(threshold, "threshold")
    kappas = [cohen_kappa(a, b) for a, b in zip(predictions[:-1], predictions[1:])]
    figures: dict[str, Any] = {"kappas": kappas, "window": window, "versions": len(predictions)}
    if len(kappas) < window:
        return StopVerdict(
            "stabilising_predictions",
            False,
            None,
            threshold,
            f"need {window + 1} model versions to judge stability, have {len(predictions)}",
            figures,
        )
    mean = float(np.mean(kappas[-window:]))
    stop = mean >= threshold
    verb = "reached" if stop else "below"
    return StopVerdict(
        "stabilising_predictions",
        stop,
        mean,
        threshold,
        f"mean kappa of the last {window} version pairs is {mean:.4f}, {verb} {threshold}",
        figures,
    )


def overall_uncertainty(
    proba: Any, threshold: float = 0.1, measure: str = "entropy", multi_label: bool = False
) -> StopVerdict:
    """Stop when the mean uncertainty of the unlabelled pool falls below ``threshold``.

    ``measure`` is entropy (normalised, 0..1), margin or least_confidence, as the strategies compute it.
    """
    scores = _uncertainty(proba, measure, multi_label)
    value = float(scores.mean())
    return _below("overall_uncertainty", value, threshold, measure, scores, "mean")


def max_uncertainty(
    proba: Any, threshold: float = 0.5, measure: str = "entropy", multi_label: bool = False
) -> StopVerdict:
    """Stop when even the least sure item (of the pool, or of the next batch) is below ``threshold``."""
    scores = _uncertainty(proba, measure, multi_label)
    value = float(scores.max())
    return _below("max_uncertainty", value, threshold, measure, scores, "highest")


def metric_plateau(history: Sequence[float], min_gain: float = 0.005, rounds: int = 3) -> StopVerdict:
    """Stop when the best held-out metric of the last ``rounds`` rounds beats the best before them
    by less than ``min_gain`` (metric units: 0.005 is half a point of a 0-1 macro-F1).
    """
    _check_positive_int(rounds, "rounds")
    if not np.isfinite(min_gain) or min_gain < 0:
        raise StoppingError(f"min_gain must be a number >= 0, not {min_gain!r}")
    values = np.asarray(history, dtype=np.float64)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise StoppingError("the metric history must be a list of finite numbers, one per round")
    figures: dict[str, Any] = {"history": values.tolist(), "rounds": rounds, "min_gain": min_gain}
    if len(values) <= rounds:
        return StopVerdict(
            "metric_plateau",
            False,
            None,
            min_gain,
            f"need {rounds + 1} rounds of the held-out metric, have {len(values)}",
            figures,
        )
    best_before = float(values[:-rounds].max())
    best_recent = float(values[-rounds:].max())
    gain = best_recent - best_before
    figures.update(
        best_before=best_before,
        best_recent=best_recent,
        gains=[float(v - values[:i].max()) for i, v in enumerate(values) if i > 0],
    )
    stop = gain < min_gain
    return StopVerdict(
        "metric_plateau",
        stop,
        gain,
        min_gain,
        f"the last {rounds} rounds gained {gain:+.4f} over the best before ({best_before:.4f}); "
        + ("under" if stop else "at least")
        + f" {min_gain}",
        figures,
    )


def _uncertainty(proba: Any, measure: str, multi_label: bool) -> np.ndarray:
    if measure not in measures.MEASURES:
        raise StoppingError(f"measure must be one of {', '.join(measures.MEASURES)}, not {measure!r}")
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise StoppingError(f"probabilities must be a non-empty (items x classes) array, got shape {p.shape}")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise StoppingError("probabilities must be finite and lie in [0, 1]")
    return measures.MEASURES[measure](p, multi_label)


def _below(rule: str, value: float, threshold: float, measure: str, scores: np.ndarray, what: str) -> StopVerdict:
    if not np.isfinite(threshold) or threshold < 0:
        raise StoppingError(f"threshold must be a number >= 0, not {threshold!r}")
    stop = value < threshold
    figures = {
        "measure": measure,
        "items": int(len(scores)),
        "mean": float(scores.mean()),
        "max": float(scores.max()),
        "quantiles": {q: float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99)},
    }
    return StopVerdict(
        rule,
        stop,
        value,
        threshold,
        f"{what} {measure} is {value:.4f}, " + ("below" if stop else "not below") + f" {threshold}",
        figures,
    )


def _check_positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise StoppingError(f"{name} must be a whole number >= 1, not {value!r}")


def _check_unit(value: Any, name: str) -> None:
    if not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
        raise StoppingError(f"{name} must be a number in [-1, 1], not {value!r}")
