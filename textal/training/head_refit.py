"""The fast tier of a live project: refit a head over cached embeddings, measure it on the evaluation
slice, and decide whether it may replace the version serving now.

Everything here works on arrays and label lists; where they come from (Label Studio, a CSV) is the
caller's business. Refitting a logistic head on a few thousand 384-d embeddings takes well under a
second, which is what lets scores follow the annotators.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textal.models.class_weights import DEFAULT_CLASS_WEIGHT, class_weight_param
from textal.models.committee import BootstrapCommittee
from textal.models.embed_head import EmbedHeadClassifier
from textal.models.metrics import score_predictions
from textal.models.precision import DEFAULT_PRECISION
from textal.quality.calibration import calibrate, encode_held_out_labels
from textal.quality.stopping import max_uncertainty, overall_uncertainty

MIN_CALIBRATION = 20  # held-out items needed before temperature scaling says anything


def fit_head(
    X: np.ndarray,
    labels: Sequence[Any],
    classes: Sequence[str],
    multi_label: bool,
    *,
    encoder: str = "default",
    cache_dir: str | Path | None = None,
    C: float = 10.0,
    class_weight: str | None = DEFAULT_CLASS_WEIGHT,
    seed: int = 0,
    precision: str = DEFAULT_PRECISION,
) -> EmbedHeadClassifier:
    """An ``EmbedHeadClassifier`` over ``encoder`` whose head is fitted on embeddings ``X`` (one row per label),
    classes weighted by default so that a skewed set of labels does not decide the answer alone. ``precision``: the
    encoder's, as ``X`` was embedded, so that the version embeds new texts the same way."""
    model = EmbedHeadClassifier(
        classes=list(classes),
        multi_label=multi_label,
        model=encoder,
        cache_dir=cache_dir,
        C=C,
        class_weight=class_weight_param(class_weight),
        random_state=seed,
        precision=precision,
    )
    return model.fit_embeddings(np.asarray(X, dtype=np.float32), list(labels))


def committee_proba(
    X_train: np.ndarray,
    labels: Sequence[Any],
    classes: Sequence[str],
    multi_label: bool,
    X_pool: np.ndarray,
    *,
    size: int = 5,
    C: float = 10.0,
    seed: int = 0,
) -> np.ndarray:
    """(size, n, k) probabilities of a bootstrap committee of heads, for committee strategies."""
    committee = BootstrapCommittee(size=size, classes=list(classes), multi_label=multi_label, C=C, random_state=seed)
    return committee.fit(np.asarray(X_train, dtype=np.float32), list(labels)).predict_proba(
        np.asarray(X_pool, dtype=np.float32)
    )


def heldout_metrics(
    proba: np.ndarray, labels: Sequence[Any], classes: Sequence[str], multi_label: bool
) -> dict[str, float] | None:
    """macro-F1, accuracy and n of ``proba`` against the held-out ``labels``; None without any."""
    if len(labels) == 0:
        return None
    gold = encode_held_out_labels(list(labels), list(classes), multi_label)
    return score_predictions(np.asarray(proba, dtype=np.float64), gold, multi_label)


def calibration_figures(
    proba: np.ndarray, labels: Sequence[Any], classes: Sequence[str], multi_label: bool
) -> dict[str, Any] | None:
    """Temperature and ECE before/after on the held-out labels (None with fewer than ``MIN_CALIBRATION``)."""
    if len(labels) < MIN_CALIBRATION:
        return None
    gold = encode_held_out_labels(list(labels), list(classes), multi_label)
    if not multi_label:
        gold = gold.astype(np.int64)
    _, report = calibrate(np.asarray(proba, dtype=np.float64), gold, multi_label=multi_label)
    return report.as_dict()


def pool_uncertainty(proba: np.ndarray, multi_label: bool) -> dict[str, Any] | None:
    """The two pool-uncertainty stopping verdicts (overall, max) for the unlabelled pool's probabilities."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or len(proba) == 0 or proba.shape[1] == 0:
        return None
    return {
        "overall_uncertainty": overall_uncertainty(proba, multi_label=multi_label).as_dict(),
        "max_uncertainty": max_uncertainty(proba, multi_label=multi_label).as_dict(),
    }
