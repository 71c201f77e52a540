"""Temperature scaling fitted on the held-out slice, and expected calibration error before and after.

Single-label: the model's log-probabilities are its logits up to a constant, so the calibrated
distribution is softmax(log p / T). Multi-label: each label's logit is log(p / (1 - p)) and the
calibrated probability sigmoid(logit / T). One temperature is shared by all labels by default
(a held-out slice rarely has enough positives of every label to fit one each); ``per_label=True``
fits one per label. T > 1 softens an over-confident model, T < 1 sharpens an under-confident one.

ECE: single-label, the top-label confidence against accuracy in ``n_bins`` equal-width bins;
multi-label, every (item, label) probability against the label's presence, in the same bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from textal.errors import ModelError, TextalError
from textal.models import classifier as base

T_BOUNDS = (0.05, 20.0)
_EPS = 1e-12


class CalibrationError(TextalError, ValueError):
    """Calibration got held-out data it cannot use (empty, mismatched, probabilities out of range)."""


class TemperatureScaler:
    """One temperature (or one per label) that minimises held-out negative log-likelihood."""

    temperature_: float | np.ndarray  # set by ``fit``: one per label with ``per_label``

    def __init__(self, multi_label: bool = False, per_label: bool = False) -> None:
        self.multi_label = multi_label
        self.per_label = per_label

    def fit(self, proba: Any, y: Any) -> TemperatureScaler:
        """Fit on held-out probabilities (n, k) and true labels (class indices, or a 0/1 matrix)."""
        p, t = check_heldout(proba, y, self.multi_label)
        if self.per_label and not self.multi_label:
            raise CalibrationError("per_label temperatures apply to multi-label models only")
        if self.multi_label and self.per_label:
            self.temperature_ = np.array([_fit_one(p[:, [j]], t[:, [j]], True) for j in range(p.shape[1])])
        else:
            self.temperature_ = _fit_one(p, t, self.multi_label)
        return self

    def transform(self, proba: Any) -> np.ndarray:
        """Calibrated probabilities, same shape as ``proba``."""
        if not hasattr(self, "temperature_"):
            raise CalibrationError("this TemperatureScaler is not fitted yet; call fit() first")
        return apply_temperature(check_proba(proba, self.multi_label), self.temperature_, self.multi_label)


def apply_temperature(proba: np.ndarray, temperature: float | np.ndarray, multi_label: bool = False) -> np.ndarray:
    """softmax(log p / T), or sigmoid(logit(p) / T) per label for multi-label."""
    p = np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0 - _EPS)
    if multi_label:
        z = (np.log(p) - np.log1p(-p)) / temperature
        return 1.0 / (1.0 + np.exp(-z))
    z = np.log(p) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(proba: Any, y: Any, n_bins: int = 15, multi_label: bool = False) -> float:
    """ECE in [0, 1]: the gap between confidence and accuracy, averaged over equal-width bins by count."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise CalibrationError(f"n_bins must be a whole number >= 1, not {n_bins!r}")
    p, t = check_heldout(proba, y, multi_label)
    if multi_label:
        conf, hit = p.ravel(), t.ravel().astype(np.float64)
    else:
        conf, hit = p.max(axis=1), (p.argmax(axis=1) == t).astype(np.float64)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    gap = np.abs(np.bincount(bins, weights=hit, minlength=n_bins) - np.bincount(bins, weights=conf, minlength=n_bins))
    return float(gap.sum() / len(conf))


def negative_log_likelihood(proba: Any, y: Any, multi_label: bool = False) -> float:
    """Mean held-out NLL (multi-label: mean binary cross-entropy over items and labels)."""
    p, t = check_heldout(proba, y, multi_label)
    return _nll(p, t, multi_label)


