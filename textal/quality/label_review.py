"""Labels that are probably wrong: out-of-fold probabilities, judged by cleanlab.

Every labelled text is predicted by a model that never saw it (k folds over the labelled set), so a
mistaken label cannot vouch for itself. cleanlab's confident learning (``find_label_issues``) then
flags the labels that disagree with those predictions more than the class's own noise rate explains,
and its label-quality score orders them. Used by ``textal review`` and by the simulation's noise runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from textal.errors import TextalError

DEFAULT_FOLDS = 5
FoldModel = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (train rows, rows to predict) -> probabilities


@dataclass(frozen=True)
class LabelReview:
    """Per labelled row: cleanlab's verdict, its label-quality score and the label the other folds prefer."""

    flagged: np.ndarray  # bool: probably wrong
    quality: np.ndarray  # 0 (surely wrong) .. 1 (surely right)
    suggested: np.ndarray  # class index (single-label) or 0/1 row (multi-label) the out-of-fold model prefers
    suggested_proba: np.ndarray  # that model's probability for the suggested label (the lowest one, multi-label)

    @property
    def order(self) -> np.ndarray:
        """Rows, most suspicious first: the flagged ones by quality, then the rest by quality."""
        return np.lexsort((self.quality, ~self.flagged))


def fold_numbers(y: np.ndarray, folds: int = DEFAULT_FOLDS, seed: int = 0) -> np.ndarray | None:
    """A fold number per row of ``y`` (class indices, or a 0/1 matrix for multi-label), stratified where every
    class allows, with no more folds than the largest class has members; None when fewer than 2 folds fit."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(y)
    folds = min(folds, n)
    if folds < 2:
        return None
    largest = int(np.bincount(y).max()) if y.ndim == 1 else 0
    splitter: KFold | StratifiedKFold
    if y.ndim == 1 and largest >= 2:  # stratified, with no more folds than the largest class has members
        splitter = StratifiedKFold(min(folds, largest), shuffle=True, random_state=seed)
    else:
        splitter = KFold(folds, shuffle=True, random_state=seed)
    out = np.zeros(n, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")  # rare classes: fewer than k members
        stratify = y if isinstance(splitter, StratifiedKFold) else None
        for k, (_, held) in enumerate(splitter.split(np.zeros(n), stratify)):
            out[held] = k
    return out


def out_of_fold_proba(
    fit_predict: FoldModel, y: np.ndarray, n_classes: int, folds: int = DEFAULT_FOLDS, seed: int = 0
) -> np.ndarray:
    """(n, k) probabilities, each row from ``fit_predict`` trained on the other folds (``fold_numbers``)."""
    fold_of = fold_numbers(y, folds, seed)
    if fold_of is None:
        raise TextalError(f"reviewing labels needs at least 2 labelled rows, got {len(y)}")
    out = np.zeros((len(y), n_classes), dtype=np.float64)
    for f in np.unique(fold_of):
        out[fold_of == f] = fit_predict(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f))
    return out


def head_out_of_fold_proba(
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    folds: int = DEFAULT_FOLDS,
    C: float = 10.0,
    class_weight: str | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold probabilities of the fast tier's logistic head over embeddings ``X`` (``class_weight`` as
    scikit-learn takes it): the review of the live loop, of ``textal review`` and of the simulation."""
    from textal.models.head import LogisticHead

    def fit_predict(train: np.ndarray, held: np.ndarray) -> np.ndarray:
        head = LogisticHead(C=C, class_weight=class_weight, random_state=seed, n_classes=n_classes)
        return head.fit(X[train], y[train]).predict_proba(X[held])

    return out_of_fold_proba(fit_predict, y, n_classes, folds, seed)


def review_labels(pred_probs: np.ndarray, y: np.ndarray) -> LabelReview:
    """cleanlab's verdict on labels ``y`` (indices; multi-label: a 0/1 matrix) given out-of-fold ``pred_probs``."""
    from cleanlab.filter import find_label_issues

    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    multi = y.ndim == 2
    if multi:
        from cleanlab.multilabel_classification.rank import get_label_quality_scores

        given = [list(np.flatnonzero(row)) for row in y]
        quality = get_label_quality_scores(given, pred_probs)
        flagged = _quietly(find_label_issues, given, pred_probs, multi_label=True, n_jobs=1)
        suggested = (pred_probs >= 0.5).astype(np.int8)
        suggested_proba = np.where(suggested == 1, pred_probs, 1 - pred_probs).min(axis=1)
    else:
        from cleanlab.rank import get_label_quality_scores

        quality = get_label_quality_scores(y, pred_probs)
        flagged = _quietly(find_label_issues, y, pred_probs, n_jobs=1)
        suggested = pred_probs.argmax(axis=1)
        suggested_proba = pred_probs.max(axis=1)
    return LabelReview(
        np.asarray(flagged, dtype=bool), np.asarray(quality, dtype=np.float64), suggested, suggested_proba
    )


def _quietly(fn, *args, **kwargs):
    # cleanlab warns about classes with too few examples to estimate their noise; the verdict stands regardless.
    # n_jobs=1 above: its process pool forks, which can deadlock inside the worker's threads (seen in the e2e test).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


REVIEW_MODELS = ("embed-head", "linear")


def check_review_model(model: str) -> None:
    """Refuse a model ``textal review`` cannot judge with, naming the ones it can."""
    if model not in REVIEW_MODELS:
        raise TextalError(f"--model must be one of {', '.join(REVIEW_MODELS)}, not {model!r}")


def review_corpus(
    texts: list[str],
    labels: list,
    classes: list[str],
    multi_label: bool,
    *,
    model: str = "embed-head",
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    cache_dir=None,
) -> LabelReview:
    """Review the labels of ``texts`` with out-of-fold predictions of ``model``: ``embed-head`` (a logistic head
    over the frozen encoder's embeddings, the live loop's fast tier) or ``linear`` (TF-IDF and logistic regression)."""
    from textal.models.class_weights import DEFAULT_CLASS_WEIGHT, class_weight_param
    from textal.models.classifier import encode_labels

    check_review_model(model)
    y = encode_labels(labels, classes, multi_label)
    weights = class_weight_param(DEFAULT_CLASS_WEIGHT)
    if model == "embed-head":
        from textal.models.encoder import Encoder
        from textal.runtime.settings import cache_dir as default_cache_dir

        X = Encoder(cache_dir=cache_dir if cache_dir is not None else default_cache_dir()).encode(texts)
        proba = head_out_of_fold_proba(X, y, len(classes), folds=folds, class_weight=weights, seed=seed)
    else:
        from textal.models import make_classifier

        def fit_predict(train: np.ndarray, held: np.ndarray) -> np.ndarray:
            clf = make_classifier(
                "linear", classes=classes, multi_label=multi_label, random_state=seed, class_weight=weights
            )
            clf.fit([texts[i] for i in train], [labels[i] for i in train])
            return clf.predict_proba([texts[i] for i in held])

        proba = out_of_fold_proba(fit_predict, y, len(classes), folds, seed)
    return review_labels(proba, y)
