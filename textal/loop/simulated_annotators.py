"""The simulation's annotators: gold labels, some of them wrong on purpose, and a reviewer who fixes what is re-asked.

``noisy_answers`` draws, once per repeat, the answer an annotator would give for every pool row, so
that every strategy of a repeat meets the same mistakes on the same texts. A mistake goes to a random
other class (``uniform``) or to the class the full-data model most confuses with the true one
(``confusable``: the mistakes a tired annotator makes). With several annotators (``panel_votes``) every
item is labelled by each of them, the first one as careless as asked. A re-asked label comes back right.
"""

from __future__ import annotations

import numpy as np

from textal.errors import TextalError

NOISE_KINDS = ("uniform", "confusable")


def check_noise(
    rate: float, kind: str, review_budget: float, annotators: int = 1, poor: float | None = None, weigh: bool = False
) -> None:
    """Refuse a noise set-up that cannot run, with the reason."""
    if annotators < 1:
        raise TextalError("--annotators must be at least 1")
    if (poor is not None or weigh) and annotators < 2:
        raise TextalError("--poor-annotator and --weigh-annotators need --annotators 2 or more")
    if poor is not None and not 0 <= poor < 1:
        raise TextalError("--poor-annotator must be in [0, 1)")
    if not 0 <= rate < 1:
        raise TextalError("--label-noise must be in [0, 1)")
    if kind not in NOISE_KINDS:
        raise TextalError(f"--noise-kind must be one of {', '.join(NOISE_KINDS)}, not {kind!r}")
    if not 0 <= review_budget < 1:
        raise TextalError("--review-budget must be in [0, 1)")


def most_confused(proba_test: np.ndarray, y_test: np.ndarray, n_classes: int) -> np.ndarray:
    """Per class, the other class the model leans to most on that class's test texts (mean probability);
    a class absent from the test set gets the class most probable over the whole test set, itself excluded."""
    target = np.zeros(n_classes, dtype=np.int64)
    overall = proba_test.mean(axis=0)
    for c in range(n_classes):
        rows = proba_test[y_test == c]
        lean = rows.mean(axis=0).copy() if len(rows) else overall.copy()
        lean[c] = -np.inf
        target[c] = int(lean.argmax())
    return target


def noisy_answers(
    y: np.ndarray,
    n_classes: int,
    rate: float,
    kind: str,
    rng: np.random.Generator,
    confused_with: np.ndarray | None = None,
) -> np.ndarray:
    """The annotator's answer for every pool row: ``y`` with a share ``rate`` of the rows wrong."""
    answers = y.copy()
    if rate <= 0 or n_classes < 2:
        return answers
    wrong = np.flatnonzero(rng.random(len(y)) < rate)
    if kind == "confusable":
        if confused_with is None:
            raise TextalError("confusable noise needs the full-data model's confusions")
        answers[wrong] = confused_with[y[wrong]]
    else:
        shift = rng.integers(1, n_classes, size=len(wrong))  # any class but the true one
        answers[wrong] = (y[wrong] + shift) % n_classes
    return answers


def panel_votes(
    y: np.ndarray,
    n_classes: int,
    rate: float,
    kind: str,
    seed: list[int],
    annotators: int = 1,
    poor: float | None = None,
    confused_with: np.ndarray | None = None,
) -> np.ndarray:
    """(n, annotators) answers: each annotator wrong at ``rate``, the first at ``poor`` when given. The first
    annotator's answers depend only on ``seed``, so one annotator gives the same answers as ``noisy_answers``."""
    columns = []
    for j in range(annotators):
        rng = np.random.default_rng(seed if j == 0 else [*seed, j])
        columns.append(
            noisy_answers(y, n_classes, poor if j == 0 and poor is not None else rate, kind, rng, confused_with)
        )
    return np.stack(columns, axis=1)