@dataclass(frozen=True)
class CalibrationReport:
    """What calibration found on the held-out slice; goes into the model card."""

    temperature: float | list[float]
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    items: int
    n_bins: int
    multi_label: bool
    per_label: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibrate(
    proba: Any, y: Any, multi_label: bool = False, per_label: bool = False, n_bins: int = 15
) -> tuple[TemperatureScaler, CalibrationReport]:
    """Fit temperature scaling on held-out ``proba``/``y`` and report ECE and NLL before and after."""
    scaler = TemperatureScaler(multi_label=multi_label, per_label=per_label).fit(proba, y)
    after = scaler.transform(proba)
    temp = scaler.temperature_
    report = CalibrationReport(
        temperature=[float(v) for v in temp] if isinstance(temp, np.ndarray) else float(temp),
        ece_before=expected_calibration_error(proba, y, n_bins, multi_label),
        ece_after=expected_calibration_error(after, y, n_bins, multi_label),
        nll_before=negative_log_likelihood(proba, y, multi_label),
        nll_after=negative_log_likelihood(after, y, multi_label),
        items=int(np.asarray(proba).shape[0]),
        n_bins=n_bins,
        multi_label=multi_label,
        per_label=per_label,
    )
    return scaler, report


def write_to_card(store: Any, version: str, report: CalibrationReport) -> None:
    """Record the report under ``calibration`` in the model card of ``version`` (a ModelStore)."""
    store.update_card(version, calibration=report.as_dict())


def encode_held_out_labels(labels: Sequence[Any], label_names: Sequence[str], multi_label: bool = False) -> np.ndarray:
    """String labels (multi-label: sequences of them) as class indices or a 0/1 matrix over ``label_names``."""
    try:
        return base.encode_labels(labels, label_names, multi_label)
    except ModelError as exc:
        raise CalibrationError(f"held-out {exc}") from None


def check_proba(proba: Any, multi_label: bool) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] == 0:
        raise CalibrationError(f"probabilities must be an (items x classes) array, got shape {p.shape}")
    if not np.isfinite(p).all() or (p.size and (p.min() < 0 or p.max() > 1)):
        raise CalibrationError("probabilities must be finite and lie in [0, 1]")
    if not multi_label and p.size and np.abs(p.sum(axis=1) - 1).max() > 1e-3:
        raise CalibrationError("single-label probabilities must sum to 1 per row; pass multi_label=True otherwise")
    return p


def check_heldout(proba: Any, y: Any, multi_label: bool) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels checked against each other; labels as ints or a 0/1 matrix."""
    p = check_proba(proba, multi_label)
    if len(p) == 0:
        raise CalibrationError("the held-out slice is empty; calibration needs labelled held-out items")
    t = np.asarray(y)
    if multi_label:
        if t.shape != p.shape or not np.isin(t, (0, 1)).all():
            raise CalibrationError(f"multi-label truth must be a 0/1 matrix of shape {p.shape}, got {t.shape}")
        return p, t.astype(np.float64)
    if t.shape != (len(p),) or not np.issubdtype(t.dtype, np.integer):
        raise CalibrationError(
            f"truth must be {len(p)} class indices (use encode_held_out_labels "
            f"for strings), got {t.dtype} of shape {t.shape}"
        )
    if t.min() < 0 or t.max() >= p.shape[1]:
        raise CalibrationError(f"class indices must lie in [0, {p.shape[1] - 1}]")
    return p, t


def _nll(p: np.ndarray, t: np.ndarray, multi_label: bool) -> float:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    if multi_label:
        return float(-(t * np.log(q) + (1 - t) * np.log1p(-q)).mean())
    return float(-np.log(q[np.arange(len(q)), t]).mean())


def _fit_one(p: np.ndarray, t: np.ndarray, multi_label: bool) -> float:
    def loss(log_t: float) -> float:
        return _nll(apply_temperature(p, float(np.exp(log_t)), multi_label), t, multi_label)

    lo, hi = np.log(T_BOUNDS[0]), np.log(T_BOUNDS[1])
    result = minimize_scalar(loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    best = float(result.x)
    return float(np.exp(best)) if loss(best) <= loss(0.0) else 1.0
