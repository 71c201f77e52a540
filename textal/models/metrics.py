"""Quality figures for a classifier on labelled texts: macro-F1, accuracy, per-class F1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def score_predictions(
    proba: np.ndarray, gold: np.ndarray, multi_label: bool, threshold: float = 0.5
) -> dict[str, float]:
    """Metrics of probabilities ``proba`` (n, k) against encoded ``gold`` (indices, or 0/1 matrix).

    Multi-label: macro-F1 over labels, and accuracy as the exact-match ratio.
    """
    if multi_label:
        pred = (proba >= threshold).astype(int)
        return {
            "macro_f1": float(f1_score(gold, pred, average="macro", zero_division=0)),
            "micro_f1": float(f1_score(gold, pred, average="micro", zero_division=0)),
            "accuracy": float(accuracy_score(gold, pred)),
            "n": int(len(gold)),
        }
    pred = proba.argmax(axis=1)
    present = np.union1d(np.unique(gold), np.unique(pred))
    return {
        "macro_f1": float(f1_score(gold, pred, labels=present, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(gold, pred)),
        "n": int(len(gold)),
    }


def evaluate(model, texts: Sequence[str], labels: Sequence) -> dict[str, float]:
    """Metrics of a fitted classifier on labelled ``texts``."""
    return score_predictions(model.predict_proba(texts), model.encode_labels(labels), model.multi_label_)
